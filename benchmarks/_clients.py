"""Many WebSocket clients in a child process (idle viewers, fan-out receivers).

Kept out of the measuring process so that reading N sockets never competes
with the measured client or the server for one GIL.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import sys
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

from tornado.websocket import websocket_connect

from ._common import raise_nofile


def hold_clients(
    ready: Any, go: Any, url: str, n: int, hello: str | None, marker: str | None = None
) -> None:
    """Connect ``n`` clients to ``url`` (sending ``hello`` first when given).

    Every client reads and discards what it gets. With ``marker`` (a prefix
    such as ``"@@"``), a received text frame containing ``marker + k + "|"``
    records its arrival time for round ``k``; when all ``n`` clients saw round
    ``k`` the child puts ``("done", k, last_arrival)`` on ``ready``.
    """
    raise_nofile(4 * n + 256)
    rounds: dict[int, list[float]] = {}

    def make_callback() -> Any:
        def on_message(msg: Any) -> None:
            if marker is None or not isinstance(msg, str):
                return
            at = msg.find(marker)
            if at < 0:
                return
            now = time.perf_counter()
            end = msg.index("|", at)
            k = int(msg[at + len(marker) : end])
            got = rounds.setdefault(k, [0, 0.0])
            got[0] += 1
            got[1] = max(got[1], now)
            if got[0] == n:
                ready.put(("done", k, got[1]))

        return on_message

    async def connect_all() -> list[Any]:
        conns = []
        for i in range(n):
            for attempt in range(5):
                try:
                    conn = await websocket_connect(
                        url, on_message_callback=make_callback(), max_message_size=1 << 30
                    )
                    break
                except OSError:
                    if attempt == 4:
                        raise
                    await asyncio.sleep(0.05)
            try:
                conn.protocol.stream.set_nodelay(True)  # type: ignore[union-attr]
            except (AttributeError, OSError):
                pass
            if hello is not None:
                await conn.write_message(hello)
            conns.append(conn)
            if i % 100 == 99:
                await asyncio.sleep(0)
        return conns

    _hold(ready, "hold_clients", connect_all)


def _hold(ready: Any, name: str, connect_all: Callable[[], Awaitable[list[Any]]]) -> None:
    """Run ``connect_all`` on a new loop, report ``("ready", n)`` once every
    connection read its welcome and snapshot, then keep them open for good;
    a failure is reported as ``("failed", why)`` instead of leaving the parent waiting."""

    async def main() -> None:
        conns = await connect_all()
        await asyncio.sleep(0.5)  # welcome + snapshot read by everyone
        ready.put(("ready", len(conns)))
        while True:
            await asyncio.sleep(3600)

    try:
        asyncio.run(main())
    except Exception as exc:
        print(f"{name} failed: {exc!r}", file=sys.stderr)
        ready.put(("failed", repr(exc)))


def _client_frame(opcode: int, payload: bytes) -> bytes:
    """One masked client frame (RFC 6455 section 5.2: client frames are masked)."""
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 1 << 16:
        head = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    key = os.urandom(4)
    masked = bytes(b ^ key[i & 3] for i, b in enumerate(payload))
    return head + key + masked


class _Viewer(asyncio.Protocol):
    """A WebSocket viewer that costs next to nothing: after the handshake it
    only finds frame boundaries, answers pings and discards the rest.

    For the round trip, whose 100 other clients stand for browsers on other
    machines: 100 Tornado clients in one Python process spent ~40 us each
    per received message, milliseconds per round on the measuring box's two
    cores, in the measured client's way (raw Tornado's idle clients get
    nothing, so that cost fell on one side only).
    """

    def __init__(self, host: str, path: str, hello: str | None, ready: Any) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        self.hello = hello
        self.ready = ready
        self.buf = bytearray()
        self.open = False
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if not self.open:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self.ready.set_exception(RuntimeError(bytes(buf[:end]).decode(errors="replace")))
                return
            del buf[: end + 4]
            self.open = True
            if self.hello is not None:
                self.transport.write(_client_frame(0x1, self.hello.encode()))
            self.ready.set_result(None)
        pos, size = 0, len(buf)
        while size - pos >= 2:
            n, head = buf[pos + 1] & 0x7F, 2
            if n == 126:
                if size - pos < 4:
                    break
                n, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif n == 127:
                if size - pos < 10:
                    break
                n, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            if size - pos < head + n:
                break
            if buf[pos] & 0x0F == 0x9:  # ping: pong with the same payload
                self.transport.write(_client_frame(0xA, bytes(buf[pos + head : pos + head + n])))
            pos += head + n
        del buf[:pos]


def hold_light_clients(ready: Any, go: Any, url: str, n: int, hello: str | None) -> None:
    """Like ``hold_clients`` (no marker), with ``_Viewer`` connections."""
    raise_nofile(4 * n + 256)
    parsed = urllib.parse.urlsplit(url)

    async def connect_all() -> list[Any]:
        loop = asyncio.get_running_loop()
        viewers = []
        for _ in range(n):
            opened = loop.create_future()
            await loop.create_connection(
                lambda opened=opened: _Viewer(parsed.netloc, parsed.path, hello, opened),
                parsed.hostname,
                parsed.port,
            )
            await asyncio.wait_for(opened, 10)
            viewers.append(opened)
        return viewers

    _hold(ready, "hold_light_clients", connect_all)
