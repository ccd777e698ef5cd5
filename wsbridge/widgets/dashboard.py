"""A dashboard: the producer-side half of one document.

It owns the set of models and sources that make up the document (the root
layout and everything reachable from it through references, plus what
``add`` was given), listens to their changes and forwards them, in order, to
whatever hub publishes the document (an embedded hub today; a remote one for
Jupyter and Redis). When a layout gains a child that the document does not
hold yet, an ``add`` message goes out before the ``patch`` that refers to it,
so no client ever sees a dangling id.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from ..wire.messages import Add, Message, Notify, Patch
from . import sync as _sync
from .model import Model, _as_model
from .source import DataSource
from .theme import Theme

if TYPE_CHECKING:
    from .query import Query

__all__ = [
    "Dashboard",
    "Host",
    "Sink",
]

#: where a dashboard sends its messages: ``sink(doc_name, message)``
Sink = Callable[[str, Message], None]


class Host(Protocol):
    """What serves a dashboard, as the dashboard sees it (a ``Bridge``)."""

    @property
    def url(self) -> str: ...

    @property
    def running(self) -> bool: ...

    def page_url(self, path: str) -> str: ...

    def _notify_session(self, doc: str, session: str, message: Notify) -> None:
        """Send one session of ``doc`` a notification (not sequenced)."""
        ...


Member = Model | DataSource


class Dashboard:
    """One document of models and sources, shared by every viewer.

    Create it with ``bridge.dashboard(name, root, title=..., theme=...)``;
    it is served at ``<bridge.url>d/<name>``. ``nav=False`` leaves it out of
    the pages' navigation bar and the hub's landing page (it is still
    served). ``theme``: see :attr:`theme`.
    """

    def __init__(
        self,
        name: str,
        root: Model | None = None,
        title: str = "",
        nav: bool = True,
        theme: Any = None,
    ) -> None:
        if not isinstance(name, str):
            raise TypeError(f"dashboard name must be a str such as 'main', not {_given(name)}")
        if not name or "/" in name or len(name) > 128:
            raise ValueError(f"a dashboard name is 1-128 characters without '/', not {name!r:.80}")
        if title is not None and not isinstance(title, str):
            raise TypeError(f"dashboard title must be a str, not {_given(title)}")
        self.name = name
        self.title = title or name
        #: listed in the navigation bar and on the landing page
        self.nav = nav
        root = _as_model(root)  # an ipywidgets root becomes its mirror
        if root is not None and not isinstance(root, Model):
            raise TypeError(
                f"dashboard root must be a widget (wb.Column(...), wb.Slider(...), an "
                f"ipywidget or an anywidget), not {_given(root)}; to show text, give "
                f"wb.Markdown(...) or wb.Label(...)"
            )
        self.root = root
        self.members: dict[str, Member] = {}
        self._sink: Sink | None = None
        self._bridge: Host | None = None
        self._query: Query | None = None
        #: what ``query`` starts from: a per-session app's page query (runtime/apps.py)
        self._initial_query: Mapping[str, str] = {}
        self._theme = Theme.coerce(theme)
        with _sync.LOCK:
            if root is not None:
                self._adopt(root, [])
            if self._theme is not None:
                self._adopt(self._theme, [])

    def __repr__(self) -> str:
        return f"<Dashboard {self.name!r}: {len(self.members)} models and sources>"

    @property
    def url(self) -> str:
        """The page of this dashboard (needs a started bridge)."""
        if self._bridge is None:
            raise RuntimeError("this dashboard is not served by a bridge")
        return f"{self._bridge.url}{self.path}"

    @property
    def path(self) -> str:
        """The page's path below the hub's URL: ``d/<name>``, the name URL-encoded."""
        return "d/" + quote(self.name, safe="")

    def _repr_html_(self) -> str:
        if self._bridge is None or not self._bridge.running:
            return f"<code>{html.escape(repr(self))}</code>"
        from ..jupyter.display import embed_html

        return embed_html(self._bridge.page_url(self.path), self.title)

    @property
    def theme(self) -> Theme | None:
        """The dashboard's :class:`~wsbridge.Theme` (None: none given, pages
        follow the viewer's system). Assign ``"light"``, ``"dark"``,
        ``"auto"``, a dict ``{"mode": ..., "accent": ...}`` or a ``Theme``:
        every open page follows (docs/theming.md)."""
        return self._theme

    @theme.setter
    def theme(self, value: Any) -> None:
        new = Theme.coerce(value)
        if new is None:
            new = Theme()  # back to the defaults; the model stays in the document
        if self._theme is None:
            self._theme = new
            self.add(new)
        elif new is not self._theme:
            with self._theme.hold_trait_notifications():
                self._theme.mode = new.mode
                self._theme.accent = new.accent

    def add(self, obj: Member) -> Member:
        """Add a model or a data source (and what it refers to) to the document.

        An ipywidgets object is added as its native mirror, which is returned.
        """
        obj = _as_model(obj)
        if not isinstance(obj, (Model, DataSource)):
            raise TypeError(
                "dash.add() takes a widget (wb.Slider(...), an ipywidget...) or a "
                f"wb.DataSource, not {_given(obj)}"
            )
        with _sync.LOCK:
            added: list[Member] = []
            self._adopt(obj, added)
            if added and self._sink is not None:
                self._sink(self.name, self._add_message(added))
        return obj

    def get(self, member_id: str) -> Member | None:
        return self.members.get(member_id)

    @property
    def query(self) -> Query:
        """The URL query of this document's pages, a dict-like synced model
        (:class:`~wsbridge.widgets.query.Query`): shared by every viewer of a
        shared dashboard, the page's own in a per-session app (whose factory
        finds the page's query in it). Made, and added to the document, on
        first use: a dashboard that never reads it leaves addresses alone.
        """
        with _sync.LOCK:
            if self._query is None:
                from .query import Query

                self._query = Query(self._initial_query)
                self.add(self._query)
            return self._query

    def notify(self, text: str, level: str = "info", duration: float | None = 5.0) -> None:
        """A toast in the page of every viewer of this dashboard, now.

        ``level``: ``"info"``, ``"success"``, ``"warning"`` or ``"error"``
        (shown as ``role=status`` for the first two, ``role=alert`` for the
        others); ``duration``: seconds before it goes away by itself
        (``None``: until the viewer dismisses it). Text only, never HTML; at
        most 2,000 characters.

        Transient: not part of the document, so a viewer who opens the page
        later does not get it; a viewer who reconnects within the hub's
        resume window gets the ones it missed, for what is left of their
        duration (docs/daily-use.md "Notifications"). From a callback, to
        the viewer who triggered it only: ``wb.session().notify(...)``.
        Does nothing while the dashboard is not served.
        """
        self._notify(text, level, duration)

    def _notify(
        self, text: str, level: str, duration: float | None, session: str | None = None
    ) -> None:
        message = Notify(
            text=text, level=level, duration=duration, time=time.time() * 1000.0, seq=0
        )  # checks the arguments (ProtocolError is a ValueError)
        with _sync.LOCK:  # in order with the changes made before it
            if session is None:
                if self._sink is not None:
                    self._sink(self.name, message)
            elif self._sink is not None and self._bridge is not None:
                self._bridge._notify_session(self.name, session, message)

    # -- internals (all under _sync.LOCK)
    def _adopt(self, obj: Member, added: list[Member]) -> None:
        """Register ``obj`` and everything it references; list the new ones."""
        stack = [obj]
        while stack:
            item = stack.pop()
            if item.id in self.members:
                continue
            self.members[item.id] = item
            added.append(item)
            item._listeners.append(self._on_change)
            if isinstance(item, Model):
                stack.extend(item.references())

    def _add_message(self, added: list[Member]) -> Add:
        models, sources = {}, {}
        for item in added:
            if isinstance(item, Model):
                models[item.id] = item._spec()
            else:
                sources[item.id] = item._spec()
        return Add(seq=0, models=models, sources=sources)

    def _on_change(self, obj: Member, message: Message) -> None:
        if self._sink is None:
            return
        if isinstance(message, Patch) and isinstance(obj, Model):
            refs = set(obj._ref_names()) & set(message.state)
            if refs:
                added: list[Member] = []
                for ref in obj.references():
                    self._adopt(ref, added)
                if added:
                    self._sink(self.name, self._add_message(added))
        self._sink(self.name, message)

    def _full_spec(self) -> Add:
        """The whole document as one ``add`` (the hub's starting state)."""
        message = self._add_message(list(self.members.values()))
        return Add(
            seq=0,
            models=message.models,
            sources=message.sources,
            root=self.root.id if self.root is not None else None,
            title=self.title,
        )

    def _attach(self, bridge: Host, sink: Sink, create: Callable[[Add], None]) -> None:
        """Start forwarding to ``sink``; ``create`` gets the starting spec first.

        Both happen under the producer lock, so no change can slip between
        the spec and the first forwarded message.
        """
        with _sync.LOCK:
            self._bridge = bridge
            self._sink = sink
            create(self._full_spec())

    def _detach(self) -> None:
        """Stop forwarding (the bridge stopped); the members keep their state."""
        with _sync.LOCK:
            self._sink = None

    def _release(self) -> None:
        """Forget the members' listeners (the dashboard was replaced)."""
        with _sync.LOCK:
            self._sink = None
            for item in self.members.values():
                try:
                    item._listeners.remove(self._on_change)
                except ValueError:
                    pass


def _given(value: object) -> str:
    """``value`` named for an error message: its type and a clipped repr."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"
