"""The frame writer: many WebSocket frames to the socket in one ``sendmsg``.

Tornado's public ``write_message`` copies each frame into its stream buffer
and schedules a flush per frame; for streams of large binary buffers that
is most of the hub's time (docs/performance.md#batched-writes-with-one-sendmsg).
This module builds RFC 6455 frame headers itself and hands header and
buffer views to the socket together. It subclasses Tornado's private
``WebSocketProtocol13``, so it is used only on the Tornado versions it was
checked against (:data:`SUPPORTED`); anywhere else the socket falls back to
the public ``write_message``.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from typing import Any

import tornado
import tornado.websocket
from tornado.iostream import IOStream, StreamClosedError
from tornado.websocket import WebSocketClosedError, WebSocketProtocol13

from ..logs import log_limited
from ..wire.codec import Frame

__all__ = [
    "FRAME_WRITER",
    "SUPPORTED",
    "WRITE_BATCH_BYTES",
    "WRITE_BATCH_FRAMES",
    "frame_writer_supported",
]

log = logging.getLogger("wsbridge.server")

#: what one writer turn takes from a session's outbox (at least one frame)
WRITE_BATCH_BYTES = 256 * 1024


#: frames per gathered send (two iovecs each; Linux allows 1024)
WRITE_BATCH_FRAMES = 256


#: buffers per ``sendmsg`` (Linux's IOV_MAX is 1024; a batch stops short of it)
SENDMSG_MAX_PARTS = 1000


#: Tornado versions whose private WebSocket internals this module was checked
#: against (``[low, high)``); pyproject.toml bounds tornado below 7
SUPPORTED = ((6, 3), (6, 7))

#: the private attributes ``_Protocol`` relies on
_PRIVATE = ("_write_frame", "_compressor", "_message_bytes_out", "_wire_bytes_out", "stream")


def frame_writer_supported(version: tuple[int, ...] | None = None) -> bool:
    """Whether the gathered frame writer may be used with this Tornado.

    Only on the versions in :data:`SUPPORTED` that still have what it
    subclasses; elsewhere the socket writes each frame with the public
    ``write_message`` (slower, same behaviour).
    """
    low, high = SUPPORTED
    version = tornado.version_info[:2] if version is None else version[:2]
    if not low <= version < high:
        return False
    if not hasattr(tornado.websocket, "_WebSocketParams"):
        return False
    probe = set(dir(WebSocketProtocol13))
    for cls in WebSocketProtocol13.__mro__:  # attributes set in the __init__s
        code = getattr(vars(cls).get("__init__"), "__code__", None)
        probe.update(code.co_names if code is not None else ())
    return all(name in probe for name in _PRIVATE)


#: use the gathered frame writer (tests turn it off to check the fallback)
FRAME_WRITER = frame_writer_supported()


def _frame_header(length: int, binary: bool) -> bytes:
    """An unmasked, final, uncompressed frame header (RFC 6455 §5.2)."""
    first = 0x82 if binary else 0x81
    if length < 126:
        return struct.pack("BB", first, length)
    if length <= 0xFFFF:
        return struct.pack("!BBH", first, 126, length)
    return struct.pack("!BBQ", first, 127, length)


class _Protocol(WebSocketProtocol13):
    """Tornado's protocol, closing with 1007 on invalid UTF-8 (RFC 6455 §8.1),
    and writing batches of frames without copying their payloads.

    Tornado aborts the TCP connection without a close frame; a client then
    cannot tell a bad frame from a network cut, so we say why first.

    Why ``write_frames``: Tornado's ``write_message`` builds each frame with
    ``frame += data`` (a copy of every payload, per client) and wraps the
    stream's future in a new task per message; profiled, the write path was
    two thirds of the hub's time in fan-out. Here the headers and the shared
    payloads go to the kernel in one ``sendmsg`` (scatter/gather); only what
    the socket does not take is handed to the IOStream, which keeps large
    pieces by reference.
    """

    def write_frames(self, frames: list[Frame]) -> tuple[asyncio.Future[None] | None, int]:
        """Write the first frames of ``frames``, in order, as far as the socket
        takes them now; returns (the stream's future for the last byte
        committed, or None when the kernel took it all; how many frames were
        committed).

        Frames the socket did not start to take are *not* committed: the
        caller puts them back at the head of its outbox. So at most one frame
        waits in Tornado's buffer (as with one ``write_message`` per frame),
        a ping or close frame never queues behind a whole batch, and what a
        slow client holds stays in the outbox, where it is counted, bounded
        and coalesced. Raises ``WebSocketClosedError`` when the connection
        is closed or closing.
        """
        if self.is_closing() or self.stream is None or self.stream.closed():
            raise WebSocketClosedError()
        stream = self.stream
        compressor = self._compressor
        sock = stream.socket
        # Only a plain IOStream with nothing buffered may bypass its buffer
        # (a TLS stream must encrypt; buffered bytes must go first).
        if (
            compressor is not None
            or type(stream) is not IOStream
            or stream.writing()
            or sock is None
        ):
            return self._write_one(frames[0], compressor), 1
        parts: list[bytes | memoryview] = []
        heads: list[bytes] = []
        for i, frame in enumerate(frames):
            if i and len(parts) + 1 + len(frame.parts) > SENDMSG_MAX_PARTS:
                frames = frames[:i]  # the rest is not committed: the caller requeues it
                break
            head = _frame_header(frame.size, frame.binary)
            heads.append(head)
            parts.append(head)
            parts.extend(frame.parts)  # a frame's arrays by reference (protocol.Frame)
        try:
            sent = sock.sendmsg(parts)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            sent = 0  # the stream meets the error on its own write and closes
        if sent == 0:
            return self._write_one(frames[0], compressor), 1
        committed = 0
        rest: list[bytes | memoryview] = []
        for frame, head in zip(frames, heads, strict=True):
            size = len(head) + frame.size
            self._message_bytes_out += frame.size
            self._wire_bytes_out += size
            committed += 1
            if sent >= size:
                sent -= size
                continue
            for piece in (head, *frame.parts):  # the rest of this frame goes to the stream
                n = len(piece)
                if sent >= n:
                    sent -= n
                    continue
                rest.append(memoryview(piece)[sent:] if sent else piece)
                sent = 0
            break
        if not rest:
            return None, committed
        try:
            fut: asyncio.Future[None] | None = None
            for piece in rest:
                fut = stream.write(piece)  # a large piece is kept by reference
        except StreamClosedError:
            raise WebSocketClosedError() from None
        return fut, committed

    def _write_one(self, frame: Frame, compressor: Any) -> asyncio.Future[None]:
        """One frame through the stream's buffer (TLS, compression, or busy)."""
        opcode, flags, data = (0x2 if frame.binary else 0x1), 0, frame.data
        self._message_bytes_out += len(data)
        if compressor is not None:
            data, flags = compressor.compress(data), self.RSV1
        try:
            return self._write_frame(True, opcode, data, flags=flags)
        except StreamClosedError:
            raise WebSocketClosedError() from None

    def _handle_message(self, opcode: int, data: bytes) -> Any:
        if opcode == 0x1 and not self.client_terminated:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                log_limited(
                    log,
                    logging.WARNING,
                    "1007",
                    "closing a connection that sent invalid UTF-8 (1007)",
                )
                self.close(1007, "invalid UTF-8 in a text frame")
                return None
        if opcode == 0x8 and not self.client_terminated and not _close_payload_ok(data):
            # RFC 6455 §5.5.1 and §7.4: a malformed close frame fails the
            # connection with 1002 instead of being echoed back.
            log_limited(
                log,
                logging.WARNING,
                "1002",
                "closing a connection that sent a malformed close frame (1002)",
            )
            self.client_terminated = True
            self.close(1002, "malformed close frame")
            return None
        return super()._handle_message(opcode, data)


def _close_payload_ok(data: bytes) -> bool:
    if not data:
        return True
    if len(data) == 1:
        return False
    (code,) = struct.unpack(">H", data[:2])
    if not (code in _SENDABLE_CLOSE_CODES or 3000 <= code <= 4999):
        return False
    try:
        data[2:].decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


#: close codes a peer may send (RFC 6455 §7.4.1; 1004-1006 and 1015 are reserved)
_SENDABLE_CLOSE_CODES = frozenset(
    {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014}
)
