"""ipywidgets ``layout`` and ``style`` on the mirrors: which CSS travels, checked.

A mirror model made by :func:`styled` carries two more properties:

- ``_layout``: CSS for the view's root element, from the widget's
  ``Layout`` (``width``, ``height``, min/max sizes, ``margin``,
  ``padding``, borders, ``display``, flex and grid properties,
  ``visibility``...), keyed by CSS property name (``min-width``);
- ``_style``: the widget's ``style`` attributes that wsbridge applies
  (``description_width``, ``button_color``, ``bar_color``,
  ``handle_color``, ``text_color``, ``background``, ``font_*``...) plus its
  ``button_style``/``bar_style``/``box_style``, keyed by their ipywidgets
  names; js/src/views/styles.js puts each on the element it styles.

Both follow the ``Layout``/``Style`` objects live (:mod:`.ipywidgets`
observes them). CSS values are strings from Python, so they are checked
here and again in the browser: a property outside the allow-list, or a
value with anything but plain CSS tokens (no ``url(...)``, no ``;``, ``{``,
``}``, ``\\``, ``!``, comments, or functions beyond ``calc``, ``min``, ``max``,
``clamp``, ``rgb(a)``, ``hsl(a)``, ``repeat``, ``minmax``, ``fit-content``
and ``var``), is dropped and logged once.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, TypeVar

from traitlets import Dict

from ..logs import log_limited
from .model import Model

if TYPE_CHECKING:
    from .ipymap import Bind

__all__ = ["LAYOUT", "STYLE", "layout_css", "safe_css", "style_binds", "style_css", "styled"]

log = logging.getLogger(__name__)

#: ipywidgets Layout trait -> CSS property (the allow-list)
LAYOUT: dict[str, str] = {
    name: name.replace("_", "-")
    for name in (
        "width height min_width max_width min_height max_height margin padding "
        "border_top border_right border_bottom border_left display flex flex_flow "
        "align_items align_content align_self justify_content justify_items overflow "
        "order visibility top right bottom left object_fit object_position "
        "grid_area grid_row grid_column grid_template_columns grid_template_rows "
        "grid_template_areas grid_auto_columns grid_auto_rows grid_auto_flow"
    ).split()
}
LAYOUT["grid_gap"] = "gap"

#: the ``style`` attributes applied (ipywidgets names; styles.js says where)
STYLE = frozenset(
    "description_width button_color bar_color handle_color text_color background "
    "font_weight font_size font_family font_style font_variant text_decoration".split()
)
#: widget traits naming a predefined look
_LOOKS = ("button_style", "bar_style", "box_style")
_LOOK_VALUES = frozenset({"primary", "success", "info", "warning", "danger"})

_MAX_VALUE = 200
_TOKENS = re.compile(r"[A-Za-z0-9\s#%.,()+\-*/\"'_]*", re.ASCII)
_FUNCTION = re.compile(r"([A-Za-z_-][A-Za-z0-9_-]*)\s*\(", re.ASCII)
_FUNCTIONS = frozenset("calc min max clamp rgb rgba hsl hsla repeat minmax fit-content var".split())


def safe_css(value: Any) -> bool:
    """Whether ``value`` is a CSS value wsbridge lets through (the module docstring)."""
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_VALUE:
        return False
    if not _TOKENS.fullmatch(value) or "/*" in value:
        return False
    return all(name.lower() in _FUNCTIONS for name in _FUNCTION.findall(value))


def _keep(where: str, value: Any) -> bool:
    if safe_css(value):
        return True
    log_limited(
        log, logging.WARNING, f"css {where}", "ipywidgets %s: CSS value %.60r refused", where, value
    )
    return False


def layout_css(widget: Any) -> dict[str, str]:
    """The widget's ``Layout`` as checked CSS (``{}`` without one)."""
    layout = getattr(widget, "layout", None)
    out: dict[str, str] = {}
    if layout is None:
        return out
    for name, prop in LAYOUT.items():
        value = getattr(layout, name, None)
        if value is not None and value != "" and _keep(f"layout.{name}", value):
            out[prop] = str(value)
    return out


def style_css(widget: Any) -> dict[str, str]:
    """The widget's applied ``style`` attributes and look, checked."""
    out: dict[str, str] = {}
    style = getattr(widget, "style", None)
    if style is not None and hasattr(style, "has_trait"):
        for name in sorted(STYLE):
            value = getattr(style, name, None) if style.has_trait(name) else None
            if value is not None and value != "" and _keep(f"style.{name}", value):
                out[name] = str(value)
    for name in _LOOKS:
        value = getattr(widget, name, None) if widget.has_trait(name) else None
        if value in _LOOK_VALUES:
            out[name] = str(value)
    return out


def style_binds() -> list[Bind]:
    """The bindings of ``_layout`` and ``_style`` (the ipywidget's ``layout``
    and ``style`` objects are observed by the mirror, see ``_Mirror``)."""
    from .ipymap import Bind

    return [
        Bind("_layout", ("layout",), layout_css),
        Bind("_style", ("style", *_LOOKS), style_css),
    ]


_STYLED: dict[type, type] = {}
M = TypeVar("M", bound=Model)


def styled(cls: type[M]) -> type[M]:
    """``cls`` with the ``_layout`` and ``_style`` properties (one subclass per class)."""
    sub = _STYLED.get(cls)
    if sub is None:
        attrs = {
            "__module__": cls.__module__,
            "__qualname__": cls.__qualname__,
            "__doc__": cls.__doc__,
            "_layout": Dict().tag(sync=True),
            "_style": Dict().tag(sync=True),
        }
        sub = _STYLED[cls] = type(cls.__name__, (cls,), attrs)
    return sub
