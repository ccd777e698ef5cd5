"""The browser WebSocket: frames in to the hub, one writer task out.

Thin on purpose (like starlette's ``websockets.py``): the handler moves
frames between the socket and the sans-I/O ``Hub`` and enforces what only
the edge sees (Origin, tokens, frame limits). Its session and the one
writer task that awaits every write are ``edge.SessionWriter`` (shared with
the streaming-HTTP fallback, ``httpstream.py``); this handler is the
``edge.Transport`` that puts frames on the socket (``writer.py``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import tornado.web
import tornado.websocket
from tornado.websocket import WebSocketClosedError, WebSocketProtocol

from ..hub.hub import Hub
from ..hub.session import Session
from ..logs import clip, log_limited
from ..wire.codec import Frame
from . import writer
from .config import SUBPROTOCOL, TOKEN_SUBPROTOCOL, ServerConfig, origin_allowed
from .edge import SessionWriter
from .pages import _Redacted, check_host, presented_token
from .writer import _Protocol

__all__ = [
    "WebSocketHandler",
]

log = logging.getLogger("wsbridge.server")


class WebSocketHandler(tornado.websocket.WebSocketHandler, _Redacted):
    """``ws``: one session of the hub per connection."""

    def initialize(self, hub: Hub, config: ServerConfig) -> None:
        self.hub = hub
        self.config = config
        #: the session and its writer task (edge.py, shared with the HTTP fallback)
        self.edge = SessionWriter(hub, config, self)
        self.session: Session | None = None

    def get_websocket_protocol(self) -> WebSocketProtocol | None:
        if not writer.FRAME_WRITER:  # a Tornado the frame writer was not checked against
            return super().get_websocket_protocol()
        if self.request.headers.get("Sec-WebSocket-Version") == "13":
            params = tornado.websocket._WebSocketParams(
                ping_interval=self.ping_interval,
                ping_timeout=self.ping_timeout,
                max_message_size=self.max_message_size,
                compression_options=self.get_compression_options(),
            )
            return _Protocol(self, False, params)
        return None

    def _handshake_token(self) -> str | None:
        offered = self.request.headers.get("Sec-WebSocket-Protocol", "")
        for item in offered.split(","):
            item = item.strip()
            if item.startswith(TOKEN_SUBPROTOCOL):
                return item[len(TOKEN_SUBPROTOCOL) :]
        return presented_token(self, self.config)

    def prepare(self) -> None:
        check_host(self, self.config)  # a rebound DNS name (docs/security.md)
        # A client without Origin is not a browser (browsers always send it,
        # RFC 6455 §4.1): with a token configured it must show the token at
        # the handshake, since the Origin check cannot protect it.
        if (
            self.config.token is not None
            and "Origin" not in self.request.headers
            and not self.config.token_valid(self._handshake_token())
        ):
            log_limited(
                log,
                logging.WARNING,
                "no origin, no token",
                "refused a WebSocket without Origin and without a valid token",
            )
            raise tornado.web.HTTPError(403, "a valid token is required")

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        # a browser passing its token as a subprotocol offers ours beside it;
        # the token itself is never echoed back.
        return SUBPROTOCOL if SUBPROTOCOL in subprotocols else None

    def check_origin(self, origin: str) -> bool:
        host = self.request.headers.get("Host", "")
        ok = origin_allowed(origin, host, self.config.allow_origins)
        if not ok:
            log_limited(
                log,
                logging.WARNING,
                "foreign origin",
                "refused a WebSocket from foreign origin %r",
                clip(origin, 100),
            )
        return ok

    def open(self, *args: Any, **kwargs: Any) -> None:
        self.set_nodelay(True)
        presented = self._handshake_token()
        pre_auth = self.config.token is not None and self.config.token_valid(presented)
        self.session = self.edge.open(pre_auth, self.request.remote_ip or "", "websocket")

    def on_message(self, message: str | bytes) -> None:
        self.edge.receive(message)

    def on_close(self) -> None:
        self.edge.closed()

    # -- edge.Transport
    def write_frames(self, frames: list[Frame]) -> tuple[asyncio.Future[None] | None, int]:
        """As many of ``frames`` as the socket takes now (writer.py), in one
        ``sendmsg``; with Tornado's own protocol, the first one."""
        conn = self.ws_connection
        if conn is None or conn.is_closing():
            raise WebSocketClosedError()
        if not isinstance(conn, _Protocol):  # Tornado's own protocol: one frame per turn
            return self._write_public(frames[0]), 1
        return conn.write_frames(frames)

    def _write_public(self, frame: Frame) -> asyncio.Future[None]:
        """One frame through Tornado's public ``write_message`` (its copy and its task)."""
        return asyncio.ensure_future(self.write_message(frame.data, binary=frame.binary))
