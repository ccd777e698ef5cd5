"""Values that cannot travel never enter the replica, the log or Python.

A value is "travellable" when the codec encodes it and decoding gives it
back (docs/protocol.md "Values"): integers in int64/uint64, strings of
valid Unicode, object keys that are strings, at most ``MAX_DEPTH`` nested
lists/objects. One check (``wire.values.check_value``) runs in the
decoder, in every message's constructor (so the hub never applies a
producer message that breaks it) and in every ``Model`` synced trait's
validation. Each path is driven here for real: a browser's ``set`` over a
socket, a Python assignment, a remote producer's ``publish`` and a
poisoned Redis log.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import numpy as np
import pytest
import redis
import tornado.httpclient
import tornado.websocket
import traitlets

import wsbridge as wb
from tests.helpers.common import http_get
from tests.helpers.ws import hello, read
from wsbridge import wire as p
from wsbridge.client import Client
from wsbridge.runtime.remote import RemoteBridge
from wsbridge.scaleout.keys import BackplaneConfig, Keys, bus_payload
from wsbridge.wire.values import MAX_DEPTH, check_value

TOKEN = "producer-secret"


def nested(levels: int) -> Any:
    """``levels`` objects nested inside each other: ``{"a": {"a": ... {}}}``."""
    value: Any = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def nested_json(levels: int) -> str:
    return '{"a":' * (levels - 1) + "{}" + "}" * (levels - 1)


def raw(obj: dict[str, Any], text: str) -> str:
    """``obj`` as JSON with the string ``"$"`` replaced by ``text`` (JSON that
    no encoder of ours would write: a crafted frame)."""
    return json.dumps(obj, separators=(",", ":")).replace('"$"', text)


class Counter(wb.AnyWidget):
    _esm = "export default { render() {} }"
    value = traitlets.Int(0).tag(sync=True)
    data = traitlets.Dict().tag(sync=True)
    items = traitlets.List().tag(sync=True)
    text = traitlets.Unicode("").tag(sync=True)


def run(coro: Any, timeout: float = 20.0) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))


# -- the rule itself, sans I/O


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        -(2**63),
        2**64 - 1,
        1.5,
        float("nan"),  # travels as null (docs/protocol.md "Text frames")
        "é☃",
        {"k": [1, "x", None]},
        nested(MAX_DEPTH),
        [[[]]],
        np.arange(3.0),
        np.int64(3),
        np.float32(1.5),
    ],
)
def test_values_that_travel_pass(value: Any) -> None:
    check_value(value, "v")


@pytest.mark.parametrize(
    "value",
    [
        2**64,
        -(2**63) - 1,
        10**21,
        nested(MAX_DEPTH + 1),
        nested(300),
        "\ud800",
        {1: "x"},
        {"\udfff": 1},
        object(),
        b"bytes",
        1j,
        np.array(["a"]),
        np.array([1j]),
        np.array([None], dtype=object),
        np.complex128(1j),
    ],
)
def test_values_that_cannot_travel_are_invalid_values(value: Any) -> None:
    with pytest.raises(p.ProtocolError) as info:
        check_value(value, "v")
    assert info.value.code == "invalid_value"


def test_the_decoder_refuses_too_deep_values_with_invalid_value() -> None:
    deep = nested_json(MAX_DEPTH + 1)
    for frame in (
        raw({"v": 1, "type": "set", "model": "m", "state": {"data": "$"}}, nested_json(300)),
        raw({"v": 1, "type": "event", "model": "m", "name": "click", "data": "$"}, deep),
        raw({"v": 1, "type": "custom", "model": "m", "content": "$"}, deep),
        raw({"v": 1, "type": "patch", "seq": 1, "model": "m", "state": {"x": "$"}}, deep),
        raw(
            {
                "v": 1,
                "type": "add",
                "seq": 1,
                "models": {"m": {"type": "T", "state": {}, "x": "$"}},
            },
            nested_json(300),
        ),
        '{"v":1,"type":"stream","seq":1,"source":"s","data":{"n":[{"a":1}]}}',
        '{"v":1,"type":"stream","seq":1,"source":"s","data":{"n":[1,2]}}',
    ):
        with pytest.raises(p.ProtocolError) as info:
            p.decode(frame)
        assert info.value.code == "invalid_value", frame[:80]
    # at the limit it is fine
    msg = p.decode(raw({"v": 1, "type": "set", "model": "m", "state": {"d": "$"}}, nested_json(64)))
    assert isinstance(msg, p.Set)


def test_a_refused_set_names_every_property_to_restore() -> None:
    state = {"ok": 1, "data": "$"}
    frame = raw({"v": 1, "type": "set", "model": "m", "state": state, "req": 3}, nested_json(300))
    with pytest.raises(p.ProtocolError) as info:
        p.decode(frame)
    assert info.value.ref == {"type": "set", "model": "m", "property": "data", "req": 3}
    assert getattr(info.value, "properties", None) == ["ok", "data"]


# -- a browser's set, over a real socket


@pytest.fixture
def counter(bridge: wb.Bridge) -> tuple[wb.Bridge, Counter]:
    w = Counter()
    bridge.dashboard("main", wb.Column(w))
    bridge.flush()
    return bridge, w


async def _joined(bridge: wb.Bridge) -> tuple[Any, p.Snapshot]:
    conn = await hello(bridge)
    welcome, snap = await read(conn), await read(conn)
    assert isinstance(welcome, p.Welcome) and isinstance(snap, p.Snapshot)
    return conn, snap


def _healthy(bridge: wb.Bridge) -> None:
    status, _, body = http_get(bridge.url + "healthz")
    assert status == 200 and '"ok"' in body


@pytest.mark.parametrize(
    ("prop", "wire", "canonical"),
    [
        ("value", "1e21", 0),  # traitlets.Int takes the float: a 70-bit int in Python
        ("value", "-1e19", 0),  # below int64
        ("data", nested_json(300), {}),
        ("items", "[" * 200 + "]" * 200, []),
    ],
)
def test_a_browser_set_that_cannot_travel_is_refused_and_every_viewer_goes_on(
    counter: tuple[wb.Bridge, Counter], prop: str, wire: str, canonical: Any
) -> None:
    bridge, w = counter

    async def main() -> None:
        conn, _ = await _joined(bridge)
        seq = bridge.call(lambda h: h.documents["main"].seq)
        conn.write_message(
            raw({"v": 1, "type": "set", "model": w.id, "state": {prop: "$"}, "req": 5}, wire)
        )
        error, reply = await read(conn), await read(conn)
        assert isinstance(error, p.Error) and error.code == "invalid_value", error
        assert error.ref is not None and error.ref["property"] == prop
        assert error.ref["req"] == 5
        assert isinstance(reply, p.Patch) and reply.reply and reply.state == {prop: canonical}
        assert bridge.call(lambda h: h.documents["main"].seq) == seq
        assert getattr(w, prop) == canonical
        # a new viewer still gets a snapshot, and the first one still works
        other, snap = await _joined(bridge)
        assert snap.models[w.id]["state"][prop] == canonical
        conn.write_message(
            json.dumps({"v": 1, "type": "set", "model": w.id, "state": {"value": 7}, "req": 6})
        )
        echo = await read(conn)
        assert isinstance(echo, p.Patch) and echo.state == {"value": 7}
        assert isinstance(await read(other), p.Patch)
        conn.close()
        other.close()

    run(main())
    _healthy(bridge)


def test_the_edges_of_the_wires_integers_are_taken_exactly(
    counter: tuple[wb.Bridge, Counter],
) -> None:
    bridge, w = counter

    async def main() -> None:
        conn, _ = await _joined(bridge)
        for req, value in enumerate((2**64 - 1, -(2**63)), 1):
            conn.write_message(
                json.dumps(
                    {"v": 1, "type": "set", "model": w.id, "state": {"value": value}, "req": req}
                )
            )
            echo = await read(conn)
            assert isinstance(echo, p.Patch) and echo.state == {"value": value}
        again, snap = await _joined(bridge)
        again.close()
        assert snap.models[w.id]["state"]["value"] == -(2**63)
        conn.close()

    run(main())


def test_a_set_of_many_properties_is_refused_whole_with_every_canonical_value(
    counter: tuple[wb.Bridge, Counter],
) -> None:
    bridge, w = counter

    async def main() -> None:
        conn, _ = await _joined(bridge)
        state = {"text": "hi", "data": "$"}
        conn.write_message(
            raw({"v": 1, "type": "set", "model": w.id, "state": state, "req": 9}, nested_json(65))
        )
        error, reply = await read(conn), await read(conn)
        assert isinstance(error, p.Error) and error.code == "invalid_value"
        assert isinstance(reply, p.Patch) and reply.state == {"text": "", "data": {}}
        conn.close()

    run(main())
    assert w.text == ""


def test_python_refuses_a_value_that_cannot_travel_before_anything_is_sent(
    counter: tuple[wb.Bridge, Counter],
) -> None:
    bridge, w = counter
    seq = bridge.call(lambda h: h.documents["main"].seq)
    for name, bad in (
        ("value", 10**21),
        ("value", -(2**63) - 1),
        ("data", nested(300)),
        ("data", {"k": object()}),
        ("items", [nested(MAX_DEPTH)]),
        ("text", "lone \ud800 surrogate"),
    ):
        before = getattr(w, name)
        with pytest.raises(traitlets.TraitError, match="cannot travel"):
            setattr(w, name, bad)
        assert getattr(w, name) == before
    with pytest.raises(traitlets.TraitError, match="cannot travel"):
        Counter(value=10**21)
    w.value = 2**63 - 1  # the edges of the wire's integers are fine
    w.data = nested(MAX_DEPTH)
    bridge.flush()
    assert bridge.call(lambda h: h.documents["main"].seq) == seq + 2

    async def main() -> None:
        conn, snap = await _joined(bridge)
        assert snap.models[w.id]["state"]["value"] == 2**63 - 1
        conn.close()

    run(main())
    _healthy(bridge)


def test_a_class_default_that_cannot_travel_fails_the_publish_in_python(
    bridge: wb.Bridge,
) -> None:
    class Bad(wb.AnyWidget):
        _esm = "export default { render() {} }"
        value = traitlets.Int(10**21).tag(sync=True)

    with pytest.raises(p.ProtocolError) as info:
        bridge.dashboard("bad", Bad())
    assert info.value.code == "invalid_value"
    assert bridge.call(lambda h: "bad" not in h.documents)


# -- a remote producer (hub/link.py)


@pytest.fixture
def hub() -> Any:
    b = wb.Bridge(producer_token=TOKEN)
    b.start()
    try:
        yield b
    finally:
        b.stop()


def test_a_remote_producers_value_that_cannot_travel_is_refused(hub: wb.Bridge) -> None:
    producer = RemoteBridge(hub.url, token=TOKEN)
    producer.start()
    w = Counter()
    try:
        producer.dashboard("main", wb.Column(w))

        async def main() -> None:
            deadline = time.monotonic() + 5
            while not hub.call(lambda h: "main" in h.documents):
                assert time.monotonic() < deadline
                await asyncio.sleep(0.02)
            seq = hub.call(lambda h: h.documents["main"].seq)
            # a producer of our own, on the same document: crafted frames
            url = hub.url.replace("http", "ws") + "producer"
            ws = await tornado.websocket.websocket_connect(
                tornado.httpclient.HTTPRequest(url, headers={"Authorization": f"Bearer {TOKEN}"})
            )
            patch = {"v": 1, "type": "patch", "seq": 0, "model": w.id, "state": {"data": "$"}}
            envelope = {"v": 1, "type": "publish", "doc": "main", "message": patch}
            ws.write_message(raw(envelope, nested_json(300)))
            answer = await asyncio.wait_for(ws.read_message(), 5)
            assert isinstance(answer, str) and '"invalid_value"' in answer
            ws.close()
            assert hub.call(lambda h: h.documents["main"].seq) == seq
            # browser input through the real producer: the kernel refuses 1e21
            async with await Client.connect(hub.url, "main") as c:
                await c.set(w.id, value=1e21)
                await c.wait_for(lambda c: [e for e in c.errors if e.code == "invalid_value"])
                assert c.model(w.id)["value"] == 0
                assert w.value == 0
                w.value = 3
                await c.wait_for(lambda c: c.model(w.id)["value"] == 3)
            async with await Client.connect(hub.url, "main") as d:
                assert d.model(w.id)["value"] == 3

        run(main())
    finally:
        producer.stop()
    _healthy(hub)


# -- Redis (scaleout/follower.py)


def test_a_poisoned_redis_log_is_refused_by_the_follower(
    redis_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = BackplaneConfig(
        url=redis_server.url,
        prefix="values:",
        heartbeat=0.2,
        alive_ttl=1.0,
        poll_interval=0.2,
        snapshot_interval=30.0,
        backoff=(0.05, 0.5),
    )
    keys = Keys(cfg.prefix)
    producer = wb.Bridge(backplane=cfg, serve=False).start()
    slider = wb.Slider(3.0, min=0.0, max=10.0, id="s")
    producer.dashboard("live", wb.Column(slider))
    follower = wb.Bridge(follow=cfg).start()
    rds = redis.Redis.from_url(redis_server.url)
    try:
        deadline = time.monotonic() + 10
        while not follower.call(lambda h: "live" in h.documents):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        doc = follower.call(lambda h: (h.documents["live"].epoch, h.documents["live"].seq))
        epoch, seq = doc
        # what only a writer to Redis can do: a frame no producer could encode
        patch = {"v": 1, "type": "patch", "seq": seq + 1, "model": "s", "state": {"label": "$"}}
        poison = raw(patch, nested_json(300)).encode()
        with caplog.at_level(logging.WARNING):
            rds.xadd(keys.log("live"), {b"f": poison, b"b": b"0"}, id=f"{seq + 1}-0")
            for _ in range(3):
                rds.publish(
                    keys.bus,
                    bus_payload(
                        {"t": "msg", "doc": "live", "epoch": epoch, "seq": seq + 1},
                        p.Frame(poison, False),
                    ),
                )
            time.sleep(1.0)
        assert follower.call(lambda h: h.documents["live"].seq) == seq
        refusals = [r for r in caplog.records if "unreadable" in r.getMessage()]
        assert len(refusals) == 1, caplog.text  # logged once, however often it is heard
        assert "invalid_value" in refusals[0].getMessage()
        assert len(refusals[0].getMessage()) < 400

        async def main() -> None:
            async with await Client.connect(follower.url, "live") as c:
                assert c.model("s")["value"] == 3.0  # the last good state, marked gone
                await c.wait_for(lambda c: [e for e in c.errors if "unreadable" in e.message])

        run(main())
        _healthy(follower)
    finally:
        rds.close()
        follower.stop()
        producer.stop()


def test_a_string_column_that_cannot_travel_raises_in_python(bridge: wb.Bridge) -> None:
    src = wb.DataSource({"name": ["a"]})
    bridge.dashboard("main", wb.Column(wb.Table(src)))
    bridge.flush()
    seq = bridge.call(lambda h: h.documents["main"].seq)
    for bad in (["lone \ud800"], np.array(["\udfff"])):
        with pytest.raises(ValueError, match="surrogate"):
            src.stream({"name": bad})
        with pytest.raises(ValueError, match="surrogate"):
            src.replace({"name": bad})
    with pytest.raises(ValueError, match="surrogate"):
        wb.DataSource({"name": ["\ud800"]})
    bridge.flush()
    assert bridge.call(lambda h: h.documents["main"].seq) == seq
    assert len(src) == 1


def test_long_flat_lists_are_checked_too() -> None:
    check_value([*range(1000), 2**64 - 1, -(2**63), 1.5, None, True, "é"], "v")
    for bad in (2**64, -(2**63) - 1, "\ud800"):
        with pytest.raises(p.ProtocolError) as info:
            check_value([*range(100), bad], "v")
        assert info.value.code == "invalid_value"
    with pytest.raises(p.ProtocolError):
        check_value([*range(100), nested(MAX_DEPTH)], "v")  # one level more than allowed
    check_value(list(range(1_000_000)), "v")  # a browser's megabytes of numbers
