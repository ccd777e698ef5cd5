"""A Python client of the wsbridge protocol: mirrors a document, sends input.

Two layers, as in python-websockets (sans-I/O protocol vs. asyncio
connection):

- :class:`ClientConnection` knows the protocol and nothing of sockets. It
  builds the frames to send and consumes the frames received, keeping a
  :class:`~wsbridge.state.DocumentState` mirror by the rules of
  docs/protocol.md "Applying sequenced messages". Because it shares
  ``DocumentState`` with the hub, a mirror that applied the same messages
  *is* the hub's state; tests compare the two directly, and the hub's
  resume logic can be exercised in memory (tests/pair.py).
- :class:`Client` drives one over a real WebSocket (Tornado), reconnecting
  with exponential back-off and jitter and resuming from its last ``seq``.

Used by the test-suite, the benchmarks and anyone automating a dashboard::

    async with await Client.connect(bridge.url, "main") as c:
        await c.set(slider_id, value=3.0)
        await c.wait_for(lambda c: c.model(label_id)["value"] == "3.0")
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import random
import socket
import struct
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import tornado.httpclient
import tornado.iostream
import tornado.websocket

from .errors import ConnectionFailed, ProtocolError, StateError
from .hub.state import DocumentState
from .wire.codec import SEQUENCED, Frame, decode, encode
from .wire.messages import Custom, Error, Message, Patch, Sequenced, Snapshot, Welcome
from .wire.requests import Ack, Event, Hello, Set

__all__ = [
    "FATAL_CLOSE_CODES",
    "Client",
    "ClientConnection",
]

log = logging.getLogger("wsbridge.client")

#: close codes after which reconnecting cannot help (docs/protocol.md
#: "Close codes"): a protocol mismatch or a policy refusal (token, document).
FATAL_CLOSE_CODES = frozenset({1002, 1008})


class ClientConnection:
    """The protocol state of one client, sans I/O (see the module doc).

    ``hello()`` starts a connection (a resume when a mirror exists),
    ``receive(data)`` consumes one frame, ``set``/``event``/``custom``/``ack``
    return frames to send. When ``needs_resync`` becomes true the mirror has
    missed data: the I/O edge must reconnect (``hello()`` then resumes).
    """

    def __init__(self, doc: str, token: str | None = None, max_customs: int = 1000):
        self.doc = doc
        self.token = token
        self.state: DocumentState | None = None
        self.welcome: Welcome | None = None
        self.errors: list[Error] = []
        #: custom messages from views' models, most recent last (bounded)
        self.customs: deque[Custom] = deque(maxlen=max_customs)
        self.needs_resync = False
        self.close_code: int | None = None
        self.close_reason = ""
        self._synced = False
        self._reqs = itertools.count(1)
        #: (model, property) -> req of my newest set of it not yet answered
        self._pending: dict[tuple[str, str], int] = {}

    # -- what the edge reads
    @property
    def seq(self) -> int | None:
        """The last applied ``seq`` (None before the first snapshot)."""
        return self.state.seq if self.state is not None else None

    @property
    def epoch(self) -> str | None:
        return self.state.epoch if self.state is not None else None

    @property
    def session(self) -> str | None:
        return self.welcome.session if self.welcome is not None else None

    @property
    def ready(self) -> bool:
        """Welcome received and the snapshot or the whole replay applied."""
        return (
            self._synced
            and not self.needs_resync
            and self.welcome is not None
            and self.state is not None
            and self.state.seq >= self.welcome.seq
        )

    @property
    def fatal(self) -> bool:
        """The hub closed us for a reason reconnecting would not fix."""
        return self.close_code in FATAL_CLOSE_CODES

    # -- frames to send
    def hello(self) -> Frame:
        """Start a (re)connection; resume from the mirror when it can be trusted.

        A set we applied optimistically but never saw answered may never have
        reached the hub; a replay would not mention it and the mirror would
        keep a value the hub never had. Only a snapshot can tell, so pending
        sets turn a resume into a fresh start.
        """
        self.welcome, self._synced, self.needs_resync = None, False, False
        self.close_code, self.close_reason = None, ""
        resume = self.state is not None and not self._pending
        self._pending.clear()
        hello = Hello(
            doc=self.doc,
            token=self.token,
            epoch=self.state.epoch if resume and self.state is not None else None,
            seq=self.state.seq if resume and self.state is not None else None,
        )
        return encode(hello)

    def set(self, model: str, **state: Any) -> Frame:
        """A ``set`` with a fresh ``req``; applied to the mirror at once.

        Only properties the model declares settable are applied
        optimistically: the hub refuses the others and a reply patch (if any)
        restores the canonical value, so guessing would only add flicker.
        """
        req = next(self._reqs)
        message = Set(model=model, state=state, req=req)
        spec = self.state.models.get(model) if self.state is not None else None
        if spec is not None and self.state is not None:
            settable = spec.get("settable", spec["state"].keys())
            ok = {k: v for k, v in state.items() if k in settable and k in spec["state"]}
            if ok:
                self.state.apply(Patch(seq=self.state.seq, model=model, state=ok))
                for prop in ok:
                    self._pending[(model, prop)] = req
        return encode(message)

    def event(self, model: str, name: str, data: Any = None) -> Frame:
        return encode(Event(model=model, name=name, data=data))

    def custom(self, model: str, content: Any, buffers: Iterable[Any] = ()) -> Frame:
        arrays = [
            np.frombuffer(b, dtype=np.uint8)
            if isinstance(b, (bytes, bytearray, memoryview))
            else np.asarray(b)
            for b in buffers
        ]
        return encode(Custom(model=model, content=content, buffers=arrays))

    def ack(self) -> Frame:
        return encode(Ack(seq=self.seq or 0))

    # -- frames received
    def receive(self, data: str | bytes) -> list[Message]:
        """Consume one frame; return the messages it applied or recorded.

        Duplicates (``seq`` already applied) and everything after a gap
        return ``[]``. Raises :class:`ProtocolError` for a frame that is not
        a hub message (the edge should drop the connection).
        """
        message = decode(data)
        if isinstance(message, Welcome):
            if message.doc != self.doc:
                raise ProtocolError("bad_message", f"welcome for {message.doc!r}, not {self.doc!r}")
            self.welcome = message
            self._synced = message.resumed
            if message.resumed and (self.state is None or self.state.epoch != message.epoch):
                self._resync("the hub resumed an epoch we do not hold")
            return [message]
        if isinstance(message, Error):
            self.errors.append(message)
            return [message]
        if message.type not in SEQUENCED:
            raise ProtocolError("bad_message", f"a hub does not send {message.type!r}")
        if self.needs_resync or self.welcome is None:
            return []
        if isinstance(message, Snapshot):
            # always taken: it may be a new epoch (lower seq) or follow a
            # dropped queue (higher seq); either way it is the whole truth
            self.state = DocumentState(message.doc, message.epoch, message.title)
            self.state.load(message)
            self._synced = True
            return [message]
        if self.state is None:
            self._resync(f"{message.type} before any snapshot")
            return []
        if isinstance(message, Patch) and message.reply:
            # canonical values for this client only; the seq stays ours
            for prop in message.state:
                self._pending.pop((message.model, prop), None)
            mine = dataclasses.replace(message, seq=self.state.seq)
            return [message] if self._apply(mine) else []
        if not isinstance(message, Sequenced) or message.seq is None:
            return []
        seq = message.seq
        if seq <= self.state.seq:
            return []  # duplicate
        if message.first_seq() != self.state.seq + 1:  # coalesced: stands for first..seq
            self._resync(f"gap: got seq {seq} after {self.state.seq}")
            return []
        if isinstance(message, Patch) and message.origin is not None:
            message = self._echo_filter(message)
        if not self._apply(message):
            return []
        if isinstance(message, Custom):
            self.customs.append(message)
        return [message]

    def connection_closed(self, code: int | None, reason: str | None = "") -> None:
        """The edge lost the connection (``None``: no close frame, 1006)."""
        self.close_code = 1006 if code is None else code
        self.close_reason = reason or ""
        self._synced = False

    # -- internals
    def _apply(self, message: Message) -> bool:
        assert self.state is not None
        try:
            self.state.apply(message)
        except (StateError, ValueError, KeyError) as exc:
            self._resync(f"{message.type} does not fit the mirror: {exc}")
            return False
        return True

    def _echo_filter(self, message: Patch) -> Patch:
        """Drop properties echoing my older sets while a newer one is pending.

        A slider being dragged sends req 1, 2, 3; the echo of 1 must not pull
        it back. The echo of the newest req clears the entry, so the last
        echo always lands (docs/protocol.md ``patch.origin``).
        """
        origin = message.origin or {}
        if origin.get("session") != self.session:
            return message
        req = origin.get("req", 0)
        keep = {}
        for prop, value in message.state.items():
            newest = self._pending.get((message.model, prop))
            if newest is not None and req < newest:
                continue
            self._pending.pop((message.model, prop), None)
            keep[prop] = value
        return (
            message if len(keep) == len(message.state) else dataclasses.replace(message, state=keep)
        )

    def _resync(self, why: str) -> None:
        log.info("document %r: %s; reconnecting to resync", self.doc, why)
        self.needs_resync = True


def _ws_url(url: str) -> str:
    """``http://h:p/`` (a hub base) -> ``ws://h:p/ws``; ``ws://...`` unchanged."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme in ("ws", "wss"):
        return url
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"a hub URL is http(s):// or ws(s)://, not {url!r}")
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urllib.parse.urlunsplit((scheme, parts.netloc, path + "ws", parts.query, ""))


class Client:
    """An asyncio client of one document; create it with :meth:`connect`.

    Reads go to the mirror (``models``, ``model(id)``, ``source(id)``);
    writes (``set``, ``event``, ``custom``) wait for a live connection. A
    dropped connection is re-established in the background and resumed.
    """

    def __init__(
        self,
        url: str | Sequence[str],
        doc: str,
        *,
        token: str | None = None,
        reconnect: bool = True,
        origin: str | None = None,
        headers: Mapping[str, str] | None = None,
        backoff: tuple[float, float] = (0.05, 2.0),
        connect_timeout: float = 10.0,
        max_message_size: int = 256 * 1024 * 1024,
    ) -> None:
        #: every hub to try, in turn (several hubs serve one document on a
        #: Redis backplane, docs/deploy.md); ``url`` is the current one
        self.urls = [_ws_url(u) for u in ([url] if isinstance(url, str) else url)]
        if not self.urls:
            raise ValueError("Client needs at least one hub URL")
        self.url = self.urls[0]
        self.reconnect = reconnect
        self.connection = ClientConnection(doc, token)
        self.closed_code: int | None = None
        self.closed_reason = ""
        #: how many times the connection was (re)established
        self.connections = 0
        self._headers = dict(headers or {})
        if origin is not None:
            self._headers["Origin"] = origin
        if token is not None:
            self._headers.setdefault("Authorization", f"Bearer {token}")
        self._backoff = backoff
        self._connect_timeout = connect_timeout
        self._max_message_size = max_message_size
        self._ws: tornado.websocket.WebSocketClientConnection | None = None
        self._ready = asyncio.Event()
        self._changed = asyncio.Event()
        self._closing = False
        self._finished = False
        self._failure: BaseException | None = None
        self._listeners: list[Callable[[Message], None]] = []
        self._task: asyncio.Task[None] | None = None
        self._live = False  # this connection became ready (counted once)

    @classmethod
    async def connect(
        cls,
        url: str | Sequence[str],
        doc: str,
        token: str | None = None,
        reconnect: bool = True,
        origin: str | None = None,
        headers: Mapping[str, str] | None = None,
        **options: Any,
    ) -> Client:
        """Connect and return once the welcome and the snapshot/replay are applied.

        Raises :class:`ConnectionFailed` when the first connection fails (a
        refused socket, HTTP 403, a 1008 close, no answer within
        ``connect_timeout``): a wrong URL should fail loudly, not spin in the
        background. ``options`` are the keyword arguments of ``Client``
        (``backoff``, ``connect_timeout``, ``max_message_size``).
        """
        client = cls(
            url, doc, token=token, reconnect=reconnect, origin=origin, headers=headers, **options
        )
        client._task = asyncio.ensure_future(client._run())
        ready = asyncio.ensure_future(client._ready.wait())
        await asyncio.wait(
            {ready, client._task},
            timeout=client._connect_timeout,  # a hub that accepts but never answers
            return_when=asyncio.FIRST_COMPLETED,
        )
        ready.cancel()
        if not client._ready.is_set():
            await client.close()
            failure = client._failure
            if isinstance(failure, ConnectionFailed):
                raise failure
            raise ConnectionFailed(
                f"could not connect to {client.url}: {failure!r}",
                client.closed_code,
                client.closed_reason,
            ) from failure
        return client

    # -- the mirror
    @property
    def seq(self) -> int | None:
        return self.connection.seq

    @property
    def epoch(self) -> str | None:
        return self.connection.epoch

    @property
    def session(self) -> str | None:
        return self.connection.session

    @property
    def errors(self) -> list[Error]:
        return self.connection.errors

    @property
    def state(self) -> DocumentState:
        assert self.connection.state is not None, "connect() first"
        return self.connection.state

    @property
    def models(self) -> dict[str, dict[str, Any]]:
        """Model id -> ``{"type", "state", ...}``, the live mirror."""
        return self.state.models

    @property
    def root(self) -> str | None:
        return self.state.root

    @property
    def title(self) -> str:
        return self.state.title

    @property
    def connected(self) -> bool:
        return self._ready.is_set()

    @property
    def closed(self) -> bool:
        """True once the client stopped for good (``close()`` or a fatal close)."""
        return self._finished

    def model(self, model_id: str) -> dict[str, Any]:
        """A copy of one model's state."""
        return self.state.model_state(model_id)

    def source(self, source_id: str) -> dict[str, Any]:
        """One source's columns: name -> read-only numpy array, or list of strings."""
        return self.state.sources[source_id].data

    def on_message(self, callback: Callable[[Message], None]) -> None:
        """Call ``callback(message)`` for every message applied or recorded."""
        self._listeners.append(callback)

    # -- input
    async def set(self, model_id: str, **state: Any) -> None:
        """Set properties (optimistically mirrored; the canonical echo follows)."""
        await self._send(lambda: self.connection.set(model_id, **state))

    async def event(self, model_id: str, name: str, data: Any = None) -> None:
        await self._send(lambda: self.connection.event(model_id, name, data))

    async def custom(self, model_id: str, content: Any, buffers: Iterable[Any] = ()) -> None:
        await self._send(lambda: self.connection.custom(model_id, content, buffers))

    async def ack(self) -> None:
        await self._send(self.connection.ack)

    async def wait_for(self, predicate: Callable[[Client], Any], timeout: float = 5.0) -> Any:
        """Wait until ``predicate(self)`` is true (and return it).

        Re-checked after each message, so no polling interval to tune and
        no sleep in tests; raises ``TimeoutError`` past ``timeout`` seconds
        and :class:`ConnectionFailed` if the client stops for good.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (result := predicate(self)):
            if self._finished:
                raise ConnectionFailed("the client is closed", self.closed_code, self.closed_reason)
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout}s (seq={self.seq})")
            changed = self._changed
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)
        return result

    async def drop(self) -> None:
        """Test hook: cut the TCP connection (RST, no close frame), then resume.

        Simulates a network failure; the hub sees the socket vanish, the
        client reconnects as it would after a real cut.
        """
        ws = self._ws
        stream = ws.protocol.stream if ws is not None and ws.protocol is not None else None
        if stream is None:
            return
        with contextlib.suppress(OSError, AttributeError):
            stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._ready.clear()
        stream.close()

    async def close(self) -> None:
        """Close normally (1000) and stop reconnecting."""
        self._closing = True
        task = self._task
        if task is not None and not task.done() and task is not asyncio.current_task():
            if self._ws is not None:
                self._ws.close(1000, "client closed")  # the read loop ends on the reply
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(asyncio.shield(task), 5.0)
            if not task.done():  # backing off, connecting, or a hub that never answered
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._finish()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- the connection loop
    async def _send(self, make: Callable[[], Frame]) -> None:
        """Wait for a live connection (up to the connect timeout), then write."""
        while True:
            await self._wait_ready()
            ws = self._ws
            if ws is None or ws.protocol is None:
                self._ready.clear()
                continue
            frame = make()
            try:
                await ws.write_message(frame.data, binary=frame.binary)
            except tornado.websocket.WebSocketClosedError:
                # lost mid-write: the set may never arrive; the resume (a
                # snapshot when a set is pending) settles the mirror
                log.info("connection lost while sending; it will be resumed")
            return

    async def _wait_ready(self) -> None:
        if self._ready.is_set():
            return
        if self._finished or self._task is None:
            raise ConnectionFailed("the client is closed", self.closed_code, self.closed_reason)
        ready = asyncio.ensure_future(self._ready.wait())
        try:
            await asyncio.wait(
                {ready, self._task},
                timeout=self._connect_timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            ready.cancel()
        if not self._ready.is_set():
            if self._finished:
                raise ConnectionFailed("the client is closed", self.closed_code, self.closed_reason)
            raise TimeoutError(f"no connection to {self.url} within {self._connect_timeout}s")

    async def _run(self) -> None:
        attempt, quick = 0, -1.0
        loop = asyncio.get_running_loop()
        try:
            while not self._closing:
                before = self.connections
                try:
                    await self._session()
                except ConnectionFailed as exc:
                    self._failure = exc
                    return
                except (
                    OSError,
                    asyncio.TimeoutError,
                    tornado.iostream.StreamClosedError,
                    tornado.websocket.WebSocketError,
                ) as exc:
                    self._failure = exc
                    log.debug("connection to %s failed: %r", self.url, exc)
                except tornado.httpclient.HTTPClientError as exc:
                    # 401/403/404: a wrong token, origin or URL; retrying cannot help
                    self._failure = ConnectionFailed(f"hub refused: HTTP {exc.code}", exc.code)
                    if exc.code in (401, 403, 404):
                        return
                if self.connections > before:
                    attempt = 0
                resync = self.connection.needs_resync
                if not resync and len(self.urls) > 1:  # this hub failed: the next one
                    self.url = self.urls[(self.urls.index(self.url) + 1) % len(self.urls)]
                first_round = not self.connections and attempt + 1 < len(self.urls)
                if self._closing or not self.reconnect or not (self.connections or first_round):
                    return  # never connected: connect() reports the failure
                if resync and loop.time() - quick > 1.0:
                    # the hub is fine, we just missed data: no back-off, but
                    # only once a second, so a hub that keeps sending frames
                    # we cannot apply is not hammered
                    quick = loop.time()
                    continue
                # the back-off grows once per round of every hub, as in the JS
                # client: a dead hub's clients reach the next one at once
                low, high = self._backoff
                delay = min(high, low * 2 ** (attempt // len(self.urls))) * random.uniform(0.5, 1.0)
                attempt += 1
                log.debug("reconnecting to %s in %.2fs", self.url, delay)
                await asyncio.sleep(delay)
        finally:
            self._finish()

    async def _session(self) -> None:
        """One connection: handshake, hello, read until it ends."""
        request = tornado.httpclient.HTTPRequest(
            self.url,
            headers=dict(self._headers),  # tornado adds its handshake keys to it
            connect_timeout=self._connect_timeout,
            request_timeout=self._connect_timeout,
        )
        ws = await tornado.websocket.websocket_connect(
            request, max_message_size=self._max_message_size
        )
        self._ws = ws
        try:
            if ws.protocol is not None and ws.protocol.stream is not None:
                with contextlib.suppress(AttributeError, OSError):
                    ws.protocol.stream.set_nodelay(True)  # small frames, low latency
            hello = self.connection.hello()
            await ws.write_message(hello.data, binary=hello.binary)
            resyncing, self._live = False, False
            while True:
                data = await ws.read_message()
                if data is None:
                    break
                if resyncing:
                    continue  # drain until the close handshake completes
                self._handle(data)
                if self.connection.needs_resync:
                    resyncing = True
                    self._ready.clear()
                    ws.close(1000, "resync")
        finally:
            self._ready.clear()
            self._ws = None
            self.connection.connection_closed(ws.close_code, ws.close_reason)
            self.closed_code = self.connection.close_code
            self.closed_reason = self.connection.close_reason
            ws.close()
            self._notify()
        if self.connection.fatal:
            raise ConnectionFailed(
                f"the hub closed the connection ({self.closed_code}: {self.closed_reason})",
                self.closed_code,
                self.closed_reason,
            )

    def _handle(self, data: str | bytes) -> None:
        try:
            messages = self.connection.receive(data)
        except ProtocolError as exc:
            log.warning("bad frame from the hub (%s: %s); reconnecting", exc.code, exc.message)
            self.connection.needs_resync = True
            return
        for message in messages:
            if isinstance(message, Error):
                log.info("hub error %s: %s", message.code, message.message)
            for callback in list(self._listeners):
                try:
                    callback(message)
                except Exception:  # a listener's bug must not kill the connection
                    log.exception("an on_message callback raised")
        if self.connection.ready and not self._live:
            # once per connection: after drop() the frames already buffered
            # are still applied, but the connection must not look live again
            self._live = True
            self.connections += 1
            self._ready.set()
        self._notify()

    def _notify(self) -> None:
        """Wake every ``wait_for``: swap in a fresh event, set the old one."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _finish(self) -> None:
        if not self._finished:
            self._finished = True
            self._ready.clear()
            self._notify()
