"""WebSocket helpers for tests against a real hub: a client that says hello,
reads decoded messages, and a raw client that writes frames by hand."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
from typing import Any

from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

import wsbridge as wb
from wsbridge import wire as p

__all__ = ["RawClient", "close_raw_clients", "connect", "hello", "read", "ws_url"]

#: client connections a test opened (closed after it: ``close_raw_clients``)
OPENED: list[Any] = []


async def connect(request: Any, **kw: Any) -> Any:
    """``tornado.websocket.websocket_connect``, released after the test even
    when the hub closed it first (Tornado warns about any client never closed)."""
    conn = await websocket_connect(request, **kw)
    OPENED.append(conn)
    return conn


def ws_url(bridge: wb.Bridge) -> str:
    return bridge.url.replace("http://", "ws://") + "ws"


async def hello(
    bridge: wb.Bridge, doc: str = "main", headers: dict[str, str] | None = None, **kw: Any
) -> Any:
    req = HTTPRequest(ws_url(bridge), headers=headers or {})
    conn = await connect(req)
    conn.write_message(p.encode(p.Hello(doc=doc, **kw)).data.decode())
    return conn


async def read(conn: Any) -> p.Message:
    data = await asyncio.wait_for(conn.read_message(), 5)
    assert data is not None, f"closed: {conn.close_code} {conn.close_reason}"
    return p.decode(data)


# -- raw frames (RFC 6455 §5.2), for what a well-behaved client library won't send


class RawClient:
    """A WebSocket written by hand, frame by frame; closed after the test (below)."""

    made: list[RawClient] = []

    def __init__(self, bridge: wb.Bridge, rcvbuf: int | None = None):
        """``rcvbuf``: a receive buffer set before connecting (a small one makes
        a client that stops reading stall its hub's writes at once)."""
        host, port = bridge.url[len("http://") :].rstrip("/").rsplit(":", 1)
        if rcvbuf is None:
            self.sock = socket.create_connection((host, int(port)), timeout=5)
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.sock.settimeout(5)
            self.sock.connect((host, int(port)))
        RawClient.made.append(self)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        assert head.startswith(b"HTTP/1.1 101"), head
        self.buf = b""

    def send(self, opcode: int, payload: bytes, fin: bool = True) -> None:
        mask = os.urandom(4)
        b0 = (0x80 if fin else 0) | opcode
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", b0, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", b0, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", b0, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def _need(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed without a close frame")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self) -> tuple[int, bytes]:
        b0, b1 = self._need(2)
        n = b1 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", self._need(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", self._need(8))
        return b0 & 0x0F, self._need(n)

    def close_code(self) -> int:
        while True:
            opcode, payload = self.recv()
            if opcode == 0x8:
                return int(struct.unpack("!H", payload[:2])[0])


def close_raw_clients() -> None:
    """Close every RawClient and connection a test made (tests/conftest.py)."""
    while RawClient.made:
        RawClient.made.pop().sock.close()
    while OPENED:
        conn = OPENED.pop()
        try:
            conn.close()
        except RuntimeError:  # its loop is gone (asyncio.run ended): nothing to send
            conn.protocol = None
        # a close started just before its loop ended never got the hub's
        # answer: release the socket itself
        stream = getattr(conn, "stream", None)
        sock = getattr(stream, "socket", None)
        if sock is not None:
            sock.close()
