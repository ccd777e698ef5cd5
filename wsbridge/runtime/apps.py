"""Per-session apps of a bridge: each page gets its own document, built when it joins.

``bridge.app(name, factory)`` registers an app; a page load only names a new
session ``<app>~<id>`` (nothing is built, so loading pages costs the hub
nothing); the first ``hello`` carrying that page's key makes the hub ask
for it (``HubHooks.open_document``), and the factory runs on the callbacks
thread. Sessions are capped per client address and in all
(docs/security.md). :class:`AppHosting` is a base of
:class:`~wsbridge.runtime.bridge.Bridge`, which holds the state it uses.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import ProtocolError
from ..hub.hub import Hub
from ..logs import log_limited
from ..widgets.dashboard import Dashboard
from ..widgets.model import Model, _as_model
from ..widgets.theme import Theme
from ..wire.messages import Notify
from .handoff import Worker

if TYPE_CHECKING:
    from .bridge import HubBackend

__all__ = ["AppHosting", "Factory", "Staging"]

log = logging.getLogger("wsbridge.bridge")

#: a per-session app's factory: ``factory(dash)`` builds the session's document
Factory = Callable[[Dashboard], Any]


class Staging(Protocol):
    """Where ``bridge.dashboard`` and ``bridge.app`` put what they register
    while ``wsbridge serve --dev`` runs the app file (``runtime/devserver.py``):
    published only once the whole run succeeded, so a failing run leaves the
    previous version serving."""

    def dashboard(self, dash: Dashboard) -> None: ...

    def app(self, name: str, factory: Factory, title: str, nav: bool) -> None: ...


class AppHosting:
    """Per-session apps; the bridge's lock, loop and callbacks thread are its own."""

    #: per-session apps: name -> (factory, title); see :meth:`app`
    apps: dict[str, tuple[Factory, str]]
    #: called (on the callbacks thread) with the app's name and the exception
    #: when a factory raises (``wsbridge serve --dev`` shows it in the pages)
    _on_app_error: Callable[[str, BaseException], None] | None
    #: per-session apps' themes (``app(..., theme=...)``), shared by their sessions
    _app_themes: dict[str, Theme]
    _app_sessions: dict[str, Dashboard]
    #: per-session app documents built or being built -> the client address
    #: that opened each, and how many per address (on the loop)
    _app_owners: dict[str, str]
    _app_per_address: Counter[str]
    max_app_sessions: int
    max_app_sessions_per_address: int

    if TYPE_CHECKING:  # defined by Bridge
        _lock: threading.RLock
        _callbacks: Worker | None
        backend: HubBackend
        _pages: dict[str, bool]
        _stage: Staging | None

        @property
        def hub(self) -> Hub | None: ...

        @property
        def url(self) -> str: ...

        @property
        def running(self) -> bool: ...

        def page_url(self, path: str) -> str: ...

        def _publish_dashboard(self, dash: Dashboard, ephemeral: bool = False) -> None: ...

        def _threadsafe(self, fn: Callable[..., Any], *args: Any) -> None: ...

        def _notify_session(self, doc: str, session: str, message: Notify) -> None: ...

    def _init_apps(self, max_app_sessions: int, max_app_sessions_per_address: int) -> None:
        if max_app_sessions < 1 or max_app_sessions_per_address < 1:
            raise ValueError("max_app_sessions and max_app_sessions_per_address must be >= 1")
        self.apps = {}
        self._app_themes = {}
        self._app_sessions = {}
        self._app_owners = {}
        self._app_per_address = Counter()
        self.max_app_sessions = max_app_sessions
        self.max_app_sessions_per_address = max_app_sessions_per_address
        self._on_app_error = None

    def app(
        self,
        name: str,
        factory: Factory,
        title: str | None = None,
        nav: bool = True,
        theme: Any = None,
    ) -> None:
        """A per-session app at ``url + "d/" + name``: each page load gets its own
        document, built by ``factory(dash)`` (which may return the root layout)
        when the page's WebSocket joins it. ``dash.query`` holds the page's
        address query by then (strings, bounded), so a bookmarked address
        builds the same view; what the app sets there shows in that page's
        address. ``nav=False`` leaves it out of the navigation bar and the
        landing page.

        Every viewer has their own state, as with Bokeh's and Panel's
        sessions, and only the page that opened a session can join it (the
        key it carries). A session whose browser left is freed after
        ``session_grace`` seconds (a reconnect within it resumes). Sessions
        are capped per client address (``max_app_sessions_per_address``)
        and in all (``max_app_sessions``): past them a page's connection is
        refused with ``too_many_clients`` (1013) and retries.
        ``theme``: as for ``dashboard`` (docs/theming.md); one ``Theme``
        shared by every session, so changing it reaches them all.
        """
        Dashboard(name)  # validates the name
        if "~" in name:
            raise ValueError("an app name cannot contain '~' (it names its sessions)")
        themed = Theme.coerce(theme)
        with self._lock:  # kept apart from staging: a re-run keeps the app's name
            if themed is not None:
                self._app_themes[name] = themed
            else:
                self._app_themes.pop(name, None)
        stage = self._stage
        if stage is not None:  # --dev: registered once the whole app file ran
            stage.app(name, factory, title or name, nav)
            return
        with self._lock:
            self.apps[name] = (factory, title or name)
            self._pages[name] = nav

    def _open_app(self, name: str) -> str | None:
        """For the page handler: a new session's document name for app ``name``
        (None: no such app). Nothing is built yet (:meth:`_join_app` does, when
        the page joins), so loading pages costs the hub nothing."""
        if name not in self.apps and name not in self.backend.followed_apps():
            return None  # neither ours nor offered through the backplane we follow
        return f"{name}~{secrets.token_urlsafe(12)}"

    def _join_app(self, name: str, address: str, query: dict[str, str] | None = None) -> bool:
        """On the loop (``HubHooks.open_document``): a page with its key joins
        session ``name`` the hub does not have; build it on the callbacks thread.

        False when ``name`` is no session of an app; ``ProtocolError``
        (``too_many_clients``) past the caps. Takes no bridge lock: ``stop()``
        holds it while it waits for this loop.
        """
        app, sep, _ = name.partition("~")
        callbacks = self._callbacks
        if not sep or app not in self.apps or callbacks is None:
            return False
        if name in self._app_owners:  # built or being built: the hub gets it when published
            return True
        if len(self._app_owners) >= self.max_app_sessions:
            raise ProtocolError(
                "too_many_clients", "this hub has too many app sessions; retry later"
            )
        if self._app_per_address[address] >= self.max_app_sessions_per_address:
            raise ProtocolError(
                "too_many_clients", "too many app sessions from this address; retry later"
            )
        self._app_owners[name] = address
        self._app_per_address[address] += 1
        try:
            callbacks.call(self._new_app_session, app, name, query)
        except RuntimeError:  # shut down meanwhile
            self._app_closed(name)
            return False
        return True

    @staticmethod
    def _build_app(
        app: str,
        factory: Factory,
        name: str,
        title: str,
        query: dict[str, str] | None,
        theme: Theme | None = None,
    ) -> Dashboard:
        """Session ``name`` of ``app``, built by its factory (which may raise)."""
        dash = Dashboard(name, title=title, theme=theme)
        dash._initial_query = dict(query or {})
        try:
            root = _as_model(factory(dash))  # an ipywidgets root becomes its mirror
            if isinstance(root, Model):
                dash.root = root
                dash.add(root)
            elif dash.root is None:
                raise TypeError(f"the factory of app {app!r} must return its root layout (a Model)")
        except BaseException:
            dash._release()
            raise
        return dash

    def _new_app_session(self, app: str, name: str, query: dict[str, str] | None = None) -> None:
        # on the callbacks thread: user code must not run on the hub's loop
        entry = self.apps.get(app)
        try:
            if entry is None:  # removed meanwhile (wsbridge serve --dev)
                raise LookupError(f"app {app!r} is gone")
            dash = self._build_app(app, entry[0], name, entry[1], query, self._app_themes.get(app))
        except Exception as exc:
            log_limited(
                log, logging.ERROR, f"app {app}", "app %r failed to start", app, exc_info=exc
            )
            hook = self._on_app_error
            if hook is not None:
                hook(app, exc)
            self._threadsafe(self._app_failed, name)
            return
        with self._lock:
            self._app_sessions[dash.name] = dash
            dash._bridge = self
            self._publish_dashboard(dash, ephemeral=True)

    def _app_failed(self, name: str) -> None:
        """On the loop: the factory of session ``name`` raised; refuse its page."""
        self._app_closed(name)
        hub = self.hub
        if hub is not None:
            hub.open_failed(name, "the app failed to start")
        self.backend.app_open_failed(name, "the app failed to start")

    def _app_closed(self, name: str) -> None:
        """On the loop: session ``name`` is gone (freed by the hub, or never built)."""
        address = self._app_owners.pop(name, None)
        if address is not None:
            self._app_per_address[address] -= 1
            if self._app_per_address[address] <= 0:
                del self._app_per_address[address]
