"""The Tornado edge: pages, the static client, the WebSocket, health.

Thin on purpose (like starlette's ``websockets.py``): the handlers move
frames between sockets and the sans-I/O ``Hub`` and enforce what only the
edge can see (Origin, tokens in headers and cookies, frame limits). Each
connection has exactly one writer task that awaits every
``write_message`` future, so a slow client holds at most its own bounded
outbox and one frame in flight (DESIGN.md "Backpressure").
"""

from __future__ import annotations

import asyncio
import fnmatch
import hmac
import html
import json
import logging
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tornado.web
import tornado.websocket
from tornado.websocket import WebSocketClosedError, WebSocketProtocol13

from .hub import Hub, Session

__all__ = ["STATIC_DIR", "ServerConfig", "WebSocketHandler", "make_app"]

log = logging.getLogger("wsbridge.server")


def _static_dir() -> Path:
    here = Path(__file__).parent
    packaged = here / "static"
    if (packaged / "wsbridge.js").exists():
        return packaged
    return here.parent / "js" / "src"  # a source checkout / editable install


STATIC_DIR = _static_dir()
TOKEN_COOKIE = "wsbridge_token"


@dataclass
class ServerConfig:
    """What the edge enforces; see docs/protocol.md and README "Security"."""

    token: str | None = None
    allow_origins: tuple[str, ...] = ()
    max_message_size: int = 16 * 1024 * 1024
    ping_interval: float = 20.0
    ping_timeout: float = 20.0
    index: Callable[[], str | None] = field(default=lambda: None)
    titles: Callable[[], dict[str, str]] = field(default=dict)


def origin_allowed(origin: str, host: str, allowed: Iterable[str]) -> bool:
    """Same host as the request, or listed (exact or fnmatch pattern)."""
    parsed = urllib.parse.urlsplit(origin)
    if parsed.netloc.lower() == host.lower():
        return True
    return any(origin == pat or fnmatch.fnmatchcase(origin, pat) for pat in allowed)


class _Protocol(WebSocketProtocol13):
    """Tornado's protocol, closing with 1007 on invalid UTF-8 (RFC 6455 §8.1).

    Tornado aborts the TCP connection without a close frame; a client then
    cannot tell a bad frame from a network cut, so we say why first.
    """

    def _handle_message(self, opcode: int, data: bytes) -> Any:
        if opcode == 0x1 and not self.client_terminated:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                log.warning("closing a connection that sent invalid UTF-8 (1007)")
                self.close(1007, "invalid UTF-8 in a text frame")
                return None
        return super()._handle_message(opcode, data)


class _Base(tornado.web.RequestHandler):
    def initialize(self, hub: Hub, config: ServerConfig) -> None:
        self.hub = hub
        self.config = config

    def _presented_token(self) -> str | None:
        auth = self.request.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        return self.get_query_argument("token", None) or self.get_cookie(TOKEN_COOKIE)

    def token_ok(self) -> bool:
        expected = self.config.token
        if expected is None:
            return True
        given = self._presented_token()
        return given is not None and hmac.compare_digest(given.encode(), expected.encode())


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{base}static/wsbridge.css">
</head><body>
<header class="wsbridge-header"><h1>{title}</h1>
<div id="wsbridge-status" role="status"></div></header>
<main id="wsbridge-root"></main>
<script type="module">
import {{ connect }} from "{base}static/wsbridge.js";
import {{ renderStatus }} from "{base}static/views.js";
const base = new URL("{base}", location.href).href;
const client = await connect(base, {{ doc: {doc} }});
window.wsbridgeClient = client;
renderStatus(document.getElementById("wsbridge-status"), client);
client.render(document.getElementById("wsbridge-root"));
</script>
</body></html>
"""

_INDEX = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>wsbridge</title>
<link rel="stylesheet" href="static/wsbridge.css"></head>
<body><header class="wsbridge-header"><h1>wsbridge</h1></header>
<main><ul class="wsbridge-index">{items}</ul></main></body></html>
"""


class PageHandler(_Base):
    """``d/<name>``: a dashboard page whose module script connects back."""

    def get(self, name: str = "") -> None:
        base = "../"
        if not name:  # the index, when it shows a dashboard
            name, base = self.config.index() or "", "./"
        if not self.token_ok():
            raise tornado.web.HTTPError(403, "a valid token is required")
        titles = self.config.titles()
        if name not in titles:
            raise tornado.web.HTTPError(404)
        self._remember_token()
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(
            _PAGE.format(
                title=html.escape(titles[name]),
                base=base,
                doc=html.escape(json.dumps(name), quote=False),
            )
        )

    def _remember_token(self) -> None:
        token = self.get_query_argument("token", None)
        if token is not None and self.config.token is not None:
            self.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict")


class IndexHandler(PageHandler):
    """``/``: the index dashboard (``wsbridge demo``) or a list of dashboards."""

    def get(self, name: str = "") -> None:
        if self.config.index():
            super().get("")
            return
        if not self.token_ok():
            raise tornado.web.HTTPError(403, "a valid token is required")
        self._remember_token()
        items = "".join(
            f'<li><a href="d/{urllib.parse.quote(n)}">{html.escape(t)}</a></li>'
            for n, t in sorted(self.config.titles().items())
        )
        self.finish(_INDEX.format(items=items or "<li>No dashboards yet.</li>"))


class HealthHandler(_Base):
    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps({"status": "ok", **self.hub.stats()}))


class NoFaviconHandler(tornado.web.RequestHandler):
    """Browsers ask for /favicon.ico; answer 204 rather than log a 404 each time."""

    def get(self) -> None:
        self.set_status(204)


class StaticHandler(tornado.web.StaticFileHandler):
    """The client modules; revalidated each load so an upgrade never mixes files."""

    def set_extra_headers(self, path: str) -> None:
        self.set_header("Cache-Control", "no-cache")

    def get_content_type(self) -> str:
        if self.absolute_path and self.absolute_path.endswith(".js"):
            return "text/javascript; charset=utf-8"
        return super().get_content_type()


class WebSocketHandler(tornado.websocket.WebSocketHandler):
    """``ws``: one session of the hub per connection."""

    def initialize(self, hub: Hub, config: ServerConfig) -> None:
        self.hub = hub
        self.config = config
        self.session: Session | None = None
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None

    def get_websocket_protocol(self) -> WebSocketProtocol13 | None:
        if self.request.headers.get("Sec-WebSocket-Version") == "13":
            params = tornado.websocket._WebSocketParams(
                ping_interval=self.ping_interval,
                ping_timeout=self.ping_timeout,
                max_message_size=self.max_message_size,
                compression_options=self.get_compression_options(),
            )
            return _Protocol(self, False, params)
        return None

    def check_origin(self, origin: str) -> bool:
        host = self.request.headers.get("Host", "")
        ok = origin_allowed(origin, host, self.config.allow_origins)
        if not ok:
            log.warning("refused a WebSocket from foreign origin %r", origin[:200])
        return ok

    def open(self, *args: Any, **kwargs: Any) -> None:
        self.set_nodelay(True)
        presented = _Base._presented_token(self)  # type: ignore[arg-type]
        expected = self.config.token
        pre_auth = (
            expected is not None
            and presented is not None
            and hmac.compare_digest(presented.encode(), expected.encode())
        )
        self.session = self.hub.open_session(authenticated=pre_auth)
        self.session.wake = self._wake.set
        self._writer = asyncio.ensure_future(self._write_loop())

    def on_message(self, message: str | bytes) -> None:
        if self.session is not None:
            self.hub.receive(self.session, message)

    def on_close(self) -> None:
        if self.session is not None:
            self.hub.close_session(self.session)
        self._wake.set()

    async def _write_loop(self) -> None:
        session = self.session
        assert session is not None
        try:
            while not session.closed:
                self._wake.clear()
                frame = session.next_frame()
                if frame is not None:
                    await self.write_message(frame.data, binary=frame.binary)
                    continue
                if session.close_code is not None:
                    self.close(session.close_code, session.close_reason)
                    return
                await self._wake.wait()
        except WebSocketClosedError:
            pass
        except Exception:  # pragma: no cover - a bug; never leave the socket hanging
            log.exception("writer of session %s failed", session.id)
            self.close(1011, "internal error")


def make_app(hub: Hub, config: ServerConfig, prefix: str = "/") -> tornado.web.Application:
    """The routes of DESIGN.md under ``prefix`` (which ends with '/')."""
    kw = {"hub": hub, "config": config}
    routes: list[Any] = [
        (rf"{prefix}", IndexHandler, kw),
        (rf"{prefix}d/([^/]+)", PageHandler, kw),
        (rf"{prefix}ws", WebSocketHandler, kw),
        (rf"{prefix}healthz", HealthHandler, kw),
        (rf"{prefix}favicon.ico", NoFaviconHandler),
        (rf"{prefix}static/(.*)", StaticHandler, {"path": str(STATIC_DIR)}),
    ]
    return tornado.web.Application(
        routes,
        websocket_max_message_size=config.max_message_size,
        websocket_ping_interval=config.ping_interval,
        websocket_ping_timeout=config.ping_timeout,
    )
