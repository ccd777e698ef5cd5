"""The frame writer (server/writer.py): gathered writes on a checked Tornado,
the public ``write_message`` elsewhere; the same frames reach a client both ways."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import numpy as np
import pytest
import tornado

import wsbridge as wb
from tests.helpers.ws import hello, read
from wsbridge import wire as p
from wsbridge.server import writer
from wsbridge.server.writer import SUPPORTED, _Protocol, frame_writer_supported


def test_the_writer_is_used_only_on_checked_tornado_versions() -> None:
    low, high = SUPPORTED
    assert frame_writer_supported(low) and not frame_writer_supported((low[0], low[1] - 1))
    assert not frame_writer_supported(high) and not frame_writer_supported((7, 0))
    assert writer.FRAME_WRITER == frame_writer_supported(tornado.version_info)


@pytest.fixture(params=[True, False], ids=["frame-writer", "write_message"])
def frame_writer(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[bool]:
    if request.param and not frame_writer_supported():
        pytest.fail(f"tornado {tornado.version} is outside {SUPPORTED}: bump the check")
    monkeypatch.setattr(writer, "FRAME_WRITER", request.param)
    yield request.param


async def test_both_writers_deliver_every_frame_in_order(frame_writer: bool) -> None:
    with wb.Bridge() as bridge:
        label = wb.Label("a")
        src = wb.DataSource({"x": np.arange(3.0)})
        dash = bridge.dashboard("main", wb.Column(label))
        dash.add(src)
        bridge.flush()
        conn = await hello(bridge)
        assert isinstance(await read(conn), p.Welcome)
        snap = await read(conn)
        assert isinstance(snap, p.Snapshot)
        hub = bridge.hub
        assert hub is not None
        assert len(hub.sessions) == 1
        handler_kinds = await asyncio.get_running_loop().run_in_executor(
            None,
            bridge.call,
            lambda h: [type(s.flush.__self__.transport.ws_connection) for s in h.sessions.values()],  # type: ignore[attr-defined]
        )
        assert (handler_kinds[0] is _Protocol) == frame_writer
        for i in range(50):  # patches and binary streams, interleaved
            label.value = f"v{i}"
            src.stream({"x": np.full(1000, float(i))})
        last = snap.seq + 100
        seen: list[p.Sequenced] = []
        while not seen or seen[-1].seq != last:
            message = await read(conn)
            assert isinstance(message, p.Sequenced)
            seen.append(message)
        # contiguous, in order (a lagging client may get merged runs: first..seq)
        ends = [snap.seq] + [m.seq for m in seen]
        assert all(m.first_seq() == end + 1 for m, end in zip(seen, ends, strict=False))
        patches = [m for m in seen if isinstance(m, p.Patch)]
        assert patches[-1].state == {"value": "v49"}
        rows = np.concatenate([np.asarray(m.data["x"]) for m in seen if isinstance(m, p.Stream)])
        assert np.array_equal(rows, np.repeat(np.arange(50.0), 1000))
        conn.close()
