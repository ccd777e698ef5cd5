"""The Tornado edge: pages, the static client, the WebSocket, health.

Thin on purpose (like starlette's ``websockets.py``): the handlers move
frames between sockets and the sans-I/O ``Hub`` and enforce what only the
edge can see (Origin, tokens in headers and cookies, frame limits). Each
connection has exactly one writer task that awaits every write, so a slow
client holds at most its own bounded outbox and one batch of frames in
flight (DESIGN.md "Backpressure"). The writer takes every queued frame (up
to ``WRITE_BATCH_BYTES``) per turn and hands them to the socket with one
gathered ``sendmsg``, and ``write_timeout`` is enforced by one timer per
session, armed only while a write is pending (not a timer per frame).
"""

from __future__ import annotations

import asyncio
import fnmatch
import html
import json
import logging
import os
import re
import struct
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tornado.web
import tornado.websocket
from tornado.iostream import IOStream, StreamClosedError
from tornado.log import access_log
from tornado.websocket import WebSocketClosedError, WebSocketProtocol13

from .hub import Hub, Session, token_valid
from .plot import bokeh_static_dir
from .protocol import Frame

__all__ = ["STATIC_DIR", "ServerConfig", "WebSocketHandler", "make_app", "render_page"]

log = logging.getLogger("wsbridge.server")


def _static_dir() -> Path:
    here = Path(__file__).parent
    packaged = here / "static"
    if (packaged / "wsbridge.js").exists():
        return packaged
    return here.parent / "js" / "src"  # a source checkout / editable install


STATIC_DIR = _static_dir()
BOKEH_DIR = bokeh_static_dir() or STATIC_DIR / "bokeh-not-installed"
TOKEN_COOKIE = "wsbridge_token"


@dataclass
class ServerConfig:
    """What the edge enforces; see docs/protocol.md and README "Security"."""

    token: str | None = None
    allow_origins: tuple[str, ...] = ()
    #: other hubs' base URLs (``http(s)://host:port/prefix/``) serving the
    #: same documents (a shared backplane): dashboard pages fail over to them
    #: in turn when this hub drops. Each peer must allow this hub's origin
    #: (its ``allow_origins``), as the page's Origin stays this hub's.
    peers: tuple[str, ...] = ()
    max_message_size: int = 16 * 1024 * 1024
    ping_interval: float = 20.0
    ping_timeout: float = 20.0
    #: a client that keeps one write pending this long is dropped (4001)
    write_timeout: float = 30.0
    #: wall-clock time (``time.time()``) after which the token is refused
    token_expires: float | None = None
    index: Callable[[], str | None] = field(default=lambda: None)
    titles: Callable[[], dict[str, str]] = field(default=dict)
    #: ``open_app(name)``: for a per-session app, an awaitable of the new
    #: session document's name; None when ``name`` is not an app
    open_app: Callable[[str], Awaitable[str] | None] = field(default=lambda name: None)
    #: extra ``/healthz`` fields; a part with ``"status": "down"`` makes it 503
    health: Callable[[], dict[str, Any]] = field(default=dict)

    def __post_init__(self) -> None:
        # checked here, not in the browser: a bad peer would otherwise only
        # show up as a TypeError on every page load, killing the dashboard
        self.peers = tuple(self.peers)
        for peer in self.peers:
            parsed = urllib.parse.urlsplit(peer)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise ValueError(f"peer {peer!r} is not a hub base URL http(s)://host:port/prefix/")

    def token_valid(self, given: str | None) -> bool:
        return token_valid(self.token, self.token_expires, given)


SUBPROTOCOL = "wsbridge.v1"
TOKEN_SUBPROTOCOL = "wsbridge.token."
_TOKEN_IN_URI = re.compile(r"(?i)([?&]token=)[^&#\s]*")


def redact(uri: str) -> str:
    """``uri`` with any token query value hidden, for logs."""
    return _TOKEN_IN_URI.sub(r"\1***", uri)


def log_request(handler: tornado.web.RequestHandler) -> None:
    """Tornado's access log line, with tokens redacted (docs/security.md)."""
    status = handler.get_status()
    level = access_log.info if status < 400 else access_log.warning
    if status >= 500:
        level = access_log.error
    request = handler.request
    millis = 1000.0 * request.request_time()
    level(
        "%d %s %s (%s) %.2fms",
        status,
        request.method,
        redact(request.uri or ""),
        request.remote_ip,
        millis,
    )


def origin_allowed(origin: str, host: str, allowed: Iterable[str]) -> bool:
    """Same host as the request, or listed (exact or fnmatch pattern)."""
    parsed = urllib.parse.urlsplit(origin)
    if parsed.netloc.lower() == host.lower():
        return True
    return any(origin == pat or fnmatch.fnmatchcase(origin, pat) for pat in allowed)


#: what one writer turn takes from a session's outbox (at least one frame)
WRITE_BATCH_BYTES = 256 * 1024
#: frames per gathered send (two iovecs each; Linux allows 1024)
WRITE_BATCH_FRAMES = 256


#: buffers per ``sendmsg`` (Linux's IOV_MAX is 1024; a batch stops short of it)
SENDMSG_MAX_PARTS = 1000


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
                log.warning("closing a connection that sent invalid UTF-8 (1007)")
                self.close(1007, "invalid UTF-8 in a text frame")
                return None
        if opcode == 0x8 and not self.client_terminated and not _close_payload_ok(data):
            # RFC 6455 §5.5.1 and §7.4: a malformed close frame fails the
            # connection with 1002 instead of being echoed back.
            log.warning("closing a connection that sent a malformed close frame (1002)")
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


class _Redacted(tornado.web.RequestHandler):
    """Tornado's own error log lines name the URI: keep tokens out of them."""

    def _request_summary(self) -> str:
        request = self.request
        return f"{request.method} {redact(request.uri or '')} ({request.remote_ip})"


class _Base(_Redacted):
    def initialize(self, hub: Hub, config: ServerConfig) -> None:
        self.hub = hub
        self.config = config

    def _presented_token(self) -> str | None:
        auth = self.request.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        return self.get_query_argument("token", None) or self.get_cookie(TOKEN_COOKIE)

    def token_ok(self) -> bool:
        return self.config.token_valid(self._presented_token())


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{base}static/wsbridge.css">
</head><body>
<header class="wsbridge-header"><h1>{title}</h1>
<div id="wsbridge-status" role="status"></div></header>
<main id="wsbridge-root"></main>
<script type="module">
import {{ connect }} from "{base}static/wsbridge.js";
import {{ renderStatus }} from "{base}static/page/status.js";
import {{ reportSize }} from "{base}static/page/embed.js";
reportSize();  // in a notebook's iframe: tell the notebook how tall this page is
const base = new URL("{base}", location.href).href;
const client = await connect([base, ...{peers}], {{ doc: {doc} }});
window.wsbridgeClient = client;
renderStatus(document.getElementById("wsbridge-status"), client);
client.render(document.getElementById("wsbridge-root"));
</script>
</body></html>
"""

_INDEX = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>wsbridge</title>
<link rel="stylesheet" href="static/wsbridge.css"></head>
<body><header class="wsbridge-header"><h1>wsbridge</h1></header>
<main><ul class="wsbridge-index">{items}</ul></main></body></html>
"""


def _script_json(value: Any) -> str:
    """``value`` as JSON that is safe inside a ``<script>`` element.

    A script's text is not HTML-unescaped, so ``html.escape`` would corrupt
    an ``&`` in a URL; escaping ``<``, ``>`` and ``&`` as JSON ``\\u``
    escapes keeps the value exact and ``</script>`` impossible.
    """
    text = json.dumps(value)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_page(title: str, base: str, doc: str, peers: Iterable[str] = ()) -> str:
    """The dashboard page of ``doc``: its script connects to ``base`` (relative
    to the page), then fails over to ``peers`` (docs/reliability.md "Several
    hubs"). One function for every server that serves pages, so the
    template's fields are filled in one place.
    """
    return _PAGE.format(
        title=html.escape(title),
        base=base,
        doc=_script_json(doc),
        peers=_script_json(list(peers)),
    )


class PageHandler(_Base):
    """``d/<name>``: a dashboard page whose module script connects back."""

    async def get(self, name: str = "") -> None:
        base = "../"
        if not name:  # the index, when it shows a dashboard
            name, base = self.config.index() or "", "./"
        if not self.token_ok():
            raise tornado.web.HTTPError(403, "a valid token is required")
        titles = self.config.titles()
        if name not in titles:
            raise tornado.web.HTTPError(404)
        self._remember_token()
        doc = name
        peers = self.config.peers
        opening = self.config.open_app(name)
        if opening is not None:  # a per-session app: this page gets its own document
            doc = await opening
            peers = ()  # which lives in this process only: no peer serves it
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(render_page(titles[name], base, doc, peers))

    def _remember_token(self) -> None:
        token = self.get_query_argument("token", None)
        if token is not None and self.config.token is not None:
            self.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict")


class IndexHandler(PageHandler):
    """``/``: the index dashboard (``wsbridge demo``) or a list of dashboards."""

    async def get(self, name: str = "") -> None:
        if self.config.index():
            await super().get("")
            return
        if not self.token_ok():
            raise tornado.web.HTTPError(403, "a valid token is required")
        self._remember_token()
        items = "".join(
            f'<li><a href="d/{urllib.parse.quote(n)}">{html.escape(t)}</a></li>'
            for n, t in sorted(self.config.titles().items())
        )
        self.finish(_INDEX.format(items=items or "<li>No dashboards yet.</li>"))


class HealthHandler(_Base):
    def get(self) -> None:
        extra = self.config.health()
        down = [k for k, v in extra.items() if isinstance(v, dict) and v.get("status") == "down"]
        if down:  # a load balancer should send browsers to another hub
            self.set_status(503)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        status = "degraded" if down else "ok"
        self.finish(json.dumps({"status": status, **self.hub.stats(), **extra}))


class NoFaviconHandler(_Redacted):
    """Browsers ask for /favicon.ico; answer 204 rather than log a 404 each time."""

    def get(self) -> None:
        self.set_status(204)


class StaticHandler(tornado.web.StaticFileHandler, _Redacted):
    """The client modules; revalidated each load so an upgrade never mixes files."""

    def set_extra_headers(self, path: str) -> None:
        self.set_header("Cache-Control", "no-cache")

    def get_content_type(self) -> str:
        if self.absolute_path and self.absolute_path.endswith(".js"):
            return "text/javascript; charset=utf-8"
        return super().get_content_type()


class WebSocketHandler(tornado.websocket.WebSocketHandler, _Redacted):
    """``ws``: one session of the hub per connection."""

    def initialize(self, hub: Hub, config: ServerConfig) -> None:
        self.hub = hub
        self.config = config
        self.session: Session | None = None
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        #: when the pending write started (loop time), for write_timeout
        self._pending_since: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        #: the writer task waits for a wake-up (nothing queued, nothing in flight)
        self._parked = False
        #: a write started by ``_on_wake`` for the writer to await (or True: done)
        self._inflight: asyncio.Future[None] | bool | None = None

    def get_websocket_protocol(self) -> WebSocketProtocol13 | None:
        if self.request.headers.get("Sec-WebSocket-Version") == "13":
            params = tornado.websocket._WebSocketParams(
                ping_interval=self.ping_interval,
                ping_timeout=self.ping_timeout,
                max_message_size=self.max_message_size,
                compression_options=self.get_compression_options(),
            )
            return _Protocol(self, False, params)
        return None

    def _handshake_token(self) -> str | None:
        offered = self.request.headers.get("Sec-WebSocket-Protocol", "")
        for item in offered.split(","):
            item = item.strip()
            if item.startswith(TOKEN_SUBPROTOCOL):
                return item[len(TOKEN_SUBPROTOCOL) :]
        return _Base._presented_token(self)  # type: ignore[arg-type]

    def prepare(self) -> None:
        # A client without Origin is not a browser (browsers always send it,
        # RFC 6455 §4.1): with a token configured it must show the token at
        # the handshake, since the Origin check cannot protect it.
        if (
            self.config.token is not None
            and "Origin" not in self.request.headers
            and not self.config.token_valid(self._handshake_token())
        ):
            log.warning("refused a WebSocket without Origin and without a valid token")
            raise tornado.web.HTTPError(403, "a valid token is required")

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        # a browser passing its token as a subprotocol offers ours beside it;
        # the token itself is never echoed back.
        return SUBPROTOCOL if SUBPROTOCOL in subprotocols else None

    def check_origin(self, origin: str) -> bool:
        host = self.request.headers.get("Host", "")
        ok = origin_allowed(origin, host, self.config.allow_origins)
        if not ok:
            log.warning("refused a WebSocket from foreign origin %r", origin[:200])
        return ok

    def open(self, *args: Any, **kwargs: Any) -> None:
        self.set_nodelay(True)
        presented = self._handshake_token()
        pre_auth = self.config.token is not None and self.config.token_valid(presented)
        self.session = self.hub.open_session(authenticated=pre_auth)
        self._loop = asyncio.get_running_loop()
        self.session.wake = self._wake.set
        self.session.flush = self._flush_now
        self._writer = asyncio.ensure_future(self._write_loop())

    def on_message(self, message: str | bytes) -> None:
        if self.session is not None:
            self.hub.receive(self.session, message)

    def on_close(self) -> None:
        if self.session is not None:
            self.hub.close_session(self.session)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._wake.set()

    def _flush_now(self) -> None:
        """The hub asks for what is queued to be written now (``Session.flush``).

        When the writer is parked (its outbox was empty, nothing in flight),
        the queued frames are written right here, from inside the hub's
        publish: the sender's echo and a lone patch to idle viewers leave
        without waiting for a task wake-up each, or for the pushes to every
        other session. When the socket took everything, the writer stays
        parked. Else it is marked awake at once, so anything queued after
        this goes out in its batches, and it awaits what this write left
        pending, so every write is still awaited. When the writer is not
        parked, it is only woken.
        """
        if self._parked and self._inflight is None:
            try:
                write = self._write_batch()
            except (WebSocketClosedError, StreamClosedError):
                write = None  # the writer meets it on its own next write
            except Exception:  # pragma: no cover - a bug; never break the hub's fan-out
                log.exception("direct write of session %s failed", self.session)
                write = None
            session = self.session
            if write is False or (write is True and session is not None and not session.outbox):
                # all written (or nothing to write): the writer stays parked.
                # Waking it anyway cost every session a turn of its task per
                # broadcast, ~10 us each: with 100 viewers, 1 ms of the hub's
                # thread after every patch, in the way of the sender's client
                # on a shared core (benchmarks/README.md, perf4)
                return
            self._parked = False
            self._inflight = write
        self._wake.set()

    def _write_batch(self) -> asyncio.Future[None] | bool:
        """Write the next frames; the pending stream future, True when the
        kernel took everything, False when there was nothing to write."""
        session = self.session
        assert session is not None
        frames = session.take_frames(WRITE_BATCH_BYTES, WRITE_BATCH_FRAMES)
        if not frames:
            return False
        conn = self.ws_connection
        if not isinstance(conn, _Protocol):  # closed (get_websocket_protocol makes ours)
            raise WebSocketClosedError()
        write, committed = conn.write_frames(frames)
        session.requeue(frames[committed:])  # not started: back in line
        return True if write is None else write

    async def _write_loop(self) -> None:
        """Write the session's outbox, a batch per turn, awaiting every write."""
        session = self.session
        assert session is not None
        hub, loop = self.hub, self._loop
        assert loop is not None
        try:
            while not session.closed:
                self._wake.clear()
                write, self._inflight = self._inflight, None
                if write is None:
                    write = self._write_batch()
                if isinstance(write, asyncio.Future):
                    if not write.done():
                        # the hub coalesces for this session only while a write
                        # is pending long enough (Session.behind)
                        session.writing_since = hub.config.clock()
                        self._pending_since = loop.time()
                        if self._timer is None:
                            self._timer = loop.call_later(
                                self.config.write_timeout, self._check_write
                            )
                        try:
                            await write
                        finally:
                            session.writing_since = None
                            self._pending_since = None
                    else:
                        write.result()
                    continue
                if write:
                    continue
                if session.close_code is not None:
                    self.close(session.close_code, session.close_reason)
                    return
                self._parked = True
                try:
                    await self._wake.wait()
                finally:
                    self._parked = False
        except (WebSocketClosedError, StreamClosedError):
            pass
        except Exception:  # pragma: no cover - a bug; never leave the socket hanging
            log.exception("writer of session %s failed", session.id)
            self.close(1011, "internal error")

    def _check_write(self) -> None:
        """The session's write timer: close a client whose write has been
        pending ``write_timeout`` seconds, else re-arm for the time left."""
        self._timer = None
        session, since, loop = self.session, self._pending_since, self._loop
        if session is None or session.closed or since is None or loop is None:
            return  # armed again by the next write that does not finish at once
        late = loop.time() - since
        timeout = self.config.write_timeout
        if late < timeout:
            self._timer = loop.call_later(timeout - late, self._check_write)
            return
        log.warning(
            "session %s: a write pending for %.0f s; closing (4001 slow consumer)",
            session.id,
            timeout,
        )
        self.hub.close_session(session)  # the client stopped reading: free what it holds
        self.close(4001, "slow consumer")
        if self._writer is not None:
            self._writer.cancel()


def make_app(
    hub: Hub, config: ServerConfig, prefix: str = "/", extra_routes: Iterable[Any] = ()
) -> tornado.web.Application:
    """The routes of DESIGN.md under ``prefix`` (which ends with '/').

    ``extra_routes`` are appended (e.g. ``wsbridge.producer.producer_routes``).
    """
    kw = {"hub": hub, "config": config}
    # a sender's echo before the other clients' writes (Hub._fan_out)
    hub.after_echo = getattr(os, "sched_yield", hub.after_echo)
    routes: list[Any] = [
        (rf"{prefix}", IndexHandler, kw),
        (rf"{prefix}d/([^/]+)", PageHandler, kw),
        (rf"{prefix}ws", WebSocketHandler, kw),
        (rf"{prefix}healthz", HealthHandler, kw),
        (rf"{prefix}favicon.ico", NoFaviconHandler),
        # BokehJS from the installed bokeh package, for Plot (js/src/plot.js); 404 without it
        (rf"{prefix}static/bokeh/(.*)", StaticHandler, {"path": str(BOKEH_DIR)}),
        (rf"{prefix}static/(.*)", StaticHandler, {"path": str(STATIC_DIR)}),
    ]
    routes.extend(extra_routes)
    return tornado.web.Application(
        routes,
        log_function=log_request,
        websocket_max_message_size=config.max_message_size,
        websocket_ping_interval=config.ping_interval,
        websocket_ping_timeout=config.ping_timeout,
    )
