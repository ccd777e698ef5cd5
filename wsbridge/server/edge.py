"""One hub session's I/O edge, whatever carries it: the writer task and its timers.

The WebSocket (``socket.py``) and the streaming-HTTP fallback
(``httpstream.py``) differ only in how frames reach the wire and how a
close is said. Everything else is here, once: the hub session opened with
a :class:`~wsbridge.hub.port.SessionEdge`, exactly one writer task per
session that awaits every write (so a slow client holds at most its own
bounded outbox and one batch in flight, docs/reliability.md), the direct
write from inside the hub's fan-out, ``write_timeout`` (4001) and
``hello_timeout`` (4008).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketClosedError

from ..hub.hub import Hub
from ..hub.port import SessionEdge
from ..hub.session import Session
from ..wire.codec import Frame
from .config import ServerConfig
from .writer import WRITE_BATCH_BYTES, WRITE_BATCH_FRAMES

__all__ = ["CLOSED", "SessionWriter", "Transport"]

log = logging.getLogger("wsbridge.server")

#: what a transport raises once its connection is gone
CLOSED = (WebSocketClosedError, StreamClosedError)


class Transport(Protocol):
    """How frames reach one client (a WebSocket, an HTTP response)."""

    def write_frames(self, frames: list[Frame]) -> tuple[asyncio.Future[None] | None, int]:
        """Write the first frames of ``frames`` as far as the connection takes
        them; returns (the future of the last byte committed, or None when all
        were taken; how many frames were committed). Raises one of
        :data:`CLOSED` when the connection is gone."""
        ...

    def close(self, code: int, reason: str) -> None:
        """Say why and end the connection (a close frame, then the end)."""
        ...


class SessionWriter:
    """A hub session and its writer task, over one :class:`Transport`."""

    def __init__(self, hub: Hub, config: ServerConfig, transport: Transport) -> None:
        self.hub = hub
        self.config = config
        self.transport = transport
        self.session: Session | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        #: when the pending write started (loop time), for write_timeout
        self._pending_since: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        #: closes the session when it has not joined in ``hello_timeout`` seconds
        self._hello_timer: asyncio.TimerHandle | None = None
        #: the writer task waits for a wake-up (nothing queued, nothing in flight)
        self._parked = False
        #: a write started by ``_flush_now`` for the writer to await (or True: done)
        self._inflight: asyncio.Future[None] | bool | None = None

    @property
    def idle(self) -> bool:
        """Nothing queued, nothing being written (a keep-alive may go out)."""
        return self._parked and self._inflight is None

    def open(self, authenticated: bool, address: str, transport: str) -> Session:
        """Open the hub session, start its writer and its hello timer."""
        self.session = self.hub.open_session(
            authenticated=authenticated,
            edge=SessionEdge(
                wake=self._wake.set, flush=self._flush_now, later=self._later, transport=transport
            ),
            address=address,
        )
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.ensure_future(self._write_loop())
        self._hello_timer = self._loop.call_later(self.hub.config.hello_timeout, self._hello_due)
        return self.session

    def _later(self, delay: float, fn: Callable[[], None]) -> object:
        """The hub's timer for this session (``SessionEdge.later``: an upload's stall timer)."""
        assert self._loop is not None
        return self._loop.call_later(delay, fn)

    def receive(self, data: str | bytes) -> None:
        """One frame from the client, to the hub."""
        if self.session is not None:
            self.hub.receive(self.session, data)

    def closed(self) -> None:
        """The connection ended: free the session and the timers."""
        if self.session is not None and not self.session.closed:
            self.hub.close_session(self.session)
        for timer in (self._hello_timer, self._timer):
            if timer is not None:
                timer.cancel()
        self._hello_timer = self._timer = None
        self._wake.set()

    def _hello_due(self) -> None:
        """``hello_timeout`` after the handshake: the hub closes the session unless it joined."""
        self._hello_timer = None
        if self.session is not None:
            self.hub.hello_overdue(self.session)

    def _flush_now(self) -> None:
        """The hub asks for what is queued to be written now (``Session.flush``).

        When the writer is parked (its outbox was empty, nothing in flight),
        the queued frames are written right here, from inside the hub's
        publish: the sender's echo and a lone patch to idle viewers leave
        without waiting for a task wake-up each, or for the pushes to every
        other session. When the transport took everything, the writer stays
        parked. Else it is marked awake at once, so anything queued after
        this goes out in its batches, and it awaits what this write left
        pending, so every write is still awaited. When the writer is not
        parked, it is only woken.
        """
        if self._parked and self._inflight is None:
            try:
                write = self._write_batch()
            except CLOSED:
                write = None  # the writer meets it on its own next write
            except Exception:  # pragma: no cover - a bug; never break the hub's fan-out
                log.exception("direct write of session %s failed", self.session)
                write = None
            session = self.session
            if write is False or (write is True and session is not None and not session.outbox):
                # all written (or nothing to write): the writer stays parked.
                # Waking it anyway cost every session a turn of its task per
                # broadcast (docs/performance.md#writer-parked-until-a-write-is-pending)
                return
            self._parked = False
            self._inflight = write
        self._wake.set()

    def _write_batch(self) -> asyncio.Future[None] | bool:
        """Write the next frames; the pending future, True when the
        transport took everything, False when there was nothing to write."""
        session = self.session
        assert session is not None
        frames = session.take_frames(WRITE_BATCH_BYTES, WRITE_BATCH_FRAMES)
        if not frames:
            return False
        try:
            write, committed = self.transport.write_frames(frames)
        except CLOSED:
            session.requeue(frames)
            raise
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
                    self.transport.close(session.close_code, session.close_reason)
                    return
                self._parked = True
                try:
                    await self._wake.wait()
                finally:
                    self._parked = False
        except CLOSED:
            pass
        except Exception:  # pragma: no cover - a bug; never leave the connection hanging
            log.exception("writer of session %s failed", session.id)
            self.transport.close(1011, "internal error")

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
        self.transport.close(4001, "slow consumer")
        if self._task is not None:
            self._task.cancel()
