"""``Bridge``: the embedded hub and Tornado server on their own thread.

The hub runs on a private thread with its own asyncio loop, so a notebook
cell or a data-acquisition loop that never yields still streams, and
browser input still reaches Python. Producer changes are marshalled onto
that loop through one FIFO hand-off queue (``wsbridge.handoff``: a deque
and one loop wake-up per burst, so their order is kept and a burst costs
one pipe write, not one per message); browser input is handled on one
"callbacks" thread, so a slow Python callback never stalls the hub nor
other viewers, and callbacks run one at a time in arrival order, as they
would in ipywidgets.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import html
import ipaddress
import logging
import secrets
import socket
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import tornado.httpserver
import tornado.ioloop
import tornado.netutil
import traitlets

from . import _sync
from ._display import embed_html
from .coalesce import message_size
from .dashboard import Dashboard
from .handoff import Batch, Handoff, Worker
from .hub import Hub, HubConfig
from .models import Model, _as_model
from .protocol import Add, Custom, Event, Message, Set, Stream
from .server import ServerConfig, make_app

if TYPE_CHECKING:
    from .backplane import BackplaneConfig, RedisPublisher
    from .follower import BackplaneFollower

__all__ = ["Bridge", "is_loopback"]

log = logging.getLogger("wsbridge.bridge")

#: streams of one source queued back to back are handed to the hub as one
#: message up to this many bytes of columns (``Bridge._submit``)
STREAM_BATCH_MAX_BYTES = 1 << 20


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (no token needed there)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # numpy arrays and friends
        import numpy as np

        return bool(np.array_equal(a, b))


class _EmbeddedProducer:
    """Routes a document's browser input to the bridge's Python objects."""

    def __init__(self, bridge: Bridge):
        self.bridge = bridge

    def on_set(self, doc: str, session: str, message: Set) -> None:
        self.bridge._callback(self._handle, self._apply_set, doc, session, message)

    def on_event(self, doc: str, session: str, message: Event) -> None:
        self.bridge._callback(self._handle, self._fire, doc, session, message)

    def on_custom(self, doc: str, session: str, message: Custom) -> None:
        self.bridge._callback(self._handle, self._fire, doc, session, message)

    def _handle(
        self, fn: Callable[[str, str, Any], None], doc: str, session: str, msg: Any
    ) -> None:
        try:
            fn(doc, session, msg)
        finally:  # the hub counts each session's inputs in flight (its backlog limit)
            self.bridge._on_loop("input_done", session)

    # -- on the callbacks thread
    def on_closed(self, doc: str) -> None:
        """The hub dropped a per-session app document: free its objects."""
        dash = self.bridge._app_sessions.pop(doc, None)
        if dash is not None:
            dash._release()

    def _model(self, doc: str, model_id: str) -> Model | None:
        dash = self.bridge.dashboards.get(doc) or self.bridge._app_sessions.get(doc)
        obj = dash.get(model_id) if dash is not None else None
        return obj if isinstance(obj, Model) else None

    def _apply_set(self, doc: str, session: str, message: Set) -> None:
        model = self._model(doc, message.model)
        if model is None:
            return
        token = _sync.ORIGIN.set({"session": session, "req": message.req})
        try:
            for name, value in message.state.items():
                ref = {"type": "set", "model": model.id, "property": name, "req": message.req}
                before = getattr(model, name)
                try:
                    model._apply_client_state(name, value)
                except traitlets.TraitError as exc:
                    # logged once, by the hub, when it answers the session
                    self.bridge._on_loop(
                        "reject", doc, session, "invalid_value", str(exc), ref, model.id, [name]
                    )
                    continue
                except Exception as exc:
                    log.exception("a callback raised while setting %s.%s", model.id, name)
                    self.bridge._on_loop(
                        "reject",
                        doc,
                        session,
                        "callback_error",
                        f"{type(exc).__name__}: {exc}",
                        ref,
                        model.id,
                        [name],
                    )
                    continue
                if _same(before, getattr(model, name)):
                    # nothing changed, so no patch goes out: tell the sender
                    # the canonical value (it may have sent 11 to a max of 10)
                    self.bridge._on_loop("reply_state", doc, session, model.id, [name])
        finally:
            _sync.ORIGIN.reset(token)

    def _fire(self, doc: str, session: str, message: Event | Custom) -> None:
        model = self._model(doc, message.model)
        if model is None:
            return
        try:
            if isinstance(message, Event):
                model._fire_event(message.name, message.data)
            else:
                model._fire_msg(message.content, message.buffers)
        except Exception as exc:
            log.exception("a callback of %s raised", model.id)
            ref = {"type": message.type, "model": model.id}
            self.bridge._on_loop(
                "reject", doc, session, "callback_error", f"{type(exc).__name__}: {exc}", ref
            )


class Bridge:
    """An embedded hub + Tornado server, on its own thread and event loop.

    ``Bridge(host="127.0.0.1", port=0)``; ``start()`` (idempotent, returns
    self), ``stop()``, or use it as a context manager. ``url`` is the base
    URL; ``dashboard(name, root)`` is served at ``url + "d/" + name``.
    Binding a non-loopback address requires a ``token``. Every limit is
    described in docs/security.md and docs/reliability.md. ``peers`` are
    other hubs' base URLs serving the same documents: pages fail over to
    them (docs/reliability.md "Several hubs").

    On a Redis backplane (docs/deploy.md): ``backplane="redis://..."``
    also publishes the dashboards there, for any number of ``wsbridge hub``
    processes to serve (``serve=False``: bind no port, only publish);
    ``follow="redis://..."`` serves the backplane's documents instead of
    owning any (what ``wsbridge hub --redis`` runs).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str | None = None,
        allow_origins: tuple[str, ...] | list[str] = (),
        peers: tuple[str, ...] | list[str] = (),
        max_message_size: int = 16 * 1024 * 1024,
        log_max_messages: int = 10_000,
        log_max_bytes: int = 16 * 1024 * 1024,
        queue_max_bytes: int = 32 * 1024 * 1024,
        queue_high_water: int = 4 * 1024 * 1024,
        ping_interval: float = 20.0,
        session_grace: float = 30.0,
        write_timeout: float = 30.0,
        token_expires: float | None = None,
        max_clients: int = 10_000,
        max_clients_per_document: int = 5_000,
        input_rate: float = 200.0,
        input_burst: int = 400,
        producer_token: str | None = None,
        backplane: str | BackplaneConfig | None = None,
        follow: str | BackplaneConfig | None = None,
        serve: bool = True,
    ) -> None:
        if not is_loopback(host) and not token:
            raise ValueError(
                f"listening on {host!r} exposes the dashboards beyond this machine: "
                "pass token=... (e.g. secrets.token_urlsafe())"
            )
        if backplane is not None and follow is not None:
            raise ValueError("a bridge either publishes to a backplane or follows one, not both")
        if not serve and backplane is None:
            raise ValueError("serve=False needs a backplane= to publish to")
        self.host = host
        self.port = port
        if backplane is not None or follow is not None:
            from .backplane import BackplaneConfig  # needs redis (the "redis" extra)
        #: publish our dashboards to this Redis backplane (wsbridge.backplane)
        self.backplane = BackplaneConfig.of(backplane) if backplane is not None else None
        #: serve the documents of this backplane (``wsbridge hub``, wsbridge.follower)
        self.follow = BackplaneConfig.of(follow) if follow is not None else None
        #: bind a port and serve pages (False: only publish to the backplane)
        self.serve = serve
        self._publisher: RedisPublisher | None = None
        self._follower: BackplaneFollower | None = None
        #: with a token, remote producers may publish here (wsbridge.producer)
        self.producer_token = producer_token
        self.hub_config = HubConfig(
            max_message_size=max_message_size,
            log_max_messages=log_max_messages,
            log_max_bytes=log_max_bytes,
            queue_max_bytes=queue_max_bytes,
            queue_high_water=queue_high_water,
            token=token,
            token_expires=token_expires,
            max_clients=max_clients,
            max_clients_per_document=max_clients_per_document,
            input_rate=input_rate,
            input_burst=input_burst,
        )
        self.server_config = ServerConfig(
            token=token,
            allow_origins=tuple(allow_origins),
            peers=tuple(peers),
            max_message_size=max_message_size,
            ping_interval=ping_interval,
            write_timeout=write_timeout,
            token_expires=token_expires,
            index=lambda: self.index,
            titles=self._titles,
            open_app=self._open_app,
            health=self._health,
        )
        self.dashboards: dict[str, Dashboard] = {}
        #: per-session apps: name -> (factory, title); see :meth:`app`
        self.apps: dict[str, tuple[Callable[[Dashboard], Any], str]] = {}
        self._app_sessions: dict[str, Dashboard] = {}
        self.session_grace = session_grace
        #: the dashboard served at ``url`` itself (``wsbridge demo``), if any
        self.index: str | None = None
        self.hub: Hub | None = None
        self._producer = _EmbeddedProducer(self)
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handoff: Handoff | None = None
        self._server: tornado.httpserver.HTTPServer | None = None
        self._callbacks: Worker | None = None
        self._bound_port: int | None = None

    def __repr__(self) -> str:
        state = self.url if self.running else "stopped"
        return f"<Bridge {state}, {len(self.dashboards)} dashboards>"

    def __new__(cls, *args: Any, **kwargs: Any) -> Bridge:
        # ``Bridge()`` with no arguments in a kernel whose Jupyter server runs
        # the wsbridge extension publishes there (wsbridge.remote), so the
        # dashboards are reachable wherever the notebook is (JupyterHub too).
        if cls is Bridge and not args and not kwargs:
            from .remote import RemoteBridge, find_jupyter_server

            server = find_jupyter_server()
            if server is not None:
                remote = object.__new__(RemoteBridge)
                remote._jupyter = server
                return remote
        return super().__new__(cls)

    def _repr_html_(self) -> str:
        if not self.running:
            return f"<code>{html.escape(repr(self))}</code>"
        return embed_html(self.page_url(""), self.url)

    def page_url(self, path: str) -> str:
        """Where a browser opens ``path`` of this hub (``d/<name>``) from a notebook."""
        return self.url + path

    def _titles(self) -> dict[str, str]:
        """Served documents: ours, and those remote producers published here."""
        hub = self.hub
        docs = hub.documents.items() if hub else ()
        remote = {n: d.state.title or n for n, d in docs if not d.ephemeral}
        apps = {n: title for n, (_, title) in self.apps.items()}
        return {**remote, **apps, **{n: d.title for n, d in self.dashboards.items()}}

    # -- life cycle
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

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

    def start(self) -> Bridge:
        """Start the hub thread and bind the port (idempotent)."""
        with self._lock:
            if self.running:
                return self
            started = threading.Event()
            failure: list[BaseException] = []
            self._thread = threading.Thread(
                target=self._run, args=(started, failure), name="wsbridge-hub", daemon=True
            )
            self._thread.start()
            started.wait()
            if failure:
                self._thread.join()
                self._thread = None
                raise failure[0]
            self._callbacks = Worker("wsbridge-callbacks")
            for dash in self.dashboards.values():
                self._publish_dashboard(dash)
            for dash in self._app_sessions.values():  # open app pages resume too
                self._publish_dashboard(dash, ephemeral=True)
            return self

    def _run(self, started: threading.Event, failure: list[BaseException]) -> None:
        """The hub thread: set up on a new loop, report, then serve until stopped."""
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            self._setup(loop)
        except BaseException as exc:
            failure.append(exc)
            started.set()
            loop.close()
            return
        handoff = self._handoff = Handoff(loop)
        if self.hub is not None:  # writers batch while producer calls are queued
            self.hub.more_input = self._more_input
        started.set()
        try:
            loop.run_forever()
        finally:
            handoff.close()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def _setup(self, loop: asyncio.AbstractEventLoop) -> None:
        """Bind the port and start the embedded hub on ``loop`` (its own thread)."""
        hub = Hub(self.hub_config)
        if self.backplane is not None:  # connect first: a wrong URL fails start()
            from .backplane import RedisPublisher

            publisher = RedisPublisher(self.backplane, self._backplane_reset)
            loop.run_until_complete(asyncio.wait_for(publisher.start(hub), 15.0))
            self._publisher = publisher
        if self.follow is not None:
            from .follower import BackplaneFollower

            follower = BackplaneFollower(hub, self.follow)
            loop.run_until_complete(follower.start())
            self._follower = follower
        if not self.serve:
            self.hub, self._loop = hub, loop
            return
        extra: list[Any] = []
        if self.producer_token:
            from .producer import producer_routes

            extra = producer_routes(hub, "/", self.producer_token)
        app = make_app(hub, self.server_config, extra_routes=extra)
        port = self._bound_port if self._bound_port is not None else self.port
        try:
            sockets = tornado.netutil.bind_sockets(port, self.host)
        except OSError:
            if self.port != 0 or port == 0:
                raise
            sockets = tornado.netutil.bind_sockets(0, self.host)  # old port taken
        server = tornado.httpserver.HTTPServer(app, xheaders=False)
        server.add_sockets(sockets)
        self.hub, self._server, self._loop = hub, server, loop
        self._bound_port = sockets[0].getsockname()[1]
        if self.hub_config.token_expires is not None:  # close sessions when it lapses

            def expire() -> None:
                hub.expire_tokens()

            tornado.ioloop.PeriodicCallback(expire, 500).start()

        def sweep() -> None:  # per-session app documents nobody came back to
            hub.sweep(self.session_grace)

        tornado.ioloop.PeriodicCallback(sweep, 1000).start()

    def stop(self, timeout: float = 5.0) -> None:
        """Close every connection (1001), free the port, end the thread."""
        with self._lock:
            if not self.running:
                return
            loop = self._loop
            assert loop is not None and self._thread is not None
            for dash in [*self.dashboards.values(), *self._app_sessions.values()]:
                dash._detach()
            # after every change queued so far (the hand-off is FIFO)
            fut: concurrent.futures.Future[None] = concurrent.futures.Future()
            self._threadsafe(self._start_shutdown, fut)
            try:
                fut.result(timeout)
            except Exception:  # pragma: no cover - best effort, we stop anyway
                log.exception("shutting down the hub")
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(timeout)
            if self._callbacks is not None:
                self._callbacks.shutdown()
            self._thread = self._loop = self._server = self.hub = self._callbacks = None
            self._handoff = None

    def _start_shutdown(self, fut: concurrent.futures.Future[None]) -> None:
        """On the loop: run ``_shutdown`` and report to ``fut`` (``stop`` waits on it)."""

        def done(task: asyncio.Task[None]) -> None:
            if task.cancelled():
                fut.cancel()
            elif task.exception() is not None:
                fut.set_exception(task.exception())
            else:
                fut.set_result(None)

        asyncio.ensure_future(self._shutdown()).add_done_callback(done)

    async def _shutdown(self) -> None:
        assert self.hub is not None
        if self._publisher is not None:
            await self._publisher.close()
            self._publisher = None
        if self._follower is not None:
            await self._follower.close()
            self._follower = None
        if self._server is None:
            return
        self._server.stop()
        for session in list(self.hub.sessions.values()):
            session.request_close(1001, "server stopping")
        if self.producer_token:
            from .producer import close_producers

            close_producers(self.hub)  # remote producers reconnect and republish
        for _ in range(50):  # let the writers send their close frames
            if not self.hub.sessions:
                break
            await asyncio.sleep(0.01)
        await self._server.close_all_connections()

    def __enter__(self) -> Bridge:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- documents
    def dashboard(
        self, name: str, root: Model | None = None, title: str | None = None
    ) -> Dashboard:
        """A shared document, served at ``url + "d/" + name``.

        Calling it again with the same name replaces the dashboard: its
        viewers get the new one (a new epoch, so a fresh snapshot).
        """
        dash = Dashboard(name, root, title or name)
        with self._lock:
            old = self.dashboards.get(name)
            if old is not None:
                old._release()
            self.dashboards[name] = dash
            dash._bridge = self
            if self.running:
                self._publish_dashboard(dash)
        return dash

    def app(self, name: str, factory: Callable[[Dashboard], Any], title: str | None = None) -> None:
        """A per-session app at ``url + "d/" + name``: each page load gets its own
        document, built by ``factory(dash)`` (which may return the root layout).

        Every viewer has their own state, as with Bokeh's and Panel's
        sessions. A session whose browser left is freed after
        ``session_grace`` seconds (a reconnect within it resumes).
        """
        Dashboard(name)  # validates the name
        if "~" in name:
            raise ValueError("an app name cannot contain '~' (it names its sessions)")
        with self._lock:
            self.apps[name] = (factory, title or name)

    def _open_app(self, name: str) -> Awaitable[str] | None:
        """For the page handler: build a new session of app ``name`` (or None)."""
        if name not in self.apps or self._callbacks is None:
            return None
        future = self._callbacks.submit(self._new_app_session, name)
        return asyncio.wrap_future(future)

    def _new_app_session(self, name: str) -> str:
        # on the callbacks thread: user code must not run on the hub's loop
        factory, title = self.apps[name]
        dash = Dashboard(f"{name}~{secrets.token_urlsafe(12)}", title=title)
        root = _as_model(factory(dash))  # an ipywidgets root becomes its mirror
        if isinstance(root, Model):
            dash.root = root
            dash.add(root)
        elif dash.root is None:
            raise TypeError(f"the factory of app {name!r} must return its root layout (a Model)")
        with self._lock:
            self._app_sessions[dash.name] = dash
            dash._bridge = self
            self._publish_dashboard(dash, ephemeral=True)
        return dash.name

    def _publish_dashboard(self, dash: Dashboard, ephemeral: bool = False) -> None:
        def create(spec: Add) -> None:
            self._on_loop("create_document", dash.name, spec, self._producer, dash.title, ephemeral)

        dash._attach(self, self._submit, create)

    def _submit(self, name: str, message: Message) -> None:
        """Queue a producer message for the hub (any thread, order kept).

        Trusted: it comes from this process's own models and sources, which
        validated it (``Hub.publish``). A stream joins the batch of streams
        of the same source still queued right before it (``Handoff.batch``;
        the hub publishes it as one message, ``Hub.publish_many``): when the
        producer outpaces the hub, every call costs one ``list.append``
        instead of a whole message. Not with a backplane, whose log in Redis
        takes one message per seq.
        """
        handoff = self._handoff
        if type(message) is Stream and self._publisher is None and handoff is not None:
            key = (name, message.source, message.rollover, tuple(message.data))
            size = message_size(message)  # string columns count too
            handoff.batch(self._publish_batch, key, message, size, STREAM_BATCH_MAX_BYTES)
            return
        self._on_loop("publish", name, message, True)

    def _publish_batch(self, batch: Batch) -> None:
        """On the loop: publish a batch of streams (see ``_submit``)."""
        self._call_hub("publish_many", (batch.key[0], batch.take(), True))

    def _more_input(self) -> bool:
        """Is a producer call queued next on the hand-off? (``Hub.more_input``:
        then the hub leaves the writes to the writers, which batch.)

        Only the next call is looked at, and a queued ``input_done`` (the
        callbacks thread's "done with this browser input", which publishes
        nothing) does not count: it always follows the patch a browser
        ``set`` caused, and counting it sent that patch to every other
        client through a writer turn each instead of directly, ~20 us per
        client on the hub's thread (benchmarks/README.md, perf4). A
        producer's burst has a publish next.
        """
        handoff = self._handoff
        if handoff is None:
            return False
        try:
            fn, args = handoff.calls[0]
        except IndexError:
            return False
        return not (fn == self._call_hub and args[0] == "input_done")

    def _on_loop(self, method: str, *args: Any) -> None:
        """Call ``hub.<method>(*args)`` on the hub's loop, after every earlier call."""
        self._threadsafe(self._call_hub, method, args)

    def _threadsafe(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the hub's loop, in order with every other hand-off."""
        handoff = self._handoff
        if handoff is not None:
            handoff(fn, *args)

    def _call_hub(self, method: str, args: tuple[Any, ...]) -> None:
        hub = self.hub
        if hub is None:
            return
        if self._publisher is not None:  # the hub, then a copy to Redis
            self._publisher.call(hub, method, args)
        else:
            getattr(hub, method)(*args)

    def _backplane_reset(self, name: str) -> None:
        """Redis lost ``name`` (flushed, restarted, lagging): publish it again.

        On the loop, like RemoteBridge._republish: a new epoch, so every
        viewer, on every hub, gets a fresh snapshot.
        """
        dash = self.dashboards.get(name)
        if dash is not None:
            self._publish_dashboard(dash)

    def _health(self) -> dict[str, Any]:
        """Extra /healthz fields: the backplane's state, when there is one."""
        if self._follower is not None:
            return self._follower.health()
        publisher = self._publisher
        if publisher is not None:
            from .backplane import redact_url

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

    def _callback(self, fn: Callable[..., None], *args: Any) -> None:
        worker = self._callbacks
        if worker is not None:
            try:
                worker.call(fn, *args)
            except RuntimeError:  # shut down
                pass

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until every change made so far has been handled by the hub.

        Handy in tests and scripts that exit right after a change.
        """
        if self._handoff is None:
            return
        done = threading.Event()
        self._threadsafe(done.set)  # behind everything queued so far
        if not done.wait(timeout):
            raise TimeoutError("the hub did not catch up")

    def call(self, fn: Callable[[Hub], Any], timeout: float = 5.0) -> Any:
        """Run ``fn(hub)`` on the hub's loop and return its result (diagnostics)."""
        if self._handoff is None:
            raise RuntimeError("the bridge is not started")
        result: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def run() -> None:  # in order with the changes queued before this call
            try:
                assert self.hub is not None
                result.set_result(fn(self.hub))
            except BaseException as exc:
                result.set_exception(exc)

        self._threadsafe(run)
        return result.result(timeout)
