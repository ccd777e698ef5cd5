"""A browser's input to a hosted ``anywidget.AnyWidget`` over a real hub:
good values (bytes included) reach the widget through ``set_state``; bad
ones (the module, a reference, a value the trait or its ``from_json``
refuses, a custom message too big or too deep) are refused with a clear
error, change nothing, reach no callback and leave other clients working."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import anywidget
import ipywidgets
import numpy as np
import pytest
import traitlets

import wsbridge as wb
from tests.helpers.common import wait_until
from tests.helpers.ws import RawClient, hello, read
from wsbridge import wire as p
from wsbridge.ipy import mirror


def _from_json(value: Any, widget: Any) -> list[float]:
    return [float(v) for v in value["xs"]]  # KeyError/TypeError on a crafted value


class Target(anywidget.AnyWidget):
    _esm = "export default { render({ el }) { el.textContent = 'x'; } };"
    value = traitlets.Int(0).tag(sync=True)
    blob = traitlets.Bytes(b"").tag(sync=True)
    xs = traitlets.List(traitlets.Float()).tag(sync=True, from_json=_from_json)
    child = traitlets.Instance(ipywidgets.Widget, allow_none=True).tag(
        sync=True, **ipywidgets.widget_serialization
    )


@pytest.fixture
def served() -> Iterator[tuple[wb.Bridge, Target, list[Any]]]:
    target = Target()
    got: list[Any] = []
    target.on_msg(lambda w, content, buffers: got.append((content, buffers)))
    with wb.Bridge(port=0, max_message_size=64 * 1024) as bridge:
        bridge.dashboard("main", wb.Column(target))
        yield bridge, target, got


async def joined(bridge: wb.Bridge) -> Any:
    conn = await hello(bridge)
    assert isinstance(await read(conn), p.Welcome)
    assert isinstance(await read(conn), p.Snapshot)
    return conn


async def until(conn: Any, match: Callable[[p.Message], bool]) -> p.Message:
    while True:
        message = await read(conn)
        if match(message):
            return message


def send(conn: Any, message: p.Message) -> None:
    frame = p.encode(message)
    conn.write_message(frame.data if frame.binary else frame.data.decode(), binary=frame.binary)


async def test_good_values_reach_the_widget_bytes_included(served: Any) -> None:
    bridge, target, _ = served
    conn = await joined(bridge)
    model = mirror(target).id
    send(conn, p.Set(model=model, state={"value": 4}, req=1))
    send(conn, p.Set(model=model, state={"blob": np.frombuffer(b"\x00\xff", np.uint8)}, req=2))
    send(conn, p.Set(model=model, state={"xs": {"xs": [1, 2.5]}}, req=3))
    echo = await until(conn, lambda m: isinstance(m, p.Patch) and "xs" in m.state)
    assert isinstance(echo, p.Patch) and echo.origin == {
        "session": echo.origin["session"],
        "req": 3,
    }
    assert target.value == 4 and target.blob == b"\x00\xff" and target.xs == [1.0, 2.5]


@pytest.mark.parametrize(
    ("name", "value", "code"),
    [
        ("_esm", "export default {render() { alert(1) }}", "read_only"),
        ("_anywidget_id", "x", "read_only"),
        ("layout", "IPY_MODEL_x", "unknown_property"),
        ("child", "IPY_MODEL_x", "read_only"),
        ("value", "not a number", "invalid_value"),
        ("value", 2**70, "invalid_value"),
        ("xs", {"ys": [1]}, "invalid_value"),
        ("xs", {"xs": ["a"]}, "invalid_value"),
    ],
)
async def test_bad_sets_are_refused_and_change_nothing(
    served: Any, name: str, value: Any, code: str
) -> None:
    bridge, target, _ = served
    other = await joined(bridge)
    conn = await joined(bridge)
    model = mirror(target).id
    before = mirror(target).get_state()
    conn.write_message(_raw_set(model, name, value))
    error = await until(conn, lambda m: isinstance(m, p.Error))
    assert isinstance(error, p.Error) and error.code == code, error
    assert mirror(target).get_state() == before
    assert target.value == 0 and target.child is None
    # the hub and the other client go on
    target.value = 9
    patch = await until(other, lambda m: isinstance(m, p.Patch))
    assert isinstance(patch, p.Patch) and patch.state == {"value": 9}


def _raw_set(model: str, name: str, value: Any) -> str:
    import json

    return json.dumps({"v": 1, "type": "set", "model": model, "state": {name: value}, "req": 1})


async def test_custom_messages_reach_on_msg_and_bad_ones_do_not(served: Any) -> None:
    bridge, target, got = served
    conn = await joined(bridge)
    model = mirror(target).id
    buf = np.arange(4, dtype=np.float64)
    send(conn, p.Custom(model=model, content={"kind": "hi"}, buffers=[buf]))
    wait_until(lambda: len(got) == 1)
    content, buffers = got[0]
    assert content == {"kind": "hi"} and bytes(buffers[0]) == buf.tobytes()
    # 65 levels of nesting: refused before Python
    deep: Any = 1
    for _ in range(70):
        deep = [deep]
    conn.write_message(_json({"v": 1, "type": "custom", "model": model, "content": deep}))
    error = await until(conn, lambda m: isinstance(m, p.Error))
    assert isinstance(error, p.Error) and error.code == "invalid_value"
    # past max_message_size: the connection is closed (1009), nothing reaches Python
    raw = RawClient(bridge)
    raw.send(0x1, p.encode(p.Hello(doc="main")).data)
    big = p.Custom(model=model, content={"pad": "x" * 100_000})
    raw.send(0x1, p.encode(big).data)
    assert raw.close_code() == 1009
    send(conn, p.Custom(model=model, content={"kind": "after"}))
    wait_until(lambda: len(got) == 2)
    assert got[1][0] == {"kind": "after"}


def _json(value: Any) -> str:
    import json

    return json.dumps(value)
