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
from typing import TYPE_CHECKING, Any

from ..errors import ProtocolError
from ..hub.hub import Hub
from ..logs import log_limited
from ..widgets.dashboard import Dashboard
from ..widgets.model import Model, _as_model
from ..widgets.theme import Theme
from .handoff import Worker

__all__ = ["AppHosting"]

log = logging.getLogger("wsbridge.bridge")


class AppHosting:
    """Per-session apps; the bridge's lock, loop and callbacks thread are its own."""

    #: per-session apps: name -> (factory, title); see :meth:`app`
    apps: dict[str, tuple[Callable[[Dashboard], Any], str]]
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

        @property
        def hub(self) -> Hub | None: ...

        @property
        def url(self) -> str: ...

        @property
        def running(self) -> bool: ...

        def page_url(self, path: str) -> str: ...

        def _publish_dashboard(self, dash: Dashboard, ephemeral: bool = False) -> None: ...

        def _threadsafe(self, fn: Callable[..., Any], *args: Any) -> None: ...

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

    def app(
        self,
        name: str,
        factory: Callable[[Dashboard], Any],
        title: str | None = None,
        theme: Any = None,
    ) -> None:
        """A per-session app at ``url + "d/" + name``: each page load gets its own
        document, built by ``factory(dash)`` (which may return the root layout)
        when the page's WebSocket joins it.

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
        with self._lock:
            self.apps[name] = (factory, title or name)
            if themed is not None:
                self._app_themes[name] = themed
            else:
                self._app_themes.pop(name, None)

    def _open_app(self, name: str) -> str | None:
        """For the page handler: a new session's document name for app ``name``
        (None: no such app). Nothing is built yet (:meth:`_join_app` does, when
        the page joins), so loading pages costs the hub nothing."""
        if name not in self.apps:
            return None
        return f"{name}~{secrets.token_urlsafe(12)}"

    def _join_app(self, name: str, address: str) -> bool:
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
            callbacks.call(self._new_app_session, app, name)
        except RuntimeError:  # shut down meanwhile
            self._app_closed(name)
            return False
        return True

    def _new_app_session(self, app: str, name: str) -> None:
        # on the callbacks thread: user code must not run on the hub's loop
        factory, title = self.apps[app]
        dash = Dashboard(name, title=title, theme=self._app_themes.get(app))
        try:
            root = _as_model(factory(dash))  # an ipywidgets root becomes its mirror
            if isinstance(root, Model):
                dash.root = root
                dash.add(root)
            elif dash.root is None:
                raise TypeError(f"the factory of app {app!r} must return its root layout (a Model)")
        except Exception as exc:
            log_limited(
                log, logging.ERROR, f"app {app}", "app %r failed to start", app, exc_info=exc
            )
            dash._release()
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

    def _app_closed(self, name: str) -> None:
        """On the loop: session ``name`` is gone (freed by the hub, or never built)."""
        address = self._app_owners.pop(name, None)
        if address is not None:
            self._app_per_address[address] -= 1
            if self._app_per_address[address] <= 0:
                del self._app_per_address[address]
