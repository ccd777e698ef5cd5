"""The embedded hub: a ``Hub`` and its Tornado server inside the producer's process.

What ``Bridge()`` runs by default: on the bridge's own thread and loop, the
sans-I/O hub, the HTTP server with its pages and WebSocket, and, on a Redis
backplane, the publisher (``backplane=``) or the follower (``follow=``).
:class:`Bridge <wsbridge.runtime.bridge.Bridge>` talks to it only through the
:class:`~wsbridge.hub.port.HubPort` that :meth:`EmbeddedHub.setup` returns.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import tornado.ioloop
import tornado.netutil

from ..hub.config import HubConfig
from ..hub.hub import Hub
from ..hub.port import HubPort
from ..server.app import edge_hooks, make_app
from ..server.config import ServerConfig, is_loopback
from ..server.httpserver import EdgeHTTPServer

if TYPE_CHECKING:
    from ..scaleout.follower import BackplaneFollower
    from ..scaleout.keys import BackplaneConfig
    from ..scaleout.publisher import RedisPublisher

__all__ = ["EmbeddedHub", "is_loopback"]


class EmbeddedHub:
    """A hub and server in this process; every method but ``__init__`` runs on the loop."""

    kind = "embedded"

    def __init__(
        self,
        host: str,
        port: int,
        hub_config: HubConfig,
        server_config: ServerConfig,
        *,
        backplane: BackplaneConfig | None,
        follow: BackplaneConfig | None,
        serve: bool,
        producer_token: str | None,
        session_grace: float,
        on_backplane_reset: Callable[[str], None],
        open_document: Callable[[str, str, dict[str, str] | None], bool] | None = None,
        app_titles: Callable[[], dict[str, str]] = dict,
    ) -> None:
        self.host = host
        self.port = port
        self.hub_config = hub_config
        self.server_config = server_config
        #: publish our dashboards to this Redis backplane (scaleout.publisher)
        self.backplane = backplane
        #: serve the documents of this backplane (``wsbridge hub``, scaleout.follower)
        self.follow = follow
        #: bind a port and serve pages (False: only publish to the backplane)
        self.serve = serve
        #: with a token, remote producers may publish here (server.producers)
        self.producer_token = producer_token
        self.session_grace = session_grace
        self.on_backplane_reset = on_backplane_reset
        #: builds a per-session document a page joins (``HubHooks.open_document``)
        self.open_document = open_document
        #: our per-session apps (name -> title), offered to every hub of the backplane
        self.app_titles = app_titles
        self.hub: Hub | None = None
        self.publisher: RedisPublisher | None = None
        self.follower: BackplaneFollower | None = None
        self._server: EdgeHTTPServer | None = None
        self._bound_port: int | None = None

    @property
    def url(self) -> str:
        """``http://host:port/`` of the running server."""
        if self._bound_port is None:
            if not self.serve:
                raise RuntimeError("this bridge serves no pages (serve=False): open a hub's URL")
            raise RuntimeError("the bridge is not started; call start()")
        host = self.host
        if host in ("", "0.0.0.0", "::"):
            host = socket.gethostname()
        elif ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self._bound_port}/"

    @property
    def batch_streams(self) -> bool:
        """Streams queued back to back may go as one message (not to Redis,
        whose log takes one message per seq)."""
        return self.backplane is None

    def page_url(self, path: str) -> str:
        """Where a browser opens ``path`` of this hub (``d/<name>``) from a notebook."""
        return self.url + path

    def setup(self, loop: asyncio.AbstractEventLoop, more_input: Callable[[], bool]) -> HubPort:
        """Bind the port and start the hub on ``loop`` (its own thread); raise on failure."""
        hooks = dataclasses.replace(edge_hooks(more_input), soon=loop.call_soon)
        if self.open_document is not None:
            hooks = dataclasses.replace(hooks, open_document=self.open_document)
        hub = Hub(self.hub_config, hooks)
        port: HubPort = hub
        if self.backplane is not None:  # connect first: a wrong URL fails start()
            from ..scaleout.publisher import PublishingHub, RedisPublisher

            publisher = RedisPublisher(self.backplane, self.on_backplane_reset, self.app_titles)
            loop.run_until_complete(asyncio.wait_for(publisher.start(hub), 15.0))
            self.publisher = publisher
            port = PublishingHub(hub, publisher)
        if self.follow is not None:
            from ..scaleout.follower import BackplaneFollower

            follower = BackplaneFollower(hub, self.follow)
            loop.run_until_complete(follower.start())
            self.follower = follower
        self.hub = hub
        if self.serve:
            self._serve(hub)

        def sweep() -> None:  # per-session app documents nobody came back to
            hub.sweep(self.session_grace)

        tornado.ioloop.PeriodicCallback(sweep, 1000).start()
        return port

    def followed_apps(self) -> dict[str, str]:
        return self.follower.apps.titles() if self.follower is not None else {}

    def app_open_failed(self, name: str, text: str) -> None:
        publisher = self.publisher
        if publisher is not None and publisher.apps is not None:
            publisher.apps.failed(name, text)

    def _serve(self, hub: Hub) -> None:
        extra: list[Any] = []
        if self.producer_token:
            from ..server.producers import producer_routes

            extra = producer_routes(hub, "/", self.producer_token)
        app = make_app(hub, self.server_config, extra_routes=extra)
        port = self._bound_port if self._bound_port is not None else self.port
        try:
            sockets = tornado.netutil.bind_sockets(port, self.host)
        except OSError as exc:
            if self.port != 0 or port == 0:
                raise OSError(
                    exc.errno,
                    f"cannot listen on {self.host}:{port}: {exc.strerror or exc} "
                    "(another process may hold it: give another port, or port=0 for a free one)",
                ) from exc
            sockets = tornado.netutil.bind_sockets(0, self.host)  # old port taken
        cfg = self.server_config
        server = EdgeHTTPServer(
            app,
            xheaders=False,
            max_connections=cfg.max_connections,
            header_timeout=cfg.header_timeout,
            body_timeout=cfg.body_timeout,
        )
        server.add_sockets(sockets)
        self._server = server
        self._bound_port = sockets[0].getsockname()[1]
        if self.hub_config.token_expires is not None:  # close sessions when it lapses

            def expire() -> None:
                hub.expire_tokens()

            tornado.ioloop.PeriodicCallback(expire, 500).start()

    async def shutdown(self) -> None:
        """Close the backplane links, then every connection (1001), then the port."""
        hub = self.hub
        if self.publisher is not None:
            await self.publisher.close()
            self.publisher = None
        if self.follower is not None:
            await self.follower.close()
            self.follower = None
        if self._server is not None and hub is not None:
            self._server.stop()
            for session in list(hub.sessions.values()):
                session.request_close(1001, "server stopping")
            if self.producer_token:
                from ..server.producers import close_producers

                close_producers(hub)  # remote producers reconnect and republish
            for _ in range(50):  # let the writers send their close frames
                if not hub.sessions:
                    break
                await asyncio.sleep(0.01)
            await self._server.close_all_connections()
        self._server = self.hub = None

    def health(self) -> dict[str, Any]:
        """Extra /healthz fields: the backplane's state, when there is one."""
        if self.follower is not None:
            return self.follower.health()
        publisher = self.publisher
        if publisher is not None:
            from ..scaleout.keys import redact_url

            return {
                "backplane": {
                    "status": "ok" if publisher.healthy else "down",
                    "url": redact_url(publisher.config.url),
                    "documents": len(publisher.documents),
                    "resets": publisher.resets,
                    "last_error": publisher.last_error,
                }
            }
        return {}
