"""Layout widgets: rows, columns, grids, tabs and cards that hold other widgets."""

from __future__ import annotations

import math
from typing import Any

import traitlets
from traitlets import (
    Bool,
    Float,
    Instance,
    Int,
    List,
    Unicode,
    validate,
)

from .model import Model, _as_model

__all__ = [
    "Card",
    "Column",
    "Grid",
    "Row",
    "Tabs",
]


class _Child(Instance):  # type: ignore[type-arg]
    """A layout's child: a Model, or an ipywidget (stored as its mirror)."""

    def validate(self, obj: Any, value: Any) -> Any:
        return super().validate(obj, _as_model(value))


class _Box(Model):
    _client_settable = frozenset()
    children = List(_Child(Model)).tag(sync=True, ref=True)

    def __init__(self, *children: Model, **kwargs: Any) -> None:
        if children:
            kwargs["children"] = list(children)
        super().__init__(**kwargs)


class Column(_Box):
    """Children stacked vertically. ``Column(a, b)`` or ``Column(children=[...])``."""

    _type = "Column"


class Row(_Box):
    """Children side by side."""

    _type = "Row"


class Grid(_Box):
    """Children in ``columns`` equal columns, ``gap`` (a CSS length; ``""``:
    the page's spacing, ``--wsbridge-gap``) apart.

    ``widths``: relative column widths instead, e.g. ``[3, 1]`` for a wide
    column and a narrow one (``columns`` is then their number). On a narrow
    screen (under 720 px) the page stylesheet stacks the columns (grids of 3
    or more columns keep 2).
    """

    _type = "Grid"
    columns = Int(2, min=1, max=24).tag(sync=True)
    widths = List(Float(), maxlen=24).tag(sync=True)
    gap = Unicode("").tag(sync=True)

    def __init__(self, *children: Model, **kwargs: Any) -> None:
        super().__init__(*children, **kwargs)
        if self.widths:
            self.columns = len(self.widths)

    @validate("widths")
    def _positive_widths(self, proposal: Any) -> list[float]:
        widths = [float(w) for w in proposal["value"]]
        if any(not (math.isfinite(w) and w > 0) for w in widths):
            raise traitlets.TraitError(f"Grid widths must be positive numbers, not {widths}")
        return widths

    def _synced_change(self, name: str) -> None:
        if name == "widths" and self.widths:
            self.columns = len(self.widths)


class Tabs(_Box):
    """One child at a time, chosen by titled tabs (WAI-ARIA tabs pattern).

    ``titles[i]`` names ``children[i]`` ("Tab i+1" when missing).
    ``selected`` is the shown child's index, kept within the children.

    Each viewer chooses their own tab: a click switches that page only,
    and is kept by it (through reconnections and reloads, in the tab's
    ``sessionStorage``) without reaching Python. ``selected`` set from
    Python is the tab every page shows until its viewer picks another
    (and setting it again moves every page). ``shared=True``: one tab for
    everyone, a click sets ``selected`` in Python and every page follows.
    """

    _type = "Tabs"
    _client_settable = frozenset({"selected"})
    titles = List(Unicode()).tag(sync=True)
    selected = Int(0).tag(sync=True)
    shared = Bool(False).tag(sync=True)

    def _client_value(self, name: str, value: Any) -> Any:
        if name == "selected" and not self.shared:
            raise traitlets.TraitError("this Tabs' tab is chosen per viewer (shared=False)")
        return super()._client_value(name, value)

    @validate("selected")
    def _in_range(self, proposal: Any) -> int:
        value = proposal["value"]
        if isinstance(value, bool) or not isinstance(value, int):
            raise traitlets.TraitError(f"Tabs selected must be an int, not {value!r}")
        return max(0, min(value, len(self.children) - 1))

    def _synced_change(self, name: str) -> None:
        if name == "children":
            self.selected = self.selected  # re-clamp


class Card(_Box):
    """Children under a title, on a panel; ``collapsible`` lets the viewer fold it.

    Folding is per viewer, as a :class:`Tabs`' tab is: a click folds that
    page's card only (kept through reconnections and reloads) and Python's
    ``collapsed`` is what every page shows until its viewer folds or opens
    it. ``shared=True``: a click sets ``collapsed`` in Python and every
    page follows. A Card that is not collapsible always shows its children.
    """

    _type = "Card"
    _client_settable = frozenset({"collapsed"})
    title = Unicode("").tag(sync=True)
    collapsed = Bool(False).tag(sync=True)
    collapsible = Bool(True).tag(sync=True)
    shared = Bool(False).tag(sync=True)

    def _client_value(self, name: str, value: Any) -> Any:
        if name == "collapsed" and not self.collapsible:
            raise traitlets.TraitError("this Card is not collapsible")
        if name == "collapsed" and not self.shared:
            raise traitlets.TraitError("this Card is folded per viewer (shared=False)")
        return super()._client_value(name, value)
