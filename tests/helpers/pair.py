"""A hub and its clients back to back in memory, like h11's ``ConnectionPair``.

No sockets, no threads, no loop: ``pump()`` moves every pending frame from
the hub's session outboxes to the clients (and the clients' frames go to the
hub as they are sent), so a test can stop the world between any two frames,
cut a connection, reconnect and look at both sides.

The documents are built from real wsbridge models through a real
``Dashboard`` whose sink is ``Hub.publish``: a trait change or a ``stream``
in the test is published synchronously, exactly as the embedded bridge
does it on its loop.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wsbridge.client import ClientConnection
from wsbridge.hub.config import HubConfig
from wsbridge.hub.hub import Hub
from wsbridge.hub.session import Session
from wsbridge.hub.state import DocumentState
from wsbridge.widgets.dashboard import Dashboard
from wsbridge.widgets.model import Model
from wsbridge.widgets.source import DataSource
from wsbridge.wire.codec import Frame
from wsbridge.wire.messages import Custom, Message, Patch
from wsbridge.wire.requests import Event, Set

__all__ = ["MemoryProducer", "Pair", "assert_same_state", "payload"]


def payload(frame: Frame) -> str | bytes:
    """What a WebSocket delivers: ``str`` for a text frame, ``bytes`` for binary."""
    return frame.data if frame.binary else frame.data.decode("utf-8")


class MemoryProducer:
    """Records browser input; the test decides to accept or reject each set."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.sets: list[tuple[str, str, Set]] = []
        self.events: list[tuple[str, str, Event]] = []
        self.customs: list[tuple[str, str, Custom]] = []

    def on_set(self, doc: str, session: str, message: Set) -> None:
        self.sets.append((doc, session, message))

    def on_event(self, doc: str, session: str, message: Event) -> None:
        self.events.append((doc, session, message))
        self.hub.input_done(session)

    def on_custom(self, doc: str, session: str, message: Custom) -> None:
        self.customs.append((doc, session, message))
        self.hub.input_done(session)

    def on_left(self, doc: str, session: str) -> None:
        """The test answers (or not) each recorded set itself."""

    def accept(self, index: int = 0, state: dict[str, Any] | None = None) -> int | None:
        """Publish the canonical values of a recorded set (default: as sent).

        The patch names its origin, as the embedded producer's does.
        """
        doc, session, message = self.sets.pop(index)
        self.hub.input_done(session)
        canonical = message.state if state is None else state
        patch = Patch(
            seq=0,
            model=message.model,
            state=canonical,
            origin={"session": session, "req": message.req},
        )
        return self.hub.publish(doc, patch)

    def reject(self, index: int = 0, code: str = "invalid_value", text: str = "refused") -> None:
        """Refuse a recorded set: an error, then a reply with canonical values."""
        doc, session, message = self.sets.pop(index)
        self.hub.input_done(session)
        ref = {"type": "set", "model": message.model, "req": message.req}
        self.hub.reject(doc, session, code, text, ref, message.model, list(message.state))


@dataclass
class _Link:
    client: ClientConnection
    session: Session | None
    received: list[Message] = field(default_factory=list)


class Pair:
    """One ``Hub`` wired to any number of ``ClientConnection`` in memory."""

    def __init__(self, config: HubConfig | None = None, **limits: Any) -> None:
        self.hub = Hub(config or HubConfig(**limits))
        self.producer = MemoryProducer(self.hub)
        self.dashboards: dict[str, Dashboard] = {}
        self._links: list[_Link] = []

    # -- documents
    def create(
        self,
        name: str = "main",
        root: Model | None = None,
        *extra: Model | DataSource,
        title: str = "",
    ) -> Dashboard:
        """Publish a (re)created document from real models; changes flow to the hub."""
        old = self.dashboards.get(name)
        if old is not None:
            old._release()
        dash = Dashboard(name, root, title or name)
        for member in extra:
            dash.add(member)

        def create(spec: Any) -> None:
            self.hub.create_document(name, spec, self.producer, dash.title)

        dash._attach(None, self.hub.publish, create)  # type: ignore[arg-type]
        self.dashboards[name] = dash
        return dash

    def doc_state(self, name: str = "main") -> DocumentState:
        return self.hub.documents[name].state

    # -- connections
    def connect(
        self,
        doc: str = "main",
        token: str | None = None,
        *,
        pump: bool = True,
        hello: bool = True,
        authenticated: bool = False,
    ) -> ClientConnection:
        """A new client: open a session, send its hello, deliver the answer.

        With ``hello=False`` the session is only opened: the test sends the
        first frame itself (``pair.send``).
        """
        client = ClientConnection(doc, token)
        link = _Link(client, None)
        self._links.append(link)
        if hello:
            self.reconnect(client, pump=pump, authenticated=authenticated)
        else:
            link.session = self.hub.open_session(authenticated=authenticated)
        return client

    def reconnect(
        self, client: ClientConnection, *, pump: bool = True, authenticated: bool = False
    ) -> None:
        """A new connection for ``client``; its hello resumes when it can."""
        link = self._link(client)
        if link.session is not None:
            self.drop(client)
        link.session = self.hub.open_session(authenticated=authenticated)
        self.send(client, client.hello())
        if pump:
            self.pump(client)

    def drop(self, client: ClientConnection) -> None:
        """Cut the connection without a close frame (the hub forgets the session)."""
        link = self._link(client)
        if link.session is not None:
            self.hub.close_session(link.session)
            link.session = None
        client.connection_closed(None)

    def session(self, client: ClientConnection) -> Session:
        session = self._link(client).session
        assert session is not None, "this client is not connected"
        return session

    def received(self, client: ClientConnection) -> list[Message]:
        """Every message the client applied or recorded, in order."""
        return self._link(client).received

    def send(self, client: ClientConnection, frame: Frame | str | bytes) -> None:
        """Deliver one client frame (or a raw payload) to the hub."""
        data = payload(frame) if isinstance(frame, Frame) else frame
        self.hub.receive(self.session(client), data)

    def pump(self, *clients: ClientConnection, resync: bool = True) -> int:
        """Deliver every queued hub frame to ``clients`` (default: all).

        Like the real edge, a client that detects a gap is reconnected (and
        resumes) when ``resync``; a session the hub asked to close is closed
        once its outbox is drained. Returns the number of frames delivered.
        """
        links = [self._link(c) for c in clients] if clients else list(self._links)
        delivered, busy = 0, True
        while busy:
            busy = False
            for link in links:
                session = link.session
                if session is None:
                    continue
                frame = session.next_frame()
                if frame is not None:
                    link.received.extend(link.client.receive(payload(frame)))
                    delivered += 1
                    busy = True
                elif session.close_code is not None:
                    self.hub.close_session(session)
                    link.session = None
                    link.client.connection_closed(session.close_code, session.close_reason)
                if resync and link.client.needs_resync and link.session is not None:
                    self.reconnect(link.client, pump=False)
                    busy = True
        return delivered

    def _link(self, client: ClientConnection) -> _Link:
        for link in self._links:
            if link.client is client:
                return link
        raise KeyError("unknown client")


def _same_column(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    return list(a) == list(b)


def assert_same_state(
    mirror: DocumentState | None, truth: DocumentState, *, ignore: Iterable[str] = ()
) -> None:
    """Two states are equal: models, sources (dtype and NaN exact), root, title, seq."""
    assert mirror is not None, "the client holds no state"
    skip = set(ignore)
    for attr in ("doc", "epoch", "seq", "root", "title"):
        if attr not in skip:
            assert getattr(mirror, attr) == getattr(truth, attr), attr
    assert mirror.models == truth.models
    assert set(mirror.sources) == set(truth.sources)
    for sid, store in truth.sources.items():
        mine, theirs = mirror.sources[sid].data, store.data
        assert list(mine) == list(theirs), f"columns of {sid}"
        for name in theirs:
            assert _same_column(mine[name], theirs[name]), f"{sid}.{name}"
