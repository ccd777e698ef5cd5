"""The hub's browser side: what it does with a client's frames, sans I/O.

``hello`` (the token, the document, a replay or a snapshot), admission of
input (rate, backlog in inputs and bytes), ``set``/``event``/``custom``
checked against the document before they reach the producer, and every
refusal answered in the order the client sent its inputs
(docs/protocol.md "Answers and their order"). :class:`BrowserSide` is a
base of :class:`~wsbridge.hub.hub.Hub`, which holds the state it uses.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import ProtocolError
from ..logs import log_limited
from ..wire.codec import Frame, decode, encode
from ..wire.files import UploadChunk, UploadStart
from ..wire.messages import Custom, Dev, Message, Welcome
from ..wire.requests import Ack, Event, Hello, Set
from .config import HubConfig, token_valid
from .document import Document
from .inputs import event_refusal
from .session import Session
from .uploads import HeldUpload, Uploads

__all__ = ["BrowserSide"]

log = logging.getLogger("wsbridge.hub")


class BrowserSide:
    """Browser frames in, answers out; the state lives in :class:`Hub`."""

    if TYPE_CHECKING:  # defined by Hub
        config: HubConfig
        documents: dict[str, Document]
        sessions: dict[str, Session]
        pending_input_bytes: int
        admitted: int
        pending: int
        open_document: Callable[[str, str, dict[str, str] | None], bool]
        dev_mode: bool
        dev_frame: Frame | None
        uploads: Uploads
        _departed: dict[str, Session]
        _opening: dict[str, list[tuple[Session, Hello]]]

        def reject(
            self,
            name: str,
            session_id: str,
            code: str,
            text: str,
            ref: dict[str, Any] | None = None,
            model: str | None = None,
            properties: list[str] | None = None,
        ) -> None: ...

        def _error(
            self,
            session: Session,
            code: str,
            text: str,
            ref: dict[str, Any] | None = None,
            force: bool = False,
        ) -> None: ...

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

    def receive(self, session: Session, data: str | bytes) -> None:
        """Handle one inbound frame; errors go back to that session only."""
        if session.closed or session.close_code is not None:
            return
        try:
            message = decode(data)
        except ProtocolError as exc:
            if exc.code == "invalid_value":
                self._invalid(session, exc)
                return
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
        elif isinstance(message, UploadChunk):  # bounded by its upload, not the input rate
            self.uploads.chunk(session, message)
        elif isinstance(message, UploadStart):
            if self._admit(session, "upload", 0):
                self.uploads.start(session, doc, message)
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

    def _invalid(self, session: Session, exc: ProtocolError) -> None:
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
        if type(size) is HeldUpload:  # an upload's bytes: the upload budget's
            self.uploads.handled(session, size)
            size = 0
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
        if self.dev_mode:  # --dev: the app's current error, or that there is none
            session.push(self.dev_frame or encode(Dev(error=None)), force=True)
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
                opening = self.open_document(name, session.address, hello.query)
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
            limits={
                "max_message_size": self.config.max_message_size,
                "max_upload_size": self.config.max_upload_size,
                "max_upload_chunk": self.config.max_upload_chunk,
            },
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

    def _key_valid(self, hello: Hello) -> bool:
        key = hello.key
        return key is not None and hmac.compare_digest(
            key.encode(), self.document_key(hello.doc).encode()
        )

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

    def document_key(self, name: str) -> str:
        """The key a page must show (``hello.key``) to join per-session document ``name``.

        An HMAC of the name: the page handler gives it to the page that
        opened the session, the hub recomputes it at every hello, so the
        name alone (a log line, ``/healthz``) lets nobody else in.
        """
        digest = hmac.new(self.config.session_secret, name.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:24]).decode()
