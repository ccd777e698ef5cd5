"""A stalled client: one that completes the handshake and then never reads.

The producer streams 64 KB float64 chunks at a steady 2,000 messages/s
(128 MB/s; 1 GB in total, 64 MB with ``--quick``) while a healthy client
reads. ``y[0]`` of every chunk is the producer's ``perf_counter()``, so the
healthy client measures each message's latency (CLOCK_MONOTONIC across
processes). Measured twice on fresh hubs: without and with a stalled client
(a raw socket with a 64 KB receive buffer that sends the handshake and hello
and then never reads). Reported: the hub's RSS growth, what the hub did to
the stalled session (coalesced/dropped, closed and with which code), and the
healthy client's latency in both runs. For scale, raw Tornado writing the
same backlog to a client that never reads, without awaiting
``write_message``, grows by the whole backlog.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import select
import socket
import struct
import threading
import time
from typing import Any

import numpy as np
import orjson
import tornado.web
import tornado.websocket

import wsbridge as wb
from wsbridge import wire as p

from ._common import child, pct, quiet_logs, row, rss_bytes, serve_forever
from .bench_stream import wsbridge_connect

CHUNK = 8192  # float64 per message: 64 KB
RATE = 2000.0  # messages per second
WRITE_TIMEOUT = 5.0
ROLLOVER = CHUNK * 16  # a 1 MB window; coalesced streams keep chunk boundaries
END = "end-of-run"  # the hub's write_timeout in this benchmark (default 30 s)


class _RssPeak:
    """Samples this process's RSS every 20 ms; ``peak`` since ``start``."""

    def __init__(self) -> None:
        self.base = rss_bytes()
        self.peak = self.base
        self._stop = False
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self._stop:
            self.peak = max(self.peak, rss_bytes())
            time.sleep(0.02)


def _serve_wsbridge(ready: Any, go: Any, count: int) -> None:
    bridge = wb.Bridge(write_timeout=WRITE_TIMEOUT).start()
    src = wb.DataSource({"y": np.zeros(0)})
    end = wb.Label(value="")
    bridge.dashboard("bench", wb.Column(children=[end])).add(src)
    bridge.flush()
    ready.put((bridge.url, None))
    go.wait()
    seen: dict[str, dict[str, Any]] = {}

    def sample(hub: Any) -> None:
        for s in hub.sessions.values():
            info = seen.setdefault(s.id, {"max_queued": 0, "dropped": 0})
            info["max_queued"] = max(info["max_queued"], s.queued_bytes)
            info["dropped"] = max(info["dropped"], getattr(s, "dropped", 0))

    rss = _RssPeak()
    chunk = np.random.default_rng(0).random(CHUNK)
    t0 = time.perf_counter()
    for i in range(count):
        delay = t0 + i / RATE - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        chunk[0] = time.perf_counter()
        src.stream({"y": chunk}, rollover=ROLLOVER)
        if i % 200 == 0:
            bridge.call(sample)
    end.value = END  # a patch (or, after a dropped queue, in the snapshot)
    deadline = time.perf_counter() + WRITE_TIMEOUT + 3  # give the slow-consumer policy its time
    while time.perf_counter() < deadline:
        bridge.call(sample)
        time.sleep(0.1)
    left = bridge.call(lambda hub: sorted(hub.sessions))
    rss._stop = True
    ready.put(
        {
            "rss_base": rss.base,
            "rss_peak": rss.peak,
            "sessions": seen,
            "open_at_end": left,
            "elapsed": time.perf_counter() - t0,
        }
    )
    time.sleep(3600)


class _Flood(tornado.websocket.WebSocketHandler):
    """Raw Tornado writing ``count`` chunks without awaiting (the naive way)."""

    def initialize(self, count: int, ready: Any) -> None:
        self.count, self.ready = count, ready

    def open(self, *args: object) -> None:
        self._task = asyncio.ensure_future(self._flood())

    async def _flood(self) -> None:
        base = rss_bytes()
        payload = np.random.default_rng(0).random(CHUNK).tobytes()
        for i in range(self.count):
            self.write_message(payload, binary=True)  # future ignored
            if i % 64 == 0:
                await asyncio.sleep(0)
        await asyncio.sleep(0.5)
        self.ready.put({"rss_growth": rss_bytes() - base})


def _serve_raw(ready: Any, go: Any, count: int) -> None:
    app = tornado.web.Application([(r"/ws", _Flood, {"count": count, "ready": ready})])
    serve_forever(app, ready)


def _stalled_socket(port: int, path: str, hello: str | None) -> socket.socket:
    """Handshake by hand, send hello, and from then on never read."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)  # byte by byte: leave every frame in the socket
    assert b" 101 " in head.split(b"\r\n")[0], head
    if hello is not None:
        data = hello.encode()
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        assert len(data) < 126
        sock.sendall(bytes([0x81, 0x80 | len(data)]) + mask + masked)
    return sock


def _drain_close_code(sock: socket.socket, timeout: float) -> str:
    """Read everything left; return what ended the connection."""
    buf = bytearray()
    deadline = time.monotonic() + timeout
    ended = "still open"
    sock.setblocking(False)
    while time.monotonic() < deadline:
        ready, _, _ = select.select([sock], [], [], 0.2)
        if not ready:
            continue
        try:
            data = sock.recv(1 << 20)
        except ConnectionResetError:
            ended = "reset (no close frame)"
            break
        if not data:
            ended = "EOF (no close frame)"
            break
        buf += data
    # parse the frames received
    pos, frames = 0, 0
    while pos + 2 <= len(buf):
        b0, b1 = buf[pos], buf[pos + 1]
        n, hdr = b1 & 0x7F, 2
        if n == 126:
            if pos + 4 > len(buf):
                break
            (n,) = struct.unpack_from(">H", buf, pos + 2)
            hdr = 4
        elif n == 127:
            if pos + 10 > len(buf):
                break
            (n,) = struct.unpack_from(">Q", buf, pos + 2)
            hdr = 10
        if pos + hdr + n > len(buf):
            break
        payload = bytes(buf[pos + hdr : pos + hdr + n])
        frames += 1
        if b0 & 0x0F == 0x8:
            code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
            reason = payload[2:].decode(errors="replace")
            return f"close {code} {reason!r} after {frames - 1} frames (incl. the initial snapshot)"
        pos += hdr + n
    sock.close()
    return f"{ended}, {frames} frames read"


async def _healthy(url: str) -> list[float]:
    """Latencies of every stream message until the end marker."""
    conn = await wsbridge_connect(url)
    latencies = []
    while True:
        data = await conn.read_message()
        if data is None:
            raise RuntimeError("the hub closed the healthy client")
        now = time.perf_counter()
        if not isinstance(data, bytes):
            if END in data:
                break
            continue
        (hlen,) = struct.unpack_from("<I", data)
        header = orjson.loads(data[4 : 4 + hlen])
        if END.encode() in data[4 : 4 + hlen]:  # a snapshot after a dropped queue
            break
        if header.get("type") != "stream":
            continue
        # the newest chunk's first value is its send time (coalescing keeps chunks whole)
        buf = header["$buffers"][0]
        newest = buf["offset"] + buf["length"] - CHUNK * 8
        latencies.append(now - np.frombuffer(data, np.float64, count=1, offset=newest)[0])
    conn.close()
    return latencies


async def _hub_run(count: int, stall: bool) -> tuple[list[float], dict[str, Any], str]:
    with child(_serve_wsbridge, count) as ((url, _), go, proc):
        port = int(url.rsplit(":", 1)[1].strip("/"))
        hello = p.encode(p.Hello(doc="bench")).data.decode()
        stalled = _stalled_socket(port, "/ws", hello) if stall else None
        task = asyncio.ensure_future(_healthy(url))
        await asyncio.sleep(0.3)  # connected and synced
        go.set()
        latencies = await asyncio.wait_for(task, count / RATE + 60)
        loop = asyncio.get_running_loop()
        report = await loop.run_in_executor(None, lambda: proc.queue.get(timeout=60))
        ended = "-"
        if stalled is not None:
            ended = await loop.run_in_executor(None, _drain_close_code, stalled, 5.0)
    return latencies, report, ended


async def _raw_flood(count: int) -> int:
    with child(_serve_raw, count) as ((port, _), _go, proc):
        sock = _stalled_socket(port, "/ws", None)
        loop = asyncio.get_running_loop()
        report = await loop.run_in_executor(None, lambda: proc.queue.get(timeout=120))
        with contextlib.suppress(OSError):
            sock.close()
    return int(report["rss_growth"])


def run(quick: bool = False) -> list[dict[str, Any]]:
    total = (64 if quick else 1024) << 20
    count = total // (CHUNK * 8)
    with quiet_logs():
        base_lat, _, _ = asyncio.run(_hub_run(count, stall=False))
        lat, report, ended = asyncio.run(_hub_run(count, stall=True))
        raw_growth = asyncio.run(_raw_flood(count))
    growth = (report["rss_peak"] - report["rss_base"]) / 2**20
    stalled = [
        v for v in report["sessions"].values() if v["max_queued"] > 0 or v["dropped"] > 0
    ] or [{}]
    worst = max(stalled, key=lambda v: v.get("max_queued", 0))
    size = f"{total >> 20} MB streamed"
    notes = (
        f"stalled session: max queued {worst.get('max_queued', 0) / 2**20:.1f} MB, "
        f"queue dropped {worst.get('dropped', 0)}x; it saw: {ended}; "
        f"write_timeout={WRITE_TIMEOUT:g}s"
    )
    return [
        row(
            "stalled",
            f"hub RSS growth, {size}",
            "MB",
            growth,
            raw_growth / 2**20,
            higher_is_better=False,
            notes=notes,
            baseline="raw tornado, writes not awaited",
        ),
        row(
            "stalled",
            "hub RSS growth vs 64 MB cap",
            "MB",
            growth,
            None,
            higher_is_better=False,
            target=64.0,
        ),
        row(
            "stalled",
            "healthy client p50 latency",
            "ms",
            pct(lat, 50) * 1e3,
            pct(base_lat, 50) * 1e3,
            higher_is_better=False,
            target=1.2,
            baseline="same hub, no stalled client",
        ),
        row(
            "stalled",
            "healthy client p99 latency",
            "ms",
            pct(lat, 99) * 1e3,
            pct(base_lat, 99) * 1e3,
            higher_is_better=False,
            target=1.2,
            baseline="same hub, no stalled client",
            extra={"healthy_messages": [len(base_lat), len(lat)], "hub_report": report},
        ),
    ]
