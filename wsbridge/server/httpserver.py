"""The HTTP server of the embedded hub: timeouts, a connection cap, a calm accept loop.

Tornado's ``HTTPServer`` waits an hour for a request's headers, holds any
number of connections and, when ``accept`` fails (no file descriptor left),
logs a traceback on every turn of the loop, which then spins on the still
readable socket. So a few hundred half-sent requests (slowloris) made a hub
unreachable. :class:`EdgeHTTPServer` adds, per docs/security.md "Limits":

- ``header_timeout``: a connection whose request headers have not all
  arrived after this many seconds, or that sat idle this long between
  keep-alive requests, is closed (Tornado's ``idle_connection_timeout``);
  ``body_timeout`` likewise for a request body;
- ``max_connections``: a cap below the open-file limit. At the cap, a new
  connection closes the oldest one still in its HTTP phase (a request being
  read, or an idle keep-alive), so a flood of half-sent requests evicts its
  own connections rather than locking users out; WebSocket sessions are
  never evicted. With none to evict, the new one is closed;
- an accept that fails is logged once per interval, and the listening
  socket rests for a moment instead of spinning.
"""

from __future__ import annotations

import errno
import logging
import socket
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import tornado.httpserver
from tornado.ioloop import IOLoop
from tornado.iostream import IOStream

from ..logs import log_limited

try:
    import resource
except ImportError:  # pragma: no cover - not on Windows
    resource = None  # type: ignore[assignment]

__all__ = ["EdgeHTTPServer", "connection_cap"]

log = logging.getLogger("wsbridge.server")

#: seconds the listening socket rests after ``accept`` failed (EMFILE...)
ACCEPT_PAUSE = 0.1
#: connections accepted per readiness event, as Tornado's own accept loop
_ACCEPT_BATCH = 128


def connection_cap(limit: int | None = None) -> int | None:
    """The most connections to hold: ``limit``, and below the open-file limit.

    Every connection is a file descriptor; the hub also needs some for its
    files, its loop and Redis, so an eighth of the soft ``RLIMIT_NOFILE``
    (at least 32) is kept free. None: no cap (no limit given, none found).
    """
    if resource is None:  # pragma: no cover - Windows
        return limit
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return limit
    below = max(1, soft - max(32, soft // 8))
    return below if limit is None else min(limit, below)


class EdgeHTTPServer(tornado.httpserver.HTTPServer):
    """``HTTPServer`` with a connection cap and a rate-limited accept loop (module doc).

    Tornado's ``HTTPServer`` is ``Configurable``: arguments go to
    :meth:`initialize`.
    """

    def initialize(  # type: ignore[override]
        self,
        request_callback: Any,
        *,
        max_connections: int | None = None,
        header_timeout: float = 10.0,
        body_timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().initialize(
            request_callback,
            idle_connection_timeout=header_timeout,
            body_timeout=body_timeout,
            **kwargs,
        )
        self.max_connections = max_connections
        #: every connection accepted and not yet seen closed, oldest first;
        #: weak, so a closed connection's buffers are not kept for the count
        self._streams: weakref.WeakKeyDictionary[IOStream, None] = weakref.WeakKeyDictionary()
        self._since_prune = 0

    # -- the connection cap
    def handle_stream(self, stream: IOStream, address: tuple[Any, ...]) -> None:
        cap = self.max_connections
        if cap is not None:
            self._since_prune += 1
            if len(self._streams) >= cap or self._since_prune >= 1024:
                self._prune()
            if len(self._streams) >= cap and not self._evict_one(cap):
                stream.close()
                return
        self._streams[stream] = None
        super().handle_stream(stream, address)

    def _prune(self) -> None:
        """Forget closed connections (amortised: at the cap, or every 1024 accepts)."""
        self._since_prune = 0
        for stream in [s for s in self._streams if s.closed()]:
            del self._streams[stream]

    def _evict_one(self, cap: int) -> bool:
        """Close the oldest connection in its HTTP phase; False when there is none."""
        http = {conn.stream for conn in self._connections}
        victim = next((s for s in self._streams if s in http), None)
        log_limited(
            log,
            logging.WARNING,
            "connection cap",
            "%d connections open, the cap (max_connections, below the open-file limit): %s",
            cap,
            "closing the oldest HTTP connection" if victim else "refusing a new connection",
            burst=1,
        )
        if victim is None:
            return False
        del self._streams[victim]
        victim.close()
        return True

    # -- the accept loop
    def add_sockets(self, sockets: Iterable[socket.socket]) -> None:
        for sock in sockets:
            self._sockets[sock.fileno()] = sock
            self._handlers[sock.fileno()] = self._accept_on(sock)

    def _accept_on(self, sock: socket.socket) -> Callable[[], None]:
        """Tornado's ``add_accept_handler``, except that a failed ``accept``
        (no descriptor or memory left) is logged once per interval and the
        socket is not watched for ``ACCEPT_PAUSE`` seconds: it stays
        readable, and retrying at once would spin. Returns the remover."""
        loop = IOLoop.current()
        removed = False

        def on_readable(fd: Any, events: int) -> None:
            for _ in range(_ACCEPT_BATCH):
                if removed:
                    return
                try:
                    connection, address = sock.accept()
                except BlockingIOError:
                    return
                except ConnectionAbortedError:
                    continue
                except OSError as exc:
                    if exc.errno not in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                        raise
                    log_limited(
                        log,
                        logging.ERROR,
                        "accept",
                        "cannot accept connections: %s (open-file limit?); retrying",
                        exc.strerror,
                        burst=1,
                    )
                    loop.remove_handler(sock)
                    loop.call_later(ACCEPT_PAUSE, watch)
                    return
                self._handle_connection(connection, address)

        def watch() -> None:
            if not removed:
                loop.add_handler(sock, on_readable, IOLoop.READ)

        def remove() -> None:
            nonlocal removed
            removed = True
            loop.remove_handler(sock)

        watch()
        return remove
