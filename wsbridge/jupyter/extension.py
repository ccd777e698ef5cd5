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
``wsbridge.producer``) and swap its token rules for Jupyter's: the hub's
own token is off, since Jupyter already decided who may connect, and
Jupyter's origin rules (``WebSocketMixin.check_origin``) apply.
"""

from __future__ import annotations

import html
import inspect
import json
import urllib.parse
from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized, ws_authenticated
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.extension.application import ExtensionApp
from traitlets import Int

from ..hub import Hub, HubConfig
from ..producer import ProducerHandler, close_producers
from ..server import (
    _INDEX,
    _PAGE,
    BOKEH_DIR,
    STATIC_DIR,
    ServerConfig,
    StaticHandler,
    WebSocketHandler,
)

__all__ = [
    "AUTH_RESOURCE",
    "HubSocketHandler",
    "IndexHandler",
    "PageHandler",
    "ProducerSocketHandler",
    "SlashHandler",
    "StatsHandler",
    "WsbridgeApp",
]

#: the authorizer resource every wsbridge route is checked against
AUTH_RESOURCE = "wsbridge"


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


class IndexHandler(_HubMixin, JupyterHandler):
    """``wsbridge/``: the documents published by kernels, as links."""

    def initialize(self, hub: Hub) -> None:
        self.hub = hub

    @tornado.web.authenticated
    @authorized
    def get(self) -> None:
        items = "".join(
            f'<li><a href="d/{urllib.parse.quote(n, safe="")}">{html.escape(t)}</a></li>'
            for n, t in sorted(self._titles().items())
        )
        self.set_header("Cache-Control", "no-store")
        self.finish(_INDEX.format(items=items or "<li>No dashboards yet.</li>"))


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
        name = urllib.parse.unquote(name)
        titles = self._titles()
        if name not in titles:
            raise tornado.web.HTTPError(404)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(
            _PAGE.format(
                title=html.escape(titles[name]),
                base="../",
                doc=html.escape(json.dumps(name), quote=False),
            )
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
    """``wsbridge/producer``: kernels publish here with the server's token."""

    def initialize(self, hub: Hub) -> None:  # type: ignore[override]
        ProducerHandler.initialize(self, hub, token=None)

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

    hub: Hub

    def initialize_settings(self) -> None:
        self.hub = Hub(
            HubConfig(
                max_message_size=self.max_message_size,
                log_max_messages=self.log_max_messages,
                log_max_bytes=self.log_max_bytes,
                queue_max_bytes=self.queue_max_bytes,
                token=None,  # Jupyter authenticates every route that reaches the hub
            )
        )
        self.server_config = ServerConfig(token=None, max_message_size=self.max_message_size)

    def initialize_handlers(self) -> None:
        hub = {"hub": self.hub}
        self.handlers.extend(
            [
                (r"/wsbridge", SlashHandler),
                (r"/wsbridge/", IndexHandler, hub),
                (r"/wsbridge/d/([^/]+)", PageHandler, hub),
                (r"/wsbridge/ws", HubSocketHandler, {**hub, "config": self.server_config}),
                (r"/wsbridge/producer", ProducerSocketHandler, hub),
                (r"/wsbridge/healthz", StatsHandler, hub),
                # BokehJS from the installed bokeh package, for Plot (js/src/plot.js)
                (r"/wsbridge/static/bokeh/(.*)", StaticHandler, {"path": str(BOKEH_DIR)}),
                (r"/wsbridge/static/(.*)", StaticHandler, {"path": str(STATIC_DIR)}),
            ]
        )

    async def stop_extension(self) -> None:
        """Tell browsers the hub is stopping (1001) and let kernels reconnect later."""
        for session in list(self.hub.sessions.values()):
            session.request_close(1001, "server stopping")
        close_producers(self.hub)
