"""The producer's half of a remote hub: a ``Bridge`` whose hub lives elsewhere.

Inside a Jupyter kernel the browser cannot reach the kernel's ports (think
JupyterHub), so the hub lives in the Jupyter server (``wsbridge.jupyter``)
and the kernel connects *out* to ``<hub>producer`` (docs/protocol.md
"Producer connection"). :class:`RemoteBridge` keeps the whole ``Bridge``
machinery (its own thread and loop, so a busy cell still streams; the
callbacks thread; dashboards) and swaps the in-process ``Hub`` for
:class:`RemoteHub`, an object with the same producer-facing methods
(``create_document``, ``publish``, ``reject``, ``reply_state``,
``input_done``, ``remove_document``) that sends each call as an envelope,
and dispatches browser input from the hub to the dashboards' producer.

A lost connection is re-established with back-off; every dashboard is then
created again from its current state (a new epoch on the hub, so browsers
get a fresh snapshot), because the hub marked the old documents gone.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import secrets
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Callable
from typing import Any, cast

import tornado.httpclient
import tornado.websocket

from ..errors import ProtocolError
from ..hub.coalesce import Mergeable, coalesce
from ..hub.document import Producer
from ..hub.hub import Hub
from ..hub.port import HubPort
from ..jupyter.discovery import (
    KERNEL_HEADER,
    JupyterServer,
    _auth_headers,
    current_kernel_id,
    find_jupyter_server,
)
from ..logs import clip, log_limited
from ..wire.codec import Frame
from ..wire.envelope import PRODUCER_HEADER, decode_envelope, encode_envelope
from ..wire.files import Download, Upload
from ..wire.messages import Add, Custom, Message, Notify, Stream
from ..wire.requests import Event, Set
from .bridge import Bridge

__all__ = [
    "RemoteBridge",
    "RemoteHub",
]

log = logging.getLogger("wsbridge.remote")


def _ws_url(http_url: str) -> str:
    parts = urllib.parse.urlsplit(http_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    return urllib.parse.urlunsplit((scheme, *parts[1:]))


class RemoteHub:
    """Stands in for ``Hub`` in a producer process; runs on the bridge's loop.

    Producer calls become envelopes on one WebSocket to ``<hub_url>producer``;
    ``input`` envelopes from the hub go to the producer registered for the
    document. Messages for a document are only sent after this connection
    created it: anything made before is part of the ``create`` spec.
    """

    def __init__(
        self,
        hub_url: str,
        token: str,
        on_reconnect: Callable[[], None] | None = None,
        backoff: tuple[float, float] = (0.1, 5.0),
        max_queue_bytes: int = 64 * 1024 * 1024,
        kernel_id: str | None = None,
        on_taken_over: Callable[[str], None] | None = None,
    ) -> None:
        self.hub_url = hub_url
        self.token = token
        #: sent as ``X-Wsbridge-Kernel``: lets a Jupyter hub drop our documents
        #: once this kernel is shut down (``current_kernel_id``)
        self.kernel_id = kernel_id
        #: sent as ``PRODUCER_HEADER`` on every connection: the hub lets this
        #: producer, reconnecting, take over its own documents (and no other)
        self.producer_id = secrets.token_urlsafe(24)
        self.on_reconnect = on_reconnect
        #: called on the loop with a document another connection of this
        #: producer took over (another bridge of the same kernel)
        self.on_taken_over = on_taken_over
        self.max_queue_bytes = max_queue_bytes
        #: times the outbox overflowed and the documents were re-created instead
        self.resyncs = 0
        self._queued = 0
        self.backoff = backoff
        self.producers: dict[str, Producer] = {}
        #: connections made so far (1 after the first)
        self.connections = 0
        self._created: set[str] = set()
        self._ws: tornado.websocket.WebSocketClientConnection | None = None
        #: frames to write; ``True`` marks control frames (done/reject/reply_state)
        self._outbox: deque[tuple[Frame, bool]] = deque()
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self._ws is not None

    # -- connection
    async def _connect(self) -> tornado.websocket.WebSocketClientConnection:
        headers = _auth_headers(self.token)
        headers[PRODUCER_HEADER] = self.producer_id
        if self.kernel_id:
            headers[KERNEL_HEADER] = self.kernel_id
        request = tornado.httpclient.HTTPRequest(
            _ws_url(self.hub_url) + "producer",
            headers=headers,
            connect_timeout=10.0,
            request_timeout=10.0,
        )
        return await tornado.websocket.websocket_connect(
            request, max_message_size=256 * 1024 * 1024
        )

    async def start(self) -> None:
        """Connect once (errors raise to the caller), then keep the link alive."""
        ws = await self._connect()
        self._attach(ws)
        self._task = asyncio.ensure_future(self._run(ws))
        self._writer = asyncio.ensure_future(self._write_loop())

    def _attach(self, ws: tornado.websocket.WebSocketClientConnection) -> None:
        self._ws = ws
        self._created.clear()
        self._outbox.clear()
        self._queued = 0
        self.connections += 1

    async def _run(self, ws: tornado.websocket.WebSocketClientConnection) -> None:
        attempt = 0
        while not self._stopping:
            await self._read(ws)
            self._ws = None
            ws.close()  # the hub dropped the link: release the connection now
            if self._stopping:
                return
            log.warning("lost the connection to the wsbridge hub at %s; reconnecting", self.hub_url)
            while not self._stopping:
                low, high = self.backoff
                await asyncio.sleep(min(high, low * 2**attempt) * (0.5 + random.random() / 2))
                attempt += 1
                try:
                    ws = await self._connect()
                except Exception as exc:
                    log.info("reconnecting to %s failed: %s", self.hub_url, exc)
                    continue
                attempt = 0
                self._attach(ws)
                self._wake.set()
                if self.on_reconnect is not None:
                    self.on_reconnect()
                break

    async def _read(self, ws: tornado.websocket.WebSocketClientConnection) -> None:
        while True:
            data = await ws.read_message()
            if data is None:
                return
            try:
                env = decode_envelope(data)
            except ProtocolError as exc:
                log_limited(
                    log,
                    logging.WARNING,
                    "bad hub frame",
                    "dropped a bad frame from the hub: %s",
                    clip(exc),
                )
                continue
            if env["type"] == "input":
                self._input(env["doc"], env["session"], env["message"])
            elif env["type"] == "left":
                producer = self.producers.get(env["doc"])
                if producer is not None:
                    producer.on_left(env["doc"], env["session"])
            elif env["type"] == "error":
                taken = self._taken_over(env)
                if taken is not None:
                    log.info("%s; this bridge no longer publishes it", clip(env["message"]))
                    if self.on_taken_over is not None:
                        self.on_taken_over(taken)
                    continue
                log_limited(
                    log,
                    logging.WARNING,
                    "hub refused",
                    "the hub refused a message: %s: %s",
                    env["code"],
                    clip(env["message"]),
                )

    def _taken_over(self, env: dict[str, Any]) -> str | None:
        """The document a hub's takeover notice names, if ``env`` is one; it is
        then forgotten here (its changes are no longer sent).

        The notice is the ``not_owner`` error whose ``ref`` names a document
        this connection created and no envelope ``type`` (a refusal names
        the refused envelope's type); the hub clips the name to 64 characters.
        """
        ref = env.get("ref")
        if env.get("code") != "not_owner" or not isinstance(ref, dict) or "type" in ref:
            return None
        clipped = ref.get("doc")
        if not isinstance(clipped, str):
            return None
        matches = [n for n in self._created if n[:64] == clipped]
        if len(matches) != 1:
            return None
        name = matches[0]
        self._created.discard(name)
        self.producers.pop(name, None)
        return name

    def _input(self, doc: str, session: str, message: Message) -> None:
        producer = self.producers.get(doc)
        if producer is None:
            self.reject(doc, session, "unknown_model", f"{doc!r} is not published here")
            self.input_done(session)
        elif isinstance(message, Set):
            producer.on_set(doc, session, message)
        elif isinstance(message, Event):
            producer.on_event(doc, session, message)
        elif isinstance(message, Custom):
            producer.on_custom(doc, session, message)
        elif isinstance(message, Upload):
            producer.on_upload(doc, session, message)
        else:
            self.input_done(session)

    def _send(self, frame: Frame, control: bool = False) -> None:
        """Queue a frame; past ``max_queue_bytes``, re-create instead of queueing more.

        A hub (or link) slower than the producer must not grow the kernel's
        memory without bound: the queue is dropped and every document is
        created again from its current state, which is one frame per
        document however much was streamed (viewers get a fresh snapshot).
        """
        if self._ws is None:
            return
        if not control and self._queued + len(frame.data) > self.max_queue_bytes and self._created:
            log.warning(
                "the hub is %d bytes behind; re-creating the documents instead", self._queued
            )
            self.resyncs += 1
            # answers to browser input stay: the hub counts each session's inputs in flight
            kept = [(f, c) for f, c in self._outbox if c]
            self._outbox.clear()
            self._outbox.extend(kept)
            self._queued = sum(len(f.data) for f, _ in kept)
            self._created.clear()  # later changes wait for the new create (in its spec)
            if self.on_reconnect is not None:
                self.on_reconnect()
            return
        self._outbox.append((frame, control))
        self._queued += len(frame.data)
        self._wake.set()

    async def _write_loop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            ws = self._ws
            if ws is not None and self._outbox:
                frame, _ = self._outbox.popleft()
                self._queued -= len(frame.data)
                try:
                    await ws.write_message(frame.data, binary=frame.binary)
                except tornado.websocket.WebSocketClosedError:
                    pass  # the reader notices and reconnects; the documents are re-created
                continue
            await self._wake.wait()

    async def close(self) -> None:
        self._stopping = True
        self._wake.set()
        ws = self._ws
        if ws is not None:
            for _ in range(100):  # let queued changes out first (bounded)
                if not self._outbox:
                    break
                await asyncio.sleep(0.01)
            ws.close(1000, "producer stopping")
            if self._task is not None:  # the reader ends when the hub answers the close
                await asyncio.wait([self._task], timeout=1.0)
        for task in (self._task, self._writer):
            if task is not None:
                task.cancel()

    # -- the Hub methods a Bridge calls (on this loop)
    def create_document(
        self, name: str, spec: Add, producer: Producer, title: str = "", ephemeral: bool = False
    ) -> None:
        self.producers[name] = producer
        self._created.add(name)
        fields = {"ephemeral": True} if ephemeral else {}
        self._send(encode_envelope("create", doc=name, title=title, spec=spec, **fields))

    def publish(self, name: str, message: Message, trusted: bool = False) -> None:
        """Send a change to the remote hub. ``trusted`` is ignored: what
        crosses the link is fully validated there (``Hub.publish``)."""
        del trusted
        if name in self._created:
            self._send(encode_envelope("publish", doc=name, message=message))

    def publish_many(self, name: str, messages: list[Message], trusted: bool = False) -> None:
        """Streams of one source that queued up (``Bridge._submit``) cross the
        link as one stream; the remote hub sequences it once."""
        if len(messages) == 1:
            self.publish(name, messages[0], trusted)
            return
        merged = coalesce(cast("list[Mergeable]", messages))
        assert isinstance(merged, Stream)  # Bridge batches streams only
        self.publish(name, dataclasses.replace(merged, first=None), trusted)

    def remove_document(self, name: str, reason: str = "document removed") -> None:
        self.producers.pop(name, None)
        if name in self._created:
            self._created.discard(name)
            self._send(encode_envelope("remove", doc=name))

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
        self._send(
            encode_envelope(
                "reject",
                doc=name,
                session=session_id,
                code=code,
                text=text,
                ref=ref,
                model=model,
                properties=properties,
            ),
            control=True,
        )

    def reply_state(self, name: str, session_id: str, model: str, properties: list[str]) -> None:
        self._send(
            encode_envelope(
                "reply_state", doc=name, session=session_id, model=model, properties=properties
            ),
            control=True,
        )

    def input_done(self, session_id: str) -> None:
        self._send(encode_envelope("done", session=session_id), control=True)

    def notify_session(self, name: str, session_id: str, message: Notify) -> None:
        if name in self._created:
            self._send(
                encode_envelope("notify", doc=name, session=session_id, message=message),
                control=True,
            )

    def download(self, name: str, session_id: str, message: Download) -> None:
        """A file for one viewer crosses the link as one binary frame."""
        if name in self._created:
            self._send(encode_envelope("download", doc=name, session=session_id, message=message))


class RemoteBackend:
    """A bridge's hub in another process: the Jupyter server's, or another ``Bridge``'s.

    ``url`` is the hub's base URL, so ``dashboard.url`` is the page to open;
    ``page_url`` is on the notebook's own origin (``<base_url>wsbridge/``),
    right for a local Jupyter and for JupyterHub alike.
    """

    kind = "jupyter"
    hub: Hub | None = None  # never in this process
    batch_streams = True  # the remote hub sequences a merged stream once

    def __init__(
        self,
        hub_url: str,
        token: str,
        base_url: str | None = None,
        connect_timeout: float = 10.0,
        max_queue_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        if not hub_url.endswith("/"):
            hub_url += "/"
        self.hub_url = hub_url
        self.token = token
        #: the page path prefix browsers use (``<base_url>wsbridge/``)
        self.public_path = (
            (base_url.rstrip("/") + "/wsbridge/")
            if base_url is not None
            else urllib.parse.urlsplit(hub_url).path
        )
        self.connect_timeout = connect_timeout
        #: bytes queued for a slow hub before the documents are re-created instead
        self.max_queue_bytes = max_queue_bytes
        self.remote: RemoteHub | None = None
        #: called on the loop after a reconnection (the bridge publishes again)
        self.on_reconnect: Callable[[], None] | None = None
        #: called on the loop with a dashboard another bridge of this kernel took over
        self.on_taken_over: Callable[[str], None] | None = None

    @classmethod
    def of(cls, server: JupyterServer) -> RemoteBackend:
        """The hub of the Jupyter server this kernel runs under."""
        return cls(server.hub_url, server.token, server.base_url)

    def serve(self, bridge: Bridge) -> None:
        """Tie this backend to ``bridge``: after a reconnection it publishes its
        dashboards again; a dashboard another bridge of this kernel took over
        it forgets."""
        self.on_reconnect = bridge._republish
        self.on_taken_over = bridge._taken_over

    @property
    def url(self) -> str:
        """The hub's base URL (``<server url><base_url>wsbridge/`` under Jupyter)."""
        return self.hub_url

    def page_url(self, path: str) -> str:
        """A path on the notebook's own origin: right for local Jupyter and JupyterHub."""
        return self.public_path + path

    def setup(self, loop: asyncio.AbstractEventLoop, more_input: Callable[[], bool]) -> HubPort:
        """Connect to the hub (instead of binding a port of our own)."""
        del more_input  # the remote hub's writers batch on their own
        remote = RemoteHub(
            self.hub_url,
            self.token,
            on_reconnect=self.on_reconnect,
            max_queue_bytes=self.max_queue_bytes,
            kernel_id=current_kernel_id(),
            on_taken_over=self.on_taken_over,
        )
        loop.run_until_complete(asyncio.wait_for(remote.start(), self.connect_timeout))
        self.remote = remote
        return remote

    async def shutdown(self) -> None:
        if self.remote is not None:
            await self.remote.close()
            self.remote = None

    def followed_apps(self) -> dict[str, str]:
        return {}  # the remote hub serves its own apps' pages

    def app_open_failed(self, name: str, text: str) -> None:
        """Nothing: a remote hub is told through its own producer link."""

    def health(self) -> dict[str, Any]:
        return {}


def RemoteBridge(
    hub_url: str | None = None,
    *,
    token: str | None = None,
    base_url: str | None = None,
    connect_timeout: float = 10.0,
    max_queue_bytes: int = 64 * 1024 * 1024,
) -> Bridge:
    """A :class:`~wsbridge.runtime.bridge.Bridge` publishing to a hub elsewhere.

    ``RemoteBridge(hub_url, token=...)`` publishes to the hub at ``hub_url``
    (a ``Bridge`` started with ``producer_token=``, or a Jupyter server's
    ``<url>wsbridge/``); with no ``hub_url`` it finds the Jupyter server this
    kernel runs under, as ``Bridge(hub="jupyter")`` does.
    """
    if hub_url is None:
        found = find_jupyter_server()
        if found is None:
            raise RuntimeError("no hub_url given and no Jupyter server with wsbridge found")
        hub_url, token, base_url = found.hub_url, found.token, found.base_url
    backend = RemoteBackend(hub_url, token or "", base_url, connect_timeout, max_queue_bytes)
    bridge = Bridge._on(backend)
    backend.serve(bridge)
    return bridge
