"""Remote producers: a process that owns documents, connected to a hub over a WebSocket.

The embedded ``Bridge`` runs its hub in-process. A notebook kernel under a
Jupyter server (or behind JupyterHub) cannot open ports that browsers can
reach, so there the hub lives in the server and the kernel connects *out* to
it at ``<url>producer`` (docs/protocol.md "Producer connection"). This
module is the hub's half of that connection:

- the envelope codec shared with the producer's half (``runtime.remote``):
  the same framing and message classes as the browser protocol, each message
  wrapped with the document it belongs to, so a stream's arrays cross both
  hops as binary buffers and nothing is re-encoded as JSON lists;
- :class:`ProducerLink`, sans I/O: it turns producer envelopes into
  ``Hub.create_document`` / ``Hub.publish`` / ``reject`` / ``reply_state``
  calls and implements the hub's ``Producer`` interface by forwarding
  browser input to the producer; when the connection ends, its documents
  are marked gone (the last state stays visible, input is refused with
  ``producer_gone``) until a producer publishes them again;
- :class:`ProducerHandler`, the Tornado edge (token checked at the
  handshake, one writer task awaiting every write, as in ``server/socket.py``).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from ..errors import ProtocolError, StateError, clip_error
from ..logs import clip, log_limited
from ..wire.codec import Frame, encode
from ..wire.envelope import PUBLISHABLE, decode_envelope, encode_envelope
from ..wire.files import Download, Upload
from ..wire.messages import Add, Custom, Error, Message, Notify
from ..wire.requests import Event, Set
from .hub import Hub

__all__ = [
    "PRODUCER_GONE",
    "GoneProducer",
    "ProducerLink",
    "check_document_name",
    "check_publishable",
]

log = logging.getLogger("wsbridge.producer")

#: the text browsers see when a document's producer went away
PRODUCER_GONE = (
    "the Python process that publishes this document is gone (kernel stopped or "
    "restarted); showing its last state until it publishes again"
)


def check_document_name(name: str) -> None:
    """What a producer may name a document (the page route ``d/<name>`` serves
    no '/'); raises ``ProtocolError``. The Redis follower applies it too."""
    if not name or "/" in name or len(name) > 128:
        raise ProtocolError("bad_message", "a document name is 1-128 characters without '/'")


def check_publishable(message: Message) -> None:
    """A producer publishes changes (``add``, ``patch``, ``stream``...), never a
    ``snapshot``, ``welcome`` or ``error``; raises ``ProtocolError``. The Redis
    follower holds its log's entries to the same rule."""
    if message.type not in PUBLISHABLE:
        raise ProtocolError("bad_message", f"a producer cannot publish {message.type}")


class GoneProducer:
    """Stands in for a producer that went away: refuses input, plainly.

    A ``set`` gets ``producer_gone`` plus the canonical values (so a
    dragged slider snaps back to what the document really holds).
    """

    def __init__(self, hub: Hub, reason: str = PRODUCER_GONE) -> None:
        self.hub = hub
        self.reason = reason

    def on_set(self, doc: str, session: str, message: Set) -> None:
        ref = {"type": "set", "model": message.model, "req": message.req}
        self.hub.reject(
            doc, session, "producer_gone", self.reason, ref, message.model, list(message.state)
        )
        self.hub.input_done(session)

    def on_event(self, doc: str, session: str, message: Event) -> None:
        self._refuse(doc, session, message)

    def on_custom(self, doc: str, session: str, message: Custom) -> None:
        self._refuse(doc, session, message)

    def on_upload(self, doc: str, session: str, message: Upload) -> None:
        ref = {"type": "upload", "model": message.model, "upload": message.upload}
        self.hub.reject(doc, session, "producer_gone", self.reason, ref)
        self.hub.input_done(session)

    def on_closed(self, doc: str) -> None:
        """Nothing to free: the producer that owned ``doc`` is gone already."""

    def on_left(self, doc: str, session: str) -> None:
        """Nothing queued here: every input is refused at once."""

    def _refuse(self, doc: str, session: str, message: Event | Custom) -> None:
        ref = {"type": message.type, "model": message.model}
        self.hub.reject(doc, session, "producer_gone", self.reason, ref)
        self.hub.input_done(session)


class ProducerLink:
    """The hub's side of one producer connection, sans I/O.

    ``send(frame)`` queues a frame to the producer; :meth:`receive` takes
    each frame from it; :meth:`closed` is called once when the connection
    ends. Runs on the hub's loop, like every ``Hub`` call.
    """

    def __init__(
        self,
        hub: Hub,
        send: Callable[[Frame], None],
        name: str = "producer",
        instance: str | None = None,
        kernel: str | None = None,
    ) -> None:
        self.hub = hub
        self.send = send
        self.name = name
        #: who the producer is, across its connections: its random producer id
        #: (``PRODUCER_HEADER``) and, under Jupyter, its kernel (checked to
        #: exist); either one lets a new connection take this one's documents
        self.instance = instance
        self.kernel = kernel
        #: documents this connection created and still owns
        self.documents: set[str] = set()
        #: (envelope type, document) refused as not ours, told once each
        self._told: set[tuple[str, str]] = set()
        #: inputs sent to the producer and not answered with ``done``, per session
        self.in_flight: Counter[str] = Counter()
        self._closed = False

    def __repr__(self) -> str:
        return f"<ProducerLink {self.name} documents={sorted(self.documents)}>"

    # -- the hub's Producer interface: browser input goes to the producer
    def on_set(self, doc: str, session: str, message: Set) -> None:
        self._input(doc, session, message)

    def on_event(self, doc: str, session: str, message: Event) -> None:
        self._input(doc, session, message)

    def on_custom(self, doc: str, session: str, message: Custom) -> None:
        self._input(doc, session, message)

    def on_upload(self, doc: str, session: str, message: Upload) -> None:
        """A complete upload crosses the link as one ``input`` (its files as
        buffers); past ``MAX_LINK_UPLOAD`` it is refused, as the producer's end
        would close the link on a larger frame."""
        size = sum(int(buf.size) for buf in message.data)
        if size > MAX_LINK_UPLOAD:
            ref = {"type": "upload", "model": message.model, "upload": message.upload}
            text = f"an upload to a remote producer is at most {MAX_LINK_UPLOAD} bytes"
            self.hub.reject(doc, session, "invalid_value", text, ref)
            self.hub.input_done(session)
            return
        self._input(doc, session, message)

    def on_closed(self, doc: str) -> None:
        """A per-session document was swept; its producer frees it when its page
        is gone on its side too, so nothing crosses the link."""

    def on_left(self, doc: str, session: str) -> None:
        """The session left with inputs in flight: the producer drops those it
        has not started (``left``), answering each with ``done``."""
        if not self._closed and self.in_flight[session] > 0:
            self.send(encode_envelope("left", doc=doc, session=session))

    def _input(self, doc: str, session: str, message: Message) -> None:
        if self._closed:  # raced with the close: refuse as a gone producer would
            gone = GoneProducer(self.hub)
            if isinstance(message, Set):
                gone.on_set(doc, session, message)
            elif isinstance(message, (Event, Custom)):
                gone._refuse(doc, session, message)
            elif isinstance(message, Upload):
                gone.on_upload(doc, session, message)
            return
        self.in_flight[session] += 1
        self.send(encode_envelope("input", doc=doc, session=session, message=message))

    # -- frames from the producer
    def receive(self, data: str | bytes) -> None:
        """Apply one producer frame; a bad one is answered with an ``error``."""
        if self._closed:
            return
        try:
            env = decode_envelope(data)
            self._apply(env)
        except ProtocolError as exc:
            text, ref = clip_error(exc.message, exc.ref)
            log_limited(
                log,
                logging.WARNING,
                f"producer {exc.code}",
                "producer %s: %s: %s",
                self.name,
                exc.code,
                clip(text),
            )
            self.send(encode(Error(code=exc.code, message=text, ref=ref)))

    def _apply(self, env: dict[str, Any]) -> None:
        kind = env["type"]
        hub = self.hub
        if kind == "create":
            spec = env["spec"]
            if not isinstance(spec, Add):
                raise ProtocolError("bad_message", "create.spec must be an add message")
            title = env.get("title")
            name = env["doc"]
            check_document_name(name)
            title = title if isinstance(title, str) else name
            self._may_create(name)
            try:
                if env.get("ephemeral") is True:  # freed by the hub once its viewers left
                    hub.create_document(name, spec, self, title, ephemeral=True)
                else:
                    hub.create_document(name, spec, self, title)
            except StateError as exc:  # checked before anything was created
                raise ProtocolError("bad_message", f"create.spec: {exc}") from None
            self.documents.add(name)
        elif kind == "publish":
            message = env["message"]
            check_publishable(message)
            if self._check_owner(kind, env["doc"]):
                hub.publish(env["doc"], message)
        elif kind == "remove":
            if self._check_owner(kind, env["doc"]):
                hub.remove_document(env["doc"])
                self.documents.discard(env["doc"])
        elif kind == "reject":
            if not self._check_owner(kind, env["doc"]):
                return
            props = env.get("properties")
            hub.reject(
                env["doc"],
                env["session"],
                env["code"] if env["code"] in _REJECT_CODES else "callback_error",
                str(env["text"])[:2000],
                env.get("ref") if isinstance(env.get("ref"), dict) else None,
                env.get("model") if isinstance(env.get("model"), str) else None,
                [p for p in props if isinstance(p, str)] if isinstance(props, list) else None,
            )
        elif kind == "reply_state":
            props = env["properties"]
            if isinstance(props, list) and self._check_owner(kind, env["doc"]):
                hub.reply_state(
                    env["doc"],
                    env["session"],
                    env["model"],
                    [p for p in props if isinstance(p, str)],
                )
        elif kind == "notify":
            message = env["message"]
            if not isinstance(message, Notify):
                raise ProtocolError("bad_message", "notify.message must be a notify")
            if self._check_owner(kind, env["doc"]):
                hub.notify_session(env["doc"], env["session"], message)
        elif kind == "download":
            message = env["message"]
            if not isinstance(message, Download):
                raise ProtocolError("bad_message", "download.message must be a download")
            if self._check_owner(kind, env["doc"]):
                hub.download(env["doc"], env["session"], message)
        elif kind == "done":
            if self.in_flight[env["session"]] > 0:  # only what this producer was given
                self.in_flight[env["session"]] -= 1
                hub.input_done(env["session"])
        else:
            raise ProtocolError("bad_message", f"{kind} is not sent by producers")

    def _owns(self, name: str) -> bool:
        doc = self.hub.documents.get(name)
        return doc is not None and doc.producer is self

    def _check_owner(self, kind: str, name: str) -> bool:
        """Is ``name`` ours to change? If not, the producer is told once per
        kind and document (``not_owner``) and the envelope is dropped."""
        if self._owns(name):
            return True
        if (kind, name) not in self._told and len(self._told) < _TOLD_MAX:
            self._told.add((kind, name))
            raise ProtocolError(
                "not_owner",
                f"{kind} of document {name[:64]!r}, which this producer does not own "
                "(another producer created it, or it is gone)",
                {"type": kind, "doc": name},
            )
        return False

    def _may_create(self, name: str) -> None:
        """Create (or re-create) ``name``? Only a new name, our own, a gone
        producer's, or one of the same producer's older connection (which is
        then told it lost it); raises ``not_owner`` for another live
        producer's document, or one this hub's own runtime publishes."""
        doc = self.hub.documents.get(name)
        if doc is None or doc.producer is self or doc.gone is not None:
            return
        owner = doc.producer
        if isinstance(owner, ProducerLink) and not owner._closed and self._same_as(owner):
            owner._taken_over(name, self)
            return
        raise ProtocolError(
            "not_owner",
            f"document {name[:64]!r} belongs to another producer; it was not replaced",
            {"type": "create", "doc": name},
        )

    def _same_as(self, other: ProducerLink) -> bool:
        return (self.instance is not None and self.instance == other.instance) or (
            self.kernel is not None and self.kernel == other.kernel
        )

    def _taken_over(self, name: str, by: ProducerLink) -> None:
        """Another connection of the same producer created ``name``: it is no
        longer ours; told to this connection's producer and logged."""
        self.documents.discard(name)
        text = f"document {name[:64]!r} was taken over by {by.name} (the same producer)"
        log.warning("producer %s: %s", self.name, text)
        self.send(encode(Error(code="not_owner", message=text, ref={"doc": name[:64]})))

    def closed(self) -> list[str]:
        """The connection ended: every document it still owns is marked gone.

        Returns their names, so an edge that knows more (the Jupyter
        extension knows whether the producer's kernel still exists) can
        decide later to remove them for good.
        """
        if self._closed:
            return []
        self._closed = True
        for session, count in self.in_flight.items():  # never answered: free them
            for _ in range(count):
                self.hub.input_done(session)
        self.in_flight.clear()
        gone = GoneProducer(self.hub)
        marked = [name for name in sorted(self.documents) if self._owns(name)]
        for name in marked:  # the others were taken over by a newer connection
            log.info("producer %s is gone; document %r kept, marked gone", self.name, name)
            self.hub.mark_gone(name, gone, PRODUCER_GONE)
        self.documents.clear()
        return marked


#: the largest upload sent to a remote producer in one ``input`` frame
#: (``RemoteHub`` reads frames of up to 256 MiB)
MAX_LINK_UPLOAD = 192 * 1024 * 1024

#: refusals remembered per connection (each told once), at most
_TOLD_MAX = 1024

#: codes a producer may use when refusing a browser's input
_REJECT_CODES = frozenset({"invalid_value", "callback_error", "unknown_model", "read_only"})
