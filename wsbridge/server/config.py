"""What the Tornado edge enforces: its configuration, tokens, origins, subprotocols.

Shared by the embedded server and the Jupyter extension's handlers, so both
check a browser the same way (docs/security.md).
"""

from __future__ import annotations

import fnmatch
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..hub.config import token_valid

__all__ = [
    "SUBPROTOCOL",
    "TOKEN_COOKIE",
    "TOKEN_SUBPROTOCOL",
    "ServerConfig",
    "origin_allowed",
]

#: the cookie a page's ``?token=`` is kept in
TOKEN_COOKIE = "wsbridge_token"


@dataclass
class ServerConfig:
    """What the edge enforces; see docs/protocol.md and README "Security"."""

    token: str | None = None
    allow_origins: tuple[str, ...] = ()
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
    index: Callable[[], str | None] = field(default=lambda: None)
    titles: Callable[[], dict[str, str]] = field(default=dict)
    #: ``open_app(name)``: for a per-session app, an awaitable of the new
    #: session document's name; None when ``name`` is not an app
    open_app: Callable[[str], Awaitable[str] | None] = field(default=lambda name: None)
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

    def token_valid(self, given: str | None) -> bool:
        return token_valid(self.token, self.token_expires, given)


SUBPROTOCOL = "wsbridge.v1"
TOKEN_SUBPROTOCOL = "wsbridge.token."


def origin_allowed(origin: str, host: str, allowed: Iterable[str]) -> bool:
    """Same host as the request, or listed (exact or fnmatch pattern)."""
    parsed = urllib.parse.urlsplit(origin)
    if parsed.netloc.lower() == host.lower():
        return True
    return any(origin == pat or fnmatch.fnmatchcase(origin, pat) for pat in allowed)
