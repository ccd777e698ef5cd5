"""The Jupyter server extension: a wsbridge hub under ``<base_url>wsbridge/``.

Shaped like jupyter_server's ``examples/simple``: an ``ExtensionApp`` whose
handlers Jupyter mounts under its ``base_url``. Why a hub in the server:
browsers can always reach the Jupyter server (also behind JupyterHub and
its proxy), never a kernel's own ports; kernels connect *out* to the
``producer`` endpoint (docs/protocol.md "Producer connection").

Every route is behind Jupyter's authentication and authorizer (resource
``wsbridge``) except the static client modules, which hold no data:

| route | handler | auth |
|---|---|---|
| ``wsbridge/`` | index (list of documents) | login redirect, ``read`` |
| ``wsbridge/d/<name>`` | dashboard page | login redirect, ``read`` |
| ``wsbridge/ws`` | browser WebSocket | 403 without a user, ``execute`` |
| ``wsbridge/producer`` | producer WebSocket (kernels) | 403 without a user, ``write`` |
| ``wsbridge/healthz`` | JSON stats | 403 without a user, ``read`` |
| ``wsbridge/static/...`` | the JS client | none |

The handlers reuse the standalone edge (``wsbridge.server``,
``wsbridge.server.producers``) and swap its token rules for Jupyter's: the hub's
own token is off, since Jupyter already decided who may connect, and
Jupyter's origin rules (``WebSocketMixin.check_origin``) apply.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import re
from collections.abc import Callable
from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized, ws_authenticated
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.extension.application import ExtensionApp
from traitlets import Float, Int

from ..hub.config import HubConfig
from ..hub.document import Document
from ..hub.hub import Hub
from ..server.app import edge_hooks
from ..server.config import ServerConfig
from ..server.pages import (
    BOKEH_DIR,
    PLOTLY_DIR,
    STATIC_DIR,
    StaticHandler,
    page_theme,
    render_index,
    render_nav,
    render_page,
)
from ..server.producers import ProducerHandler, close_producers
from ..server.socket import WebSocketHandler
from .discovery import KERNEL_HEADER

__all__ = [
    "AUTH_RESOURCE",
    "GoneDocuments",
    "HubSocketHandler",
    "IndexHandler",
    "PageHandler",
    "ProducerSocketHandler",
    "SlashHandler",
    "StatsHandler",
    "WsbridgeApp",
]

log = logging.getLogger("wsbridge.jupyter")

#: the authorizer resource every wsbridge route is checked against
AUTH_RESOURCE = "wsbridge"

_KERNEL_ID = re.compile(r"[A-Za-z0-9_.-]{1,128}")


class GoneDocuments:
    """Removes the documents of producers that are gone for good.

    When a producer connection ends its documents are only marked gone
    (viewers see the last state as *stale*): a restarting kernel publishes
    them again and every open page recovers. Why not keep them forever: a
    kernel that was shut down never comes back, and its documents would
    stay listed and held in memory for the life of the server. So each
    closed connection's documents are watched, every ``interval`` seconds,
    until one of:

    - they are live again (re-created, by this kernel or any producer):
      nothing to do;
    - the producer was a kernel of this server and the kernel manager no
      longer has it (shut down through the API, culled, died and not
      restarted): removed at once;
    - the producer was no such kernel (a script with the server's token, a
      kernel that never named itself) and ``timeout`` seconds passed
      (``timeout <= 0``: never).

    A kernel that still exists (restarting, or its bridge was stopped)
    keeps its documents stale, however long: it may publish again. Removed
    documents disappear from the index and ``healthz``; open pages get
    ``unknown_document`` and the connection closes (1008), so they read
    *document removed*.
    """

    def __init__(
        self,
        hub: Hub,
        kernel_alive: Callable[[str], bool],
        timeout: float,
        interval: float = 0.5,
    ) -> None:
        self.hub = hub
        self.kernel_alive = kernel_alive
        self.timeout = timeout
        self.interval = interval
        self._tasks: set[asyncio.Task[None]] = set()

    def watch(self, names: list[str], kernel_id: str | None) -> None:
        """Watch the documents ``names`` just marked gone (on the hub's loop)."""
        docs = {n: d for n in names if (d := self.hub.documents.get(n)) is not None}
        if not docs or (kernel_id is None and self.timeout <= 0):
            return
        task = asyncio.ensure_future(self._watch(docs, kernel_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def still_gone(self, docs: dict[str, Document]) -> dict[str, Document]:
        """Those of ``docs`` that are still the hub's, still gone (not re-created)."""
        return {
            n: d for n, d in docs.items() if self.hub.documents.get(n) is d and d.gone is not None
        }

    async def _watch(self, docs: dict[str, Document], kernel_id: str | None) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout if kernel_id is None else None
        while True:
            docs = self.still_gone(docs)
            if not docs:
                return
            if kernel_id is not None and not self.kernel_alive(kernel_id):
                reason = "document removed: the kernel that published it was shut down"
                break
            if deadline is not None and loop.time() >= deadline:
                reason = (
                    f"document removed: its producer did not come back within {self.timeout:g} s"
                )
                break
            await asyncio.sleep(self.interval)
        for name in docs:
            log.info("%s: %s", name, reason)
            self.hub.remove_document(name, reason)

    def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()


async def _jupyter_prepare(handler: JupyterHandler) -> None:
    """Jupyter's own ``prepare`` (identity, host check), without a login redirect."""
    result = await JupyterHandler.prepare(handler, _redirect_to_login=False)
    if result is not None:
        await result


async def _authorize(handler: JupyterHandler, action: str) -> None:
    """Ask Jupyter's authorizer (``@authorized`` for WebSocket handlers)."""
    user = handler.current_user
    allowed = handler.authorizer.is_authorized(handler, user, action, AUTH_RESOURCE)
    if inspect.isawaitable(allowed):
        allowed = await allowed
    if not allowed:
        handler.log.warning("user %s may not %s %s", user, action, AUTH_RESOURCE)
        raise tornado.web.HTTPError(403, f"not authorized to {action} {AUTH_RESOURCE}")


class _HubMixin:
    """Handlers holding the extension's hub."""

    hub: Hub
    auth_resource = AUTH_RESOURCE

    def _titles(self) -> dict[str, str]:
        return {name: doc.state.title or name for name, doc in self.hub.documents.items()}

    def _pages(self) -> list[tuple[str, str]]:
        """The navigation bar's and the landing page's entries: the shared
        documents (not per-session ones), by name."""
        docs = self.hub.documents.items()
        return sorted((n, d.state.title or n) for n, d in docs if not d.ephemeral)


class IndexHandler(_HubMixin, JupyterHandler):
    """``wsbridge/``: the documents published by kernels, as links."""

    def initialize(self, hub: Hub) -> None:
        self.hub = hub

    @tornado.web.authenticated
    @authorized
    def get(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.finish(render_index("wsbridge", self._pages()))


class SlashHandler(JupyterHandler):
    """``wsbridge`` -> ``wsbridge/`` (the index's links are relative)."""

    auth_resource = AUTH_RESOURCE

    @tornado.web.authenticated
    def get(self) -> None:
        self.redirect(self.request.path + "/")


class PageHandler(_HubMixin, JupyterHandler):
    """``wsbridge/d/<name>``: a dashboard page; its script connects to ``../ws``."""

    def initialize(self, hub: Hub) -> None:
        self.hub = hub

    @tornado.web.authenticated
    @authorized
    def get(self, name: str) -> None:
        # Tornado decoded the path argument already: decoding again would open
        # another document than the index's link names ("50%2541off")
        titles = self._titles()
        if name not in titles:
            raise tornado.web.HTTPError(404)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        nav = render_nav("wsbridge", "../", self._pages(), name)
        self.finish(
            render_page(titles[name], "../", name, nav=nav, theme=page_theme(self.hub, name))
        )


class StatsHandler(_HubMixin, APIHandler):
    """``wsbridge/healthz``: the hub's stats; kernels probe it to find the extension."""

    def initialize(self, hub: Hub) -> None:
        self.hub = hub

    @tornado.web.authenticated
    @authorized
    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"status": "ok", **self.hub.stats()}))


class HubSocketHandler(_HubMixin, WebSocketMixin, WebSocketHandler, JupyterHandler):
    """``wsbridge/ws``: the browser protocol, behind Jupyter's auth and origin rules."""

    #: the edge's ServerConfig; shadows JupyterHandler's read-only ``config``
    #: property (the Jupyter config dict, unused by Jupyter's own handlers)
    config = None  # type: ignore[assignment]

    def initialize(self, hub: Hub, config: ServerConfig) -> None:
        WebSocketHandler.initialize(self, hub, config)

    async def prepare(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        # Jupyter authenticates (cookie, token header or query); the standalone
        # edge's own token rule (WebSocketHandler.prepare) does not apply here.
        await _jupyter_prepare(self)

    @ws_authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        await _authorize(self, "execute")
        await WebSocketHandler.get(self, *args, **kwargs)


class ProducerSocketHandler(_HubMixin, WebSocketMixin, ProducerHandler, JupyterHandler):
    """``wsbridge/producer``: kernels publish here with the server's token.

    A kernel names itself in the ``X-Wsbridge-Kernel`` header; when that is
    a kernel of this server, its documents are removed once the kernel is
    (``GoneDocuments``), instead of staying stale.
    """

    def initialize(self, hub: Hub, gone: GoneDocuments) -> None:  # type: ignore[override]
        ProducerHandler.initialize(self, hub, token=None)
        self.gone = gone
        self.kernel_id: str | None = None

    def open(self, *args: Any, **kwargs: Any) -> None:
        claimed = self.request.headers.get(KERNEL_HEADER, "")
        # only a kernel this server has now counts: an id it never had would
        # otherwise look "shut down" and remove the documents on any blip
        if _KERNEL_ID.fullmatch(claimed) and self.gone.kernel_alive(claimed):
            self.kernel_id = claimed
        ProducerHandler.open(self, *args, **kwargs)
        if self.link is not None and self.kernel_id is not None:
            self.link.name = f"kernel {self.kernel_id}"
            self.link.kernel = self.kernel_id  # a restarted kernel takes its documents over

    def producer_closed(self, gone: list[str]) -> None:
        self.gone.watch(gone, self.kernel_id)

    def producer_allowed(self) -> bool:
        return True  # Jupyter's authentication and authorizer decided (below)

    async def prepare(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        if "Origin" in self.request.headers:  # a page, never a producer
            raise tornado.web.HTTPError(403, "producers are not browsers")
        await _jupyter_prepare(self)

    @ws_authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        await _authorize(self, "write")
        await ProducerHandler.get(self, *args, **kwargs)


class WsbridgeApp(ExtensionApp):
    """The wsbridge hub as a Jupyter server extension (``jupyter server``)."""

    name = "wsbridge"
    description = "Live Python dashboards over a WebSocket, published by kernels."
    extension_url = "/wsbridge/"
    load_other_extensions = True

    log_max_messages = Int(10_000, help="Messages kept per document for resume.").tag(config=True)
    log_max_bytes = Int(16 * 1024 * 1024, help="Bytes kept per document for resume.").tag(
        config=True
    )
    queue_max_bytes = Int(
        32 * 1024 * 1024, help="Outbound bytes queued per browser before a snapshot."
    ).tag(config=True)
    max_message_size = Int(16 * 1024 * 1024, help="Largest inbound message.").tag(config=True)
    gone_timeout = Float(
        3600.0,
        help="Seconds the documents of a producer that is not a kernel of this server "
        "stay (stale) after it disconnected, before they are removed; 0 keeps them. "
        "A kernel's documents stay while the kernel exists and go when it is shut down.",
    ).tag(config=True)

    hub: Hub
    gone: GoneDocuments

    def initialize_settings(self) -> None:
        self.hub = Hub(
            HubConfig(
                max_message_size=self.max_message_size,
                log_max_messages=self.log_max_messages,
                log_max_bytes=self.log_max_bytes,
                queue_max_bytes=self.queue_max_bytes,
                token=None,  # Jupyter authenticates every route that reaches the hub
            ),
            edge_hooks(),  # as the embedded Bridge's hub
        )
        self.server_config = ServerConfig(token=None, max_message_size=self.max_message_size)
        self.gone = GoneDocuments(self.hub, self._kernel_alive, self.gone_timeout)

    def _kernel_alive(self, kernel_id: str) -> bool:
        """Whether the server's kernel manager still has ``kernel_id``."""
        app = self.serverapp
        return app is not None and kernel_id in app.kernel_manager.list_kernel_ids()

    def initialize_handlers(self) -> None:
        hub = {"hub": self.hub}
        self.handlers.extend(
            [
                (r"/wsbridge", SlashHandler),
                (r"/wsbridge/", IndexHandler, hub),
                (r"/wsbridge/d/([^/]+)", PageHandler, hub),
                (r"/wsbridge/ws", HubSocketHandler, {**hub, "config": self.server_config}),
                (r"/wsbridge/producer", ProducerSocketHandler, {**hub, "gone": self.gone}),
                (r"/wsbridge/healthz", StatsHandler, hub),
                # BokehJS from the installed bokeh package, for Plot (js/src/views/plot.js)
                (r"/wsbridge/static/bokeh/(.*)", StaticHandler, {"path": str(BOKEH_DIR)}),
                # Plotly.js from the installed plotly package, for PlotlyPlot (views/plotly.js)
                (r"/wsbridge/static/plotly/(.*)", StaticHandler, {"path": str(PLOTLY_DIR)}),
                (r"/wsbridge/static/(.*)", StaticHandler, {"path": str(STATIC_DIR)}),
            ]
        )

    async def stop_extension(self) -> None:
        """Tell browsers the hub is stopping (1001) and let kernels reconnect later."""
        for session in list(self.hub.sessions.values()):
            session.request_close(1001, "server stopping")
        close_producers(self.hub)
        self.gone.cancel()
