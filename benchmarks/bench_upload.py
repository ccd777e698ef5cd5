"""File upload throughput: wsbridge vs a raw Tornado receiver, same chunks, same window.

wsbridge: a ``FileInput`` in a Bridge (its own process); the client sends
``upload_start``, then the file in 256 KiB ``upload_chunk`` binary frames
with at most 2 MiB unacknowledged (the JS client's window), reads the hub's
``upload_ack``s and stops the clock at ``upload_done``: every byte checked,
assembled and handed to Python, its ``on_upload`` callback run. Raw
Tornado: a handler that appends each binary frame to a bytearray and
answers it with a small text ack, the same window on the client, the clock
stopped at the last ack. The browser's own figure (Chromium reading a file
from its picker) is in docs/files.md.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import numpy as np
import tornado.web
import tornado.websocket
from tornado.websocket import websocket_connect

import wsbridge as wb
from wsbridge import wire as p
from wsbridge.wire.files import UploadAck, UploadChunk, UploadDone, UploadStart

from ._common import WS_OPTIONS, child, nodelay, quiet_logs, row, serve_forever

CHUNK = 256 * 1024
WINDOW = 2 * 1024 * 1024


class _Sink(tornado.websocket.WebSocketHandler):
    def open(self, *args: object) -> None:
        self.set_nodelay(True)
        self.data = bytearray()

    def on_message(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            self.data += message
            self.write_message(str(len(self.data)))
        else:
            self.data = bytearray()


def _serve_raw(ready: Any, go: Any) -> None:
    app = tornado.web.Application([(r"/ws", _Sink)], websocket_max_message_size=1 << 30)
    serve_forever(app, ready)


def _serve_wsbridge(ready: Any, go: Any, size: int) -> None:
    bridge = wb.Bridge(max_upload_size=size + 1).start()
    inp = wb.FileInput(max_size=size + 1)
    bridge.dashboard("bench", wb.Column(inp))
    bridge.flush()
    ready.put((bridge.url, inp.id))
    time.sleep(3600)


async def _raw(port: int, data: bytes) -> float:
    conn = await websocket_connect(f"ws://127.0.0.1:{port}/ws", **WS_OPTIONS)
    nodelay(conn)
    start = time.perf_counter()
    sent = acked = 0
    while acked < len(data):
        while sent < len(data) and sent - acked < WINDOW:
            await conn.write_message(data[sent : sent + CHUNK], binary=True)
            sent += min(CHUNK, len(data) - sent)
        acked = int(await conn.read_message())
    seconds = time.perf_counter() - start
    conn.close()
    return seconds


async def _ours(url: str, model: str, data: bytes, upload: int) -> float:
    conn = await websocket_connect(url.replace("http://", "ws://") + "ws", **WS_OPTIONS)
    nodelay(conn)
    await conn.write_message(p.encode(p.Hello(doc="bench")).data.decode())
    while not isinstance(p.decode(await conn.read_message()), p.Snapshot):
        pass
    meta = [{"name": "bench.bin", "type": "application/octet-stream", "size": len(data)}]
    start = time.perf_counter()
    await conn.write_message(
        p.encode(UploadStart(model=model, upload=upload, files=meta)).data.decode()
    )
    sent = acked = 0
    view = np.frombuffer(data, np.uint8)
    while True:
        while sent < len(data) and sent - acked < WINDOW:
            chunk = UploadChunk(upload=upload, offset=sent, data=view[sent : sent + CHUNK])
            await conn.write_message(p.encode(chunk).data, binary=True)
            sent += min(CHUNK, len(data) - sent)
        msg = p.decode(await conn.read_message())
        if isinstance(msg, UploadAck):
            acked = msg.received
        elif isinstance(msg, UploadDone):
            break
        elif isinstance(msg, p.Error):
            raise RuntimeError(msg.message)
    seconds = time.perf_counter() - start
    conn.close()
    return seconds


async def _both(size: int, rounds: int) -> tuple[list[float], list[float]]:
    data = os.urandom(size)
    raw, ours = [], []
    with (
        child(_serve_raw) as ((port, _), _g1, _p1),
        child(_serve_wsbridge, size) as ((url, model), _g2, _p2),
    ):
        for i in range(rounds):  # alternate, so background load hits both alike
            raw.append(await _raw(port, data))
            ours.append(await _ours(url, model, data, i + 1))
    return raw, ours


def run(quick: bool = False) -> list[dict[str, Any]]:
    size, rounds = (20 * 1024 * 1024, 3) if quick else (64 * 1024 * 1024, 5)
    with quiet_logs():
        raw, ours = asyncio.run(_both(size, rounds))
    mb = size / 1e6
    return [
        row(
            "upload",
            f"{size >> 20} MiB file, 256 KiB chunks, 2 MiB window",
            "MB/s",
            mb / min(ours),
            mb / min(raw),
            higher_is_better=True,
            target=0.5,
            notes="checked, assembled, handed to Python",
        )
    ]
