"""The Tornado edge: pages, the static client, the WebSocket, health.

Thin on purpose (like starlette's ``websockets.py``): the handlers move
frames between sockets and the sans-I/O ``Hub`` and enforce what only the
edge can see (Origin, tokens in headers and cookies, frame limits). Each
connection has exactly one writer task that awaits every write, so a slow
client holds at most its own bounded outbox and one batch of frames in
flight (DESIGN.md "Backpressure"). The writer takes every queued frame (up
to ``WRITE_BATCH_BYTES``) per turn and hands them to the socket with one
gathered ``sendmsg``, and ``write_timeout`` is enforced by one timer per
session, armed only while a write is pending (not a timer per frame).
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
from .pages import (
    BOKEH_DIR,
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
    others' (docs/performance.md#yield-after-the-echo)."""
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
        (rf"{prefix}healthz", HealthHandler, kw),
        (rf"{prefix}favicon.ico", NoFaviconHandler),
        # BokehJS from the installed bokeh package, for Plot (js/src/views/plot.js); 404 without it
        (rf"{prefix}static/bokeh/(.*)", StaticHandler, {"path": str(BOKEH_DIR)}),
        (rf"{prefix}static/(.*)", StaticHandler, {"path": str(STATIC_DIR)}),
    ]
    routes.extend(extra_routes)
    return tornado.web.Application(
        routes,
        log_function=log_request,
        websocket_max_message_size=config.max_message_size,
        websocket_ping_interval=config.ping_interval,
        websocket_ping_timeout=config.ping_timeout,
    )
