"""Source patches travel exactly: numbers as arrays of their column's dtype.

A patched element once travelled as a JSON number, so a live viewer saw
NaN for ±inf and rounded or wrapped 64-bit integers, while a reload (a
snapshot, whose columns are binary buffers) showed the truth. Now a patched
number is a 0-d buffer of the column's dtype (docs/protocol.md
"source_patch"); these tests hold the Python client, the codec and the
hub's handling of older and hostile producers to it. The browser's side is
tests/test_exact_patches_browser.py and js/test/client/source.test.js.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

import wsbridge as wb
from wsbridge import wire as p
from wsbridge.client import Client
from wsbridge.hub.columns import ColumnStore
from wsbridge.hub.state import DocumentState

#: (column, dtype, row, value): what a live viewer once saw wrong
EXACT = [
    ("f", np.float64, 0, np.inf),
    ("f", np.float64, 1, -np.inf),
    ("i", np.int64, 0, 2**53 + 1),
    ("i", np.int64, 1, 2**63 - 1),
    ("u", np.uint64, 0, 2**64 - 1),
]


def exact_source() -> wb.DataSource:
    return wb.DataSource(
        {
            "f": np.zeros(2),
            "i": np.zeros(2, dtype=np.int64),
            "u": np.zeros(2, dtype=np.uint64),
            "name": ["a", "b"],
        }
    )


def patches() -> dict[str, list[tuple[int, Any]]]:
    out: dict[str, list[tuple[int, Any]]] = {}
    for col, _, row, value in EXACT:
        out.setdefault(col, []).append((row, value))
    return out


def assert_exact(columns: dict[str, Any]) -> None:
    for col, dtype, row, value in EXACT:
        assert columns[col].dtype == dtype
        got = columns[col][row]
        assert got == value and type(got.item()) is type(np.array(value, dtype).item()), (col, row)


def test_a_patch_message_holds_0d_arrays_of_the_columns_dtypes() -> None:
    src = exact_source()
    sent: list[p.Message] = []
    src._listeners.append(lambda _src, message: sent.append(message))
    src.patch({**patches(), "name": [(1, "z")]})
    (message,) = sent
    assert isinstance(message, p.SourcePatch)
    for col, dtype, row, value in EXACT:
        (item,) = [v for i, v in message.patches[col] if i == row]
        assert isinstance(item, np.ndarray) and item.shape == () and item.dtype == dtype
        assert item == value
    assert message.patches["name"] == [[1, "z"]]
    frame = p.encode(message)
    assert frame.binary
    decoded = p.decode(frame.data)
    assert isinstance(decoded, p.SourcePatch)
    state = DocumentState("d", "e")
    state.sources[src.id] = ColumnStore(exact_source().data)
    state.apply(p.SourcePatch(seq=1, source=src.id, patches=decoded.patches))
    assert_exact(state.sources[src.id].data)


def test_a_live_python_client_sees_the_exact_values_of_a_patch(bridge: wb.Bridge) -> None:
    src = exact_source()
    dash = bridge.dashboard("main", wb.Column(wb.Table(src)))
    del dash
    bridge.flush()

    async def main() -> None:
        async with await Client.connect(bridge.url, "main") as c:
            seq = c.seq
            src.patch(patches())
            await c.wait_for(lambda c: c.seq is not None and seq is not None and c.seq > seq)
            assert_exact(c.source(src.id))
        # and a reload shows the same
        async with await Client.connect(bridge.url, "main") as d:
            assert_exact(d.source(src.id))

    asyncio.run(asyncio.wait_for(main(), 15))


@pytest.mark.parametrize(
    ("col", "value", "expect"),
    [
        ("f", 1.5, 1.5),  # a JSON number from an older producer becomes a 0-d float64
        ("f", None, "nan"),  # how NaN travelled as JSON
        ("i", 2**63 - 1, 2**63 - 1),
        ("u", 2**64 - 1, 2**64 - 1),
        ("i", np.array(7, dtype=np.int8), 7),
    ],
)
def test_network_patches_are_cast_to_the_columns_dtype(col: str, value: Any, expect: Any) -> None:
    store = ColumnStore(exact_source().data)
    (item,) = store.check_wire_patch({col: [[0, value]]})[col]
    got = item[1]
    assert isinstance(got, np.ndarray) and got.dtype == store.dtype_of(col)
    assert np.isnan(got) if expect == "nan" else got == expect


@pytest.mark.parametrize(
    ("col", "item"),
    [
        ("i", [0, 2**63]),  # past int64
        ("u", [0, -1]),  # would wrap to uint64 max
        ("i", [0, 1.5]),  # a float into an int column
        ("i", [0, np.array(-1, dtype=np.int64).astype(np.uint64)]),  # uint64 max into int64
        ("u", [0, np.array(-1, dtype=np.int8)]),
        ("i", [2, 1]),  # past the rows
        ("i", [{"start": 0, "stop": 3, "step": 1}, np.zeros(3, dtype=np.int64)]),
        ("name", [0, 1]),  # a number into a string column
        ("f", [0, "x"]),  # a string into a number column
        ("nope", [0, 1]),  # no such column
    ],
)
def test_bad_network_patches_are_refused_whole(col: str, item: list[Any]) -> None:
    store = ColumnStore(exact_source().data)
    with pytest.raises(ValueError):
        store.check_wire_patch({col: [item]})
