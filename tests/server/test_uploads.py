"""File uploads and downloads over real sockets: every bad chunk is refused,
nothing of a refused upload is kept, limits hold, other clients go on.

Against a started ``Bridge`` (docs/files.md, docs/security.md "Uploads").
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import wsbridge as wb
from tests.helpers.common import wait_until
from tests.helpers.ws import RawClient, hello, read
from wsbridge import wire as p
from wsbridge.wire.files import Download, UploadAck, UploadChunk, UploadDone, UploadStart

MIB = 1024 * 1024


@pytest.fixture
def files() -> Iterator[tuple[wb.Bridge, wb.FileInput, wb.FileInput, wb.Slider]]:
    bridge = wb.Bridge(port=0, upload_timeout=1.0, max_upload_chunk=64 * 1024)
    bridge.start()
    one = wb.FileInput(max_size=2 * MIB)
    many = wb.FileInput(multiple=True, accept=".csv,text/*")
    slider = wb.Slider(1.0)
    bridge.dashboard("main", wb.Column(one, many, slider))
    try:
        yield bridge, one, many, slider
    finally:
        bridge.stop()


def _held(bridge: wb.Bridge) -> dict[str, int]:
    """What the hub holds for uploads, read on its loop."""
    stats: dict[str, int] = bridge.call(lambda hub: hub.uploads.stats())
    return stats


async def _joined(bridge: wb.Bridge) -> Any:
    conn = await hello(bridge)
    assert isinstance(await read(conn), p.Welcome)
    assert isinstance(await read(conn), p.Snapshot)
    return conn


def _start(
    model: wb.Model, upload: int, *sizes: int, names: tuple[str, ...] = (), mime: str = "text/csv"
) -> str:
    meta = [
        {"name": names[i] if i < len(names) else f"f{i}.csv", "type": mime, "size": s}
        for i, s in enumerate(sizes)
    ]
    return p.encode(UploadStart(model=model.id, upload=upload, files=meta)).data.decode()


def _chunk(upload: int, offset: int, data: bytes) -> bytes:
    msg = UploadChunk(upload=upload, offset=offset, data=np.frombuffer(data, np.uint8))
    return p.encode(msg).data


async def _until(conn: Any, kind: type, timeout: float = 5.0) -> Any:
    """The next message of ``kind`` (others skipped)."""
    end = time.monotonic() + timeout
    while True:
        msg = await asyncio.wait_for(read(conn), max(0.01, end - time.monotonic()))
        if isinstance(msg, kind):
            return msg


async def _send_all(conn: Any, upload: int, data: bytes, step: int = 64 * 1024) -> None:
    for at in range(0, len(data), step):
        await conn.write_message(_chunk(upload, at, data[at : at + step]), binary=True)


async def test_an_upload_reaches_python_intact_and_the_hub_keeps_nothing(files: Any) -> None:
    bridge, one, _many, _slider = files
    got: list[Any] = []
    one.on_upload(got.append)
    data = os.urandom(1_500_000)
    conn = await _joined(bridge)
    await conn.write_message(_start(one, 1, len(data), names=("blob.bin",)))
    await _send_all(conn, 1, data)
    assert (await _until(conn, UploadDone)).upload == 1
    assert len(one.value) == 1
    f = one.value[0]
    assert (f.name, f.type, f.size) == ("blob.bin", "text/csv", len(data))
    assert hashlib.sha256(f.content).digest() == hashlib.sha256(data).digest()
    assert got == [one.value]
    assert one.files == [{"name": "blob.bin", "type": "text/csv", "size": len(data)}]
    assert _held(bridge) == {"uploads": 0, "received_bytes": 0, "reserved_bytes": 0}


async def test_empty_files_are_delivered_without_chunks(files: Any) -> None:
    bridge, _one, many, _slider = files
    conn = await _joined(bridge)
    await conn.write_message(_start(many, 5, 0, 0, names=("a.txt", "b.txt")))
    assert (await _until(conn, UploadDone)).upload == 5
    assert [(f.name, f.content) for f in many.value] == [("a.txt", b""), ("b.txt", b"")]


async def test_acks_count_the_bytes_received(files: Any) -> None:
    bridge, one, _many, _slider = files
    conn = await _joined(bridge)
    await conn.write_message(_start(one, 3, 100_000))
    await conn.write_message(_chunk(3, 0, bytes(60_000)), binary=True)
    assert (await _until(conn, UploadAck)).received == 60_000
    await conn.write_message(_chunk(3, 60_000, bytes(40_000)), binary=True)
    assert (await _until(conn, UploadAck)).received == 100_000
    await _until(conn, UploadDone)


async def _refusal(conn: Any) -> p.Error:
    err = await _until(conn, p.Error)
    assert err.code == "upload_refused", err
    return err


async def test_a_file_over_max_size_is_refused_at_once(files: Any) -> None:
    bridge, one, _many, _slider = files
    conn = await _joined(bridge)
    await conn.write_message(_start(one, 1, 3 * MIB, names=("big.bin",)))
    err = await _refusal(conn)
    assert "big.bin is 3.1 MB" in err.message and "at most 2.1 MB" in err.message
    assert err.ref == {"type": "upload", "model": one.id, "upload": 1}
    assert _held(bridge)["reserved_bytes"] == 0
    assert one.value == ()


async def test_max_size_cannot_pass_the_hub_cap() -> None:
    with wb.Bridge(port=0, max_upload_size=1000) as bridge:
        inp = wb.FileInput(max_size=10 * MIB)
        bridge.dashboard("main", wb.Column(inp))
        conn = await _joined(bridge)
        await conn.write_message(_start(inp, 1, 1001))
        assert "at most 1.0 KB" in (await _refusal(conn)).message


async def test_more_bytes_than_declared_cancel_and_free_everything(files: Any) -> None:
    bridge, one, _many, _slider = files
    conn = await _joined(bridge)
    await conn.write_message(_start(one, 1, 100_000))
    await conn.write_message(_chunk(1, 0, bytes(60_000)), binary=True)
    await _until(conn, UploadAck)
    assert _held(bridge)["received_bytes"] == 60_000
    await conn.write_message(_chunk(1, 60_000, bytes(60_000)), binary=True)
    assert "more bytes than the 100000 declared" in (await _refusal(conn)).message
    assert _held(bridge) == {"uploads": 0, "received_bytes": 0, "reserved_bytes": 0}
    assert one.value == ()


async def test_a_chunk_out_of_sequence_cancels(files: Any) -> None:
    bridge, one, _many, _slider = files
    conn = await _joined(bridge)
    await conn.write_message(_start(one, 1, 100_000))
    await conn.write_message(_chunk(1, 10, bytes(1000)), binary=True)
    assert "a chunk at byte 10, expected byte 0" in (await _refusal(conn)).message
    assert _held(bridge)["reserved_bytes"] == 0
    # its chunks still in flight are dropped quietly; the connection works on
    await conn.write_message(_chunk(1, 1000, bytes(1000)), binary=True)
    await conn.write_message(_start(one, 2, 10))
    await conn.write_message(_chunk(2, 0, b"0123456789"), binary=True)
    assert (await _until(conn, UploadDone)).upload == 2
    assert one.value[0].content == b"0123456789"


async def test_a_chunk_over_the_limit_and_an_empty_one_cancel(files: Any) -> None:
    bridge, one, _many, _slider = files
    conn = await _joined(bridge)
    await conn.write_message(_start(one, 1, 200_000))
    await conn.write_message(_chunk(1, 0, bytes(64 * 1024 + 1)), binary=True)
    assert "a chunk of 65537 bytes (1 to 65536 allowed)" in (await _refusal(conn)).message
    await conn.write_message(_start(one, 2, 10))
    await conn.write_message(_chunk(2, 0, b""), binary=True)
    assert "a chunk of 0 bytes" in (await _refusal(conn)).message
    assert _held(bridge)["reserved_bytes"] == 0


async def test_chunks_of_no_upload_and_malformed_ones_are_refused(files: Any) -> None:
    bridge, _one, _many, _slider = files
    conn = await _joined(bridge)
    await conn.write_message(_chunk(99, 0, b"x"), binary=True)
    assert "no upload 99" in (await _refusal(conn)).message
    bad = p.encode({"v": 1, "type": "upload_chunk", "upload": 1, "offset": 0, "data": np.zeros(2)})
    await conn.write_message(bad.data, binary=True)
    err = await _until(conn, p.Error)
    assert err.code == "bad_message" and "uint8" in err.message
    # a client cannot hand Python an assembled upload itself
    forged = p.encode({"v": 1, "type": "upload", "model": "m", "upload": 1, "files": []})
    await conn.write_message(forged.data.decode())
    assert (await _until(conn, p.Error)).code == "bad_message"


async def test_uploads_are_only_for_models_that_take_files(files: Any) -> None:
    bridge, one, _many, slider = files
    conn = await _joined(bridge)
    await conn.write_message(_start(slider, 1, 10))
    assert "Slider takes no files" in (await _refusal(conn)).message
    await conn.write_message(_start(one, 2, 10, 10))
    assert "2 files at once; this input takes at most 1" in (await _refusal(conn)).message
    one.disabled = True
    await conn.write_message(_start(one, 3, 10))
    assert "disabled" in (await _refusal(conn)).message


async def test_concurrent_uploads_per_session_are_bounded(files: Any) -> None:
    bridge, _one, many, _slider = files
    conn = await _joined(bridge)
    for i in range(4):
        await conn.write_message(_start(many, i, 1000))
    await conn.write_message(_start(many, 4, 1000))
    assert "4 uploads are already in progress" in (await _refusal(conn)).message
    assert _held(bridge)["uploads"] == 4
    await conn.write_message(_start(many, 1, 1000))  # an id in use
    assert "already used" in (await _refusal(conn)).message


async def test_the_hub_budget_bounds_all_uploads_together() -> None:
    with wb.Bridge(port=0, max_upload_bytes_total=3000) as bridge:
        inp = wb.FileInput()
        bridge.dashboard("main", wb.Column(inp))
        a, b = await _joined(bridge), await _joined(bridge)
        await a.write_message(_start(inp, 1, 2000))
        await b.write_message(_start(inp, 1, 2000))
        assert "busy with other uploads" in (await _refusal(b)).message
        await a.write_message(_chunk(1, 0, bytes(2000)), binary=True)
        await _until(a, UploadDone)
        await b.write_message(_start(inp, 2, 2000))  # freed once Python handled it
        await b.write_message(_chunk(2, 0, bytes(2000)), binary=True)
        await _until(b, UploadDone)


async def test_a_stalled_upload_times_out_and_is_freed(files: Any) -> None:
    bridge, one, _many, _slider = files
    conn = await _joined(bridge)
    await conn.write_message(_start(one, 1, 100_000))
    await conn.write_message(_chunk(1, 0, bytes(50_000)), binary=True)
    await _until(conn, UploadAck)
    assert _held(bridge)["received_bytes"] == 50_000
    err = await _refusal(conn)
    assert "no data for 1 s" in err.message
    assert _held(bridge) == {"uploads": 0, "received_bytes": 0, "reserved_bytes": 0}


async def test_a_client_gone_mid_upload_leaves_nothing() -> None:
    with wb.Bridge(port=0, upload_timeout=60) as bridge:  # freed by the close, not a timer
        one = wb.FileInput()
        bridge.dashboard("main", wb.Column(one))
        conn = await _joined(bridge)
        await conn.write_message(_start(one, 1, 100_000))
        await conn.write_message(_chunk(1, 0, bytes(50_000)), binary=True)
        await _until(conn, UploadAck)
        conn.close()
        wait_until(lambda: _held(bridge)["reserved_bytes"] == 0, timeout=5)
        assert _held(bridge) == {"uploads": 0, "received_bytes": 0, "reserved_bytes": 0}
        assert one.value == ()


async def test_python_checks_accept_and_refuses_the_whole_upload(files: Any) -> None:
    bridge, _one, many, _slider = files
    conn = await _joined(bridge)
    await conn.write_message(_start(many, 1, 3, 3, names=("a.csv", "b.exe"), mime="x/y"))
    await conn.write_message(_chunk(1, 0, b"abcdef"), binary=True)
    err = await _until(conn, p.Error)
    assert err.code == "invalid_value" and "b.exe is not one of the accepted types" in err.message
    assert err.ref == {"type": "upload", "model": many.id, "upload": 1}
    assert (await _until(conn, UploadDone)).upload == 1
    assert many.value == ()
    await conn.write_message(_start(many, 2, 3, 2, names=("a.csv", "b.txt")))
    await conn.write_message(_chunk(2, 0, b"abcde"), binary=True)
    await _until(conn, UploadDone)
    assert [(f.name, f.content) for f in many.value] == [("a.csv", b"abc"), ("b.txt", b"de")]


async def test_a_flood_of_bad_chunks_is_closed_and_others_stream_on(files: Any) -> None:
    """A raw client blasting chunks of no upload is refused, then closed
    (1008); a viewer beside it gets every patch meanwhile."""
    bridge, _one, _many, slider = files
    viewer = await _joined(bridge)
    raw = RawClient(bridge)
    raw.send(0x1, p.encode(p.Hello(doc="main")).data)
    frame = _chunk(7, 0, bytes(10))
    for _ in range(2000):
        raw.send(0x2, frame)
    assert raw.close_code() == 1008
    for i in range(20):
        slider.value = float(i % 10)
    seen = 0
    while seen < 20:
        msg = await read(viewer)
        seen += isinstance(msg, p.Patch)


async def test_a_download_goes_to_the_clicking_viewer_only() -> None:
    payload = os.urandom(300_000)
    clicks: list[int] = []

    def make() -> bytes:
        clicks.append(1)
        return payload

    with wb.Bridge(port=0) as bridge:
        dl = wb.FileDownload(callback=make, filename="r.bin", mime="application/x-test")
        big = wb.FileDownload(b"x" * (33 * MIB), filename="big.bin")
        bridge.dashboard("main", wb.Column(dl, big))
        a, b = await _joined(bridge), await _joined(bridge)
        await a.write_message(p.encode(p.Event(model=dl.id, name="click")).data.decode())
        got = await _until(a, Download)
        assert (got.model, got.name, got.mime) == (dl.id, "r.bin", "application/x-test")
        assert got.data.tobytes() == payload and clicks == [1]
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(b.read_message(), 0.3)  # nothing for the other viewer
        await a.write_message(p.encode(p.Event(model=big.id, name="click")).data.decode())
        err = await _until(a, p.Error)
        assert err.code == "download_refused" and "34.6 MB" in err.message


async def test_an_upload_does_not_stall_streaming_to_other_viewers() -> None:
    """20 MB uploaded in 256 KiB chunks with a 2 MiB window (as the browser
    does) while Python streams every 5 ms: the viewer beside it gets every
    row, never waiting long for the next."""
    with wb.Bridge(port=0, max_upload_size=32 * MIB) as bridge:
        inp = wb.FileInput(max_size=32 * MIB)
        src = wb.DataSource({"x": np.zeros(0)})
        bridge.dashboard("main", wb.Column(inp, wb.Sparkline(src, x="x", y="x")))
        viewer, uploader = await _joined(bridge), await _joined(bridge)
        stop = asyncio.Event()

        def produce() -> None:
            i = 0
            while not stop.is_set():
                src.stream({"x": [float(i)]})
                i += 1
                time.sleep(0.005)

        feeder = asyncio.get_running_loop().run_in_executor(None, produce)
        data = os.urandom(20 * MIB)
        step, window, sent, acked = 256 * 1024, 2 * MIB, 0, 0
        gaps: list[float] = []

        async def watch() -> None:
            last = time.monotonic()
            while not stop.is_set():
                try:
                    await asyncio.wait_for(read(viewer), 0.5)
                except asyncio.TimeoutError:
                    continue
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        watcher = asyncio.ensure_future(watch())
        await asyncio.sleep(0.2)
        start = time.monotonic()
        await uploader.write_message(_start(inp, 1, len(data)))
        while acked < len(data):
            while sent < len(data) and sent - acked < window:
                await uploader.write_message(_chunk(1, sent, data[sent : sent + step]), binary=True)
                sent += step
            msg = await read(uploader)
            if isinstance(msg, UploadAck):
                acked = msg.received
        await _until(uploader, UploadDone)
        seconds = time.monotonic() - start
        await asyncio.sleep(0.2)
        stop.set()
        await feeder
        await watcher
        assert hashlib.sha256(inp.value[0].content).digest() == hashlib.sha256(data).digest()
        print(
            f"\n20 MiB from a Python client: {20 * MIB / 1e6 / seconds:.1f} MB/s; "
            f"viewer's longest wait {max(gaps) * 1000:.0f} ms over {len(gaps)} messages"
        )
        assert len(gaps) > 20 and max(gaps) < 0.5
