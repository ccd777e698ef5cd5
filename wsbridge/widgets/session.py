"""``wb.session()``: the viewer whose input a callback is handling.

A shared dashboard has many viewers; ``dash.notify(...)`` reaches all of
them. Inside a callback that a browser's input triggered (a traitlets
observer of a value the browser set, a ``Button.on_click`` handler, an
``on_msg`` handler), ``wb.session()`` is that browser's session, so
``wb.session().notify("saved")`` reaches that viewer only.

Why a function rather than an argument of the callback: observers keep
traitlets' own signature (``cb(change)``) and click handlers theirs
(``cb(button, data)``), and the same observer also fires for changes made in
Python, where there is no viewer: ``wb.session()`` is then ``None``. The
callbacks thread sets it around each browser input (``runtime/input.py``,
a context variable), as Streamlit and Panel keep their session implicit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import sync as _sync

if TYPE_CHECKING:
    from .dashboard import Dashboard
    from .query import Query

__all__ = ["Session", "session"]


class Session:
    """One browser session of a document: its page's connection."""

    __slots__ = ("dashboard", "id")

    def __init__(self, dashboard: Dashboard, id: str) -> None:
        #: the document the session views (a per-session app's own, or a shared dashboard)
        self.dashboard = dashboard
        #: the session's id, as the hub names it (``welcome.session``)
        self.id = id

    def __repr__(self) -> str:
        return f"<Session {self.id} of {self.dashboard.name!r}>"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Session) and other.id == self.id and other.dashboard is self.dashboard
        )

    def __hash__(self) -> int:
        return hash((self.id, id(self.dashboard)))

    @property
    def query(self) -> Query:
        """The document's ``query`` (a per-session app's is its page's own)."""
        return self.dashboard.query

    def notify(self, text: str, level: str = "info", duration: float | None = 5.0) -> None:
        """A toast in this viewer's page only (see ``Dashboard.notify``).

        Transient: a viewer whose connection dropped meanwhile does not get
        it (a reconnection is a new session), unlike a dashboard-wide one.
        """
        self.dashboard._notify(text, level, duration, session=self.id)


def session() -> Session | None:
    """The browser session whose input this callback is handling, else None.

    ``None`` outside a callback, and in one that a change made in Python
    triggered (no browser asked for it).
    """
    current = _sync.SESSION.get()
    if current is None:
        return None
    dashboard, sid = current
    return Session(dashboard, sid)
