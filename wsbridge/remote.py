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
import os
import random
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import tornado.httpclient
import tornado.websocket

from .bridge import Bridge
from .coalesce import coalesce
from .hub import Producer
from .producer import decode_envelope, encode_envelope
from .protocol import Add, Custom, Event, Frame, Message, ProtocolError, Set, Stream

__all__ = [
    "KERNEL_HEADER",
    "JupyterServer",
    "RemoteBridge",
    "RemoteHub",
    "current_kernel_id",
    "find_jupyter_server",
]

log = logging.getLogger("wsbridge.remote")


@dataclass(frozen=True)
class JupyterServer:
    """A running Jupyter server with the wsbridge extension, as a kernel sees it."""

    #: ``<server url><base_url>wsbridge/`` (the address the kernel can reach)
    hub_url: str
    token: str
    #: the server's ``base_url`` (``/`` or ``/user/x/``): pages are linked by
    #: path, so the link works from the browser whatever host it used
    base_url: str


def find_jupyter_server(timeout: float = 3.0) -> JupyterServer | None:
    """The Jupyter server that started this kernel, if it runs our extension.

    Matches ``JPY_PARENT_PID`` (set by jupyter_client for the kernels it
    launches) against ``list_running_servers()``, then asks the extension's
    ``healthz`` with the server's token: a server without the extension (or
    with it disabled) answers 404, and the caller falls back to an embedded
    hub. ``WSBRIDGE_MODE=embedded`` skips the search.
    """
    if os.environ.get("WSBRIDGE_MODE", "").lower() == "embedded":
        return None
    parent = os.environ.get("JPY_PARENT_PID")
    if not parent:
        return None
    try:
        from jupyter_server.serverapp import list_running_servers
    except ImportError:
        return None
    for info in list_running_servers():
        if str(info.get("pid")) != parent:
            continue
        url = str(info.get("url", ""))
        if not url.endswith("/"):
            url += "/"
        server = JupyterServer(
            hub_url=url + "wsbridge/",
            token=str(info.get("token") or ""),
            base_url=str(info.get("base_url") or "/"),
        )
        request = urllib.request.Request(
            server.hub_url + "healthz", headers=_auth_headers(server.token)
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                if response.status == 200:
                    return server
        except (OSError, urllib.error.URLError) as exc:
            log.info("the Jupyter server at %s has no wsbridge hub (%s)", url, exc)
        return None
    return None


#: the header naming this kernel to the hub (``wsbridge.jupyter.extension``)
KERNEL_HEADER = "X-Wsbridge-Kernel"


def current_kernel_id() -> str | None:
    """This process's kernel id, when it is an ipykernel kernel; else None.

    Why: the server's hub removes a kernel's documents once the kernel is
    shut down, rather than keeping them stale forever, and for that it must
    know which kernel a producer connection is. jupyter_client names a
    kernel's connection file ``kernel-<id>.json`` after the id the server's
    kernel manager uses; ipykernel 6 and 7 both keep that path on their
    ``IPKernelApp``. Read from ``sys.modules`` only: a process that is no
    kernel never imports ipykernel for this.
    """
    kernelapp = sys.modules.get("ipykernel.kernelapp")
    app_class = getattr(kernelapp, "IPKernelApp", None)
    if app_class is None or not app_class.initialized():
        return None
    path = str(getattr(app_class.instance(), "connection_file", "") or "")
    found = re.fullmatch(r"kernel-([A-Za-z0-9_.-]{1,128})\.json", os.path.basename(path))
    return found.group(1) if found else None


def _auth_headers(token: str) -> dict[str, str]:
    # Jupyter and the embedded hub both accept "Bearer" (jupyter_server's
    # IdentityProvider.auth_header_pat is "(token|bearer)").
    return {"Authorization": f"Bearer {token}"} if token else {}


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
    ) -> None:
        self.hub_url = hub_url
        self.token = token
        #: sent as ``X-Wsbridge-Kernel``: lets a Jupyter hub drop our documents
        #: once this kernel is shut down (``current_kernel_id``)
        self.kernel_id = kernel_id
        self.on_reconnect = on_reconnect
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
                log.warning("dropped a bad frame from the hub: %s", exc)
                continue
            if env["type"] == "input":
                self._input(env["doc"], env["session"], env["message"])
            elif env["type"] == "error":
                log.warning("the hub refused a message: %s: %s", env["code"], env["message"])

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
        merged = coalesce(messages)
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


class RemoteBridge(Bridge):
    """A ``Bridge`` publishing to a hub elsewhere (a Jupyter server, a ``Bridge``).

    ``RemoteBridge(hub_url, token=...)``; ``Bridge()`` in a kernel whose
    Jupyter server runs the wsbridge extension returns one by itself.
    ``url`` is the hub's base URL, so ``dashboard.url`` is the page to open.
    """

    def __init__(
        self,
        hub_url: str | None = None,
        *,
        token: str | None = None,
        base_url: str | None = None,
        connect_timeout: float = 10.0,
        max_queue_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        super().__init__()
        found: JupyterServer | None = getattr(self, "_jupyter", None)
        if hub_url is None:
            if found is None:
                found = find_jupyter_server()
            if found is None:
                raise RuntimeError("no hub_url given and no Jupyter server with wsbridge found")
            hub_url, token, base_url = found.hub_url, found.token, found.base_url
        if not hub_url.endswith("/"):
            hub_url += "/"
        self.hub_url = hub_url
        self.remote_token = token or ""
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

    _jupyter: JupyterServer | None = None

    def __repr__(self) -> str:
        state = self.url if self.running else "stopped"
        return f"<RemoteBridge {state}, {len(self.dashboards)} dashboards>"

    @property
    def url(self) -> str:
        """The hub's base URL (``<server url><base_url>wsbridge/`` under Jupyter)."""
        return self.hub_url

    def page_url(self, path: str) -> str:
        """A path on the notebook's own origin: right for local Jupyter and JupyterHub."""
        return self.public_path + path

    def _setup(self, loop: asyncio.AbstractEventLoop) -> None:
        """Connect to the server's hub (instead of binding a port of our own)."""
        remote = RemoteHub(
            self.hub_url,
            self.remote_token,
            on_reconnect=self._republish,
            max_queue_bytes=self.max_queue_bytes,
            kernel_id=current_kernel_id(),
        )
        loop.run_until_complete(asyncio.wait_for(remote.start(), self.connect_timeout))
        self.remote, self._loop = remote, loop

    def _republish(self) -> None:
        """After a reconnection: create every dashboard again from its state.

        Runs on the loop; it takes no bridge lock (``stop()`` holds that one
        while it waits for this loop), only each dashboard's producer lock.
        """
        for dash in list(self.dashboards.values()):
            self._publish_dashboard(dash)

    def _call_hub(self, method: str, args: tuple[Any, ...]) -> None:
        remote = self.remote
        if remote is not None:
            getattr(remote, method)(*args)

    async def _shutdown(self) -> None:
        if self.remote is not None:
            await self.remote.close()
            self.remote = None

    def call(self, fn: Any, timeout: float = 5.0) -> Any:
        raise NotImplementedError("the hub of a RemoteBridge runs in another process")
