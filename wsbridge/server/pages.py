"""Pages, static files and health: the HTTP half of the edge.

The dashboard page and the index are small templates around the bundled
client (``static/wsbridge.js``); BokehJS is served from the installed bokeh
package, never a CDN, so dashboards work offline. Every handler logs through
:func:`log_request`, which redacts tokens from the access log.
"""

from __future__ import annotations

import html
import importlib.util
import json
import logging
import re
import urllib.parse
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import tornado.web
import tornado.websocket
from tornado.log import access_log

from ..hub.hub import Hub
from ..hub.theme import check_accent, check_mode, document_theme
from ..logs import clip, log_limited
from .config import TOKEN_COOKIE, ServerConfig, token_cookie_name

__all__ = [
    "BOKEH_DIR",
    "PLOTLY_DIR",
    "STATIC_DIR",
    "HealthHandler",
    "IndexHandler",
    "NoFaviconHandler",
    "PageHandler",
    "StaticHandler",
    "bokeh_static_dir",
    "check_host",
    "log_request",
    "page_href",
    "page_theme",
    "plotly_static_dir",
    "presented_token",
    "render_index",
    "render_nav",
    "render_page",
]

log = logging.getLogger("wsbridge.server")

_QUERY_SEPARATORS = re.compile(r"([&;])")
_STREAM_ID = re.compile(r"/stream/[^/]+")


def _is_token_name(name: str) -> bool:
    """Is ``name`` (a raw query parameter name) ``token`` once decoded?

    Decoded as Tornado does (``%74oken`` and ``to%6Ben`` are ``token``), and
    again, in case something in front decodes twice; any case."""
    for _ in range(3):
        decoded = urllib.parse.unquote_plus(name)
        if decoded == name:
            break
        name = decoded
    return name.strip().lower() == "token"


def redact(uri: str) -> str:
    """``uri`` with the value of every ``token`` query parameter, and a
    stream's id, hidden, for logs.

    Parameter names are compared after percent-decoding, so no spelling of
    ``token`` that the server accepts (or that a proxy might) shows its value.
    """
    path, sep, rest = uri.partition("?")
    # a stream's id is its input's only credential (server/httpstream.py)
    path = _STREAM_ID.sub("/stream/***", path)
    if not sep:
        return path
    query, hash_, fragment = rest.partition("#")
    parts = _QUERY_SEPARATORS.split(query)
    for i in range(0, len(parts), 2):
        name, eq, _ = parts[i].partition("=")
        if eq and _is_token_name(name):
            parts[i] = f"{name}=***"
    return f"{path}?{''.join(parts)}{hash_}{fragment}"


def log_request(handler: tornado.web.RequestHandler) -> None:
    """Tornado's access log line, with tokens redacted and the URI clipped;
    refusals (4xx, 5xx) at most a few per interval per status (docs/security.md)."""
    status = handler.get_status()
    level = logging.INFO if status < 400 else logging.WARNING
    if status >= 500:
        level = logging.ERROR
    request = handler.request
    args = (
        status,
        request.method,
        clip(redact(request.uri or ""), 300),
        request.remote_ip,
        1000.0 * request.request_time(),
    )
    if status < 400:
        access_log.log(level, "%d %s %s (%s) %.2fms", *args)
    else:
        log_limited(access_log, level, f"status {status}", "%d %s %s (%s) %.2fms", *args)


def check_host(handler: tornado.web.RequestHandler, config: ServerConfig | None) -> None:
    """403 unless the request names one of this hub's hosts (``ServerConfig.host_allowed``:
    a rebound DNS name reaches nothing); ``config`` None: the embedding checks
    (Jupyter's own ``allow_remote_access``)."""
    if config is None or config.host_allowed(handler.request.host):
        return
    log_limited(
        log,
        logging.WARNING,
        "foreign host",
        "refused a request for host %r: not a name of this hub (allow_hosts)",
        clip(handler.request.host, 100),
    )
    raise tornado.web.HTTPError(403, reason="Host not allowed")


class _Redacted(tornado.web.RequestHandler):
    """Tornado's own error log lines name the URI: keep tokens out of them,
    and log them clipped and rate-limited (a request per line is a flood)."""

    def _request_summary(self) -> str:
        request = self.request
        return f"{request.method} {clip(redact(request.uri or ''))} ({request.remote_ip})"

    def log_exception(self, typ: Any, value: BaseException | None, tb: Any) -> None:
        if isinstance(value, tornado.web.HTTPError):
            if value.log_message:
                log_limited(
                    log,
                    logging.WARNING,
                    f"http {value.status_code}",
                    "%d %s: %s",
                    value.status_code,
                    self._request_summary(),
                    clip(value.get_message()),
                )
            return
        log_limited(
            log,
            logging.ERROR,
            "uncaught",
            "uncaught exception in %s",
            self._request_summary(),
            exc_info=(typ, value, tb),
        )


_TOKEN_COOKIES = re.compile(rf"{TOKEN_COOKIE}(_\d+)?")


def presented_token(handler: tornado.web.RequestHandler, config: ServerConfig) -> str | None:
    """The token a request shows: ``Authorization: Bearer``, ``?token=``, or
    a token cookie: this hub's (``token_cookie_name``), else the first other
    hub's on this host whose value is this hub's token too.

    Why the others: cookies ignore ports, so a page's cookie also reaches
    its hub's peers on the same host (docs/reliability.md "Several hubs"),
    which share the token; named per port, no hub overwrites another's.
    """
    auth = handler.request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    query = handler.get_query_argument("token", None)
    if query:
        return query
    own = token_cookie_name(handler.request.host)
    value = handler.get_cookie(own)
    if value is not None and config.token_valid(value):
        return value
    for name in sorted(handler.request.cookies):
        if name != own and _TOKEN_COOKIES.fullmatch(name):
            other = handler.get_cookie(name)
            if other is not None and config.token_valid(other):
                return other
    return value


def _over_https(request: Any) -> bool:
    """Did the browser use https (here, or to a proxy that says so)? Then the
    cookie is ``Secure``; believing a forged header only makes it stricter."""
    forwarded = request.headers.get("X-Forwarded-Proto", "")
    return bool(request.protocol == "https" or forwarded.lower() == "https")


class TokenRequired(tornado.web.HTTPError):
    """A page asked for without a valid token: answered by ``_FORBIDDEN``."""

    def __init__(self) -> None:
        super().__init__(403, "a valid token is required")


_FORBIDDEN = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>A token is needed</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}}
@media (prefers-color-scheme:dark){{body{{background:#111;color:#ddd}}}}
code{{background:rgba(127,127,127,.15);padding:0 .25em;border-radius:3px}}</style>
</head><body><main>
<h1>This page needs its access token</h1>
<p>This server was started with a token, and this request did not carry a valid one.</p>
<ul>
<li>Open the full link the server printed when it started: it ends in
<code>?token=&hellip;</code>. After the first visit the token is kept in a cookie,
so later links work without it.</li>
<li>Or ask whoever runs the server for the link; the token is in its
<code>--token-file</code> or <code>$WSBRIDGE_TOKEN</code>.</li>
</ul>
<p>Scripts can send it as <code>Authorization: Bearer &lt;token&gt;</code>
(docs/security.md).</p>
</main></body></html>
"""


class _Base(_Redacted):
    def initialize(self, hub: Hub, config: ServerConfig) -> None:
        self.hub = hub
        self.config = config

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if not isinstance(exc, TokenRequired):
            super().write_error(status_code, **kwargs)
            return
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(_FORBIDDEN.format())

    def prepare(self) -> None:
        check_host(self, self.config)

    def token_ok(self) -> bool:
        return self.config.token_valid(presented_token(self, self.config))


_PAGE = """<!doctype html>
<html lang="en"{theme}><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{base}static/wsbridge.css">
</head><body>
<header class="wsbridge-header"><h1>{title}</h1>
<div id="wsbridge-status" role="status"></div></header>
{nav}<div id="wsbridge-dev" class="wsbridge-dev" hidden></div>
<main id="wsbridge-root"></main>
<div id="wsbridge-toasts" class="wsbridge-toasts"></div>
<script type="module">
import {{ Client, followTheme }} from "{base}static/wsbridge.js";
import {{ renderStatus }} from "{base}static/page/status.js";
import {{ reportSize }} from "{base}static/page/embed.js";
import {{ hideWhenFramed }} from "{base}static/page/nav.js";
import {{ renderToasts }} from "{base}static/page/toasts.js";
import {{ renderDevOverlay }} from "{base}static/page/devoverlay.js";
import {{ pageQuery, syncQuery }} from "{base}static/page/query.js";
reportSize();  // in a notebook's iframe: tell the notebook how tall this page is
hideWhenFramed(document.getElementById("wsbridge-nav"));
const base = new URL("{base}", location.href).href;
const query = pageQuery(location.search);  // a per-session app's factory reads it
const client = new Client([base, ...{peers}], {{ doc: {doc}, key: {key}, query }});
renderToasts(document.getElementById("wsbridge-toasts"), client);
renderDevOverlay(document.getElementById("wsbridge-dev"), client);
syncQuery(client, window);  // the address's query and the document's dash.query
await client.start();
window.wsbridgeClient = client;
followTheme(client, document.documentElement);  // the dashboard's theme (docs/theming.md)
const root = document.getElementById("wsbridge-root");
renderStatus(document.getElementById("wsbridge-status"), client, root);
client.render(root);
</script>
</body></html>
"""


_INDEX = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="static/wsbridge.css"></head>
<body><header class="wsbridge-header"><h1>{title}</h1></header>
{dev}<main class="wsbridge-landing">
<ul class="wsbridge-index wsbridge-page-cards">{items}</ul></main>
</body></html>
"""


def page_href(base: str, name: str) -> str:
    """The link to document ``name``'s page from a page whose hub base is ``base``."""
    return f"{base}d/{urllib.parse.quote(name, safe='')}"


def render_nav(
    site_title: str, base: str, pages: Iterable[tuple[str, str]], current: str | None
) -> str:
    """The navigation bar: the hub's title (a link to its landing page), then
    each page (``(name, title)``), the current one ``aria-current="page"``.
    Empty with fewer than two pages: nowhere else to go."""
    pages = list(pages)
    if len(pages) < 2:
        return ""
    items = []
    for name, title in pages:
        here = ' aria-current="page"' if name == current else ""
        href = html.escape(page_href(base, name), quote=True)
        items.append(f'<li><a href="{href}"{here}>{html.escape(title)}</a></li>')
    label = html.escape(site_title, quote=True)
    return (
        f'<nav id="wsbridge-nav" class="wsbridge-nav" aria-label="{label}">'
        f'<a class="wsbridge-nav-home" href="{html.escape(base, quote=True)}">'
        f"{html.escape(site_title)}</a><ul>{''.join(items)}</ul></nav>\n"
    )


def render_index(
    site_title: str, pages: Iterable[tuple[str, str]], dev_error: dict[str, str] | None = None
) -> str:
    """The landing page: a card per page (``(name, title)``), linking it.

    ``dev_error`` (``wsbridge serve --dev`` only): the app's current error,
    shown as text above the cards (this page has no connection to update it).
    """
    cards = "".join(
        f'<li class="wsbridge-page-card"><a href="{html.escape(page_href("", n), quote=True)}">'
        f'<span class="wsbridge-page-card-title">{html.escape(t)}</span>'
        f'<span class="wsbridge-page-card-path">d/{html.escape(n)}</span></a></li>'
        for n, t in pages
    )
    dev = ""
    if dev_error is not None:
        dev = (
            '<div class="wsbridge-dev wsbridge-dev-static" role="alert">'
            '<div class="wsbridge-dev-box">'
            f'<p class="wsbridge-dev-title">{html.escape(dev_error.get("title", ""))}</p>'
            f'<pre class="wsbridge-dev-text">{html.escape(dev_error.get("text", ""))}</pre>'
            "<p>Reload this page once the app runs again.</p></div></div>\n"
        )
    return _INDEX.format(
        title=html.escape(site_title),
        items=cards or '<li class="wsbridge-page-card-empty">No dashboards yet.</li>',
        dev=dev,
    )


def _script_json(value: Any) -> str:
    """``value`` as JSON that is safe inside a ``<script>`` element.

    A script's text is not HTML-unescaped, so ``html.escape`` would corrupt
    an ``&`` in a URL; escaping ``<``, ``>`` and ``&`` as JSON ``\\u``
    escapes keeps the value exact and ``</script>`` impossible.
    """
    text = json.dumps(value)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _theme_attributes(theme: tuple[str, str] | None) -> str:
    """The ``<html>`` attributes of a page's theme (``data-wsbridge-theme``, the
    accent as ``--wsbridge-accent``), checked again: the document they come
    from may be a remote producer's."""
    if theme is None:
        return ""
    try:
        mode, accent = check_mode(theme[0]), check_accent(theme[1])
    except ValueError:
        return ""
    out = f' data-wsbridge-theme="{mode}"'
    if accent:
        out += f' style="--wsbridge-accent: {html.escape(accent)}"'
    return out


def page_theme(hub: Hub, doc: str) -> tuple[str, str] | None:
    """``(mode, accent)`` of document ``doc`` if the hub holds it and it has a
    theme (``hub.theme.document_theme``); None otherwise (the page's script
    applies the theme once the document arrives)."""
    document = hub.documents.get(doc)
    return None if document is None else document_theme(document.state.models)


def render_page(
    title: str,
    base: str,
    doc: str,
    peers: Iterable[str] = (),
    key: str | None = None,
    nav: str = "",
    theme: tuple[str, str] | None = None,
) -> str:
    """The dashboard page of ``doc``: its script connects to ``base`` (relative
    to the page), then fails over to ``peers`` (docs/reliability.md "Several
    hubs"); ``key``: a per-session document's (``Hub.document_key``), which
    its ``hello`` shows; ``nav``: its navigation bar (``render_nav``);
    ``theme``: ``(mode, accent)`` written into the page so it is drawn in
    its colours from the first paint (``page_theme``). One function for
    every server that serves pages, so the template's fields are filled in
    one place.
    """
    return _PAGE.format(
        theme=_theme_attributes(theme),
        title=html.escape(title),
        base=base,
        doc=_script_json(doc),
        peers=_script_json(list(peers)),
        key=_script_json(key),
        nav=nav,
    )


class PageHandler(_Base):
    """``d/<name>``: a dashboard page whose module script connects back."""

    async def get(self, name: str = "") -> None:
        base = "../"
        if not name:  # the index, when it shows a dashboard
            name, base = self.config.index() or "", "./"
        if not self.token_ok():
            raise TokenRequired()
        titles = self.config.titles()
        if name not in titles:
            raise tornado.web.HTTPError(404)
        if self._remember_token():
            return
        doc, key = name, None
        peers = self.config.peers
        opening = self.config.open_app(name)
        if opening is not None:  # a per-session app: this page gets its own document,
            doc, key = opening, self.hub.document_key(opening)  # which only it may join
            peers = ()  # and which lives in this process only: no peer serves it
        cfg = self.config
        nav = render_nav(cfg.site_title(), base, cfg.nav_pages(), name)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(
            render_page(titles[name], base, doc, peers, key, nav, page_theme(self.hub, doc))
        )

    def _remember_token(self) -> bool:
        """Keep a (valid) ``?token=`` in this hub's cookie and redirect to the
        URL without it, so it leaves the address bar and the history.
        True when it redirected (the handler is done)."""
        token = self.get_query_argument("token", None)
        if token is None or self.config.token is None:
            return False
        self.set_cookie(
            token_cookie_name(self.request.host),
            token,
            path="/",
            httponly=True,
            samesite="Strict",
            secure=_over_https(self.request),
        )
        self.set_header("Cache-Control", "no-store")
        self.redirect(self._without_token(), status=303)
        return True

    def _without_token(self) -> str:
        """This request's URL without its token, relative (a proxy's prefix stays)."""
        last = self.request.path.rsplit("/", 1)[-1]
        kept = [
            (name, value)
            for name, value in urllib.parse.parse_qsl(self.request.query, keep_blank_values=True)
            if name.strip().lower() != "token"
        ]
        query = f"?{urllib.parse.urlencode(kept)}" if kept else ""
        return f"./{last}{query}"


class IndexHandler(PageHandler):
    """``/``: the index dashboard (``wsbridge demo``) or a list of dashboards."""

    async def get(self, name: str = "") -> None:
        if self.config.index():
            await super().get("")
            return
        if not self.token_ok():
            raise TokenRequired()
        if self._remember_token():
            return
        cfg = self.config
        self.set_header("Cache-Control", "no-store")
        self.finish(render_index(cfg.site_title(), cfg.nav_pages(), self.hub.dev_error))


class HealthHandler(_Base):
    """``healthz``: the status for anyone (a load balancer's probe); the
    documents, sessions and backplane details only with the token, as they
    name every document."""

    def get(self) -> None:
        extra = self.config.health()
        down = [k for k, v in extra.items() if isinstance(v, dict) and v.get("status") == "down"]
        if down:  # a load balancer should send browsers to another hub
            self.set_status(503)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        status = "degraded" if down else "ok"
        details = {**self.hub.stats(), **extra} if self.token_ok() else {}
        self.finish(json.dumps({"status": status, **details}))


class NoFaviconHandler(_Redacted):
    """Browsers ask for /favicon.ico; answer 204 rather than log a 404 each time."""

    def get(self) -> None:
        self.set_status(204)


class StaticHandler(tornado.web.StaticFileHandler, _Redacted):
    """The client modules; revalidated each load so an upgrade never mixes files.

    ``config``: the hub's, whose host names it answers to (None: the
    embedding checks hosts). A path the file system cannot name (a NUL
    byte) is a 404 like any missing file.
    """

    def initialize(  # type: ignore[override]
        self, path: str, default_filename: str | None = None, config: ServerConfig | None = None
    ) -> None:
        super().initialize(path, default_filename)
        self.hub_config = config

    def prepare(self) -> None:
        check_host(self, self.hub_config)

    def validate_absolute_path(self, root: str, absolute_path: str) -> str | None:
        if "\x00" in absolute_path:
            raise tornado.web.HTTPError(404)
        try:
            return super().validate_absolute_path(root, absolute_path)
        except (ValueError, OSError):
            raise tornado.web.HTTPError(404) from None

    def set_extra_headers(self, path: str) -> None:
        self.set_header("Cache-Control", "no-cache")

    def get_content_type(self) -> str:
        if self.absolute_path and self.absolute_path.endswith(".js"):
            return "text/javascript; charset=utf-8"
        return super().get_content_type()


def bokeh_static_dir() -> Path | None:
    """Where the installed bokeh package keeps BokehJS (``bokeh.min.js``), or None.

    Found without importing bokeh (``find_spec``), so the server starts fast
    and works when Bokeh is absent (its route then answers 404). Serving
    these files, rather than linking a CDN, keeps dashboards offline-capable
    and the JS exactly the version that wrote the figure JSON.
    """
    try:
        spec = importlib.util.find_spec("bokeh")
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "server" / "static" / "js"
    return path if (path / "bokeh.min.js").is_file() else None


def plotly_static_dir() -> Path | None:
    """Where the installed plotly package keeps Plotly.js (``plotly.min.js``), or None.

    Found without importing plotly, as for BokehJS: the page loads the very
    Plotly.js the Python package bundles (no CDN), for ``PlotlyPlot``."""
    try:
        spec = importlib.util.find_spec("plotly")
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "package_data"
    return path if (path / "plotly.min.js").is_file() else None


def _static_dir() -> Path:
    here = Path(__file__).parent.parent  # the wsbridge package
    packaged = here / "static"
    if (packaged / "wsbridge.js").exists():
        return packaged
    return here.parent / "js" / "src"  # a source checkout / editable install


STATIC_DIR = _static_dir()
BOKEH_DIR = bokeh_static_dir() or STATIC_DIR / "bokeh-not-installed"
PLOTLY_DIR = plotly_static_dir() or STATIC_DIR / "plotly-not-installed"
