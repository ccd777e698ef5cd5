"""What the Tornado edge enforces: its configuration, tokens, origins, subprotocols.

Shared by the embedded server and the Jupyter extension's handlers, so both
check a browser the same way (docs/security.md).
"""

from __future__ import annotations

import fnmatch
import ipaddress
import socket
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..hub.config import token_valid
from .httpserver import connection_cap

__all__ = [
    "SUBPROTOCOL",
    "TOKEN_COOKIE",
    "TOKEN_SUBPROTOCOL",
    "ServerConfig",
    "host_name",
    "is_loopback",
    "origin_allowed",
    "token_cookie_name",
]

#: the cookie a page's ``?token=`` is kept in, per hub: ``token_cookie_name``
TOKEN_COOKIE = "wsbridge_token"


def token_cookie_name(host: str) -> str:
    """The token cookie's name for a request to ``host`` (its ``Host``):
    ``wsbridge_token_<port>``, or ``wsbridge_token`` without an explicit port.

    Why the port: a cookie belongs to a host name, whatever the port, so
    with one name two hubs on one machine overwrote each other's token.
    """
    host = host.strip()
    port = host.rsplit("]:", 1)[1] if host.startswith("[") and "]:" in host else ""
    if not host.startswith("[") and host.count(":") == 1:
        port = host.split(":", 1)[1]
    return f"{TOKEN_COOKIE}_{port}" if port.isdigit() else TOKEN_COOKIE


@dataclass
class ServerConfig:
    """What the edge enforces; see docs/protocol.md and README "Security"."""

    token: str | None = None
    allow_origins: tuple[str, ...] = ()
    #: host names (``Host``) browsers may reach this hub by, besides its own
    #: (:meth:`host_allowed`): exact or fnmatch patterns; ``"*"``: any name
    allow_hosts: tuple[str, ...] = ()
    #: the address the server listens on (its own names follow from it)
    bind_host: str = "127.0.0.1"
    #: other hubs' base URLs (``http(s)://host:port/prefix/``) serving the
    #: same documents (a shared backplane): dashboard pages fail over to them
    #: in turn when this hub drops. Each peer must allow this hub's origin
    #: (its ``allow_origins``), as the page's Origin stays this hub's.
    peers: tuple[str, ...] = ()
    max_message_size: int = 16 * 1024 * 1024
    ping_interval: float = 20.0
    ping_timeout: float = 20.0
    #: a client that keeps one write pending this long is dropped (4001)
    write_timeout: float = 30.0
    #: wall-clock time (``time.time()``) after which the token is refused
    token_expires: float | None = None
    #: seconds a connection may take to send its request headers, or stay
    #: idle between keep-alive requests (then closed), and to send a body
    header_timeout: float = 10.0
    body_timeout: float = 10.0
    #: connections held at once (HTTP and WebSocket); None: as many as the
    #: open-file limit allows, less a reserve (``httpserver.connection_cap``)
    max_connections: int | None = None
    index: Callable[[], str | None] = field(default=lambda: None)
    titles: Callable[[], dict[str, str]] = field(default=dict)
    #: the navigation bar's and the landing page's entries, ``(name, title)``
    #: in order (``nav_pages``); None: every one of ``titles()``, by name
    pages: Callable[[], list[tuple[str, str]] | None] = field(default=lambda: None)
    #: what heads the navigation bar and the landing page
    site_title: Callable[[], str] = field(default=lambda: "wsbridge")
    #: ``open_app(name)``: for a per-session app, the name of a new session
    #: document for the page to join (built when it joins); None when
    #: ``name`` is not an app
    open_app: Callable[[str], str | None] = field(default=lambda name: None)
    #: extra ``/healthz`` fields; a part with ``"status": "down"`` makes it 503
    health: Callable[[], dict[str, Any]] = field(default=dict)

    def __post_init__(self) -> None:
        # checked here, not in the browser: a bad peer would otherwise only
        # show up as a TypeError on every page load, killing the dashboard
        self.peers = tuple(self.peers)
        for peer in self.peers:
            parsed = urllib.parse.urlsplit(peer)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise ValueError(f"peer {peer!r} is not a hub base URL http(s)://host:port/prefix/")
        self.allow_hosts = tuple(h.lower().rstrip(".") for h in self.allow_hosts)
        if not (self.header_timeout > 0 and self.body_timeout > 0):
            raise ValueError("header_timeout and body_timeout must be positive")
        if self.max_connections is not None and self.max_connections < 1:
            raise ValueError(f"max_connections must be >= 1, not {self.max_connections!r}")
        self.max_connections = connection_cap(self.max_connections)
        # beyond loopback, the machine's own name is one of ours (the URL
        # that ``Bridge.url`` prints for a wildcard address names it)
        self._own_names: frozenset[str] = frozenset()
        if not is_loopback(self.bind_host):
            own = socket.gethostname().lower().rstrip(".")
            self._own_names = frozenset({own, own.split(".")[0]})

    def nav_pages(self) -> list[tuple[str, str]]:
        """The pages listed in the navigation bar and on the landing page."""
        pages = self.pages()
        return sorted(self.titles().items()) if pages is None else pages

    def token_valid(self, given: str | None) -> bool:
        return token_valid(self.token, self.token_expires, given)

    def host_allowed(self, host: str) -> bool:
        """Is ``host`` (a request's ``Host``, port and all) one of this hub's names?

        Why: after DNS rebinding, ``attacker.example`` resolves to this
        machine, and its pages are same-origin with themselves, so the
        Origin check passes; only the name the browser asked for tells them
        apart. Ours: loopback names and addresses (``localhost``,
        ``127.0.0.1``, ``::1``), the bound address, ``allow_hosts``, and,
        for a hub bound beyond loopback (which needs a token), the machine's
        name and any IP address (a name is what rebinding needs).
        """
        if "*" in self.allow_hosts:
            return True
        name = host_name(host)
        if not name:
            return False
        try:
            address = ipaddress.ip_address(name)
        except ValueError:
            address = None
        if address is not None:
            if address.is_loopback or self._own_names:
                return True
        elif name == "localhost" or name in self._own_names:
            return True
        if name == self.bind_host.lower():
            return True
        return any(fnmatch.fnmatchcase(name, pat) for pat in self.allow_hosts)


SUBPROTOCOL = "wsbridge.v1"
TOKEN_SUBPROTOCOL = "wsbridge.token."


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (no token needed there)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(host: str) -> str:
    """The name in a ``Host`` header: no port, no IPv6 brackets, lower case,
    no trailing dot (``LOCALHOST.:8765`` is ``localhost``)."""
    host = host.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        return host[1:end] if end > 0 else ""
    if host.count(":") == 1:  # name:port (a bare IPv6 address has several)
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def origin_allowed(origin: str, host: str, allowed: Iterable[str]) -> bool:
    """Same host as the request, or listed (exact or fnmatch pattern)."""
    parsed = urllib.parse.urlsplit(origin)
    if parsed.netloc.lower() == host.lower():
        return True
    return any(origin == pat or fnmatch.fnmatchcase(origin, pat) for pat in allowed)
