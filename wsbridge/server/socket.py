"""The browser WebSocket: frames in to the hub, one writer task out.

Thin on purpose (like starlette's ``websockets.py``): the handler moves
frames between the socket and the sans-I/O ``Hub`` and enforces what only
the edge sees (Origin, tokens, frame limits). Each connection has exactly
one writer task that awaits every write, so a slow client holds at most its
own bounded outbox and one batch in flight (docs/reliability.md); the hub
talks back to it only through the :class:`~wsbridge.hub.port.SessionEdge`
it was given.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import tornado.web
import tornado.websocket
from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketClosedError, WebSocketProtocol

from ..hub.hub import Hub
from ..hub.port import SessionEdge
from ..hub.session import Session
from ..logs import clip, log_limited
from ..wire.codec import Frame
from . import writer
from .config import SUBPROTOCOL, TOKEN_SUBPROTOCOL, ServerConfig, origin_allowed
from .pages import _Redacted, check_host, presented_token
from .writer import WRITE_BATCH_BYTES, WRITE_BATCH_FRAMES, _Protocol

__all__ = [
    "WebSocketHandler",
]

log = logging.getLogger("wsbridge.server")


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
        #: closes the session when it has not joined in ``hello_timeout`` seconds
        self._hello_timer: asyncio.TimerHandle | None = None
        #: the writer task waits for a wake-up (nothing queued, nothing in flight)
        self._parked = False
        #: a write started by ``_on_wake`` for the writer to await (or True: done)
        self._inflight: asyncio.Future[None] | bool | None = None

    def get_websocket_protocol(self) -> WebSocketProtocol | None:
        if not writer.FRAME_WRITER:  # a Tornado the frame writer was not checked against
            return super().get_websocket_protocol()
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
        return presented_token(self, self.config)

    def prepare(self) -> None:
        check_host(self, self.config)  # a rebound DNS name (docs/security.md)
        # A client without Origin is not a browser (browsers always send it,
        # RFC 6455 §4.1): with a token configured it must show the token at
        # the handshake, since the Origin check cannot protect it.
        if (
            self.config.token is not None
            and "Origin" not in self.request.headers
            and not self.config.token_valid(self._handshake_token())
        ):
            log_limited(
                log,
                logging.WARNING,
                "no origin, no token",
                "refused a WebSocket without Origin and without a valid token",
            )
            raise tornado.web.HTTPError(403, "a valid token is required")

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        # a browser passing its token as a subprotocol offers ours beside it;
        # the token itself is never echoed back.
        return SUBPROTOCOL if SUBPROTOCOL in subprotocols else None

    def check_origin(self, origin: str) -> bool:
        host = self.request.headers.get("Host", "")
        ok = origin_allowed(origin, host, self.config.allow_origins)
        if not ok:
            log_limited(
                log,
                logging.WARNING,
                "foreign origin",
                "refused a WebSocket from foreign origin %r",
                clip(origin, 100),
            )
        return ok

    def open(self, *args: Any, **kwargs: Any) -> None:
        self.set_nodelay(True)
        presented = self._handshake_token()
        pre_auth = self.config.token is not None and self.config.token_valid(presented)
        self.session = self.hub.open_session(
            authenticated=pre_auth,
            edge=SessionEdge(wake=self._wake.set, flush=self._flush_now, later=self._later),
            address=self.request.remote_ip or "",
        )
        self._loop = asyncio.get_running_loop()
        self._writer = asyncio.ensure_future(self._write_loop())
        self._hello_timer = self._loop.call_later(self.hub.config.hello_timeout, self._hello_due)

    def _later(self, delay: float, fn: Callable[[], None]) -> object:
        """The hub's timer for this session (``SessionEdge.later``)."""
        assert self._loop is not None
        return self._loop.call_later(delay, fn)

    def _hello_due(self) -> None:
        """``hello_timeout`` after the handshake: the hub closes the session unless it joined."""
        self._hello_timer = None
        if self.session is not None:
            self.hub.hello_overdue(self.session)

    def on_message(self, message: str | bytes) -> None:
        if self.session is not None:
            self.hub.receive(self.session, message)

    def on_close(self) -> None:
        if self.session is not None:
            self.hub.close_session(self.session)
        if self._hello_timer is not None:
            self._hello_timer.cancel()
            self._hello_timer = None
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
                # on a shared core (docs/performance.md#writer-parked-until-a-write-is-pending)
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
        if conn is None or conn.is_closing():
            raise WebSocketClosedError()
        if not isinstance(conn, _Protocol):  # Tornado's own protocol: one frame per turn
            session.requeue(frames[1:])
            return self._write_public(frames[0])
        write, committed = conn.write_frames(frames)
        session.requeue(frames[committed:])  # not started: back in line
        return True if write is None else write

    def _write_public(self, frame: Frame) -> asyncio.Future[None]:
        """One frame through Tornado's public ``write_message`` (its copy and its task)."""
        return asyncio.ensure_future(self.write_message(frame.data, binary=frame.binary))

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
