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

import base64
import dataclasses
import hashlib
import hmac
import itertools
import logging
import time
from collections.abc import Callable
from typing import Any, cast

from ..errors import ProtocolError, StateError, clip_error
from ..logs import clip, log_limited
from ..wire.codec import Frame, decode, encode
from ..wire.messages import (
    Add,
    Custom,
    Error,
    Message,
    Patch,
    Sequenced,
    Snapshot,
    Welcome,
    unchecked,
)
from ..wire.requests import Ack, Event, Hello, Set
from ..wire.values import InvalidValue
from .coalesce import Mergeable, coalesce
from .config import NEVER_JOINED_GRACE, HubConfig, token_valid
from .document import Document, Producer
from .inputs import event_refusal
from .port import HubHooks, SessionEdge
from .session import Session

__all__ = [
    "Hub",
]

log = logging.getLogger("wsbridge.hub")


def _with_seq(message: Message, seq: int) -> Message:
    """``message`` with its seq set, without validating it again (hot path:
    the producer's message was validated when it was built)."""
    slots: tuple[str, ...] = type(message).__slots__
    fields = {name: getattr(message, name) for name in slots}
    fields["seq"] = seq
    return unchecked(type(message), **fields)


class Hub:
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

    def open_failed(self, name: str, text: str) -> None:
        """The embedding could not create per-session document ``name``
        (``HubHooks.open_document``): its waiting hellos get an error, close 1011."""
        for session, _ in self._opening.pop(name, ()):
            if not session.closed:
                self._error(session, "internal", text)
                session.request_close(1011, text)

    def document_key(self, name: str) -> str:
        """The key a page must show (``hello.key``) to join per-session document ``name``.

        An HMAC of the name: the page handler gives it to the page that
        opened the session, the hub recomputes it at every hello, so the
        name alone (a log line, ``/healthz``) lets nobody else in.
        """
        digest = hmac.new(self.config.session_secret, name.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:24]).decode()

    def _key_valid(self, hello: Hello) -> bool:
        key = hello.key
        return key is not None and hmac.compare_digest(
            key.encode(), self.document_key(hello.doc).encode()
        )

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

    def _fan_out(self, doc: Document, frame: Frame, message: Message) -> None:
        """The same bytes to every session of ``doc``.

        A browser set's echo goes to its sender first and is written at once
        (its round trip must not grow with the viewers); the others too when
        nothing more is queued, else (a producer's burst) writers batch.

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
            sender.push(frame, message=message, wake=False)
            sender.flush()
            if len(doc.sessions) > 1:
                self.after_echo()
        now = not self.more_input()
        for session in doc.sessions:
            if session is not sender:
                session.push(frame, message=message, wake=not now)
                if now:
                    session.flush()

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

    def _take_slot(self, session: Session) -> bool:
        """Count ``session`` against ``max_clients`` (it authenticated); when
        the hub is full, refuse it (close 1013) and return False."""
        if self.admitted >= self.config.max_clients:
            self._error(session, "too_many_clients", "this hub has too many clients; retry later")
            session.request_close(1013, "too many clients")
            return False
        if session.pending:
            session.pending = False
            self.pending -= 1
        session.admitted = True
        self.admitted += 1
        return True

    def hello_overdue(self, session: Session) -> None:
        """The edge's ``hello_timeout`` is over: close ``session`` (4008) unless it joined."""
        if session.doc is None and not session.closed and session.close_code is None:
            log_limited(
                log,
                logging.INFO,
                "hello timeout",
                "session %s: no hello in %g s; closing (4008)",
                session.id,
                self.config.hello_timeout,
            )
            session.request_close(4008, "no hello in time")

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

    def receive(self, session: Session, data: str | bytes) -> None:
        """Handle one inbound frame; errors go back to that session only."""
        if session.closed or session.close_code is not None:
            return
        try:
            message = decode(data)
        except InvalidValue as exc:
            self._invalid(session, exc)
            return
        except ProtocolError as exc:
            # a malformed frame is input too: it takes a token, so a flood of
            # them is refused, then closed, as any input flood (_admit)
            if exc.close_code is None and not self._token_for_refusal(session):
                return
            self._refuse(session, exc)
            return
        if session.doc is None:
            if not isinstance(message, Hello):
                self._error(session, "hello_required", "the first message must be hello")
                session.request_close(1008, "hello required")
                return
            self._hello(session, message)
            return
        doc = session.doc
        size = len(data)
        kind = message.type
        if isinstance(message, (Set, Event, Custom)) and not self._admit(session, kind, size):
            return
        if isinstance(message, Set):
            self._set(session, doc, message, size)
        elif isinstance(message, Event):
            spec = self._model(session, doc, message.model, message)
            if spec is None:
                return
            ref = {"type": "event", "model": message.model, "name": message.name}
            if message.name not in spec.get("events", ()):
                text = f"{spec['type']} has no event {message.name[:64]!r}"
                ref = {"type": "event", "model": message.model, "name": message.name[:64]}
                self._in_order(session, lambda: self._error(session, "unknown_event", text, ref))
                return
            why = event_refusal(spec, message)
            if why is None and size > self.config.max_event_bytes:
                why = f"an event is at most {self.config.max_event_bytes} bytes"
            if why is not None:  # refused before anything is queued
                self._error(session, "invalid_value", why, ref)
                return
            self._forward(session, doc.producer.on_event, doc, message, size)
        elif isinstance(message, Custom):
            if self._model(session, doc, message.model, message) is not None:
                self._forward(session, doc.producer.on_custom, doc, message, size)
        elif isinstance(message, Ack):
            session.acked = message.seq
        elif not self._token_for_refusal(session):
            return
        elif isinstance(message, Hello):
            self._error(session, "bad_message", "hello was already sent on this connection")
        else:
            self._error(
                session,
                "bad_message",
                f"{message.type} is not sent by clients",
                {"type": message.type},
            )

    def _invalid(self, session: Session, exc: InvalidValue) -> None:
        """A frame with a value that cannot travel: refused with ``invalid_value``.

        A ``set`` counts as input (rate limits) and its sender gets the
        canonical value of every property it named back, as when Python
        refuses a value (docs/protocol.md "error").
        """
        ref, doc = exc.ref or {}, session.doc
        if doc is None or ref.get("type") != "set" or not isinstance(ref.get("model"), str):
            self._refuse(session, exc)
            return
        if not self._admit(session, "set", 0):
            return
        self.reject(doc.name, session.id, exc.code, exc.message, ref, ref["model"], exc.properties)

    def _admit(self, session: Session, kind: str, size: int) -> bool:
        """Rate and backlog limits on browser input; past them, refuse (then close).

        The backlog is bounded in inputs and in bytes, per session and for the
        whole hub (docs/security.md "Input waiting for Python"): a slow
        callback must not let input pile up in memory. An input larger than a
        byte bound is taken only when nothing else is waiting there.
        """
        cfg = self.config
        waiting, total = session.pending_input_bytes, self.pending_input_bytes
        if session.pending_inbound >= cfg.max_pending_inbound:
            why = f"{session.pending_inbound} inputs are still being handled"
        elif waiting and waiting + size > cfg.max_pending_input_bytes:
            why = f"{waiting} bytes of input are still being handled"
        elif total and total + size > cfg.max_pending_input_bytes_total:
            why = f"the hub has {total} bytes of input still being handled"
        elif not session.take_input_token():
            why = self._rate_why()
        else:
            session.throttled = 0
            return True
        self._throttle(session, why, kind)
        return False

    def _rate_why(self) -> str:
        return f"more than {self.config.input_rate:g} inputs per second"

    def _token_for_refusal(self, session: Session) -> bool:
        """May a frame that will be refused (malformed, or not for clients) be
        answered? It takes an input token like any input, so a flood of them
        is refused once, then closed (1008), instead of answered each.
        Answering one does not end a burst (only an admitted input does), so
        a flood of them is closed however it is paced."""
        if session.take_input_token():
            return True
        self._throttle(session, self._rate_why(), "frame")
        return False

    def _throttle(self, session: Session, why: str, kind: str) -> None:
        """One more input refused for rate or backlog: answered once per burst,
        closed (1008) after ``flood_close_after`` in a row."""
        session.throttled += 1
        if session.throttled == 1:  # log and answer once per burst, not per message
            self._error(session, "rate_limited", why, {"type": kind})
        if session.throttled >= self.config.flood_close_after:
            self._error(session, "rate_limited", "input flood; closing")
            session.request_close(1008, "input flood")

    def input_done(self, session_id: str) -> None:
        """The producer finished one input of this session (frees backlog)."""
        session = self.sessions.get(session_id) or self._departed.get(session_id)
        if session is None or session.pending_inbound <= 0:
            return
        session.pending_inbound -= 1
        size = session.input_sizes.popleft() if session.input_sizes else 0
        session.pending_input_bytes -= size
        self.pending_input_bytes -= size
        if session.closed and session.pending_inbound == 0:
            self._departed.pop(session_id, None)
        if not session.pending_inbound and session.deferred and not session.closed:
            answers, session.deferred = session.deferred, []
            for answer in answers:
                answer()

    def _in_order(self, session: Session, answer: Callable[[], None]) -> None:
        """Answer a refused input after the answers to the session's earlier
        inputs, which the producer may still be handling (docs/protocol.md
        "Answers and their order"): a refusal never overtakes an echo."""
        if session.pending_inbound:
            session.deferred.append(answer)
        else:
            answer()

    def _forward(
        self, session: Session, call: Callable[..., None], doc: Document, msg: Any, size: int
    ) -> None:
        session.pending_inbound += 1
        session.input_sizes.append(size)
        session.pending_input_bytes += size
        self.pending_input_bytes += size
        call(doc.name, session.id, msg)

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

    def _hello(self, session: Session, hello: Hello) -> None:
        cfg = self.config
        if not session.authenticated:
            if cfg.token is None or not token_valid(cfg.token, cfg.token_expires, hello.token):
                self._error(session, "unauthorized", "a valid token is required")
                session.request_close(1008, "unauthorized")
                return
            session.authenticated = True
        doc = self.documents.get(hello.doc)
        if doc is None:
            self._open(session, hello)
            return
        if doc.ephemeral and not self._key_valid(hello):
            # a per-session document answers its own page only; to anyone
            # else it does not exist
            self._unknown(session, hello.doc)
            return
        if len(doc.sessions) >= self.config.max_clients_per_document:
            self._error(session, "too_many_clients", f"document {doc.name!r} has too many clients")
            session.request_close(1013, "too many clients")
            return
        if not session.admitted and not self._take_slot(session):
            return
        replay = None
        if hello.epoch == doc.epoch and hello.seq is not None:
            replay = doc.replay_from(hello.seq)
        session.doc = doc
        doc.sessions.add(session)
        doc.empty_since, doc.joined = None, True
        self._welcome(session, doc, resumed=replay is not None)
        if replay is None:
            if hello.epoch is not None:
                log.info(
                    "session %s: resume of %r from %s/%s impossible, sending a snapshot",
                    session.id,
                    doc.name,
                    "current epoch" if hello.epoch == doc.epoch else "another epoch",
                    hello.seq,
                )
            session.push(doc.snapshot_frame(), force=True)
        else:
            for frame in replay:
                session.push(frame, force=True)
        if doc.gone is not None:  # the last state is shown, but say it is stale
            self._error(session, "producer_gone", doc.gone, force=True)

    def _open(self, session: Session, hello: Hello) -> None:
        """A hello for a document the hub does not have: the first join of a
        per-session document (a valid key, and the embedding creates it:
        ``HubHooks.open_document``), which the hello waits for; else unknown."""
        name = hello.doc
        if not self._key_valid(hello):
            self._unknown(session, name)
            return
        waiting = self._opening.get(name)
        if waiting is None:
            try:
                opening = self.open_document(name, session.address)
            except ProtocolError as exc:
                self._refuse(session, exc)
                return
            if not opening:
                self._unknown(session, name)
                return
            waiting = self._opening[name] = []
        waiting.append((session, hello))

    def _unknown(self, session: Session, name: str) -> None:
        self._error(session, "unknown_document", f"no document {name[:64]!r}")
        session.request_close(1008, "unknown document")

    def _welcome(self, session: Session, doc: Document, resumed: bool) -> None:
        welcome = Welcome(
            doc=doc.name,
            epoch=doc.epoch,
            seq=doc.seq,
            session=session.id,
            resumed=resumed,
            title=doc.state.title,
            limits={"max_message_size": self.config.max_message_size},
        )
        session.push(encode(welcome), force=True)

    def _model(
        self, session: Session, doc: Document, model: str, message: Message
    ) -> dict[str, Any] | None:
        spec = doc.state.models.get(model)
        if spec is None:
            text = f"no model {model[:64]!r} in document {doc.name!r}"
            ref: dict[str, Any] = {"type": message.type, "model": model[:64]}
            if isinstance(message, Set):
                ref["req"] = message.req
            self._in_order(session, lambda: self._error(session, "unknown_model", text, ref))
        return spec

    def _set(self, session: Session, doc: Document, message: Set, size: int) -> None:
        spec = self._model(session, doc, message.model, message)
        if spec is None:
            return
        settable = spec.get("settable", ())
        prop = next((p for p in message.state if p not in settable), None)
        if prop is not None:  # the whole set is refused (all or nothing)
            code = "read_only" if prop in spec["state"] else "unknown_property"
            why = "cannot be set by a client" if code == "read_only" else "does not exist"
            text = f"{spec['type']}.{prop[:64]} {why}"
            ref = {"type": "set", "model": message.model, "property": prop[:64], "req": message.req}
            known = [p for p in message.state if p in spec["state"]]
            name, model = doc.name, message.model
            self._in_order(
                session, lambda: self.reject(name, session.id, code, text, ref, model, known)
            )
            return
        self._forward(session, doc.producer.on_set, doc, message, size)

    def _refuse(self, session: Session, exc: ProtocolError) -> None:
        self._error(session, exc.code, exc.message, exc.ref)
        if exc.close_code is not None:
            session.request_close(exc.close_code, exc.message)

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
