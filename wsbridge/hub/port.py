"""The seams of the hub: typed interfaces between it and every runtime and edge.

- :class:`HubPort`: what a producer's runtime asks of a hub, one typed method
  per operation. The in-process :class:`~wsbridge.hub.hub.Hub`, the remote
  hub a kernel talks to (:class:`~wsbridge.runtime.remote.RemoteHub`) and the
  Redis publisher's wrapper (:class:`~wsbridge.scaleout.publisher.PublishingHub`)
  implement it, so a runtime never calls a hub by method name.
- :class:`Producer`: what the hub calls with a browser's input.
- :class:`SessionEdge`: how the hub reaches the I/O edge of one session
  (wake its writer, or write now), given when the session is opened.
- :class:`HubHooks`: what the embedding tells the hub about its loop, given
  when the hub is built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ..wire.files import Download, Upload
from ..wire.messages import Add, Custom, Message, Notify
from ..wire.requests import Event, Set

__all__ = ["HubHooks", "HubPort", "Producer", "SessionEdge"]


class HubPort(Protocol):
    """The operations a producer's runtime performs on a hub, on the hub's loop."""

    def create_document(
        self, name: str, spec: Add, producer: Producer, title: str = "", ephemeral: bool = False
    ) -> object:
        """Create (or replace, with a new epoch) document ``name`` from its root ``spec``."""
        ...

    def publish(self, name: str, message: Message, trusted: bool = False) -> int | None:
        """Apply ``message`` to document ``name`` and send it to its viewers."""
        ...

    def publish_many(self, name: str, messages: list[Message], trusted: bool = False) -> int | None:
        """Publish messages that merge into one (streams of one source)."""
        ...

    def remove_document(self, name: str, reason: str = "document removed") -> None:
        """Drop document ``name``; its viewers are told why."""
        ...

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
        """Tell one session its input was refused, then re-send the canonical values."""
        ...

    def reply_state(self, name: str, session_id: str, model: str, properties: list[str]) -> None:
        """Send one session the canonical values of ``properties`` (a ``reply`` patch)."""
        ...

    def input_done(self, session_id: str) -> None:
        """One browser input of ``session_id`` has been handled by the producer."""
        ...

    def notify_session(self, name: str, session_id: str, message: Notify) -> None:
        """Send one session of document ``name`` a notification (not sequenced)."""

    def download(self, name: str, session_id: str, message: Download) -> None:
        """Send a file to one session of document ``name`` (wire.files), bounded."""
        ...


class Producer(Protocol):
    """Where browser input for a document goes (the Python side owning it).

    Each call must be answered, once handled, by ``hub.input_done(session)``
    on the hub's loop: the hub bounds every session's inputs in flight. A
    producer is told by ``on_closed(doc)`` that the hub removed a per-session
    document (:meth:`Hub.sweep`), so it can free that session's objects, and
    by ``on_left(doc, session)`` that a session left with inputs in flight.
    """

    def on_set(self, doc: str, session: str, message: Set) -> None: ...

    def on_event(self, doc: str, session: str, message: Event) -> None: ...

    def on_custom(self, doc: str, session: str, message: Custom) -> None: ...

    def on_upload(self, doc: str, session: str, message: Upload) -> None:
        """A complete, checked file upload (hub.uploads); answered by ``input_done``."""
        ...

    def on_closed(self, doc: str) -> None: ...

    def on_left(self, doc: str, session: str) -> None:
        """``session`` closed with inputs still in flight: drop those not
        started (each still answered with ``input_done``)."""
        ...


@dataclass(frozen=True)
class SessionEdge:
    """The I/O edge of one session, as the hub calls it.

    Plain callables rather than methods of the edge's object: the hub calls
    them once per message per session (docs/performance.md#echo-first-and-direct-writes).
    """

    #: the writer has work (wake it if it is parked)
    wake: Callable[[], None]
    #: write what is queued now if the writer is idle, else wake it
    flush: Callable[[], None]
    #: ``later(delay, fn)``: call ``fn`` on the hub's loop in ``delay`` seconds
    #: (an upload's stall timer, hub.uploads); None: no timers (sans-I/O tests)
    later: Callable[[float, Callable[[], None]], object] | None = None
    #: what carries the session ("websocket", or "http": the streaming-HTTP
    #: fallback, docs/protocol.md "Streaming HTTP"), counted in ``Hub.stats``
    transport: str = "websocket"


def _never() -> bool:
    return False


def _nothing() -> None:
    return None


def _no_document(name: str, address: str, query: dict[str, str] | None) -> bool:
    return False


def _at_once(fn: Callable[[], None]) -> None:
    fn()


@dataclass(frozen=True)
class HubHooks:
    """What the embedding tells the hub about the loop it runs on."""

    #: is more producer input already queued? then writers batch rather than
    #: write each message directly (``Bridge``: the hand-off is not empty)
    more_input: Callable[[], bool] = _never
    #: called after a browser set's echo is written and before its patch goes
    #: to the other sessions (docs/performance.md#yielding-the-cpu-after-the-echo)
    after_echo: Callable[[], None] = _nothing
    #: ``open_document(name, address, query)``: a ``hello`` with a valid key
    #: (``Hub.document_key``) named per-session document ``name``, which the
    #: hub does not have; True when the embedding will create it (the hello
    #: then waits for ``Hub.create_document``, or ``Hub.open_failed``), False
    #: when it knows no such document; a ``ProtocolError`` refuses the hello
    #: (a limit). ``address`` is the client's (``Bridge``: per-session apps),
    #: ``query`` the page's address query (``hello.query``, checked) or None
    open_document: Callable[[str, str, dict[str, str] | None], bool] = _no_document
    #: ``soon(fn)``: run ``fn`` on the hub's loop once the calls being
    #: handled now are done (``loop.call_soon``); writes held during a
    #: producer's burst are released there at the latest. Default: at once
    soon: Callable[[Callable[[], None]], object] = _at_once
