"""Remote producers (docs/protocol.md "Producer connection"), over real sockets.

An embedded ``Bridge(producer_token=...)`` is the hub; producers are
``RemoteBridge`` objects on their own threads and loops, or a separate
Python process that gets killed. Browsers are the asyncio Python client.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import tornado.httpclient
import tornado.websocket

import wsbridge as wb
from tests.helpers.common import http_get, run, until
from tests.helpers.ws import connect
from tests.runtime.conftest import TOKEN
from wsbridge.client import Client
from wsbridge.errors import ProtocolError
from wsbridge.runtime.remote import RemoteBridge
from wsbridge.wire.envelope import decode_envelope, encode_envelope
from wsbridge.wire.messages import Error, Patch, Stream
from wsbridge.wire.requests import Set


@pytest.fixture
def producer(hub: wb.Bridge) -> Iterator[wb.Bridge]:
    p = RemoteBridge(hub.url, token=TOKEN)
    p.start()
    try:
        yield p
    finally:
        p.stop()


def errors(client: Client, code: str) -> list[Error]:
    return [e for e in client.errors if e.code == code]


async def document_exists(hub: wb.Bridge, name: str, timeout: float = 5.0) -> str:
    """Wait until the hub holds a live ``name``; return its epoch."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        epoch = hub.call(
            lambda h: (
                h.documents[name].epoch
                if name in h.documents and h.documents[name].gone is None
                else None
            )
        )
        if epoch:
            return str(epoch)
        await asyncio.sleep(0.02)
    raise TimeoutError(f"document {name!r} never appeared")


def test_envelopes_round_trip_with_binary_buffers() -> None:
    stream = Stream(seq=0, source="s1", data={"x": np.arange(3.0), "n": np.arange(3)})
    frame = encode_envelope("publish", doc="main", message=stream)
    assert frame.binary  # arrays stay binary on the producer hop too
    env = decode_envelope(frame.data)
    assert env["type"] == "publish" and env["doc"] == "main"
    got = env["message"]
    assert isinstance(got, Stream) and np.array_equal(got.data["x"], np.arange(3.0))
    text = encode_envelope("input", doc="d", session="c1", message=Set("m", {"value": 2}))
    assert not text.binary
    env = decode_envelope(text.data.decode())
    assert env["message"] == Set("m", {"value": 2})
    for bad, code in [
        ('{"v":1,"type":"nope"}', "unknown_type"),
        ('{"v":2,"type":"done","session":"c1"}', "bad_version"),
        ('{"v":1,"type":"publish","doc":"d"}', "bad_message"),
        ('{"v":1,"type":"publish","doc":"d","message":{"v":1,"type":"patch"}}', "bad_message"),
    ]:
        with pytest.raises(ProtocolError) as info:
            decode_envelope(bad)
        assert info.value.code == code, bad


def test_producer_endpoint_needs_the_token_and_refuses_browsers(hub: wb.Bridge) -> None:
    async def main() -> None:
        url = hub.url.replace("http", "ws") + "producer"
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            with pytest.raises(tornado.httpclient.HTTPClientError) as info:
                await connect(tornado.httpclient.HTTPRequest(url, headers=headers))
            assert info.value.code == 403
        # a page (it sends Origin) holding the token is still refused
        with pytest.raises(tornado.httpclient.HTTPClientError) as info:
            await connect(
                tornado.httpclient.HTTPRequest(
                    url, headers={"Authorization": f"Bearer {TOKEN}", "Origin": hub.url[:-1]}
                )
            )
        assert info.value.code == 403
        ws = await connect(
            tornado.httpclient.HTTPRequest(url, headers={"Authorization": f"Bearer {TOKEN}"})
        )
        ws.write_message(
            '{"v":1,"type":"publish","doc":"x","message":{"v":1,"type":"hello","doc":"x"}}'
        )
        answer = await ws.read_message()
        assert isinstance(answer, str) and '"bad_message"' in answer
        ws.close()

    run(main())
    with wb.Bridge() as plain:  # no producer_token: no producer endpoint at all
        assert http_get(plain.url + "producer").status == 404


def test_documents_changes_and_browser_input_cross_the_producer_link(
    hub: wb.Bridge, producer: wb.Bridge
) -> None:
    slider = wb.Slider(1.0, min=0.0, max=10.0, label="f")
    button = wb.Button(label="go")
    src = wb.DataSource({"x": np.zeros(0), "y": np.zeros(0, dtype=np.int32)})
    clicks: list[str] = []
    clicked = threading.Event()

    def on_click(*_: Any) -> None:
        clicks.append(threading.current_thread().name)
        clicked.set()

    button.on_click(on_click)
    producer.dashboard("main", wb.Column(slider, button, wb.Sparkline(src)), title="Remote")
    assert producer.url == hub.url

    async def main() -> None:
        await document_exists(hub, "main")
        async with await Client.connect(hub.url, "main") as c:
            assert c.title == "Remote" and c.model(slider.id)["value"] == 1.0
            # producer -> browsers: patches and binary streams, in order
            slider.value = 3.0
            src.stream({"x": np.array([0.5, 1.5]), "y": np.array([7, 8], dtype=np.int32)})
            await c.wait_for(lambda c: len(c.source(src.id)["x"]) == 2)
            assert c.model(slider.id)["value"] == 3.0
            assert c.source(src.id)["y"].dtype == np.int32
            assert list(c.source(src.id)["y"]) == [7, 8]
            # browser -> producer: a set is validated by the producer's traits
            await c.set(slider.id, value=12.0)  # clamped to 10 in the kernel
            await c.wait_for(lambda c: c.model(slider.id)["value"] == 10.0)
            await until(lambda: slider.value == 10.0)
            await c.set(slider.id, value="nope")  # refused: error + canonical value
            await c.wait_for(lambda c: errors(c, "invalid_value"))
            await c.wait_for(lambda c: c.model(slider.id)["value"] == 10.0)
            await c.event(button.id, "click")
            assert await asyncio.to_thread(clicked.wait, 5)
            assert clicks[0].startswith("wsbridge-callbacks")
            # the hub's replica is exact: a new viewer's snapshot equals the first mirror
            async with await Client.connect(hub.url, "main") as d:
                await d.wait_for(lambda d: d.seq == c.seq)
                assert d.models == c.models
            # the hub frees each input once the producer has handled it
            await asyncio.sleep(0.2)
            pending = hub.call(lambda h: [s.pending_inbound for s in h.sessions.values()])
            assert pending == [0]

    run(main())


def test_a_burst_of_streams_crosses_the_link_in_batches_with_every_row(
    hub: wb.Bridge, producer: wb.Bridge
) -> None:
    src = wb.DataSource({"x": np.zeros(0)})
    producer.dashboard("burst", wb.Column()).add(src)
    n = 2000

    async def main() -> None:
        await document_exists(hub, "burst")
        async with await Client.connect(hub.url, "burst") as c:
            streams: list[Stream] = []
            c.on_message(lambda m: streams.append(m) if isinstance(m, Stream) else None)
            await c.wait_for(
                lambda c: c.connection.state is not None and src.id in c.connection.state.sources
            )
            for i in range(n):  # never yields: calls queue up and cross as batches
                src.stream({"x": np.array([float(i)])}, rollover=n)
            await c.wait_for(lambda c: len(c.source(src.id)["x"]) == n, timeout=10)
            np.testing.assert_array_equal(c.source(src.id)["x"], np.arange(float(n)))
            assert sum(len(m.data["x"]) for m in streams) == n  # every row, in order
            assert len(streams) < n  # batched on the way

    run(main())


def test_a_gone_producer_is_shown_then_a_new_one_takes_over(hub: wb.Bridge) -> None:
    first = RemoteBridge(hub.url, token=TOKEN).start()
    slider = wb.Slider(2.0)
    first.dashboard("main", wb.Column(slider))

    async def main() -> None:
        old_epoch = await document_exists(hub, "main")
        async with await Client.connect(hub.url, "main") as c:
            await asyncio.to_thread(first.stop)
            gone = await c.wait_for(lambda c: errors(c, "producer_gone"))
            assert "gone" in gone[0].message
            assert c.connected and c.model(slider.id)["value"] == 2.0  # last state kept
            await c.set(slider.id, value=5.0)  # refused, and the value snaps back
            await c.wait_for(lambda c: len(errors(c, "producer_gone")) == 2)
            await c.wait_for(lambda c: c.model(slider.id)["value"] == 2.0)
            # a viewer arriving now sees the last state and is told it is stale
            async with await Client.connect(hub.url, "main") as late:
                await late.wait_for(lambda c: errors(c, "producer_gone"))
                assert late.model(slider.id)["value"] == 2.0
            # the producer comes back (a restarted kernel) and publishes again
            second = RemoteBridge(hub.url, token=TOKEN).start()
            try:
                fresh = wb.Slider(7.0)
                second.dashboard("main", wb.Column(fresh))
                await c.wait_for(lambda c: c.epoch != old_epoch and fresh.id in c.models)
                assert c.model(fresh.id)["value"] == 7.0
                await c.set(fresh.id, value=8.0)
                await until(lambda: fresh.value == 8.0)
            finally:
                await asyncio.to_thread(second.stop)

    run(main())


PRODUCER_SCRIPT = """
import sys, time
import wsbridge as wb
from wsbridge.runtime.remote import RemoteBridge
bridge = RemoteBridge(sys.argv[1], token=sys.argv[2]).start()
s = wb.Slider(4.0)
s.observe(lambda ch: print("value", ch["new"], flush=True), names="value")
bridge.dashboard("proc", wb.Column(s), title="From a process")
print("ready", s.id, flush=True)
time.sleep(60)
"""


def test_a_killed_producer_process_leaves_its_document_marked_gone(hub: wb.Bridge) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", PRODUCER_SCRIPT, hub.url, TOKEN],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        assert line[0] == "ready", line
        sid = line[1]

        async def main() -> None:
            await document_exists(hub, "proc", timeout=10)
            async with await Client.connect(hub.url, "proc") as c:
                await c.set(sid, value=6.0)
                assert await asyncio.to_thread(proc.stdout.readline) == "value 6.0\n"  # type: ignore[union-attr]
                await c.wait_for(lambda c: c.model(sid)["value"] == 6.0)
                proc.kill()  # no goodbye: the hub notices the socket closing
                await c.wait_for(lambda c: errors(c, "producer_gone"), timeout=10)
                assert c.connected

        run(main())
    finally:
        proc.kill()
        proc.communicate(timeout=10)  # and closes its pipe


def test_the_producer_reconnects_and_republishes_after_the_hub_restarts(
    hub: wb.Bridge, producer: wb.Bridge
) -> None:
    slider = wb.Slider(1.0)
    producer.dashboard("main", wb.Column(slider))

    async def main() -> None:
        await document_exists(hub, "main")
        await asyncio.to_thread(hub.stop)
        slider.value = 6.0  # changed while the hub is away: part of the new spec
        await asyncio.to_thread(hub.start)
        await document_exists(hub, "main", timeout=10)
        async with await Client.connect(hub.url, "main") as c:
            assert c.model(slider.id)["value"] == 6.0
            slider.value = 9.0
            await c.wait_for(lambda c: c.model(slider.id)["value"] == 9.0)
        assert producer.backend.remote is not None and producer.backend.remote.connections == 2

    run(main(), timeout=25)


def test_patch_origin_survives_the_producer_hop(hub: wb.Bridge, producer: wb.Bridge) -> None:
    slider = wb.Slider(1.0)
    producer.dashboard("main", wb.Column(slider))

    async def main() -> None:
        await document_exists(hub, "main")
        async with await Client.connect(hub.url, "main") as c:
            seen: list[Patch] = []
            c.on_message(lambda m: seen.append(m) if isinstance(m, Patch) else None)
            await c.set(slider.id, value=2.0)
            await c.wait_for(lambda c: any(p.origin for p in seen))
            assert seen[-1].origin == {"session": c.session, "req": 1}

    run(main())


def test_bridge_without_a_jupyter_server_stays_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JPY_PARENT_PID", raising=False)
    assert type(wb.Bridge()) is wb.Bridge
    monkeypatch.setenv("JPY_PARENT_PID", "1")  # a parent that is no Jupyter server
    assert type(wb.Bridge()) is wb.Bridge
    assert type(wb.Bridge(port=0)) is wb.Bridge  # explicit arguments: always embedded


def test_notebook_display_is_an_iframe_and_a_link(hub: wb.Bridge, producer: wb.Bridge) -> None:
    dash = hub.dashboard("local", wb.Column(wb.Slider(1.0)), title="Local <x>")
    shown = dash._repr_html_()
    assert f'<iframe src="{hub.url}d/local"' in shown and "Local &lt;x&gt;" in shown
    assert f'href="{hub.url}d/local"' in shown
    remote = RemoteBridge(hub.url, token=TOKEN, base_url="/user/a b/")
    assert remote.page_url("d/x") == "/user/a b/wsbridge/d/x"  # a path on the notebook's origin
    far = producer.dashboard("far", wb.Column(wb.Slider(1.0)))
    assert f'src="{urllib.parse.urlsplit(hub.url).path}d/far"' in far._repr_html_()


def test_a_stalled_hub_link_never_grows_the_producers_queue_without_bound() -> None:
    from wsbridge.runtime.remote import RemoteHub
    from wsbridge.wire.messages import Add

    class Stalled:
        """A hub that stopped reading: no write ever completes."""

        def write_message(self, data: bytes, binary: bool = False) -> Any:
            return asyncio.get_running_loop().create_future()

    async def main() -> None:
        recreate: list[int] = []
        remote = RemoteHub(
            "http://h/", "t", on_reconnect=lambda: recreate.append(1), max_queue_bytes=100_000
        )
        remote._attach(Stalled())  # type: ignore[arg-type]
        writer = asyncio.ensure_future(remote._write_loop())
        src = wb.DataSource({"x": np.zeros(0)})
        spec = Add(seq=0, sources={src.id: src._spec()})
        remote.create_document("d", spec, None, "d")  # type: ignore[arg-type]
        remote.input_done("c1")  # an answer to a browser's input: never dropped
        for _ in range(100):  # 800 KB of streams into a 100 KB queue
            remote.publish("d", Stream(seq=0, source=src.id, data={"x": np.zeros(1000)}))
            await asyncio.sleep(0)
        assert remote.resyncs == 1 and recreate == [1]  # the documents get re-created instead
        assert remote._queued <= 100_000
        kinds = [
            decode_envelope(f.data if f.binary else f.data.decode())["type"]
            for f, _ in remote._outbox
        ]
        assert "done" in kinds and kinds.count("publish") <= 1
        writer.cancel()

    run(main())


def test_inputs_in_flight_are_freed_when_the_producer_goes() -> None:
    """Sans I/O: the hub's per-session backlog never keeps inputs of a dead producer."""
    from wsbridge.hub.hub import Hub
    from wsbridge.hub.link import ProducerLink
    from wsbridge.wire.codec import decode, encode
    from wsbridge.wire.messages import Add
    from wsbridge.wire.requests import Hello

    hub = Hub()
    sent: list[Any] = []
    link = ProducerLink(hub, sent.append)
    slider = wb.Slider(1.0)
    spec = Add(seq=0, models={slider.id: slider._spec()}, root=slider.id)
    link.receive(encode_envelope("create", doc="d", title="D", spec=spec).data.decode())
    session = hub.open_session()
    hub.receive(session, encode(Hello(doc="d")).data.decode())
    hub.receive(session, encode(Set(slider.id, {"value": 2.0}, req=1)).data.decode())
    assert session.pending_inbound == 1
    forwarded = decode_envelope(sent[-1].data.decode())
    assert forwarded["type"] == "input" and forwarded["session"] == session.id
    link.receive(encode_envelope("done", session="c999").data.decode())  # not its input
    assert session.pending_inbound == 1
    link.closed()
    assert session.pending_inbound == 0 and hub.documents["d"].gone is not None
    frames = []
    while (frame := session.next_frame()) is not None:
        frames.append(decode(frame.data if frame.binary else frame.data.decode()))
    assert frames[-1].type == "error" and frames[-1].code == "producer_gone"  # type: ignore[attr-defined]


def test_every_hub_port_offers_the_operations_a_bridge_calls() -> None:
    """A bridge talks to Hub, RemoteHub or PublishingHub through HubPort: each
    implements every operation with the port's exact signature."""
    import inspect

    from wsbridge.hub.hub import Hub
    from wsbridge.hub.port import HubPort
    from wsbridge.runtime.remote import RemoteHub
    from wsbridge.scaleout.publisher import PublishingHub

    operations = [n for n in vars(HubPort) if not n.startswith("_")]
    assert "publish" in operations and "input_done" in operations
    for impl in (Hub, RemoteHub, PublishingHub):
        for name in operations:
            ours = list(inspect.signature(getattr(impl, name)).parameters)
            theirs = list(inspect.signature(getattr(HubPort, name)).parameters)
            assert ours == theirs, (impl.__name__, name)
