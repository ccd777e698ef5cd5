"""The Python client over a real WebSocket: :class:`Client`.

It drives a sans-I/O :class:`~wsbridge.client.protocol.ClientConnection`
(as python-websockets separates its protocol from its asyncio connection)
over Tornado, reconnecting with exponential back-off and jitter and
resuming from its last ``seq``; over a WebSocket, or where none can be
opened over streaming HTTP (``transport``, ``httpstream.py``).

Used by the test-suite, the benchmarks and anyone automating a dashboard::

    async with await Client.connect(bridge.url, "main") as c:
        await c.set(slider_id, value=3.0)
        await c.wait_for(lambda c: c.model(label_id)["value"] == "3.0")
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import struct
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import tornado.httpclient
import tornado.iostream
import tornado.websocket

from ..errors import ConnectionFailed, ProtocolError
from ..hub.state import DocumentState
from ..wire.codec import Frame
from ..wire.messages import Error, Message
from .httpstream import StreamConnection, stream_url
from .protocol import ClientConnection

__all__ = ["TRANSPORTS", "Client"]

#: ``Client(transport=...)``: "auto" tries a WebSocket and falls back to
#: streaming HTTP (docs/protocol.md "Streaming HTTP") when it cannot connect
TRANSPORTS = ("auto", "websocket", "http")

log = logging.getLogger("wsbridge.client")


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
        key: str | None = None,
        backoff: tuple[float, float] = (0.05, 2.0),
        connect_timeout: float = 10.0,
        max_message_size: int = 256 * 1024 * 1024,
        transport: str = "auto",
    ) -> None:
        if transport not in TRANSPORTS:
            raise ValueError(f"transport is one of {TRANSPORTS}, not {transport!r}")
        #: "auto", "websocket" or "http"; ``using``: what the current or next
        #: connection uses
        self.transport = transport
        self.using = "http" if transport == "http" else "websocket"
        #: a WebSocket reached a live state once (``auto`` goes back to it)
        self._ws_worked = False
        #: consecutive refusals (HTTP 401/403/404) and failures of ``using``
        self._refusals = 0
        self._failed_here = 0
        #: every hub to try, in turn (several hubs serve one document on a
        #: Redis backplane, docs/deploy.md); ``url`` is the current one
        self.urls = [_ws_url(u) for u in ([url] if isinstance(url, str) else url)]
        if not self.urls:
            raise ValueError("Client needs at least one hub URL")
        self.url = self.urls[0]
        self.reconnect = reconnect
        self.connection = ClientConnection(doc, token, key=key)
        self.closed_code: int | None = None
        self.closed_reason = ""
        #: how many times the connection was (re)established
        self.connections = 0
        self._headers = dict(headers or {})
        if origin is not None:
            self._headers["Origin"] = origin
        if token is not None:
            self._headers.setdefault("Authorization", f"Bearer {token}")
        elif "Authorization" not in self._headers:  # in a kernel: its server's credentials
            from ..jupyter.discovery import credentials_for

            self._headers.update(credentials_for(url if isinstance(url, str) else url[0]))
        self._backoff = backoff
        self._connect_timeout = connect_timeout
        self._max_message_size = max_message_size
        self._ws: tornado.websocket.WebSocketClientConnection | StreamConnection | None = None
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
        (``key``: a per-session document's, from its page; ``backoff``,
        ``connect_timeout``, ``max_message_size``; ``transport``: "auto",
        the default, a WebSocket then streaming HTTP after a round of hubs
        where none got through, or only "websocket" or "http").
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

    async def upload(
        self,
        model_id: str,
        files: Iterable[Any],
        progress: Callable[[int, int], Any] | None = None,
        timeout: float = 60.0,
    ) -> None:
        """Upload ``files`` (``(name, bytes)`` or ``(name, mime, bytes)`` each) to a
        FileInput in binary chunks, as a browser does (client.files); returns
        once Python handled them, raises ``UploadFailed`` on a refusal."""
        from .files import upload

        await upload(self, model_id, files, progress, timeout)

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
        if isinstance(ws, StreamConnection):
            self._ready.clear()
            ws.abort()
            return
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
            if ws is None or (not isinstance(ws, StreamConnection) and ws.protocol is None):
                self._ready.clear()
                continue
            frame = make()
            try:
                await ws.write_message(frame.data, binary=frame.binary)
            except (tornado.websocket.WebSocketClosedError, tornado.iostream.StreamClosedError):
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
                    # (with "auto", unless the other transport was not refused too)
                    self._failure = ConnectionFailed(f"hub refused: HTTP {exc.code}", exc.code)
                    if exc.code in (401, 403, 404):
                        self._refusals += 1
                        if self.transport != "auto" or self._refusals >= 2:
                            return
                self._choose_transport(self.connections > before)
                if self.connections > before:
                    attempt = 0
                resync = self.connection.needs_resync
                if not resync and len(self.urls) > 1:  # this hub failed: the next one
                    self.url = self.urls[(self.urls.index(self.url) + 1) % len(self.urls)]
                rounds = 2 if self.transport == "auto" else 1  # every hub, each transport
                first_round = not self.connections and attempt + 1 < rounds * len(self.urls)
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

    def _choose_transport(self, became_ready: bool) -> None:
        """``auto``: after a full round of hubs failed before a connection
        became ready, try the other transport; after a live stream dropped,
        go back to a WebSocket if one ever worked (docs/protocol.md
        "Streaming HTTP")."""
        if self.transport != "auto":
            return
        if became_ready:
            self._failed_here = 0
            if self.using == "http" and self._ws_worked:
                self.using = "websocket"
            return
        self._failed_here += 1
        if self._failed_here >= len(self.urls):
            self._failed_here = 0
            self.using = "http" if self.using == "websocket" else "websocket"
            log.info("connecting to %s over %s next", self.url, self.using)

    async def _open(self) -> tornado.websocket.WebSocketClientConnection | StreamConnection:
        """The connection, hello sent (over HTTP: in the request's body)."""
        hello = self.connection.hello()
        if self.using == "http":
            return await StreamConnection.connect(
                stream_url(self.url),
                self._headers,
                [(hello.data, hello.binary)],
                self._connect_timeout,
                self._max_message_size,
            )
        request = tornado.httpclient.HTTPRequest(
            self.url,
            headers=dict(self._headers),  # tornado adds its handshake keys to it
            connect_timeout=self._connect_timeout,
            request_timeout=self._connect_timeout,
        )
        ws = await tornado.websocket.websocket_connect(
            request, max_message_size=self._max_message_size
        )
        if ws.protocol is not None and ws.protocol.stream is not None:
            with contextlib.suppress(AttributeError, OSError):
                ws.protocol.stream.set_nodelay(True)  # small frames, low latency
        try:
            await ws.write_message(hello.data, binary=hello.binary)
        except BaseException:
            ws.close()
            raise
        return ws

    async def _session(self) -> None:
        """One connection: handshake, hello, read until it ends."""
        ws = await self._open()
        self._ws = ws
        self._refusals = 0
        try:
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
            if self.using == "websocket":
                self._ws_worked = True
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
