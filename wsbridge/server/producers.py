"""The producer socket: remote producers (kernels, ``Bridge(hub=...)``) connect here.

The Tornado half of a producer connection at ``<url>producer``: the token
is checked at the handshake, every frame goes to a sans-I/O
:class:`~wsbridge.hub.link.ProducerLink`, and one writer task awaits every
write, as for browsers (docs/protocol.md "Producer connection").
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import weakref
from collections import deque
from typing import Any

import tornado.web
import tornado.websocket
from tornado.websocket import WebSocketClosedError

from ..hub.hub import Hub
from ..hub.link import ProducerLink
from ..logs import log_limited
from ..wire.codec import Frame
from ..wire.envelope import PRODUCER_HEADER

__all__ = [
    "ProducerHandler",
    "close_producers",
    "producer_routes",
]

log = logging.getLogger("wsbridge.producer")

#: a producer id (``PRODUCER_HEADER``): long enough to be unguessable
_PRODUCER_ID = re.compile(r"[A-Za-z0-9_-]{16,128}")


class ProducerHandler(tornado.websocket.WebSocketHandler):
    """``<url>producer``: one remote producer per connection.

    The token is checked at the handshake (``Authorization: Bearer``, or a
    ``token`` query argument): a producer can publish any document, so it
    needs the hub's secret whatever the listening address. Subclassed for
    Jupyter (``wsbridge.jupyter.extension``), where Jupyter's auth decides.
    """

    def initialize(self, hub: Hub, token: str | None) -> None:
        self.hub = hub
        self.producer_token = token
        self.link: ProducerLink | None = None
        self._outbox: deque[Frame] = deque()
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None

    def _presented_token(self) -> str | None:
        auth = self.request.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        return self.get_query_argument("token", None)

    def producer_allowed(self) -> bool:
        given = self._presented_token()
        return (
            self.producer_token is not None
            and given is not None
            and hmac.compare_digest(given.encode(), self.producer_token.encode())
        )

    def prepare(self) -> None:
        if "Origin" in self.request.headers:
            # producers are programs, not pages: a browser (which always
            # sends Origin, even same-origin) has no business here.
            log_limited(log, logging.WARNING, "producer page", "refused a producer from a page")
            raise tornado.web.HTTPError(403, "producers are not browsers")
        if not self.producer_allowed():
            log_limited(
                log,
                logging.WARNING,
                "producer token",
                "refused a producer connection without a valid token",
            )
            raise tornado.web.HTTPError(403, "a valid producer token is required")

    def check_origin(self, origin: str) -> bool:
        return False  # never reached: prepare() refuses any Origin

    def open(self, *args: Any, **kwargs: Any) -> None:
        self.set_nodelay(True)
        peer = self.request.remote_ip or "?"
        claimed = self.request.headers.get(PRODUCER_HEADER, "")
        instance = claimed if _PRODUCER_ID.fullmatch(claimed) else None
        self.link = ProducerLink(self.hub, self._send, name=peer, instance=instance)
        _OPEN.setdefault(self.hub, set()).add(self)
        self._writer = asyncio.ensure_future(self._write_loop())
        log.info("producer connected from %s", peer)

    def _send(self, frame: Frame) -> None:
        self._outbox.append(frame)
        self._wake.set()

    def on_message(self, message: str | bytes) -> None:
        if self.link is not None:
            self.link.receive(message)

    def on_close(self) -> None:
        _OPEN.get(self.hub, set()).discard(self)
        if self.link is not None:
            self.producer_closed(self.link.closed())
        self._outbox.clear()
        self._wake.set()

    def producer_closed(self, gone: list[str]) -> None:
        """The connection ended and the documents ``gone`` were marked gone.

        They stay (stale) until a producer creates them again; a subclass
        that can tell the producer will never come back removes them.
        """

    async def _write_loop(self) -> None:
        try:
            while self.ws_connection is not None and not self.ws_connection.is_closing():
                self._wake.clear()
                if self._outbox:
                    frame = self._outbox.popleft()
                    await self.write_message(frame.data, binary=frame.binary)
                    continue
                await self._wake.wait()
        except WebSocketClosedError:
            pass
        except Exception:  # pragma: no cover - a bug; never leave the socket hanging
            log.exception("producer writer failed")
            self.close(1011, "internal error")


#: open producer connections per hub, so a stopping hub can close them
_OPEN: weakref.WeakKeyDictionary[Hub, set[ProducerHandler]] = weakref.WeakKeyDictionary()


def close_producers(hub: Hub, code: int = 1001, reason: str = "hub stopping") -> None:
    """Close every producer connection of ``hub`` (they reconnect and republish)."""
    for handler in list(_OPEN.pop(hub, ())):
        handler.close(code, reason)


def producer_routes(hub: Hub, prefix: str, token: str | None) -> list[Any]:
    """The producer endpoint under ``prefix`` (for ``make_app(extra_routes=...)``)."""
    return [(rf"{prefix}producer", ProducerHandler, {"hub": hub, "token": token})]
