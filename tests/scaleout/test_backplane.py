"""The Redis backplane (wsbridge.backplane, wsbridge.follower) against a real redis-server.

Hubs here are ``Bridge(follow=...)`` in this process (the same code as
``wsbridge hub --redis``; tests/browser/test_backplane_browser.py runs them as
processes); clients are the Python client, so each test states exactly
what a browser would hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import redis

import wsbridge as wb
from tests.helpers.common import http_get, require, run, wait_until
from tests.helpers.redisserver import RedisServer
from wsbridge.client import Client
from wsbridge.scaleout.keys import BackplaneConfig, Keys, bus_payload, parse_bus, redact_url
from wsbridge.wire.codec import Frame


def _producer(cfg: BackplaneConfig) -> tuple[wb.Bridge, wb.Slider, wb.DataSource]:
    bridge = wb.Bridge(backplane=cfg, serve=False).start()
    slider = wb.Slider(3.0, min=0.0, max=10.0, id="s")
    src = wb.DataSource({"x": np.arange(4.0)}, id="src")
    bridge.dashboard("live", wb.Column(slider, wb.Sparkline(src, y="x")))
    return bridge, slider, src


def _hub(cfg: BackplaneConfig, **kw: Any) -> wb.Bridge:
    return wb.Bridge(follow=cfg, **kw).start()


def _has(bridge: wb.Bridge, name: str = "live") -> bool:
    return bool(bridge.call(lambda hub: name in hub.documents))


@contextlib.contextmanager
def _deployment(
    cfg: BackplaneConfig, hubs: int = 1
) -> Iterator[tuple[wb.Bridge, wb.Slider, wb.DataSource, list[wb.Bridge]]]:
    """A producer, and ``hubs`` hubs already serving its document; all stopped after."""
    producer, slider, src = _producer(cfg)
    running = [_hub(cfg) for _ in range(hubs)]
    try:
        wait_until(lambda: all(_has(hub) for hub in running))
        yield producer, slider, src, running
    finally:
        for hub in running:
            hub.stop()
        producer.stop()


def test_bus_payload_round_trip() -> None:
    frame = Frame(b"\x00\x01\n\xff", True)
    header, got = parse_bus(bus_payload({"t": "msg", "doc": "a", "seq": 3}, frame))
    assert header == {"t": "msg", "doc": "a", "seq": 3, "bin": True}
    assert got == frame
    header, got = parse_bus(bus_payload({"t": "msg", "doc": "a", "seq": 4, "ref": True}))
    assert got is None and header["ref"] is True
    with pytest.raises(ValueError):
        parse_bus(b"[1]\n")


def test_redact_url() -> None:
    assert redact_url("redis://:s3cret@h:6379/0") == "redis://:***@h:6379/0"
    assert redact_url("rediss://user:s3cret@h/1") == "rediss://user:***@h/1"
    assert redact_url("redis://h:6379/0") == "redis://h:6379/0"
    assert Keys("p:").log("d") == "p:doc:d:log"


def test_two_hubs_serve_one_document(cfg: BackplaneConfig) -> None:
    """Both hubs show the same state; a set through hub B reaches Python and hub A."""
    seen: list[float] = []
    with _deployment(cfg, hubs=2) as (producer, slider, src, (hub_a, hub_b)):
        slider.observe(lambda change: seen.append(change["new"]), "value")

        async def main() -> None:
            a = await Client.connect(hub_a.url, "live")
            b = await Client.connect(hub_b.url, "live")
            assert a.epoch == b.epoch == producer.call(lambda h: h.documents["live"].epoch)
            assert a.session != b.session  # one id space across hubs
            slider.value = 5
            src.stream({"x": np.arange(1000.0)}, rollover=500)
            for c in (a, b):
                await c.wait_for(lambda c: c.model("s")["value"] == 5)
                await c.wait_for(lambda c: len(c.source("src")["x"]) == 500)
            await b.set("s", value=7)
            await a.wait_for(lambda c: c.model("s")["value"] == 7)
            await b.wait_for(lambda c: c.model("s")["value"] == 7)
            assert seen[-1] == 7 and slider.value == 7
            # the producer's traits decide, as without Redis: 99 is clipped to 10
            await b.set("s", value=99)
            for c in (a, b):
                await c.wait_for(lambda c: c.model("s")["value"] == 10, timeout=5)
            assert a.seq == b.seq and slider.value == 10
            np.testing.assert_array_equal(a.source("src")["x"], src.data["x"])
            await a.close()
            await b.close()

        run(main())


def test_resume_on_another_hub_is_an_exact_replay(cfg: BackplaneConfig) -> None:
    with _deployment(cfg, hubs=2) as (producer, _slider, src, (hub_a, hub_b)):

        async def main() -> None:
            c = await Client.connect([hub_a.url, hub_b.url], "live", backoff=(0.05, 0.1))
            assert c.url == c.urls[0]
            hub_a.stop()  # the client's hub dies: it moves to the next one
            for i in range(40):
                src.stream({"x": np.full(10, float(i))}, rollover=1000)
            await c.wait_for(lambda c: c.connected and c.seq == producer_seq(), timeout=10)
            assert c.url == c.urls[1]
            assert c.connection.welcome is not None and c.connection.welcome.resumed
            np.testing.assert_array_equal(c.source("src")["x"], src.data["x"])
            await c.close()

        def producer_seq() -> int:
            return int(producer.call(lambda h: h.documents["live"].seq))

        run(main())


def test_lost_pubsub_connection_is_repaired_from_the_stream(
    cfg: BackplaneConfig, rds: redis.Redis
) -> None:
    """CLIENT KILL TYPE pubsub mid-stream: the hub fills the gap, nothing lost."""
    with _deployment(cfg) as (producer, _slider, src, (hub,)):

        async def main() -> None:
            c = await Client.connect(hub.url, "live")
            for i in range(300):
                src.stream({"x": np.full(7, float(i))}, rollover=10_000)
                if i in (100, 200):
                    rds.client_kill_filter(_type="pubsub")
                await asyncio.sleep(0.002)
            seq = producer.call(lambda h: h.documents["live"].seq)
            await c.wait_for(lambda c: c.seq == seq, timeout=10)
            np.testing.assert_array_equal(c.source("src")["x"], src.data["x"])
            assert not c.connection.needs_resync
            await c.close()

        run(main())
        follower = hub.backend.follower
        assert follower is not None
        assert follower.repairs + follower.reconnects > 0


def test_flushall_gives_a_new_epoch_and_a_fresh_snapshot(
    cfg: BackplaneConfig, rds: redis.Redis
) -> None:
    with _deployment(cfg) as (producer, slider, src, (hub,)):

        async def main() -> None:
            c = await Client.connect(hub.url, "live")
            before = c.epoch
            rds.flushall()
            slider.value = 8  # made while Redis is empty
            await c.wait_for(lambda c: c.epoch != before, timeout=10)
            await c.wait_for(lambda c: c.model("s")["value"] == 8, timeout=10)
            assert c.epoch == producer.call(lambda h: h.documents["live"].epoch)
            src.stream({"x": np.ones(3)})
            await c.wait_for(lambda c: len(c.source("src")["x"]) == 7, timeout=10)
            await c.close()

        run(main())
        assert producer.backend.publisher is not None and producer.backend.publisher.resets >= 1


def test_producer_restart_is_shown_then_replaced(cfg: BackplaneConfig) -> None:
    with _deployment(cfg) as (producer, _slider, _src, (hub,)):

        async def main() -> None:
            c = await Client.connect(hub.url, "live")
            first = c.epoch
            producer.stop()  # its heartbeat lapses: the document is marked gone
            await c.wait_for(lambda c: any(e.code == "producer_gone" for e in c.errors), timeout=10)
            assert c.model("s")["value"] == 3  # the last state is still shown
            again, slider2, _ = _producer(cfg)
            try:
                slider2.value = 9
                await c.wait_for(lambda c: c.epoch != first, timeout=10)
                await c.wait_for(lambda c: c.model("s")["value"] == 9, timeout=10)
                await c.set("s", value=4)  # input works again, to the new producer
                await c.wait_for(lambda c: slider2.value == 4, timeout=10)
            finally:
                again.stop()
            await c.close()

        run(main())


def test_large_frames_are_referenced_on_the_bus(cfg: BackplaneConfig, rds: redis.Redis) -> None:
    producer, _slider, src = _producer(cfg)
    hub = _hub(cfg)
    pubsub = rds.pubsub()
    pubsub.subscribe(Keys(cfg.prefix).bus)
    try:
        wait_until(lambda: _has(hub))
        big = np.random.default_rng(1).random(100_000)

        async def main() -> None:
            c = await Client.connect(hub.url, "live")
            src.stream({"x": big}, rollover=200_000)
            await c.wait_for(lambda c: len(c.source("src")["x"]) == 100_004, timeout=10)
            np.testing.assert_array_equal(c.source("src")["x"][4:], big)
            await c.close()

        run(main())
        sizes = []
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            msg = pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
            if msg is not None:
                sizes.append(len(msg["data"]))
        assert sizes and max(sizes) < 1024  # 800 KB of floats went by reference
    finally:
        pubsub.close()
        hub.stop()
        producer.stop()


def test_redis_restart_health_and_recovery(cfg: BackplaneConfig, redis_server: Any) -> None:
    producer, slider, _src = _producer(cfg)
    hub = _hub(cfg)

    def health() -> tuple[int, dict[str, Any]]:
        response = http_get(hub.url + "healthz")
        return response.status, response.json()

    try:
        wait_until(lambda: _has(hub))
        assert health()[0] == 200 and health()[1]["backplane"]["status"] == "ok"
        redis_server.stop()
        wait_until(lambda: health()[0] == 503)
        assert health()[1]["backplane"]["status"] == "down"
        redis_server.start()  # empty: the producer must publish everything again
        slider.value = 6

        async def main() -> None:
            c = await Client.connect(hub.url, "live")
            await c.wait_for(lambda c: c.model("s")["value"] == 6, timeout=15)
            await c.close()

        wait_until(lambda: health()[0] == 200, timeout=15)
        run(main())
    finally:
        hub.stop()
        producer.stop()


def test_bad_data_in_redis_is_logged_and_survived(
    cfg: BackplaneConfig, rds: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    keys = Keys(cfg.prefix)
    with _deployment(cfg) as (_producer_bridge, slider, _src, (hub,)):
        with caplog.at_level(logging.WARNING):
            rds.publish(keys.bus, b"not json\n")
            rds.publish(keys.bus, b'{"t":"msg","doc":"live","epoch":"x","seq":"?"}\n')
            rds.xadd(keys.inbox("live"), {b"f": b"tgarbage"})
            rds.xadd(keys.inbox("live"), {b"nothing": b""})

            async def main() -> None:
                c = await Client.connect(hub.url, "live")
                await c.set("s", value=2)
                await c.wait_for(lambda c: slider.value == 2, timeout=10)
                await c.close()

            run(main())
        text = caplog.text
        assert "bad bus message" in text and "bad input" in text


def test_password_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    server = RedisServer(password="hunter2-secret").start()
    try:
        good = BackplaneConfig(server.url, heartbeat=0.2, alive_ttl=1.0, poll_interval=0.2)
        with caplog.at_level(logging.DEBUG):
            producer = wb.Bridge(backplane=good, serve=False).start()
            producer.dashboard("p", wb.Slider(value=1))
            hub = _hub(good)
            try:
                wait_until(lambda: _has(hub, "p"))
                server.stop()  # connection errors get logged, with the URL
                time.sleep(1.0)
            finally:
                hub.stop()
                producer.stop()
            bad = server.url.replace("hunter2-secret", "wrong-secret")
            server.start()
            with pytest.raises(ConnectionError) as info:
                wb.Bridge(backplane=bad, serve=False).start()
        assert "***" in str(info.value)
        assert "hunter2-secret" not in caplog.text and "wrong-secret" not in caplog.text
        assert "wrong-secret" not in str(info.value)
        assert "127.0.0.1" in caplog.text  # the URL itself is logged, redacted
    finally:
        server.stop()


def test_tls_and_auth(caplog: pytest.LogCaptureFixture) -> None:
    """rediss:// with a password: the whole path works, the password is never logged."""
    require(shutil.which("openssl") is not None, "openssl", "apt-get install -y openssl")
    server = RedisServer(password="tls-pass-9", tls=True).start()
    try:
        cfg = BackplaneConfig(server.url, heartbeat=0.2, alive_ttl=1.0, poll_interval=0.2)
        assert cfg.url.startswith("rediss://")
        with caplog.at_level(logging.INFO):
            producer, slider, src = _producer(cfg)
            hub = _hub(cfg)
            try:
                wait_until(lambda: _has(hub))

                async def main() -> None:
                    c = await Client.connect(hub.url, "live")
                    src.stream({"x": np.arange(10.0)})
                    await c.set("s", value=6)
                    await c.wait_for(lambda c: len(c.source("src")["x"]) == 14, timeout=10)
                    await c.wait_for(lambda c: slider.value == 6, timeout=10)
                    await c.close()

                run(main())
            finally:
                hub.stop()
                producer.stop()
        assert "rediss://:***@127.0.0.1" in caplog.text  # the follower logged its URL
        assert "tls-pass-9" not in caplog.text
        plain = server.url.replace("rediss://", "redis://")  # TLS port, no TLS: refused
        with pytest.raises(ConnectionError):
            wb.Bridge(backplane=plain, serve=False).start()
    finally:
        server.stop()


def test_a_second_producer_of_a_document_takes_it_over(cfg: BackplaneConfig) -> None:
    """No tug of war: the newer producer keeps the document, the older one lets go."""
    first, slider1, _ = _producer(cfg)
    second, slider2, _ = _producer(cfg)
    hub = _hub(cfg)
    try:
        wait_until(lambda: _has(hub))
        epoch2 = second.call(lambda h: h.documents["live"].epoch)
        slider1.value = 1  # the older producer publishes: refused, it lets go
        slider2.value = 9
        assert first.backend.publisher is not None
        wait_until(lambda: "live" not in first.backend.publisher.documents)
        wait_until(
            lambda: hub.call(lambda h: h.documents["live"].state.model_state("s")["value"]) == 9
        )
        time.sleep(1.0)  # several heartbeats: the epoch stays the second producer's
        assert hub.call(lambda h: h.documents["live"].epoch) == epoch2
        assert second.backend.publisher is not None and second.backend.publisher.resets == 0
    finally:
        hub.stop()
        first.stop()
        second.stop()
