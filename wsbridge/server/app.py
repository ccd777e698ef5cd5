"""The Tornado application: the routes of one hub, shared by the embedded server and Jupyter.

``make_app`` mounts the pages, the static client, the WebSocket (and its
streaming-HTTP fallback) and health
under a prefix; ``edge_hooks`` is what a hub served by this edge is built
with. The handlers themselves live in ``pages.py``, ``socket.py`` and
``producers.py``; the frame writer in ``writer.py``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

import tornado.web
import tornado.websocket

from ..hub.hub import Hub
from ..hub.port import HubHooks
from .config import ServerConfig
from .httpstream import stream_routes
from .pages import (
    BOKEH_DIR,
    PLOTLY_DIR,
    STATIC_DIR,
    HealthHandler,
    IndexHandler,
    NoFaviconHandler,
    PageHandler,
    StaticHandler,
    log_request,
)
from .socket import WebSocketHandler

__all__ = ["edge_hooks", "make_app"]

log = logging.getLogger("wsbridge.server")


def edge_hooks(more_input: Callable[[], bool] | None = None) -> HubHooks:
    """The hooks of a hub served by this Tornado edge (the embedded ``Bridge``
    and the Jupyter extension alike): a sender's echo is written before the
    others' (docs/performance.md#yielding-the-cpu-after-the-echo)."""
    hooks = HubHooks() if more_input is None else HubHooks(more_input=more_input)
    sched_yield = getattr(os, "sched_yield", None)
    return hooks if sched_yield is None else dataclasses.replace(hooks, after_echo=sched_yield)


def make_app(
    hub: Hub, config: ServerConfig, prefix: str = "/", extra_routes: Iterable[Any] = ()
) -> tornado.web.Application:
    """The routes of docs/protocol.md "Endpoints" under ``prefix`` (which ends with '/').

    ``extra_routes`` are appended (e.g. ``server.producers.producer_routes``).
    The hub should be built with :func:`edge_hooks`.
    """
    kw = {"hub": hub, "config": config}
    routes: list[Any] = [
        (rf"{prefix}", IndexHandler, kw),
        (rf"{prefix}d/([^/]+)", PageHandler, kw),
        (rf"{prefix}ws", WebSocketHandler, kw),
        # the streaming-HTTP fallback where a WebSocket cannot be opened (httpstream.py)
        *stream_routes(hub, config, prefix),
        (rf"{prefix}healthz", HealthHandler, kw),
        (rf"{prefix}favicon.ico", NoFaviconHandler),
        # BokehJS from the installed bokeh package, for Plot (js/src/views/plot.js); 404 without it
        (rf"{prefix}static/bokeh/(.*)", StaticHandler, {"path": str(BOKEH_DIR), "config": config}),
        # Plotly.js from the installed plotly package, for PlotlyPlot (js/src/views/plotly.js)
        (
            rf"{prefix}static/plotly/(.*)",
            StaticHandler,
            {"path": str(PLOTLY_DIR), "config": config},
        ),
        (rf"{prefix}static/(.*)", StaticHandler, {"path": str(STATIC_DIR), "config": config}),
    ]
    routes.extend(extra_routes)
    return tornado.web.Application(
        routes,
        log_function=log_request,
        websocket_max_message_size=config.max_message_size,
        websocket_ping_interval=config.ping_interval,
        websocket_ping_timeout=config.ping_timeout,
    )
