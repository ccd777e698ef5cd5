"""Remote producers: a process that owns documents, connected to a hub over a WebSocket.

The embedded ``Bridge`` runs its hub in-process. A notebook kernel under a
Jupyter server (or behind JupyterHub) cannot open ports that browsers can
reach, so there the hub lives in the server and the kernel connects *out* to
it at ``<url>producer`` (docs/protocol.md "Producer connection"). This
module is the hub's half of that connection:

- the envelope codec shared with the producer's half (``wsbridge.remote``):
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
  handshake, one writer task awaiting every write, as in ``server.py``).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import weakref
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

import tornado.web
import tornado.websocket
from tornado.websocket import WebSocketClosedError

from .hub import Hub
from .protocol import (
    Add,
    Custom,
    Error,
    Event,
    Frame,
    Message,
    ProtocolError,
    Set,
    encode,
    from_dict,
)
from .protocol import _decode_binary as _decode_binary_object
from .protocol import _loads as _load_object

__all__ = [
    "PRODUCER_GONE",
    "PUBLISHABLE",
    "GoneProducer",
    "ProducerHandler",
    "ProducerLink",
    "close_producers",
    "decode_envelope",
    "encode_envelope",
    "producer_routes",
]

log = logging.getLogger("wsbridge.producer")

#: the text browsers see when a document's producer went away
PRODUCER_GONE = (
    "the Python process that publishes this document is gone (kernel stopped or "
    "restarted); showing its last state until it publishes again"
)

#: message types a producer may ``publish`` (the sequenced changes)
PUBLISHABLE = frozenset({"add", "patch", "stream", "source_patch", "source_replace", "custom"})

#: envelope types and the keys each one must carry (docs/protocol.md)
_ENVELOPES: dict[str, tuple[str, ...]] = {
    # producer -> hub
    "create": ("doc", "spec"),
    "publish": ("doc", "message"),
    "remove": ("doc",),
    "reject": ("doc", "session", "code", "text"),
    "reply_state": ("doc", "session", "model", "properties"),
    "done": ("session",),
    # hub -> producer
    "input": ("doc", "session", "message"),
    "error": ("code", "message"),
}


#: envelope keys holding a wrapped protocol message
_WRAPPED: dict[str, tuple[str, ...]] = {
    "create": ("spec",),
    "publish": ("message",),
    "input": ("message",),
}


def encode_envelope(kind: str, **fields: Any) -> Frame:
    """One producer-channel frame: ``{"v": 1, "type": kind, ...fields}``.

    A wrapped message (``spec``, ``message``) is given as a ``Message`` and
    travels as its wire object, its arrays as binary buffers whose paths
    start at the envelope (``["message", "data", "x"]``).
    """
    obj: dict[str, Any] = {"v": 1, "type": kind}
    for key, value in fields.items():
        obj[key] = value.to_dict() if isinstance(value, Message) else value
    return encode(obj)


def decode_envelope(data: str | bytes) -> dict[str, Any]:
    """Decode and check one producer-channel frame.

    Wrapped messages (``spec``, ``message``) come back as validated
    ``Message`` objects; a broken frame raises ``ProtocolError``.
    """
    obj = _load_object(data) if isinstance(data, str) else _decode_binary_object(bytes(data))
    if obj.get("v") != 1 or isinstance(obj.get("v"), bool):
        raise ProtocolError("bad_version", f"producer protocol version {obj.get('v')!r}")
    kind = obj.get("type")
    if not isinstance(kind, str) or kind not in _ENVELOPES:
        raise ProtocolError("unknown_type", f"unknown producer message type {str(kind)[:64]!r}")
    for key in _ENVELOPES[kind]:
        if key not in obj:
            raise ProtocolError("bad_message", f"{kind} needs {key!r}")
    for key in ("doc", "session", "code", "model"):
        if key in obj and not isinstance(obj[key], str):
            raise ProtocolError("bad_message", f"{kind}.{key} must be a string")
    for key in _WRAPPED.get(kind, ()):
        if key in obj:
            if not isinstance(obj[key], dict):
                raise ProtocolError("bad_message", f"{kind}.{key} must be a message object")
            obj[key] = from_dict(obj[key])
    return obj


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

    def __init__(self, hub: Hub, send: Callable[[Frame], None], name: str = "producer") -> None:
        self.hub = hub
        self.send = send
        self.name = name
        #: documents this connection created and still owns
        self.documents: set[str] = set()
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

    def _input(self, doc: str, session: str, message: Message) -> None:
        if self._closed:  # raced with the close: refuse as a gone producer would
            gone = GoneProducer(self.hub)
            if isinstance(message, Set):
                gone.on_set(doc, session, message)
            elif isinstance(message, (Event, Custom)):
                gone._refuse(doc, session, message)
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
            log.warning("producer %s: %s: %s", self.name, exc.code, exc.message)
            self.send(encode(Error(code=exc.code, message=exc.message, ref=exc.ref)))

    def _apply(self, env: dict[str, Any]) -> None:
        kind = env["type"]
        hub = self.hub
        if kind == "create":
            spec = env["spec"]
            if not isinstance(spec, Add):
                raise ProtocolError("bad_message", "create.spec must be an add message")
            title = env.get("title")
            name = env["doc"]
            if not name or "/" in name or len(name) > 128:
                raise ProtocolError(
                    "bad_message", "a document name is 1-128 characters without '/'"
                )
            title = title if isinstance(title, str) else name
            if env.get("ephemeral") is True:  # freed by the hub once its viewers left
                hub.create_document(name, spec, self, title, ephemeral=True)
            else:
                hub.create_document(name, spec, self, title)
            self.documents.add(name)
        elif kind == "publish":
            message = env["message"]
            if message.type not in PUBLISHABLE:
                raise ProtocolError("bad_message", f"a producer cannot publish {message.type}")
            if self._owns(env["doc"]):
                hub.publish(env["doc"], message)
        elif kind == "remove":
            if self._owns(env["doc"]):
                hub.remove_document(env["doc"])
                self.documents.discard(env["doc"])
        elif kind == "reject":
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
            if isinstance(props, list):
                hub.reply_state(
                    env["doc"],
                    env["session"],
                    env["model"],
                    [p for p in props if isinstance(p, str)],
                )
        elif kind == "done":
            if self.in_flight[env["session"]] > 0:  # only what this producer was given
                self.in_flight[env["session"]] -= 1
                hub.input_done(env["session"])
        else:
            raise ProtocolError("bad_message", f"{kind} is not sent by producers")

    def _owns(self, name: str) -> bool:
        doc = self.hub.documents.get(name)
        return doc is not None and doc.producer is self

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


#: codes a producer may use when refusing a browser's input
_REJECT_CODES = frozenset({"invalid_value", "callback_error", "unknown_model", "read_only"})


class ProducerHandler(tornado.websocket.WebSocketHandler):
    """``<url>producer``: one remote producer per connection.

    The token is checked at the handshake (``Authorization: Bearer``, or a
    ``token`` query argument): a producer can publish any document, so it
    needs the hub's secret whatever the listening address. Subclassed for
    Jupyter (``wsbridge.jupyter.extension``), where Jupyter's auth decides.
    """

    def initialize(self, hub: Hub, token: str | None) -> None:
        self.hub = hub
        self.producer_token = token
        self.link: ProducerLink | None = None
        self._outbox: deque[Frame] = deque()
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None

    def _presented_token(self) -> str | None:
        auth = self.request.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        return self.get_query_argument("token", None)

    def producer_allowed(self) -> bool:
        given = self._presented_token()
        return (
            self.producer_token is not None
            and given is not None
            and hmac.compare_digest(given.encode(), self.producer_token.encode())
        )

    def prepare(self) -> None:
        if "Origin" in self.request.headers:
            # producers are programs, not pages: a browser (which always
            # sends Origin, even same-origin) has no business here.
            log.warning("refused a producer connection from a browser page")
            raise tornado.web.HTTPError(403, "producers are not browsers")
        if not self.producer_allowed():
            log.warning("refused a producer connection without a valid token")
            raise tornado.web.HTTPError(403, "a valid producer token is required")

    def check_origin(self, origin: str) -> bool:
        return False  # never reached: prepare() refuses any Origin

    def open(self, *args: Any, **kwargs: Any) -> None:
        self.set_nodelay(True)
        peer = self.request.remote_ip or "?"
        self.link = ProducerLink(self.hub, self._send, name=peer)
        _OPEN.setdefault(self.hub, set()).add(self)
        self._writer = asyncio.ensure_future(self._write_loop())
        log.info("producer connected from %s", peer)

    def _send(self, frame: Frame) -> None:
        self._outbox.append(frame)
        self._wake.set()

    def on_message(self, message: str | bytes) -> None:
        if self.link is not None:
            self.link.receive(message)

    def on_close(self) -> None:
        _OPEN.get(self.hub, set()).discard(self)
        if self.link is not None:
            self.producer_closed(self.link.closed())
        self._outbox.clear()
        self._wake.set()

    def producer_closed(self, gone: list[str]) -> None:
        """The connection ended and the documents ``gone`` were marked gone.

        They stay (stale) until a producer creates them again; a subclass
        that can tell the producer will never come back removes them.
        """

    async def _write_loop(self) -> None:
        try:
            while self.ws_connection is not None and not self.ws_connection.is_closing():
                self._wake.clear()
                if self._outbox:
                    frame = self._outbox.popleft()
                    await self.write_message(frame.data, binary=frame.binary)
                    continue
                await self._wake.wait()
        except WebSocketClosedError:
            pass
        except Exception:  # pragma: no cover - a bug; never leave the socket hanging
            log.exception("producer writer failed")
            self.close(1011, "internal error")


#: open producer connections per hub, so a stopping hub can close them
_OPEN: weakref.WeakKeyDictionary[Hub, set[ProducerHandler]] = weakref.WeakKeyDictionary()


def close_producers(hub: Hub, code: int = 1001, reason: str = "hub stopping") -> None:
    """Close every producer connection of ``hub`` (they reconnect and republish)."""
    for handler in list(_OPEN.pop(hub, ())):
        handler.close(code, reason)


def producer_routes(hub: Hub, prefix: str, token: str | None) -> list[Any]:
    """The producer endpoint under ``prefix`` (for ``make_app(extra_routes=...)``)."""
    return [(rf"{prefix}producer", ProducerHandler, {"hub": hub, "token": token})]
