"""Zero-size arrays of any shape travel: an empty 2-D column must not break
its document's snapshot (docs/protocol.md "Binary frames": a buffer of
length 0 is as valid as any other)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

import wsbridge as wb
from wsbridge import wire as p
from wsbridge.client import Client


@pytest.mark.parametrize(
    "arr",
    [
        np.zeros((0, 2)),
        np.zeros((0, 3, 4), dtype=np.int8),
        np.zeros((5, 0), dtype=np.uint64),
        np.zeros((0,), dtype=np.bool_),
        np.zeros((0, 0)),
        np.zeros((0, 2))[:, ::2],  # not C-contiguous
    ],
    ids=lambda a: f"{a.dtype}{list(a.shape)}",
)
def test_zero_size_arrays_of_any_shape_round_trip(arr: np.ndarray) -> None:
    message = p.SourceReplace(seq=1, source="s", data={"a": arr, "b": np.arange(len(arr))})
    frame = p.encode(message)
    assert frame.binary
    decoded = p.decode(frame.data)
    assert isinstance(decoded, p.SourceReplace)
    got = decoded.data["a"]
    assert got.shape == arr.shape and got.dtype == arr.dtype


def test_a_document_with_an_empty_2d_column_loads_and_streams(bridge: wb.Bridge) -> None:
    src = wb.DataSource({"xy": np.zeros((0, 2)), "t": np.zeros(0)})
    bridge.dashboard("main", wb.Column(wb.Label("empty"))).add(src)
    bridge.flush()

    async def main() -> None:
        async with await Client.connect(bridge.url, "main") as c:
            assert c.source(src.id)["xy"].shape == (0, 2)
            seq = c.seq
            src.stream({"xy": np.ones((3, 2)), "t": np.arange(3.0)})
            await c.wait_for(lambda c: c.seq != seq)
            assert c.source(src.id)["xy"].shape == (3, 2)
        src.stream({"xy": np.zeros((0, 2)), "t": np.zeros(0)})  # an empty stream, too
        bridge.flush()
        async with await Client.connect(bridge.url, "main") as d:
            assert d.source(src.id)["xy"].shape == (3, 2)

    asyncio.run(asyncio.wait_for(main(), 15))
