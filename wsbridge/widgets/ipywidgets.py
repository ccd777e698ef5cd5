"""ipywidgets mirroring: an ipywidgets object shown by a native wsbridge view.

Give an ipywidgets control or box anywhere a wsbridge widget is accepted (a
layout's ``children``, ``bridge.dashboard(name, root)``, ``dash.add``) and
wsbridge puts its *mirror* there: the matching native model (an
``IntSlider`` becomes a :class:`~wsbridge.Slider`, a ``VBox`` a
:class:`~wsbridge.Column`...), kept in two-way sync with the ipywidget:

- a browser's change reaches the ipywidget, so its observers fire as in
  Jupyter, and a ``Button`` click calls its ``on_click`` handlers;
- a Python change to the ipywidget (value, bounds, description, options,
  children...) reaches every browser.

Why mirror rather than speak the Jupyter widget protocol: the browser then
needs no Jupyter front end, and the mirror is an ordinary wsbridge model,
so it gets our validation, coalescing, replay and accessibility for free.

The ipywidget is the source of truth. A value the browser sends goes to the
ipywidget, and whatever the ipywidget makes of it (an ``IntSlider`` rounds
3.7 to 4, a ``BoundedIntText`` clamps) comes back to the mirror and so to
every browser. If the ipywidget refuses it, the mirror snaps back and the
error reaches the browser like any refused ``set``.

Echo loops are cut by a per-thread "busy" flag on each mirror: while the
mirror copies one side to the other it ignores the changes that copy causes
on the other side, then re-reads the ipywidget once. The flag is
per thread so that a genuine change made concurrently by another thread is
never mistaken for an echo.

Choices worth knowing:

- Selections (``Dropdown``, ``RadioButtons``, ``Select``, ``ToggleButtons``,
  ``SelectMultiple``) travel by *index*: option values may be any Python
  object, which JSON could not carry. A ``Dropdown`` with no selection
  (``index=None``) shows its first option until the viewer picks one.
- ``Textarea`` is mirrored by a multi-line :class:`~wsbridge.TextInput`
  (``rows`` > 1: a ``textarea``, its line breaks kept both ways).
- ``Accordion`` becomes a :class:`~wsbridge.Column` of collapsible
  :class:`~wsbridge.Card` s, one per child: it keeps what makes an accordion
  (every section's title visible, at most one open, all may be closed),
  which :class:`~wsbridge.Tabs` would lose. Opening a card sets
  ``selected_index``; closing the open one sets it to ``None``.
- ``Box`` is mirrored as a :class:`~wsbridge.Row` (a CSS flex box runs in a
  row), ``GridBox`` as a :class:`~wsbridge.Grid` whose column count comes
  from ``layout.grid_template_columns`` when it is a simple list or
  ``repeat(n, ...)`` (else 2), read when the mirror is made or the
  ``layout`` object is replaced.
- ``layout`` and ``style`` are not mirrored; the native look applies.
- Anything else (``ColorPicker``, ``Output``, ``Password``, third-party
  widgets...) shows a :class:`~wsbridge.Label` placeholder
  ``"unsupported ipywidget: <class>"``: never a crash.

Mirrors are cached on the ipywidget object itself (one model per ipywidget,
however many places show it), so a widget and its mirror are garbage
collected together. ipywidgets is imported only when a mirror is made: it
is an optional dependency.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import traitlets

from .controls import (
    Button,
    MultiSelect,
    NumberInput,
    RangeSlider,
    Select,
    Slider,
    TextInput,
    Toggle,
)
from .display import HTML, Label, Progress
from .layout import Card, Column, Grid, Row, Tabs
from .model import Model

__all__ = [
    "is_ipywidget",
    "mirror",
    "mirrored",
    "supported",
]

log = logging.getLogger(__name__)

_ATTR = "_wsbridge_mirror"  # where a widget keeps its mirror
_LOCK = threading.RLock()  # one mirror per widget, even from two threads


# ---------------------------------------------------------------------------
# bindings: one model trait, computed from ipywidget traits, maybe written back


@dataclass(frozen=True)
class _Bind:
    """Model trait ``target`` = ``get(widget)``, recomputed when any of the
    widget's ``sources`` traits change; ``put(widget, value)`` writes a
    model change back (``None``: the trait follows the ipywidget only)."""

    target: str
    sources: tuple[str, ...]
    get: Callable[[Any], Any]
    put: Callable[[Any, Any], None] | None = None


def _same(target: str, source: str, *, back: bool = True) -> _Bind:
    """The model trait ``target`` is the widget's ``source`` trait as is."""

    def put(widget: Any, value: Any) -> None:
        setattr(widget, source, value)

    return _Bind(target, (source,), lambda w: getattr(w, source), put if back else None)


def _number(target: str, source: str, *, integer: bool, back: bool = True) -> _Bind:
    """A number: a float on the model, an int again on an Int* ipywidget
    (so ``IntSlider.value`` stays an ``int`` on the Python side)."""

    def get(widget: Any) -> Any:
        value = getattr(widget, source)
        return None if value is None else float(value)

    def put(widget: Any, value: Any) -> None:
        if integer and value is not None:
            value = round(value)
        setattr(widget, source, value)

    return _Bind(target, (source,), get, put if back else None)


_LABEL = _same("label", "description")
_DISABLED = _same("disabled", "disabled")


def _is_int(widget: Any) -> bool:
    """An Int* widget (IntSlider, IntText, IntRangeSlider...): its values are ints."""
    return any(cls.__name__ in ("_Int", "_IntRange") for cls in type(widget).__mro__)


def _step(widget: Any) -> float:
    """A slider's step; ipywidgets allows ``None`` ("any"), our sliders need > 0."""
    step = widget.step
    if step is None or not step > 0:
        span = float(widget.max - widget.min)
        return span / 1000 if span > 0 else 1.0
    return float(step)


def _labels(widget: Any) -> dict[str, int]:
    """A selection's options as ``{label: index}``, labels made unique (a
    dict cannot hold "a" twice; the second becomes "a (2)")."""
    out: dict[str, int] = {}
    for i, label in enumerate(widget._options_labels):
        key, n = str(label), 2
        while key in out:
            key, n = f"{label} ({n})", n + 1
        out[key] = i
    return out


def _children(widget: Any) -> list[Model]:
    return [mirror(child) for child in widget.children]


# ---------------------------------------------------------------------------
# one builder per family: widget -> (model, bindings)

Built = tuple[Model, list[_Bind]]


def _slider(widget: Any) -> Built:
    integer = _is_int(widget)
    binds = [
        _number("min", "min", integer=integer),
        _number("max", "max", integer=integer),
        _Bind("step", ("step", "min", "max"), _step),
        _number("value", "value", integer=integer),
        _LABEL,
        _DISABLED,
    ]
    return Slider(), binds


def _range_slider(widget: Any) -> Built:
    integer = _is_int(widget)

    def put(w: Any, value: Any) -> None:
        lo, hi = value
        w.value = (round(lo), round(hi)) if integer else (lo, hi)

    binds = [
        _number("min", "min", integer=integer),
        _number("max", "max", integer=integer),
        _Bind("step", ("step", "min", "max"), _step),
        _Bind("value", ("value",), lambda w: tuple(float(v) for v in w.value), put),
        _LABEL,
        _DISABLED,
    ]
    return RangeSlider(), binds


def _toggle(widget: Any) -> Built:
    return Toggle(), [_same("value", "value"), _LABEL, _DISABLED]


def _index(widget: Any) -> int | None:
    """The selected index; no selection shows the first option (see above)."""
    if widget.index is not None:
        return int(widget.index)
    return 0 if widget._options_labels else None


def _select(widget: Any) -> Built:
    def put(w: Any, value: Any) -> None:
        w.index = value

    binds = [
        _Bind("options", ("_options_labels",), _labels),
        _Bind("value", ("index", "_options_labels"), _index, put),
        _LABEL,
        _DISABLED,
    ]
    return Select(), binds


def _multi_select(widget: Any) -> Built:
    def put(w: Any, value: Any) -> None:
        w.index = tuple(value)

    binds = [
        _Bind("options", ("_options_labels",), _labels),
        _Bind("value", ("index", "_options_labels"), lambda w: list(w.index), put),
        _Bind("size", ("rows",), lambda w: int(w.rows or 5)),
        _LABEL,
        _DISABLED,
    ]
    return MultiSelect(), binds


def _text(widget: Any) -> Built:
    binds = [
        _same("value", "value"),
        _same("placeholder", "placeholder"),
        _same("continuous", "continuous_update"),
        _LABEL,
        _DISABLED,
    ]
    if hasattr(widget, "rows"):  # a Textarea: a multi-line <textarea>, line breaks kept
        return TextInput(rows=max(2, int(widget.rows or 3))), binds
    return TextInput(), binds


def _number_input(widget: Any) -> Built:
    integer = _is_int(widget)
    bounded = hasattr(widget, "min") and hasattr(widget, "max")
    binds = [
        _Bind("step", ("step",), lambda w: None if w.step is None else float(w.step)),
        _number("value", "value", integer=integer),
        _LABEL,
        _DISABLED,
    ]
    if bounded:
        binds[:0] = [_number("min", "min", integer=integer), _number("max", "max", integer=integer)]
    return NumberInput(), binds


def _button(widget: Any) -> Built:
    model = Button()
    # a browser click runs the ipywidget's own on_click handlers
    model.on_click(lambda _model: widget.click())
    return model, [_LABEL, _DISABLED]


def _label(widget: Any) -> Built:
    return Label(), [_same("value", "value")]


def _html(widget: Any) -> Built:
    return HTML(), [_same("value", "value")]


def _progress_max(widget: Any) -> float:
    span = float(widget.max - widget.min)
    return span if span > 0 else 1.0  # ipywidgets allows max == min; we need > 0


def _progress(widget: Any) -> Built:
    # our Progress starts at 0: shift ipywidgets' [min, max] there
    binds = [
        _Bind("max", ("min", "max"), _progress_max),
        _Bind("value", ("value", "min", "max"), lambda w: float(w.value - w.min)),
        _LABEL,
    ]
    return Progress(), binds


def _children_bind() -> _Bind:
    return _Bind("children", ("children",), _children)


def _row(widget: Any) -> Built:
    return Row(), [_children_bind()]


def _column(widget: Any) -> Built:
    return Column(), [_children_bind()]


def _grid_columns(widget: Any) -> int:
    template = str(getattr(widget.layout, "grid_template_columns", None) or "")
    match = re.match(r"\s*repeat\(\s*(\d+)\s*,", template)
    if match:
        columns = int(match.group(1))
    else:
        columns = len(template.split()) or 2
    return max(1, min(columns, 24))


def _grid(widget: Any) -> Built:
    return Grid(), [_children_bind(), _Bind("columns", ("layout",), _grid_columns)]


def _titles(widget: Any) -> list[str]:
    titles = list(getattr(widget, "titles", ()) or ())
    return [
        str(titles[i]) if i < len(titles) and titles[i] else "" for i in range(len(widget.children))
    ]


def _tabs(widget: Any) -> Built:
    def put(w: Any, value: Any) -> None:
        w.selected_index = value

    binds = [
        _children_bind(),
        _Bind(
            "titles",
            ("titles", "children"),
            lambda w: [t or f"Tab {i + 1}" for i, t in enumerate(_titles(w))],
        ),
        _Bind(
            "selected",
            ("selected_index", "children"),
            lambda w: 0 if w.selected_index is None else int(w.selected_index),
            put,
        ),
    ]
    return Tabs(), binds


def _accordion(widget: Any) -> Built:
    cards: list[Card] = []  # by position, reused so their ids stay stable

    def card(i: int) -> Card:
        while len(cards) <= i:
            new = Card(collapsible=True, collapsed=True)
            new.observe(_on_collapse(len(cards)), names=["collapsed"])
            cards.append(new)
        return cards[i]

    def _on_collapse(i: int) -> Callable[[dict[str, Any]], None]:
        def handler(change: dict[str, Any]) -> None:
            # idempotent, so no echo guard is needed: when the mirror itself
            # sets ``collapsed`` it agrees with ``selected_index`` already
            current = widget.selected_index
            wanted: int | None
            if not change["new"]:
                wanted = i
            else:
                wanted = None if current == i else current
            if wanted != current:
                widget.selected_index = wanted

        return handler

    def get(w: Any) -> list[Model]:
        out: list[Model] = []
        for i, (child, title) in enumerate(zip(_children(w), _titles(w), strict=True)):
            c = card(i)
            c.title = title or f"Section {i + 1}"
            c.children = [child]
            c.collapsed = w.selected_index != i
            out.append(c)
        return out

    return Column(), [_Bind("children", ("children", "titles", "selected_index"), get)]


#: ipywidgets class name -> builder; a subclass maps like its nearest listed base
_BUILDERS: dict[str, Callable[[Any], Built]] = {
    "IntSlider": _slider,
    "FloatSlider": _slider,
    "IntRangeSlider": _range_slider,
    "FloatRangeSlider": _range_slider,
    "Checkbox": _toggle,
    "ToggleButton": _toggle,
    "Dropdown": _select,
    "RadioButtons": _select,
    "Select": _select,
    "ToggleButtons": _select,
    "SelectMultiple": _multi_select,
    "Text": _text,
    "Textarea": _text,
    "IntText": _number_input,
    "FloatText": _number_input,
    "BoundedIntText": _number_input,
    "BoundedFloatText": _number_input,
    "Button": _button,
    "Label": _label,
    "HTML": _html,
    "HTMLMath": _html,
    "IntProgress": _progress,
    "FloatProgress": _progress,
    "HBox": _row,
    "Box": _row,
    "VBox": _column,
    "GridBox": _grid,
    "Tab": _tabs,
    "Accordion": _accordion,
}

#: never mirrored even though a base class would match: it would show a secret
_REFUSED = frozenset({"Password"})


def supported() -> list[str]:
    """The ipywidgets class names with a native mirror (and their subclasses)."""
    return sorted(_BUILDERS)


def is_ipywidget(obj: Any) -> bool:
    """Whether ``obj`` is an ipywidgets widget (without importing ipywidgets)."""
    ipw = sys.modules.get("ipywidgets")
    return ipw is not None and isinstance(obj, ipw.Widget)


def _builder(widget: Any) -> Callable[[Any], Built] | None:
    for cls in type(widget).__mro__:
        if not cls.__module__.startswith("ipywidgets"):
            continue  # a user's subclass: map it like its ipywidgets base
        if cls.__name__ in _REFUSED:
            return None
        if cls.__name__ in _BUILDERS:
            return _BUILDERS[cls.__name__]
    return None


# ---------------------------------------------------------------------------
# the mirror


class _Mirror:
    """Keeps one model in step with one ipywidget (see the module docstring)."""

    def __init__(self, widget: Any, model: Model, binds: list[_Bind]) -> None:
        self.widget = widget
        self.model = model
        self.binds = binds
        self._local = threading.local()
        self.sync_from_widget()
        sources = sorted({name for b in binds for name in b.sources if widget.has_trait(name)})
        if sources:
            widget.observe(self._on_widget, names=sources)
        for b in binds:
            if b.put is not None:
                model.observe(self._on_model, names=[b.target])

    @contextmanager
    def _busy(self) -> Iterator[None]:
        self._local.busy = True
        try:
            yield
        finally:
            self._local.busy = False

    @property
    def busy(self) -> bool:
        return bool(getattr(self._local, "busy", False))

    def sync_from_widget(self) -> None:
        """Copy the ipywidget to the model, all traits at once.

        All at once (``hold_trait_notifications``) because the model checks
        each trait against the others when the batch ends: a new value with
        new bounds is never clamped to the old bounds on the way.
        """
        with self._busy():
            wanted = {b.target: b.get(self.widget) for b in self.binds}
            with self.model.hold_trait_notifications():
                for name, value in wanted.items():
                    if getattr(self.model, name) != value:
                        setattr(self.model, name, value)

    def _on_widget(self, change: dict[str, Any]) -> None:
        if self.busy:
            return
        try:
            self.sync_from_widget()
        except traitlets.TraitError:
            log.exception("cannot mirror %s", type(self.widget).__name__)

    def _on_model(self, change: dict[str, Any]) -> None:
        if self.busy:
            return
        name = change["name"]
        bind = next(b for b in self.binds if b.target == name)
        assert bind.put is not None
        try:
            with self._busy():
                bind.put(self.widget, getattr(self.model, name))
        finally:
            # the ipywidget has the last word (rounded, clamped, or refused
            # and unchanged): every browser converges on it
            self.sync_from_widget()


def mirror(widget: Any) -> Model:
    """The native model mirroring ipywidgets object ``widget`` (made once, cached).

    Unsupported widgets get a :class:`~wsbridge.Label` placeholder naming
    their class. Raises ``TypeError`` for objects that are not ipywidgets.
    """
    if not is_ipywidget(widget):
        raise TypeError(f"not an ipywidgets widget: {type(widget).__name__}")
    with _LOCK:
        existing = widget.__dict__.get(_ATTR)
        if existing is not None:
            return existing.model  # type: ignore[no-any-return]
        build = _builder(widget)
        if build is None:
            model: Model = Label(f"unsupported ipywidget: {type(widget).__name__}")
            binds: list[_Bind] = []
        else:
            model, binds = build(widget)
        widget.__dict__[_ATTR] = _Mirror(widget, model, binds)
        return model


def mirrored(widget: Any) -> Model | None:
    """The mirror of ``widget`` if one was made, else ``None``."""
    existing = getattr(widget, "__dict__", {}).get(_ATTR)
    return None if existing is None else existing.model
