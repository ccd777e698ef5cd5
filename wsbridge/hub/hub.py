"""The hub, sans I/O: documents, sessions, sequence numbers, log, fan-out.

Everything here runs on one thread (the hub's event loop) and never touches
a socket. The I/O edge (server/socket.py) feeds it inbound frames with
:meth:`Hub.receive` and drains each session's outbox with
:meth:`Session.next_frame`, awaiting every write; the producer (an embedded
``Bridge`` or, later, a remote kernel) feeds it changes with
:meth:`Hub.publish` and hears browser input through the ``Producer``
interface.

Why a replica: the hub applies every change to its own ``DocumentState``
and builds snapshots from that, never from the producer's live objects, so
a snapshot at ``seq`` N is exactly the state after message N, whatever the
producer's threads are doing meanwhile (docs/protocol.md "Connection life
cycle").
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import time
from collections import Counter
from typing import Any, cast

from ..errors import ProtocolError, StateError, clip_error
from ..logs import clip, log_limited
from ..wire.codec import Frame, encode
from ..wire.files import Download
from ..wire.messages import (
    Add,
    Dev,
    Error,
    Message,
    Notify,
    Patch,
    Sequenced,
    Snapshot,
    unchecked,
)
from ..wire.requests import Hello
from .browser import BrowserSide
from .coalesce import Mergeable, coalesce
from .config import NEVER_JOINED_GRACE, HubConfig
from .document import Document, Producer
from .port import HubHooks, SessionEdge
from .session import Session
from .uploads import Uploads

__all__ = [
    "Hub",
]

log = logging.getLogger("wsbridge.hub")

#: messages of a producer's burst fanned out before each viewer is written
#: (all of them in one ``sendmsg``); fewer when the burst ends first
BURST_HOLD_MESSAGES = 16


def _with_seq(message: Message, seq: int) -> Message:
    """``message`` with its seq set, without validating it again (hot path:
    the producer's message was validated when it was built)."""
    slots: tuple[str, ...] = type(message).__slots__
    fields = {name: getattr(message, name) for name in slots}
    fields["seq"] = seq
    return unchecked(type(message), **fields)


def _queue_all(sessions: list[Session], frames: list[tuple[Frame, Message]]) -> None:
    """Queue ``frames`` to each of ``sessions`` and write it (or wake its
    writer): session by session, so each one's objects are touched once per
    batch, not once per message."""
    if len(frames) == 1:
        frame, message = frames[0]
        for session in sessions:
            session.queue(frame, message)
            if session.outbox or session.need_snapshot:
                session.flush()
        return
    for session in sessions:
        for frame, message in frames:
            session.queue(frame, message)
        if session.outbox or session.need_snapshot:
            session.flush()


class Hub(BrowserSide):
    """Documents and sessions; pure and single-threaded (see module doc)."""

    def __init__(self, config: HubConfig | None = None, hooks: HubHooks | None = None):
        self.config = config or HubConfig()
        self.documents: dict[str, Document] = {}
        self.sessions: dict[str, Session] = {}
        #: closed sessions whose inputs the producer has not answered yet:
        #: their bytes count until it does (``input_done``)
        self._departed: dict[str, Session] = {}
        #: bytes of browser input handed to producers and not yet handled
        self.pending_input_bytes = 0
        #: sessions counted against ``max_clients`` and ``max_pending`` (open_session)
        self.admitted = 0
        self.pending = 0
        self._ids = itertools.count(1)
        #: sessions are named ``<prefix>c<n>``: hubs sharing a backplane use
        #: ``<hub id>/`` so a session id names one browser across all of them
        self.session_prefix = ""
        #: the embedding's hooks (port.HubHooks), fixed when the hub is built
        hooks = hooks or HubHooks()
        self.more_input = hooks.more_input
        self.after_echo = hooks.after_echo
        self.open_document = hooks.open_document
        #: per-session documents being created for a hello: name -> the hellos waiting
        self._opening: dict[str, list[tuple[Session, Hello]]] = {}
        #: development mode (``wsbridge serve --dev``, :meth:`set_dev`): every
        #: session gets the app's current error (a ``dev`` message) after its
        #: welcome; never set otherwise, so no other hub sends a traceback
        self.dev_mode = False
        self.dev_error: dict[str, str] | None = None
        self.dev_frame: Frame | None = None
        #: file uploads in progress, and downloads (hub.uploads)
        self.uploads = Uploads(self)
        #: messages fanned out but not yet queued to their sessions (writes
        #: held: :meth:`hold_writes`, a producer's burst): per document (by
        #: identity), its sessions at the first one, and the frames in order.
        #: Anything else queued to a session queues these first (Session.push)
        self.held: dict[int, tuple[list[Session], list[tuple[Frame, Message]]]] = {}
        self._holding = False
        #: messages of a producer's burst held so far, and whether ``soon`` is due
        self._burst_messages = 0
        self._burst_due_set = False
        #: hand-off turns the held burst waited (bounded: input that is not a
        #: publish must not hold it for long)
        self._burst_turns = 0
        self.soon = hooks.soon

    # -- producer side
    def create_document(
        self, name: str, spec: Add, producer: Producer, title: str = "", ephemeral: bool = False
    ) -> Document:
        """Create (or recreate, with a new epoch) a document from a full spec.

        Clients of a recreated document get a fresh snapshot: their epoch is
        gone, so nothing they hold can be trusted to continue.
        """
        doc = Document(name, title, producer, self.config)
        doc.ephemeral = ephemeral
        doc.state.apply(dataclasses.replace(spec, seq=0))
        return self._install(doc)

    def adopt_document(
        self, snapshot: Snapshot, producer: Producer, ephemeral: bool = False
    ) -> Document:
        """Install a document from another hub's snapshot, keeping its epoch and seq.

        A hub following a shared log (scaleout.follower) must number messages
        exactly as every other hub does, so a browser can resume on any of
        them (docs/deploy.md). Viewers already joined get a new welcome and
        this snapshot, as after :meth:`create_document`.
        """
        doc = Document(snapshot.doc, snapshot.title, producer, self.config)
        doc.ephemeral = ephemeral
        doc.state.load(snapshot)
        doc.empty_since = self.config.clock()
        return self._install(doc)

    def _install(self, doc: Document) -> Document:
        if self.held:  # before the outboxes are cleared for the new welcome
            self.queue_held()
        name = doc.name
        old = self.documents.get(name)
        self.documents[name] = doc
        if old is not None:
            for session in list(old.sessions):
                session.doc = doc
                doc.sessions.add(session)
                doc.empty_since = None
                session.outbox.clear()  # may hold an unsent welcome: send a new one
                session.queued_bytes = 0
                self._welcome(session, doc, resumed=False)
                session.need_snapshot = True
        for session, hello in self._opening.pop(name, ()):  # they asked for it: join now
            if session.doc is None and not session.closed and session.close_code is None:
                self._hello(session, hello)
        return doc

    def open_failed(self, name: str, text: str, busy: bool = False) -> None:
        """The embedding could not create per-session document ``name``
        (``HubHooks.open_document``): its waiting hellos get an error, close
        1011; or, when ``busy`` (a cap was reached), ``too_many_clients``, 1013."""
        for session, _ in self._opening.pop(name, ()):
            if session.closed:
                continue
            if self.dev_frame is not None:  # the factory's traceback (--dev)
                session.push(self.dev_frame, force=True)
            if busy:
                self._refuse(session, ProtocolError("too_many_clients", text))
            else:
                self._error(session, "internal", text)
                session.request_close(1011, text)

    def mark_gone(self, name: str, producer: Producer, reason: str) -> None:
        """The producer of ``name`` went away (hub.link).

        The document keeps its last state, so viewers still see it, but every
        viewer, now and later, gets a ``producer_gone`` error; ``producer``
        answers (refuses) their input until the document is created again.
        """
        doc = self.documents.get(name)
        if doc is None:
            return
        doc.gone = reason
        doc.producer = producer
        for session in list(doc.sessions):
            self._error(session, "producer_gone", reason, force=True)

    def remove_document(self, name: str, reason: str = "document removed") -> None:
        doc = self.documents.pop(name, None)
        if doc is not None:
            for session in list(doc.sessions):
                self._error(session, "unknown_document", reason, force=True)
                session.request_close(1008, reason)

    def publish(self, name: str, message: Message, trusted: bool = False) -> int | None:
        """Sequence, apply, log and fan out one change; returns its seq.

        ``message`` is built by the producer with ``seq=0``; it is encoded
        once and the same bytes go to every session. ``trusted`` only for a
        producer in this process whose sources validated the message already
        (``Bridge``; see ``DocumentState.apply``): never for network input.
        """
        return self.publish_many(name, [message], trusted)

    def publish_many(self, name: str, messages: list[Message], trusted: bool = False) -> int | None:
        """Publish consecutive producer messages that ``coalesce`` can merge
        (streams of one source, same rollover and columns) as one message.

        It takes the seqs the messages would have taken one by one and
        carries ``first`` (docs/protocol.md "Coalesced messages"), so every
        client applies it as it applies a coalesced one. Why: a producer that
        outpaces the hub (``Bridge`` hands its streams over in batches) costs
        one encode, one log entry and one write per batch instead of per
        message. Rows its rollover drops are dropped here rather than by
        every client: a client applies the message whole, so none could see
        them. One message is published as it is. Returns the last seq.
        """
        doc = self.documents.get(name)
        if doc is None:
            log.debug("publish to unknown document %r dropped", name)
            return None
        last = _with_seq(messages[-1], doc.seq + len(messages))
        if len(messages) == 1:
            return self._publish(doc, last, trusted)
        try:
            run = cast("list[Mergeable]", [*messages[:-1], last])  # callers give mergeable ones
            merged = coalesce(run, first=doc.seq + 1)
        except (ProtocolError, ValueError) as exc:  # pragma: no cover - callers check mergeable
            log.error("document %r: %d messages not merged: %s", name, len(messages), exc)
            return None
        return self._publish(doc, merged, trusted)

    def _publish(self, doc: Document, message: Message, trusted: bool) -> int | None:
        """Check, encode once, apply, log and fan out a sequenced producer message.

        Encoded before the replica takes it: a message that cannot be encoded
        (the values rules of docs/protocol.md "Values" are checked when a
        message is built or decoded; this is the last guard) is refused
        whole, so the document's seq and every later snapshot stay good.
        """
        state = doc.state
        try:
            message = state.check(message, trusted)
            frame = encode(message)
        except (StateError, ValueError) as exc:
            log_limited(
                log,
                logging.ERROR,
                "producer message refused",
                "document %r: producer message %s refused: %s",
                clip(doc.name, 64),
                message.type,
                clip(exc),
            )
            return None
        state.commit(message)
        assert isinstance(message, Sequenced) and message.seq is not None  # it changed the doc
        seq, first = message.seq, message.first_seq()
        doc.append_log(seq if first is None else first, frame)
        self._fan_out(doc, frame, message)
        return seq

    def publish_frame(self, name: str, message: Message, frame: Frame) -> int | None:
        """Apply, log and fan out a message sequenced elsewhere, as its own bytes.

        For a hub following a shared log (scaleout.follower): ``message``
        carries its seq, which must be the next one; ``frame`` is its
        encoding, sent to every session as is (nothing re-encoded). Returns
        the seq, or None when it is not the next one (the caller repairs the
        gap) or does not apply.
        """
        doc = self.documents.get(name)
        seq = message.seq if isinstance(message, Sequenced) else None
        if doc is None or seq is None or seq != doc.seq + 1:
            return None
        try:
            checked = doc.state.check(message)
            if checked is not message:  # cast to its columns: send what the replica holds
                frame = encode(checked)
        except (StateError, ValueError) as exc:
            log_limited(
                log,
                logging.ERROR,
                "shared message refused",
                "document %r: message %s seq %s refused: %s",
                clip(name, 64),
                message.type,
                seq,
                clip(exc),
            )
            return None
        doc.state.commit(checked)
        message = checked
        doc.append_log(seq, frame)
        self._fan_out(doc, frame, message)
        return doc.seq

    def hold_writes(self) -> None:
        """Hold fan-outs (``held``) until :meth:`release_writes`.

        For a caller applying a batch of messages at once (the backplane
        follower reads pub/sub in bursts): each session is then written, or
        its writer woken, once per batch with all its frames in one
        ``sendmsg``, instead of once per message
        (docs/performance.md#batched-fan-out-on-a-follower-hub). The caller
        must release before it awaits anything.
        """
        self._holding = True

    def release_writes(self) -> None:
        """Queue what was held, and write (or wake the writer of) each session once."""
        self._holding = False
        if self.held:
            self.queue_held()

    def queue_held(self) -> None:
        """Queue the held messages to the sessions each was fanned out to, in
        order, and write each session (``_queue_all``)."""
        held, self.held = self.held, {}
        self._burst_messages = self._burst_turns = 0
        for sessions, frames in held.values():
            _queue_all(sessions, frames)

    def _fan_out(self, doc: Document, frame: Frame, message: Message) -> None:
        """The same bytes to every session of ``doc``.

        A browser set's echo goes to its sender first and is written at once
        (its round trip must not grow with the viewers); the others too when
        nothing more is queued. During a producer's burst the frames are only
        queued, and each viewer is written once per ``BURST_HOLD_MESSAGES``
        messages, or when the burst ends (``soon``, at the latest after the
        hand-off's turn): its writer is not woken per message
        (docs/performance.md#writes-held-during-a-producers-burst).

        Between the two, ``after_echo`` (``os.sched_yield`` at the Tornado
        edge): a sender on the same machine (a local browser, a notebook's
        client) was just woken, likely on this thread's core, and the
        scheduler lets the running thread finish its slice first, here the
        writes to every other client; yielding once lets it read the echo
        first (docs/performance.md#yielding-the-cpu-after-the-echo).
        """
        doc.last_frame = frame
        origin = getattr(message, "origin", None)
        sender = self.sessions.get(origin.get("session", "")) if origin else None
        if sender is not None and sender.doc is doc:
            sender.push(frame, message=message, wake=False)  # after anything held
            sender.flush()
            if len(doc.sessions) > 1:
                self.after_echo()
            _queue_all([s for s in doc.sessions if s is not sender], [(frame, message)])
            return
        entry = self.held.get(id(doc))
        if entry is None:
            entry = self.held[id(doc)] = (list(doc.sessions), [])
        entry[1].append((frame, message))
        if self._holding:  # the caller releases (release_writes)
            return
        self._burst_messages += 1
        if self._burst_messages >= BURST_HOLD_MESSAGES or not self.more_input():
            self.queue_held()
        elif not self._burst_due_set:
            self._burst_due_set = True
            self.soon(self._burst_due)

    def _burst_due(self) -> None:
        """After a turn of the hand-off: release a burst's writes once the
        producer's input is done or enough messages wait (``_fan_out``)."""
        self._burst_turns += 1
        if (
            self.held
            and not self._holding
            and self._burst_messages < BURST_HOLD_MESSAGES
            and self._burst_turns < BURST_HOLD_MESSAGES
            and self.more_input()
        ):
            self.soon(self._burst_due)
            return
        self._burst_due_set = False
        if self.held and not self._holding:
            self.queue_held()

    def reject(
        self,
        name: str,
        session_id: str,
        code: str,
        text: str,
        ref: dict[str, Any] | None = None,
        model: str | None = None,
        properties: list[str] | None = None,
    ) -> None:
        """Tell one session its input was refused, then re-send canonical values."""
        session = self.sessions.get(session_id)
        if session is None or session.doc is None or session.doc.name != name:
            return
        self._error(session, code, text, ref)
        if model is not None and properties:
            self.reply_state(name, session_id, model, properties)

    def notify_session(self, name: str, session_id: str, message: Notify) -> None:
        """A notification for one session of ``name`` only (``message.seq``
        None: it does not advance the client's seq, and nobody else gets it).
        Dropped when that session is gone: notifications are transient."""
        session = self.sessions.get(session_id)
        if session is None or session.doc is None or session.doc.name != name:
            return
        if message.seq is not None:
            message = dataclasses.replace(message, seq=None)
        session.push(encode(message))

    def set_dev(self, error: dict[str, str] | None) -> None:
        """Development mode (``wsbridge serve --dev``): the app's current error
        (``{"title", "text"}``, plain text) or None once it ran again; sent to
        every session now, and to each one joining after its welcome."""
        self.dev_mode = True
        self.dev_error = error
        self.dev_frame = encode(Dev(error=error)) if error is not None else None
        frame = self.dev_frame or encode(Dev(error=None))
        for session in self.sessions.values():
            if session.doc is not None and not session.closed and session.close_code is None:
                session.push(frame, force=True)

    def reply_state(self, name: str, session_id: str, model: str, properties: list[str]) -> None:
        """A ``reply`` patch: the canonical values of ``properties``, to one session."""
        session = self.sessions.get(session_id)
        doc = self.documents.get(name)
        if session is None or doc is None or session.doc is not doc:
            return
        spec = doc.state.models.get(model)
        if spec is None:
            return
        state = {p: spec["state"][p] for p in properties if p in spec["state"]}
        if state:
            # an answer to the client's input: it counts against the bound
            patch = Patch(seq=doc.seq, model=model, state=state, reply=True)
            session.push(encode(patch))

    def download(self, name: str, session_id: str, message: Download) -> None:
        """Send a file to one session of ``name`` (the viewer who clicked), bounded."""
        session = self.sessions.get(session_id)
        if session is not None and session.doc is not None and session.doc.name == name:
            self.uploads.download(session, message)

    # -- client side
    def open_session(
        self, authenticated: bool = False, edge: SessionEdge | None = None, address: str = ""
    ) -> Session:
        """A new connection. ``authenticated``: the edge checked a token at the
        handshake; ``edge``: how the hub reaches its writer (none: a sans-I/O
        test's session); ``address``: the peer's, for per-address limits.

        Only authenticated sessions count against ``max_clients``: one that
        showed the token at the handshake at once, any other once its
        ``hello`` is accepted. Until then it is *pending*, counted against
        ``max_pending``, and the edge closes it after ``hello_timeout``
        (:meth:`hello_overdue`). Why: a page of the hub's own origin opens
        sockets without a token, and idle ones must not lock users out.
        """
        cfg = self.config
        session = Session(
            self,
            f"{self.session_prefix}c{next(self._ids)}",
            authenticated or cfg.token is None,
            edge,
            address,
        )
        self.sessions[session.id] = session
        if authenticated and cfg.token is not None:
            self._take_slot(session)
        elif self.pending >= cfg.max_pending:
            why = "too many connections waiting for hello"
            self._error(session, "too_many_clients", f"{why}; retry later")
            session.request_close(1013, why)
        else:
            session.pending = True
            self.pending += 1
        return session

    def close_session(self, session: Session) -> None:
        """The connection ended; inputs it left in flight are dropped by the
        producer (``on_left``) and still count until it answers each."""
        if session.admitted:
            session.admitted = False
            self.admitted -= 1
        if session.pending:
            session.pending = False
            self.pending -= 1
        session.closed = True
        session.outbox.clear()
        session.queued_bytes = 0
        self.sessions.pop(session.id, None)
        self.uploads.closed(session)  # partial uploads: nothing kept
        if session.pending_inbound > 0:
            self._departed[session.id] = session
        if session.doc is not None:
            session.doc.sessions.discard(session)
            if not session.doc.sessions:
                session.doc.empty_since = self.config.clock()
            if session.pending_inbound > 0:
                session.doc.producer.on_left(session.doc.name, session.id)

    def sweep(self, grace: float) -> list[str]:
        """Remove per-session documents nobody joined for ``grace`` seconds.

        The grace period lets a browser that lost its connection come back
        and resume; after it, the producer is told (``on_closed``) so it can
        free the session's objects. Returns the removed names.
        """
        now = self.config.clock()
        gone = [
            name
            for name, doc in self.documents.items()
            if doc.ephemeral
            and doc.empty_since is not None
            and now - doc.empty_since >= (grace if doc.joined else max(grace, NEVER_JOINED_GRACE))
        ]
        for name in gone:
            doc = self.documents.pop(name)
            doc.producer.on_closed(name)
        return gone

    def expire_tokens(self) -> int:
        """Close every session once the token expired (1008); returns how many."""
        cfg = self.config
        if cfg.token is None or cfg.token_expires is None or time.time() < cfg.token_expires:
            return 0
        closing = [s for s in self.sessions.values() if s.close_code is None]
        for session in closing:
            self._error(session, "unauthorized", "the token expired", force=True)
            session.request_close(1008, "token expired")
        return len(closing)

    def _error(
        self,
        session: Session,
        code: str,
        text: str,
        ref: dict[str, Any] | None = None,
        force: bool = False,
    ) -> None:
        """Send one session an ``error``, clipped (``clip_error``) and logged a few
        times per interval per code (a flood of bad frames is a few lines).

        An error answering the client's own input counts against its
        outbound bound like any frame (a client that sends bad frames and
        never reads must not grow the hub); ``force`` only for the hub's
        own notices, one per event (producer gone, document removed...).
        """
        text, ref = clip_error(text, ref)
        log_limited(log, logging.WARNING, code, "session %s: %s: %s", session.id, code, clip(text))
        seq = session.doc.seq if session.doc is not None else 0
        session.push(encode(Error(code=code, message=text, seq=seq, ref=ref)), force=force)

    # -- introspection
    def stats(self) -> dict[str, Any]:
        return {
            "sessions": len(self.sessions),
            # browser input handed to producers, not yet handled (bounded)
            "pending_input_bytes": self.pending_input_bytes,
            "pending": self.pending,
            "uploads": self.uploads.stats(),
            # sessions by what carries them (docs/deploy.md "The streaming-HTTP fallback")
            "transports": dict(Counter(s.transport for s in self.sessions.values() if s.transport)),
            "documents": {
                name: {
                    "epoch": doc.epoch,
                    "seq": doc.seq,
                    "sessions": len(doc.sessions),
                    "log_messages": len(doc.log),
                    "log_bytes": doc.log_bytes,
                }
                for name, doc in self.documents.items()
            },
        }
