"""Layout widgets: rows, columns, grids, tabs and cards that hold other widgets."""

from __future__ import annotations

from typing import Any

import traitlets
from traitlets import (
    Bool,
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
    """Children in ``columns`` equal columns, ``gap`` (a CSS length) apart.

    On a narrow screen (under 600 px) the page stylesheet stacks them.
    """

    _type = "Grid"
    columns = Int(2, min=1, max=24).tag(sync=True)
    gap = Unicode("0.75em").tag(sync=True)


class Tabs(_Box):
    """One child at a time, chosen by titled tabs (WAI-ARIA tabs pattern).

    ``titles[i]`` names ``children[i]`` ("Tab i+1" when missing).
    ``selected`` (the shown child's index) is set by the browser and kept
    within the children.
    """

    _type = "Tabs"
    _client_settable = frozenset({"selected"})
    titles = List(Unicode()).tag(sync=True)
    selected = Int(0).tag(sync=True)

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
    """Children under a title; ``collapsible`` lets the viewer fold it.

    ``collapsed`` is set by the browser (when ``collapsible``) or by Python;
    a Card that is not collapsible always shows its children.
    """

    _type = "Card"
    _client_settable = frozenset({"collapsed"})
    title = Unicode("").tag(sync=True)
    collapsed = Bool(False).tag(sync=True)
    collapsible = Bool(True).tag(sync=True)

    def _client_value(self, name: str, value: Any) -> Any:
        if name == "collapsed" and not self.collapsible:
            raise traitlets.TraitError("this Card is not collapsible")
        return super()._client_value(name, value)
