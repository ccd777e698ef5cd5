"""Answers to a client's input (docs/protocol.md "Answers and their order"):
a refusal never overtakes the echo of an earlier accepted set, every answer
names the set's ``req``, and a multi-property set is accepted or refused whole."""

from __future__ import annotations

import threading
import time
from typing import Any

import traitlets

import wsbridge as wb
from tests.helpers.ws import hello, read
from wsbridge import wire as p


class Pair(wb.AnyWidget):
    _esm = "export default { render() {} }"
    a = traitlets.Int(0).tag(sync=True)
    b = traitlets.Int(0).tag(sync=True)


async def _joined(bridge: wb.Bridge) -> Any:
    conn = await hello(bridge)
    assert isinstance(await read(conn), p.Welcome)
    assert isinstance(await read(conn), p.Snapshot)
    return conn


def _send(conn: Any, message: p.Message) -> None:
    conn.write_message(p.encode(message).data.decode())


async def test_a_refusal_waits_for_the_echo_of_an_earlier_accepted_set(bridge: wb.Bridge) -> None:
    slider = wb.Slider(value=1.0, min=0.0, max=10.0, label="f")
    busy = threading.Event()

    def slow(_: Any) -> None:  # the callbacks thread is still on set 1 when set 2 arrives
        busy.set()
        time.sleep(0.3)

    slider.observe(slow, names="value")
    bridge.dashboard("main", wb.Column(slider))
    bridge.flush()
    conn = await _joined(bridge)
    _send(conn, p.Set(model=slider.id, state={"value": 5.0}, req=1))
    _send(conn, p.Set(model=slider.id, state={"value": 6.0, "label": "g"}, req=2))  # read_only
    _send(conn, p.Set(model="nope", state={"value": 1.0}, req=3))  # unknown_model
    got = [await read(conn) for _ in range(4)]
    echo, refused, reply, unknown = got
    assert isinstance(echo, p.Patch) and echo.state == {"value": 5.0}
    assert echo.origin is not None and echo.origin["req"] == 1
    assert isinstance(refused, p.Error) and refused.code == "read_only"
    assert refused.ref is not None and refused.ref["req"] == 2
    # the canonical value after set 1, not the value before it
    assert isinstance(reply, p.Patch) and reply.reply
    assert reply.state == {"value": 5.0, "label": "f"}
    assert isinstance(unknown, p.Error) and unknown.code == "unknown_model"
    assert unknown.ref is not None and unknown.ref["req"] == 3
    assert slider.value == 5.0 and slider.label == "f"
    conn.close()


async def test_a_multi_property_set_is_refused_whole(bridge: wb.Bridge) -> None:
    pair = Pair()
    bridge.dashboard("main", wb.Column(pair))
    bridge.flush()
    conn = await _joined(bridge)
    _send(conn, p.Set(model=pair.id, state={"a": 7, "b": "not an int"}, req=1))
    refused, reply = await read(conn), await read(conn)
    assert isinstance(refused, p.Error) and refused.code == "invalid_value"
    assert refused.ref is not None and refused.ref["req"] == 1
    assert isinstance(reply, p.Patch) and reply.reply and reply.state == {"a": 0, "b": 0}
    assert (pair.a, pair.b) == (0, 0)  # nothing applied, not even the valid "a"
    _send(conn, p.Set(model=pair.id, state={"a": 7, "b": 8}, req=2))
    echo = await read(conn)
    assert isinstance(echo, p.Patch) and echo.state in ({"a": 7, "b": 8}, {"a": 7})
    bridge.flush()
    assert (pair.a, pair.b) == (7, 8)
    conn.close()
