"""The streaming-HTTP framing: the WebSocket's frames in one byte stream, sans I/O.

Where a WebSocket cannot be opened (a proxy that refuses ``Upgrade``), the
hub sends a client the same frames in one long-lived HTTP response and the
client sends its own by ``POST`` (docs/protocol.md "Streaming HTTP"). Each
frame is ``kind`` (1 byte) + payload length (4 bytes, big-endian) + payload:
a text frame stays UTF-8 JSON, a binary frame keeps its 8-byte-aligned
layout (its own buffer once parsed). Used by the Tornado edge
(``server/httpstream.py``), the Python client and the golden tests; the
JavaScript twin is ``js/src/client/httpstream.js``.
"""

from __future__ import annotations

import json
import struct
from typing import Any

from ..errors import RemoteProtocolError

__all__ = [
    "BINARY",
    "CLOSE",
    "HEADER_SIZE",
    "KEEPALIVE",
    "KINDS",
    "OPEN",
    "TEXT",
    "FrameParser",
    "FramingError",
    "close_payload",
    "encode_frame",
    "frame_header",
    "open_payload",
    "parse_close",
    "parse_open",
]

#: a message frame, as the WebSocket's opcode 0x1 (UTF-8 JSON) and 0x2 (binary)
TEXT = 0x01
BINARY = 0x02
#: hub -> client, first: ``{"stream": id, "keepalive": seconds}`` (JSON)
OPEN = 0x03
#: hub -> client, last: a close code (uint16 BE) and a UTF-8 reason, as RFC 6455 §5.5.1
CLOSE = 0x08
#: hub -> client, empty: the stream is alive (sent when it was idle)
KEEPALIVE = 0x09
KINDS = frozenset({TEXT, BINARY, OPEN, CLOSE, KEEPALIVE})
#: the kinds a client may send (a POST body)
CLIENT_KINDS = frozenset({TEXT, BINARY})

_HEADER = struct.Struct(">BI")
HEADER_SIZE = _HEADER.size


class FramingError(RemoteProtocolError):
    """A byte stream that breaks the framing: ``status`` is the HTTP answer
    to a POST that carried it, ``close_code`` the session's close code."""

    def __init__(self, message: str, close_code: int = 1002, status: int = 400):
        super().__init__("bad_frame", message)
        self._close_code = close_code
        self.status = status

    @property
    def close_code(self) -> int | None:
        return self._close_code


def frame_header(kind: int, length: int) -> bytes:
    """The 5 bytes in front of a payload of ``length`` bytes."""
    return _HEADER.pack(kind, length)


def encode_frame(kind: int, payload: bytes = b"") -> bytes:
    """One whole frame (tests, control frames and small client messages)."""
    return _HEADER.pack(kind, len(payload)) + payload


def open_payload(stream: str, keepalive: float) -> bytes:
    return json.dumps({"stream": stream, "keepalive": keepalive}).encode()


def parse_open(payload: bytes) -> dict[str, Any]:
    try:
        info = json.loads(payload)
    except ValueError as exc:
        raise FramingError(f"an open frame that is not JSON: {exc}") from None
    if not isinstance(info, dict) or not isinstance(info.get("stream"), str):
        raise FramingError("an open frame without a stream id")
    return info


def close_payload(code: int, reason: str) -> bytes:
    return struct.pack(">H", code) + reason.encode()[:123]


def parse_close(payload: bytes) -> tuple[int, str]:
    """(code, reason) of a close frame; an empty one is 1005 (RFC 6455 §7.1.5)."""
    if not payload:
        return 1005, ""
    if len(payload) < 2:
        raise FramingError("a close frame of one byte")
    (code,) = struct.unpack_from(">H", payload)
    return code, payload[2:].decode("utf-8", errors="replace")


class FrameParser:
    """Bytes in, ``(kind, payload)`` out: ``feed`` any slices of the stream.

    ``max_payload`` bounds one frame (a larger declared length is refused
    before anything is buffered: 1009, HTTP 413); ``kinds`` the kinds the
    peer may send. Payloads are ``bytes`` of their own. Raises
    :class:`FramingError`; a parser that raised is not used again.
    """

    def __init__(self, max_payload: int, kinds: frozenset[int] = KINDS):
        self.max_payload = max_payload
        self.kinds = kinds
        self._buf = bytearray()

    @property
    def buffered(self) -> int:
        """Bytes of an incomplete frame held (0: at a frame boundary)."""
        return len(self._buf)

    def feed(self, data: bytes | bytearray | memoryview) -> list[tuple[int, bytes]]:
        if self._buf:
            self._buf += data
            buf: bytearray | memoryview = self._buf
        else:  # at a boundary: whole frames straight from ``data``, one copy each
            buf = memoryview(data)
        out: list[tuple[int, bytes]] = []
        pos = self._parse(buf, out)
        if buf is self._buf:
            del self._buf[:pos]
        else:
            self._buf += buf[pos:]
        return out

    def _parse(self, buf: bytearray | memoryview, out: list[tuple[int, bytes]]) -> int:
        """Append the whole frames of ``buf`` to ``out``; the bytes they took."""
        pos = 0
        end = len(buf)
        while end - pos >= HEADER_SIZE:
            kind, length = _HEADER.unpack_from(buf, pos)
            if kind not in self.kinds:
                raise FramingError(f"unknown frame kind {kind}")
            if length > self.max_payload:
                raise FramingError(
                    f"a frame of {length} bytes exceeds {self.max_payload}", 1009, 413
                )
            if end - pos - HEADER_SIZE < length:
                break
            start = pos + HEADER_SIZE
            out.append((kind, bytes(memoryview(buf)[start : start + length])))  # one copy
            pos = start + length
        return pos

    def finish(self) -> None:
        """The stream (or body) ended: raise if it ended inside a frame."""
        if self._buf:
            raise FramingError(f"the stream ended inside a frame ({len(self._buf)} bytes)")
