"""The streaming-HTTP fallback: a hub session over one long-lived response.

For networks whose proxies refuse WebSockets (docs/deploy.md "The
streaming-HTTP fallback"). ``POST <url>stream`` opens a session: its
response carries the WebSocket's frames (``wire/framing.py``: an ``open``
frame with the stream's id first, then text and binary frames as they
are, keep-alives, and a ``close`` frame with the close code last); the
request body may carry the first frames (the ``hello``). Further input is
``POST <url>stream/<id>``, the same framing. The id is 256 random bits,
known only to whoever opened the stream, and bound to it and to its
``Origin``: any other id is a 404.

The session, its writer task, ``write_timeout`` and ``hello_timeout`` are
``edge.SessionWriter``'s, as for a WebSocket; :class:`StreamTransport` is
the :class:`~wsbridge.server.edge.Transport` that writes the response, on
the connection taken from Tornado once the headers are out (``detach``),
so a stream is never evicted as an idle HTTP connection, and its frames
go out in one gathered ``sendmsg`` per batch, buffers by reference. The same rules
as the WebSocket apply: host names, ``Origin``, a token from a client
without ``Origin``, ``max_message_size``, ``max_pending`` and the hub's
limits on input.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable
from typing import Any

import tornado.web
from tornado.http1connection import HTTP1Connection
from tornado.iostream import IOStream, StreamClosedError

from ..hub.hub import Hub
from ..logs import clip, log_limited
from ..wire import framing
from ..wire.codec import Frame
from ..wire.framing import CLIENT_KINDS, HEADER_SIZE, FrameParser, FramingError
from .config import ServerConfig, origin_allowed
from .edge import SessionWriter
from .pages import _Redacted, check_host, presented_token
from .writer import SENDMSG_MAX_PARTS

__all__ = ["StreamInputHandler", "StreamOpenHandler", "StreamTransport", "Streams", "stream_routes"]

log = logging.getLogger("wsbridge.server")

#: seconds a closing stream may take to deliver its close frame
CLOSE_GRACE = 5.0


class Streams:
    """The live streams of one app, by their secret id."""

    def __init__(self) -> None:
        self._live: dict[str, StreamTransport] = {}

    def add(self, transport: StreamTransport) -> str:
        sid = secrets.token_urlsafe(32)
        self._live[sid] = transport
        return sid

    def get(self, sid: str) -> StreamTransport | None:
        return self._live.get(sid)

    def discard(self, sid: str) -> None:
        self._live.pop(sid, None)

    def __len__(self) -> int:
        return len(self._live)


class StreamTransport:
    """One session's response stream (an ``edge.Transport``)."""

    def __init__(self, hub: Hub, config: ServerConfig, streams: Streams, origin: str | None):
        self.streams = streams
        #: the ``Origin`` the stream was opened with: its input must show the same
        self.origin = origin
        self.id = streams.add(self)
        self.edge = SessionWriter(hub, config, self)
        self.stream: IOStream | None = None
        self.chunked = True
        self._closing = False
        self._ended = False
        self._loop = asyncio.get_running_loop()
        self._keepalive_every = config.ping_interval
        self._keepalive: asyncio.TimerHandle | None = None
        self._last_write = self._loop.time()
        self._reader: asyncio.Task[None] | None = None

    def start(self, handler: tornado.web.RequestHandler, pre_auth: bool) -> None:
        """Answer the open request: headers and the ``open`` frame, then the
        connection is ours; open the hub session."""
        handler.set_header("Content-Type", "application/octet-stream")
        handler.set_header("Cache-Control", "no-store, no-transform")
        handler.set_header("X-Accel-Buffering", "no")  # nginx: pass each chunk on
        handler.set_header("X-Content-Type-Options", "nosniff")
        handler.set_header("Connection", "close")
        opening = framing.open_payload(self.id, self._keepalive_every)
        handler.write(framing.encode_frame(framing.OPEN, opening))
        handler.flush()  # chunked on HTTP/1.1 (Tornado), till the end on 1.0
        self.chunked = handler.request.version == "HTTP/1.1"
        handler.application.log_request(handler)
        self.stream = stream = handler.detach()
        stream.set_nodelay(True)
        stream.set_close_callback(self._on_closed)
        self.edge.open(pre_auth, handler.request.remote_ip or "", "http")
        self._reader = asyncio.ensure_future(self._read_until_closed(stream))
        if self._keepalive_every > 0:
            self._keepalive = self._loop.call_later(self._keepalive_every, self._tick)

    def receive(self, frames: list[str | bytes]) -> None:
        for data in frames:
            self.edge.receive(data)

    # -- edge.Transport
    def write_frames(self, frames: list[Frame]) -> tuple[asyncio.Future[None] | None, int]:
        """Every frame of the batch in one gathered ``sendmsg`` (their
        buffers by reference, as writer.py does for WebSocket frames), the
        rest through the stream: its future, or None when the kernel took
        it all."""
        stream = self.stream
        if stream is None or self._closing or stream.closed():
            raise StreamClosedError()
        pieces: list[bytes | memoryview] = []
        chunked = self.chunked
        for frame in frames:
            kind = framing.BINARY if frame.binary else framing.TEXT
            head = framing.frame_header(kind, frame.size)
            if chunked:
                head = b"%x\r\n%s" % (HEADER_SIZE + frame.size, head)
            pieces.append(head)
            pieces.extend(frame.parts)
            if chunked:
                pieces.append(b"\r\n")
        return self._gather(stream, pieces), len(frames)

    def _gather(
        self, stream: IOStream, pieces: list[bytes | memoryview]
    ) -> asyncio.Future[None] | None:
        sock = stream.socket
        # only a plain stream with nothing buffered may bypass its buffer
        # (TLS must encrypt; buffered bytes must go first)
        if (
            len(pieces) > SENDMSG_MAX_PARTS
            or type(stream) is not IOStream
            or stream.writing()
            or sock is None
        ):
            return self._write(b"".join(pieces))
        self._last_write = self._loop.time()
        try:
            sent = sock.sendmsg(pieces)
        except OSError:  # full (EAGAIN), or gone: the stream's own write meets it
            sent = 0
        future: asyncio.Future[None] | None = None
        for piece in pieces:
            n = len(piece)
            if sent >= n:
                sent -= n
                continue
            future = stream.write(memoryview(piece)[sent:] if sent else piece)
            sent = 0
        return None if future is None or future.done() else future

    def close(self, code: int, reason: str) -> None:
        """The close frame and the end of the response, then the connection."""
        if self._closing:
            return
        self._closing = True
        self.streams.discard(self.id)  # no more input
        stream = self.stream
        if stream is None or stream.closed():
            self._on_closed()
            return
        data = self._chunk(framing.encode_frame(framing.CLOSE, framing.close_payload(code, reason)))
        if self.chunked:
            data += b"0\r\n\r\n"
        try:
            done = stream.write(data)
        except StreamClosedError:
            self._on_closed()
            return

        def ended(written: asyncio.Future[None]) -> None:
            written.exception()  # a client gone meanwhile: nothing to say
            stream.close()

        done.add_done_callback(ended)
        self._loop.call_later(CLOSE_GRACE, stream.close)  # a client that stopped reading

    # -- internals
    def _chunk(self, data: bytes) -> bytes:
        return b"%x\r\n%s\r\n" % (len(data), data) if self.chunked else data

    def _write(self, data: bytes) -> asyncio.Future[None] | None:
        assert self.stream is not None
        self._last_write = self._loop.time()
        future = self.stream.write(data)
        return None if future.done() else future

    def _tick(self) -> None:
        """A keep-alive frame when nothing else went out for a while: proxies
        drop idle responses, and the client counts the silence."""
        self._keepalive = None
        stream = self.stream
        if self._closing or stream is None or stream.closed():
            return
        idle_for = self._loop.time() - self._last_write
        if idle_for >= self._keepalive_every * 0.9 and self.edge.idle and not stream.writing():
            try:
                self._write(self._chunk(framing.encode_frame(framing.KEEPALIVE)))
            except StreamClosedError:
                return
            idle_for = 0.0
        self._keepalive = self._loop.call_later(self._keepalive_every - idle_for, self._tick)

    async def _read_until_closed(self, stream: IOStream) -> None:
        """Nothing more is read from this connection: discard it, see it close."""
        try:
            while True:
                await stream.read_bytes(4096, partial=True)
        except StreamClosedError:
            pass

    def _on_closed(self) -> None:
        if self._ended:
            return
        self._ended = True
        self._closing = True
        self.streams.discard(self.id)
        if self._keepalive is not None:
            self._keepalive.cancel()
            self._keepalive = None
        self.edge.closed()


class _Body(_Redacted):
    """A POST whose body is frames (``wire/framing.py``), bounded before it is read."""

    SUPPORTED_METHODS = ("POST",)

    def initialize(self, hub: Hub, config: ServerConfig, streams: Streams) -> None:
        self.hub = hub
        self.config = config
        self.streams = streams
        self._parser = FrameParser(config.max_message_size, CLIENT_KINDS)
        self._frames: list[tuple[int, bytes]] = []
        self._bad: FramingError | None = None

    def prepare(self) -> None:
        check_host(self, self.config)  # a rebound DNS name (docs/security.md)
        origin = self.request.headers.get("Origin")
        if origin is not None and not origin_allowed(
            origin, self.request.headers.get("Host", ""), self.config.allow_origins
        ):
            self._refuse(403, "foreign origin", f"foreign origin {clip(origin, 100)!r}")

    def check_size(self) -> None:
        """413 for a body declared larger than one frame of the largest size
        (or a batch of smaller ones), before it is read."""
        limit = self.config.max_message_size + HEADER_SIZE
        declared = self.request.headers.get("Content-Length")
        connection = self.request.connection
        if declared is None:
            if isinstance(connection, HTTP1Connection):
                connection.set_max_body_size(limit)  # a chunked body: Tornado stops it
        elif not declared.isdigit() or int(declared) > limit:
            why = f"a body of {clip(declared, 20)} bytes (max {limit})"
            self._refuse(413, "body too large", why)

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        if self._bad is None:
            try:
                self._frames += self._parser.feed(chunk)
            except FramingError as exc:
                self._bad = exc
        return None

    def frames(self) -> list[str | bytes]:
        """The body's frames, text decoded; raises :class:`FramingError`."""
        if self._bad is None:
            try:
                self._parser.finish()
            except FramingError as exc:
                self._bad = exc
        if self._bad is not None:
            raise self._bad
        out: list[str | bytes] = []
        for kind, payload in self._frames:
            if kind == framing.BINARY:
                out.append(payload)
                continue
            try:
                out.append(payload.decode("utf-8"))
            except UnicodeDecodeError:
                raise FramingError("invalid UTF-8 in a text frame", 1007) from None
        return out

    def _refuse(self, status: int, key: str, why: str) -> None:
        log_limited(log, logging.WARNING, key, "refused a stream request: %s", why)
        raise tornado.web.HTTPError(status, reason=key)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(f"{status_code} {self._reason}\n")


@tornado.web.stream_request_body
class StreamOpenHandler(_Body):
    """``POST <url>stream``: a session whose frames come back in the response."""

    def prepare(self) -> None:
        super().prepare()
        # A client without Origin is not a browser (a browser's POST always
        # has one): with a token configured it must show the token now, as at
        # a WebSocket handshake.
        if (
            self.config.token is not None
            and "Origin" not in self.request.headers
            and not self.config.token_valid(presented_token(self, self.config))
        ):
            self._refuse(403, "no origin, no token", "no Origin and no valid token")
        self.check_size()

    def post(self) -> None:
        try:
            first = self.frames()
        except FramingError as exc:
            self._refuse(exc.status, "bad frame", exc.message)
        token = self.config.token
        pre_auth = token is not None and self.config.token_valid(presented_token(self, self.config))
        origin = self.request.headers.get("Origin")
        transport = StreamTransport(self.hub, self.config, self.streams, origin)
        try:
            transport.start(self, pre_auth)
        except Exception:
            self.streams.discard(transport.id)  # never a dead id in the table
            raise
        transport.receive(first)


@tornado.web.stream_request_body
class StreamInputHandler(_Body):
    """``POST <url>stream/<id>``: input to the session of that stream."""

    transport: StreamTransport

    def prepare(self) -> None:
        super().prepare()
        sid = self.path_args[0] if self.path_args else ""
        transport = self.streams.get(sid)
        if transport is None:
            self._refuse(404, "unknown stream", "no stream with that id")
            return
        if transport.origin != self.request.headers.get("Origin"):
            self._refuse(403, "stream origin", "input from another origin than its stream's")
        self.transport = transport
        try:
            self.check_size()
        except tornado.web.HTTPError:  # as a WebSocket's frame over the limit: 1009
            transport.close(1009, "message too big")
            raise

    def post(self, sid: str) -> None:
        transport = self.transport
        try:
            frames = self.frames()
        except FramingError as exc:  # as a WebSocket would: the session is closed
            log_limited(log, logging.WARNING, "bad frame", "stream input refused: %s", exc.message)
            transport.close(exc.close_code or 1002, exc.message)
            raise tornado.web.HTTPError(exc.status, reason="bad frame") from None
        if not frames:
            self._refuse(400, "empty body", "a POST without frames")
        transport.receive(frames)
        self.set_status(204)


def stream_routes(hub: Hub, config: ServerConfig, prefix: str = "/") -> list[Any]:
    """The fallback's two endpoints under ``prefix`` (``make_app`` mounts them)."""
    kw = {"hub": hub, "config": config, "streams": Streams()}
    return [
        (rf"{prefix}stream", StreamOpenHandler, kw),
        (rf"{prefix}stream/([A-Za-z0-9_-]{{1,64}})", StreamInputHandler, kw),
    ]
