"""One browser connection as the hub sees it: its outbox, and what it may send.

Sans I/O, like the rest of the hub (hub.py): the edge (server/socket.py) drains
:meth:`Session.next_frame` / :meth:`Session.take_frames`, awaiting every
write, and wakes on :attr:`Session.wake`. The outbox is bounded in bytes;
a session that is *behind* has its patches and streams merged as they
arrive (coalesce.py), and past the hard bound its queue is dropped for one
snapshot when it drains (docs/reliability.md "Backpressure").
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..wire.codec import Frame, encode
from ..wire.messages import Message
from .coalesce import Outbox, Run, merge_into_tail
from .port import SessionEdge

if TYPE_CHECKING:
    from .document import Document
    from .hub import Hub

__all__ = [
    "Session",
]

log = logging.getLogger("wsbridge.hub")


def _nothing() -> None:
    return None


class Session:
    """One client connection as the hub sees it: an outbox bounded in bytes."""

    def __init__(
        self,
        hub: Hub,
        sid: str,
        authenticated: bool,
        edge: SessionEdge | None = None,
        address: str = "",
    ):
        self.hub = hub
        self.id = sid
        self.authenticated = authenticated
        #: the peer's address, as the edge saw it ("" when not known)
        self.address = address
        #: counted against ``max_clients`` (authenticated), or against
        #: ``max_pending`` (not yet): Hub.open_session and its hello
        self.admitted = False
        self.pending = False
        self.doc: Document | None = None
        #: what to write (coalesce.Outbox); ``message`` is kept so a lagging
        #: session can merge, the shared frame is encoded once
        self.outbox: Outbox = deque()
        self.coalesced = 0
        #: when the write in progress started (the I/O edge sets it), or None
        self.writing_since: float | None = None
        self.queued_bytes = 0
        self.need_snapshot = False
        self.acked: int | None = None
        self.close_code: int | None = None
        self.close_reason = ""
        self.closed = False
        self.dropped = 0
        self.pending_inbound = 0
        #: answers to refused inputs held until earlier inputs are answered
        self.deferred: list[Callable[[], None]] = []
        #: bytes of those inputs, and each one's size in the order handed over
        #: (a producer answers a session's inputs in order)
        self.pending_input_bytes = 0
        self.input_sizes: deque[int] = deque()
        self.throttled = 0  # refused for rate, in a row
        self._tokens = float(hub.config.input_burst)
        self._refilled = hub.config.clock()
        #: the I/O edge (port.SessionEdge): ``wake`` the writer, or ``flush``:
        #: write what is queued now if the writer is idle (Hub.publish)
        self.wake: Callable[[], None] = edge.wake if edge else _nothing
        self.flush: Callable[[], None] = edge.flush if edge else _nothing
        #: the edge's timer (port.SessionEdge.later), or None
        self.later: Callable[[float, Callable[[], None]], object] | None = (
            edge.later if edge else None
        )
        self.transport = edge.transport if edge else ""

    def __repr__(self) -> str:
        doc = self.doc.name if self.doc else None
        return f"<Session {self.id} doc={doc!r} queued={self.queued_bytes}B>"

    def push(
        self, frame: Frame, force: bool = False, message: Message | None = None, wake: bool = True
    ) -> None:
        """Queue a frame after the messages the hub holds (``Hub.held``), so
        each session gets everything in order; see :meth:`queue`."""
        if self.hub.held:
            self.hub.queue_held()
        self.queue(frame, message, force, wake)

    def queue(
        self, frame: Frame, message: Message | None = None, force: bool = False, wake: bool = False
    ) -> None:
        """Queue a frame; coalesce while behind; past the bound, drop the queue
        for a snapshot (docs/reliability.md, docs/performance.md#bounded-outboxes).

        Behind (more than ``queue_high_water`` queued and a write pending for
        ``coalesce_after`` seconds), a patch or stream that continues the run
        at the tail of the queue is merged into it instead of queued: the
        memory a lagging client holds is then one message per run, cut to its
        rollover, and the merged message is encoded once, when
        it is written. A client that keeps up never pays for this.

        ``wake=False``: the caller calls :attr:`flush` right after (the hub's
        fan-out), which writes at once or wakes the writer itself; waking it
        here too would cost every session a writer turn that finds nothing.
        """
        if self.closed or self.close_code is not None:
            return
        if self.need_snapshot and not force:
            return  # the snapshot sent when the client drains covers it
        cfg = self.hub.config
        if (
            message is not None
            and self.outbox
            and self.queued_bytes > cfg.queue_high_water
            and self.behind()
        ):
            grown = merge_into_tail(self.outbox, message)
            if grown is not None:
                self.queued_bytes += grown
                self.coalesced += 1
                if wake:
                    self.wake()
                return
        size = frame.size
        if not force and self.queued_bytes + size > cfg.queue_max_bytes:
            self.dropped += 1
            log.warning(
                "session %s fell %d bytes behind; dropping its queue for a snapshot",
                self.id,
                self.queued_bytes + size,
            )
            self.outbox.clear()
            self.queued_bytes = 0
            self.need_snapshot = True
        else:
            self.outbox.append((frame, message, size))
            self.queued_bytes += size
        if wake:
            self.wake()

    def behind(self) -> bool:
        """Is the client not keeping up (a write pending for a while)?"""
        since = self.writing_since
        return (
            since is not None and self.hub.config.clock() - since >= self.hub.config.coalesce_after
        )

    def next_frame(self) -> Frame | None:
        """The next frame to write, or None when there is nothing to send."""
        if self.outbox:
            frame, message, size = self.outbox.popleft()
            self.queued_bytes -= size
            if frame is None:  # a coalesced run: joined and encoded now, once
                assert isinstance(message, Run)
                frame = encode(message.message())
            return frame
        if self.need_snapshot and self.doc is not None:
            if self.hub.held:  # the snapshot covers them: skipped, not sent after it
                self.hub.queue_held()
            self.need_snapshot = False
            return self.doc.snapshot_frame()
        return None

    def take_frames(self, max_bytes: int, max_count: int) -> list[Frame]:
        """The next frames (at least one if any; more while under both limits).

        Why: one frame per writer turn cost a loop turn and a syscall each;
        the edge sends a batch with one ``sendmsg`` (server/writer.py) and gives back
        what the socket did not take (:meth:`requeue`)."""
        frames: list[Frame] = []
        size = 0
        while len(frames) < max_count and size < max_bytes:
            frame = self.next_frame()
            if frame is None:
                break
            frames.append(frame)
            size += frame.size
        return frames

    def requeue(self, frames: list[Frame]) -> None:
        """Put frames taken but not written (the socket was full) back in front."""
        for frame in reversed(frames):
            size = frame.size
            self.outbox.appendleft((frame, None, size))
            self.queued_bytes += size

    def take_input_token(self) -> bool:
        """Token bucket for browser input (docs/security.md "Limits")."""
        cfg = self.hub.config
        now = cfg.clock()
        self._tokens = min(cfg.input_burst, self._tokens + (now - self._refilled) * cfg.input_rate)
        self._refilled = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def request_close(self, code: int, reason: str) -> None:
        """Ask the I/O edge to close once the queued frames are written."""
        if self.close_code is None:
            self.close_code = code
            self.close_reason = reason[:120]
            self.wake()
