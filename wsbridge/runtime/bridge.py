"""``Bridge``: the embedded hub and Tornado server on their own thread.

The hub runs on a private thread with its own asyncio loop, so a notebook
cell or a data-acquisition loop that never yields still streams, and
browser input still reaches Python. Producer changes are marshalled onto
that loop through one FIFO hand-off queue (``runtime.handoff``: a deque
and one loop wake-up per burst, so their order is kept and a burst costs
one pipe write, not one per message); browser input is handled on one
"callbacks" thread, so a slow Python callback never stalls the hub nor
other viewers, and callbacks run one at a time in arrival order, as they
would in ipywidgets.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import html
import inspect
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import quote

from ..hub.coalesce import message_size
from ..hub.config import HubConfig
from ..hub.hub import Hub
from ..hub.port import HubPort
from ..jupyter.display import index_html
from ..server.config import ServerConfig
from ..widgets.dashboard import Dashboard
from ..widgets.model import Model
from ..wire.messages import Add, Message, Notify, Stream
from .apps import AppHosting, Factory, Staging
from .embedded import EmbeddedHub, is_loopback
from .handoff import Batch, Handoff, Worker
from .input import EmbeddedProducer

if TYPE_CHECKING:
    from ..scaleout.keys import BackplaneConfig

__all__ = ["Bridge", "HubBackend", "HubKind", "is_loopback"]

log = logging.getLogger("wsbridge.bridge")

#: streams of one source queued back to back are handed to the hub as one
#: message up to this many bytes of columns (``Bridge._submit``)
STREAM_BATCH_MAX_BYTES = 1 << 20


#: where a bridge's hub runs: see :class:`Bridge`
HubKind = Literal["auto", "embedded", "jupyter"]


class HubBackend(Protocol):
    """Where a bridge's hub runs: in this process (:class:`~wsbridge.runtime.embedded.EmbeddedHub`)
    or elsewhere (:class:`~wsbridge.runtime.remote.RemoteBackend`)."""

    #: "embedded" or "jupyter" (a remote hub)
    kind: str
    #: the hub, when it runs in this process (diagnostics, tests)
    hub: Hub | None

    @property
    def url(self) -> str: ...

    def page_url(self, path: str) -> str: ...

    @property
    def batch_streams(self) -> bool:
        """May streams queued back to back be published as one message?"""
        ...

    def setup(self, loop: asyncio.AbstractEventLoop, more_input: Callable[[], bool]) -> HubPort:
        """On the bridge's loop: start the hub (or connect to it); raise on failure."""
        ...

    async def shutdown(self) -> None: ...

    def health(self) -> dict[str, Any]: ...

    def followed_apps(self) -> dict[str, str]:
        """Per-session apps other producers offer through this hub (name -> title)."""
        ...

    def app_open_failed(self, name: str, text: str) -> None:
        """On the hub's loop: session ``name`` could not be built; tell whoever asked."""
        ...


class Bridge(AppHosting):
    """The producer's runtime: dashboards, on a hub of their own or a Jupyter server's.

    ``Bridge(host="127.0.0.1", port=0)``; ``start()`` (idempotent, returns
    self), ``stop()``, or use it as a context manager. ``url`` is the base
    URL; ``dashboard(name, root)`` is served at ``url + "d/" + name``.

    ``hub`` says where the hub runs:

    - ``"embedded"``: in this process, on the bridge's thread, with its own
      Tornado server on ``host:port``. Binding a non-loopback address needs
      a ``token``. Browsers must reach it by one of its own names
      (loopback names and addresses, the bound address; beyond loopback
      the machine's name) or one of ``allow_hosts`` (``["*"]``: any), so a
      rebound DNS name reaches nothing. Every limit is described in
      docs/security.md and docs/reliability.md. ``peers`` are other hubs' base URLs serving the
      same documents: pages fail over to them (docs/reliability.md).
    - ``"jupyter"``: in the Jupyter server this kernel runs under (its
      wsbridge extension), so dashboards are served on the notebook's own
      origin, behind Jupyter's auth, under JupyterHub too (docs/jupyter.md).
      The embedded-only options do not apply.
    - ``"auto"`` (the default): ``"jupyter"`` when called with no other
      argument in a kernel whose Jupyter server runs the extension, else
      ``"embedded"``.

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
        hub: HubKind = "auto",
        token: str | None = None,
        allow_origins: tuple[str, ...] | list[str] = (),
        allow_hosts: tuple[str, ...] | list[str] = (),
        peers: tuple[str, ...] | list[str] = (),
        session_grace: float = 30.0,
        max_app_sessions: int = 1_000,
        max_app_sessions_per_address: int = 100,
        title: str = "wsbridge",
        producer_token: str | None = None,
        backplane: str | BackplaneConfig | None = None,
        follow: str | BackplaneConfig | None = None,
        serve: bool = True,
        **limits: Any,
    ) -> None:
        """``limits``: any limit of :class:`~wsbridge.hub.config.HubConfig` or
        :class:`~wsbridge.server.config.ServerConfig` by its field name
        (``max_clients=100``, ``max_message_size=...``, ``write_timeout=...``;
        docs/security.md lists each with its default). ``title`` heads the
        pages' navigation bar and the landing page."""
        if hub not in ("auto", "embedded", "jupyter"):
            raise ValueError(f"hub must be 'auto', 'embedded' or 'jupyter', not {hub!r}")
        given = {k: v for k, v in locals().items() if k in _DEFAULTS and v != _DEFAULTS[k]}
        hub_limits, server_limits = _split_limits(limits)
        self.dashboards: dict[str, Dashboard] = {}
        #: what the navigation bar and the landing page are headed with
        self.title = title
        #: dashboards and apps in the order they were first registered -> listed
        #: in the navigation bar and on the landing page (``nav``)
        self._pages: dict[str, bool] = {}
        #: under ``wsbridge serve --dev`` while the app file runs: what it
        #: registers waits there until the whole run succeeded (runtime/devserver.py)
        self._stage: Staging | None = None
        self._init_apps(max_app_sessions, max_app_sessions_per_address)
        #: the dashboard served at ``url`` itself (``wsbridge demo``), if any
        self.index: str | None = None
        self._producer = EmbeddedProducer(self)
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handoff: Handoff | None = None
        self._callbacks: Worker | None = None
        #: where browser-facing operations go, on the loop (the hub, or a proxy of it)
        self._port: HubPort | None = None
        if hub != "embedded" and not given and not limits:
            from ..jupyter.discovery import find_jupyter_server

            server = find_jupyter_server()
            if server is not None:
                from .remote import RemoteBackend

                remote = RemoteBackend.of(server)
                remote.serve(self)
                self.backend: HubBackend = remote
                return
        if hub == "jupyter":
            raise RuntimeError(
                "hub='jupyter' needs a kernel of a Jupyter server running the wsbridge "
                "extension (jupyter server extension list), with no other Bridge options"
            )
        if not is_loopback(host) and not token:
            raise ValueError(
                f"listening on {host!r} exposes the dashboards beyond this machine: "
                "pass token=... (e.g. secrets.token_urlsafe())"
            )
        if backplane is not None and follow is not None:
            raise ValueError("a bridge either publishes to a backplane or follows one, not both")
        if not serve and backplane is None:
            raise ValueError("serve=False needs a backplane= to publish to")
        if backplane is not None or follow is not None:
            from ..scaleout.keys import BackplaneConfig
        hub_config = HubConfig(token=token, **hub_limits)
        server_config = ServerConfig(
            token=token,
            allow_origins=tuple(allow_origins),
            allow_hosts=tuple(allow_hosts),
            bind_host=host,
            peers=tuple(peers),
            **server_limits,
            index=lambda: self.index,
            titles=self._titles,
            pages=self._nav_pages,
            site_title=lambda: self.title,
            open_app=self._open_app,
            health=lambda: self.backend.health(),
        )
        self.backend = EmbeddedHub(
            host,
            port,
            hub_config,
            server_config,
            backplane=BackplaneConfig.of(backplane) if backplane is not None else None,
            follow=BackplaneConfig.of(follow) if follow is not None else None,
            serve=serve,
            producer_token=producer_token,
            session_grace=session_grace,
            on_backplane_reset=self._backplane_reset,
            open_document=self._join_app,
            app_titles=self._app_titles,
        )

    @classmethod
    def _on(cls, backend: HubBackend) -> Bridge:
        """A bridge on ``backend`` (``RemoteBridge``)."""
        bridge = cls(hub="embedded")
        bridge.backend = backend
        return bridge

    def __repr__(self) -> str:
        state = self.url if self.running else "stopped"
        kind = "" if self.backend.kind == "embedded" else f" on a {self.backend.kind} hub"
        return f"<Bridge{kind} {state}, {len(self.dashboards)} dashboards>"

    @property
    def hub(self) -> Hub | None:
        """The hub when it runs in this process and the bridge is started, else None."""
        return self.backend.hub

    @property
    def hub_kind(self) -> str:
        """Where the hub runs: ``"embedded"`` or ``"jupyter"``."""
        return self.backend.kind

    @property
    def server_config(self) -> ServerConfig:
        """What the embedded server enforces (not for a Jupyter server's hub)."""
        backend = self.backend
        if not isinstance(backend, EmbeddedHub):
            raise AttributeError("the hub of this bridge runs in a Jupyter server")
        return backend.server_config

    def _repr_html_(self) -> str:
        if not self.running:
            return f"<code>{html.escape(repr(self))}</code>"
        with self._lock:
            titles = {n: title for n, (_, title) in self.apps.items()}
            titles.update({n: d.title for n, d in self.dashboards.items()})
        pages = [(n, t, self.page_url("d/" + quote(n, safe=""))) for n, t in titles.items()]
        # the hub as the notebook's browser reaches it: under Jupyter a path on
        # the notebook's origin, never the server address the kernel uses
        return index_html(self.page_url(""), pages)

    def page_url(self, path: str) -> str:
        """Where a browser opens ``path`` of this hub (``d/<name>``) from a notebook."""
        return self.backend.page_url(path)

    def _titles(self) -> dict[str, str]:
        """Served documents: ours, and those remote producers published here."""
        hub = self.hub
        docs = hub.documents.items() if hub else ()
        remote = {n: d.state.title or n for n, d in docs if not d.ephemeral}
        apps = {**self.backend.followed_apps(), **self._app_titles()}
        return {**remote, **apps, **{n: d.title for n, d in self.dashboards.items()}}

    def _app_titles(self) -> dict[str, str]:
        """Our per-session apps: name -> title (any thread)."""
        return {name: title for name, (_, title) in dict(self.apps).items()}

    def _nav_pages(self) -> list[tuple[str, str]]:
        """The navigation bar's and the landing page's entries, ``(name, title)``:
        our dashboards and apps in the order they were registered, less those
        with ``nav=False``, then what remote producers published here, by name."""
        titles = self._titles()
        ours = [(n, titles[n]) for n, nav in list(self._pages.items()) if nav and n in titles]
        others = sorted((n, t) for n, t in titles.items() if n not in self._pages)
        return ours + others

    def _notify_session(self, doc: str, session: str, message: Notify) -> None:
        """A notification for one session of ``doc`` (``wb.session().notify``)."""
        self._to_hub(lambda hub: hub.notify_session(doc, session, message))

    # -- life cycle
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def url(self) -> str:
        """The hub's base URL: ``http://host:port/``, or ``<server><base_url>wsbridge/``."""
        return self.backend.url

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
        handoff = Handoff(loop)
        try:
            # writers batch while producer calls are queued (_more_input)
            self._port = self.backend.setup(loop, self._more_input)
        except BaseException as exc:
            failure.append(exc)
            started.set()
            handoff.close()
            loop.close()
            return
        self._loop, self._handoff = loop, handoff
        started.set()
        try:
            loop.run_forever()
        finally:
            handoff.close()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

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
            self._thread = self._loop = self._callbacks = self._port = None
            self._handoff = None

    def _start_shutdown(self, fut: concurrent.futures.Future[None]) -> None:
        """On the loop: shut the backend down and report to ``fut`` (``stop`` waits on it)."""

        def done(task: asyncio.Task[None]) -> None:
            if task.cancelled():
                fut.cancel()
            elif task.exception() is not None:
                fut.set_exception(task.exception())
            else:
                fut.set_result(None)

        asyncio.ensure_future(self.backend.shutdown()).add_done_callback(done)

    def __enter__(self) -> Bridge:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- documents
    def dashboard(
        self,
        name: str,
        root: Model | None = None,
        title: str | None = None,
        nav: bool = True,
        theme: Any = None,
    ) -> Dashboard:
        """A shared document, served at ``url + "d/" + name``.

        Calling it again with the same name replaces the dashboard: its
        viewers get the new one (a new epoch, so a fresh snapshot).
        ``theme``: ``"auto"`` (the default: each viewer's system),
        ``"light"``, ``"dark"``, a dict ``{"mode": ..., "accent": ...}`` or a
        ``wb.Theme`` (docs/theming.md).
        ``nav=False`` leaves it out of the navigation bar and the landing page.
        """
        if isinstance(name, str) and "~" in name:
            raise ValueError(f"'~' names the sessions of apps, not dashboards: {name!r:.80}")
        dash = Dashboard(name, root, title or name, nav=nav, theme=theme)
        stage = self._stage
        if stage is not None:  # --dev: published once the whole app file ran
            dash._bridge = self
            stage.dashboard(dash)
            return dash
        with self._lock:
            self._pages[name] = nav
            old = self.dashboards.get(name)
            if old is not None:
                old._release()
            self.dashboards[name] = dash
            dash._bridge = self
            if self.running:
                self._publish_dashboard(dash)
        return dash

    def _replace_documents(
        self,
        dashboards: dict[str, Dashboard],
        apps: dict[str, tuple[Factory, str, bool]],
        sessions: dict[str, Dashboard],
        pages: dict[str, bool],
    ) -> None:
        """``wsbridge serve --dev`` after a good run: serve exactly what it made.

        ``dashboards`` replace ours (each viewer gets the new document: a new
        epoch, so a fresh snapshot, on the same connection); dashboards the
        run did not make are removed (their viewers are told, close 1008).
        ``apps`` replace the apps; ``sessions`` are open app sessions rebuilt
        by the new factories (same names, so their pages stay connected), and
        the sessions of apps that are gone are closed. ``pages`` is the new
        order of the navigation bar.
        """
        removed: list[str] = []
        with self._lock:
            for name in [n for n in self.dashboards if n not in dashboards]:
                self.dashboards.pop(name)._release()
                removed.append(name)
            for name, dash in dashboards.items():
                old = self.dashboards.get(name)
                if old is not None:
                    old._release()
                self.dashboards[name] = dash
                dash._bridge = self
                if self.running:
                    self._publish_dashboard(dash)
            self.apps = {name: (factory, title) for name, (factory, title, _) in apps.items()}
            for name, dash in sessions.items():
                old = self._app_sessions.get(name)
                if old is None:  # its page left meanwhile: nobody to show it to
                    dash._release()
                    continue
                old._release()
                self._app_sessions[name] = dash
                dash._bridge = self
                if self.running:
                    self._publish_dashboard(dash, ephemeral=True)
            for name in [n for n in self._app_sessions if n.partition("~")[0] not in apps]:
                self._app_sessions.pop(name)._release()
                removed.append(name)
                self._threadsafe(self._app_closed, name)
            self._pages = dict(pages)
        for name in removed:
            self._to_hub(_remover(name))

    def _publish_dashboard(self, dash: Dashboard, ephemeral: bool = False) -> None:
        def create(spec: Add) -> None:
            producer, title = self._producer, dash.title
            self._to_hub(
                lambda hub: hub.create_document(dash.name, spec, producer, title, ephemeral)
            )

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
        if type(message) is Stream and handoff is not None and self.backend.batch_streams:
            key = (name, message.source, message.rollover, tuple(message.data))
            size = message_size(message)  # string columns count too
            handoff.batch(self._publish_batch, key, message, size, STREAM_BATCH_MAX_BYTES)
            return
        self._threadsafe(self._publish, name, message)

    def _publish(self, name: str, message: Message) -> None:
        """On the loop: publish one of our own (trusted) messages."""
        port = self._port
        if port is not None:
            port.publish(name, message, True)

    def _publish_batch(self, batch: Batch) -> None:
        """On the loop: publish a batch of streams (see ``_submit``)."""
        port = self._port
        if port is not None:
            port.publish_many(batch.key[0], batch.take(), True)

    def _more_input(self) -> bool:
        """Is a producer call queued next on the hand-off? (``Hub.more_input``:
        then the hub leaves the writes to the writers, which batch.)

        Only the next call is looked at, and a queued ``input_done`` (the
        callbacks thread's "done with this browser input", which publishes
        nothing) does not count: it always follows the patch a browser
        ``set`` caused, and counting it sent that patch to every other
        client through a writer turn each instead of directly, ~20 us per
        client on the hub's thread (docs/performance.md#direct-writes). A
        producer's burst has a publish next.
        """
        handoff = self._handoff
        if handoff is None:
            return False
        try:
            fn, _ = handoff.calls[0]
        except IndexError:
            return False
        return fn != self._input_done

    def _to_hub(self, op: Callable[[HubPort], object]) -> None:
        """Run ``op(port)`` on the hub's loop, after every earlier hand-off."""
        self._threadsafe(self._run_on_hub, op)

    def _run_on_hub(self, op: Callable[[HubPort], object]) -> None:
        port = self._port
        if port is not None:
            op(port)

    def _input_done(self, session: str) -> None:
        """On the loop: the callbacks thread is done with one input of ``session``."""
        port = self._port
        if port is not None:
            port.input_done(session)

    def _threadsafe(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the hub's loop, in order with every other hand-off."""
        handoff = self._handoff
        if handoff is not None:
            handoff(fn, *args)

    def _backplane_reset(self, name: str) -> None:
        """Redis lost ``name`` (flushed, restarted, lagging): publish it again.

        On the loop, like a remote hub's reconnection (``_republish``): a new
        epoch, so every viewer, on every hub, gets a fresh snapshot.
        """
        dash = self.dashboards.get(name)
        if dash is not None:
            self._publish_dashboard(dash)

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

    def _republish(self) -> None:
        """After a remote hub's reconnection: create every dashboard again from its state.

        Runs on the loop; it takes no bridge lock (``stop()`` holds that one
        while it waits for this loop), only each dashboard's producer lock.
        """
        for dash in list(self.dashboards.values()):
            self._publish_dashboard(dash)

    def _taken_over(self, name: str) -> None:
        """On the loop: a newer bridge of this kernel published dashboard ``name``
        (the notebook ran again). It is no longer ours: dropped, so a
        reconnection does not take it back. No bridge lock (see ``_republish``)."""
        dash = self.dashboards.pop(name, None)
        if dash is not None:
            dash._release()

    def call(self, fn: Callable[[Hub], Any], timeout: float = 5.0) -> Any:
        """Run ``fn(hub)`` on the hub's loop and return its result (diagnostics)."""
        if self._handoff is None:
            raise RuntimeError("the bridge is not started")
        if self.backend.hub is None:
            raise RuntimeError("the hub of this bridge runs in another process")
        result: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def run() -> None:  # in order with the changes queued before this call
            try:
                assert self.hub is not None
                result.set_result(fn(self.hub))
            except BaseException as exc:
                result.set_exception(exc)

        self._threadsafe(run)
        return result.result(timeout)


def _remover(name: str) -> Callable[[HubPort], None]:
    """``remove_document(name)`` for ``Bridge._to_hub``."""

    def remove(hub: HubPort) -> None:
        hub.remove_document(name, "removed from the app")

    return remove


#: the defaults of ``Bridge()``: with only these, ``hub="auto"`` may pick a Jupyter server's hub
_DEFAULTS = {
    name: param.default
    for name, param in inspect.signature(Bridge.__init__).parameters.items()
    if param.default is not inspect.Parameter.empty and name not in ("hub", "title")
}

#: what ``Bridge(**limits)`` may set: the plain limits of each config (not the
#: token, the callbacks, the clock or the secret, which the bridge owns)
_OWNED = {"token", "allow_origins", "allow_hosts", "bind_host", "peers", "clock", "session_secret"}
_HUB_LIMITS = {f.name for f in dataclasses.fields(HubConfig)} - _OWNED
_SERVER_LIMITS = {
    f.name for f in dataclasses.fields(ServerConfig) if not callable(f.default)
} - _OWNED


def _split_limits(limits: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``Bridge(**limits)`` to HubConfig's and ServerConfig's fields (a limit
    both enforce, such as ``max_message_size``, goes to both)."""
    unknown = sorted(set(limits) - _HUB_LIMITS - _SERVER_LIMITS)
    if unknown:
        known = ", ".join(sorted(_HUB_LIMITS | _SERVER_LIMITS))
        raise TypeError(f"Bridge() got unexpected keyword arguments {unknown}; limits are: {known}")
    hub = {k: v for k, v in limits.items() if k in _HUB_LIMITS}
    server = {k: v for k, v in limits.items() if k in _SERVER_LIMITS}
    return hub, server
