"""How each ipywidgets class maps to a native model: the builders and their bindings.

A builder takes an ipywidget and returns its mirror model plus the
bindings that keep the two in step (a model trait computed from ipywidget
traits, and maybe written back); :mod:`~wsbridge.widgets.ipywidgets` runs
them. Adding a class here is all it takes to mirror it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
from .ipystyle import styled
from .layout import Card, Column, Grid, Row, Tabs
from .model import Model

# mirrors carry the ipywidget's layout and style (ipystyle.py); Card does not:
# an Accordion's cards are wsbridge's own
Button = styled(Button)  # type: ignore[misc]
MultiSelect = styled(MultiSelect)  # type: ignore[misc]
NumberInput = styled(NumberInput)  # type: ignore[misc]
RangeSlider = styled(RangeSlider)  # type: ignore[misc]
Select = styled(Select)  # type: ignore[misc]
Slider = styled(Slider)  # type: ignore[misc]
TextInput = styled(TextInput)  # type: ignore[misc]
Toggle = styled(Toggle)  # type: ignore[misc]
HTML = styled(HTML)  # type: ignore[misc]
Label = styled(Label)  # type: ignore[misc]
Progress = styled(Progress)  # type: ignore[misc]
Column = styled(Column)  # type: ignore[misc]
Grid = styled(Grid)  # type: ignore[misc]
Row = styled(Row)  # type: ignore[misc]
Tabs = styled(Tabs)  # type: ignore[misc]

__all__ = ["BUILDERS", "REFUSED", "Bind", "Built"]


# ---------------------------------------------------------------------------
# bindings: one model trait, computed from ipywidget traits, maybe written back


@dataclass(frozen=True)
class Bind:
    """Model trait ``target`` = ``get(widget)``, recomputed when any of the
    widget's ``sources`` traits change; ``put(widget, value)`` writes a
    model change back (``None``: the trait follows the ipywidget only)."""

    target: str
    sources: tuple[str, ...]
    get: Callable[[Any], Any]
    put: Callable[[Any, Any], None] | None = None


def _same(target: str, source: str, *, back: bool = True) -> Bind:
    """The model trait ``target`` is the widget's ``source`` trait as is."""

    def put(widget: Any, value: Any) -> None:
        setattr(widget, source, value)

    return Bind(target, (source,), lambda w: getattr(w, source), put if back else None)


def _number(target: str, source: str, *, integer: bool, back: bool = True) -> Bind:
    """A number: a float on the model, an int again on an Int* ipywidget
    (so ``IntSlider.value`` stays an ``int`` on the Python side)."""

    def get(widget: Any) -> Any:
        value = getattr(widget, source)
        return None if value is None else float(value)

    def put(widget: Any, value: Any) -> None:
        if integer and value is not None:
            value = round(value)
        setattr(widget, source, value)

    return Bind(target, (source,), get, put if back else None)


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
    from .ipywidgets import mirror  # a box's children are mirrored too

    return [mirror(child) for child in widget.children]


# ---------------------------------------------------------------------------
# one builder per family: widget -> (model, bindings)

Built = tuple[Model, list[Bind]]


def _slider(widget: Any) -> Built:
    integer = _is_int(widget)
    binds = [
        _number("min", "min", integer=integer),
        _number("max", "max", integer=integer),
        Bind("step", ("step", "min", "max"), _step),
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
        Bind("step", ("step", "min", "max"), _step),
        Bind("value", ("value",), lambda w: tuple(float(v) for v in w.value), put),
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
        Bind("options", ("_options_labels",), _labels),
        Bind("value", ("index", "_options_labels"), _index, put),
        _LABEL,
        _DISABLED,
    ]
    return Select(), binds


def _multi_select(widget: Any) -> Built:
    def put(w: Any, value: Any) -> None:
        w.index = tuple(value)

    binds = [
        Bind("options", ("_options_labels",), _labels),
        Bind("value", ("index", "_options_labels"), lambda w: list(w.index), put),
        Bind("size", ("rows",), lambda w: int(w.rows or 5)),
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
        Bind("step", ("step",), lambda w: None if w.step is None else float(w.step)),
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
        Bind("max", ("min", "max"), _progress_max),
        Bind("value", ("value", "min", "max"), lambda w: float(w.value - w.min)),
        _LABEL,
    ]
    return Progress(), binds


def _children_bind() -> Bind:
    return Bind("children", ("children",), _children)


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
    return Grid(), [_children_bind(), Bind("columns", ("layout",), _grid_columns)]


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
        Bind(
            "titles",
            ("titles", "children"),
            lambda w: [t or f"Tab {i + 1}" for i, t in enumerate(_titles(w))],
        ),
        Bind(
            "selected",
            ("selected_index", "children"),
            lambda w: 0 if w.selected_index is None else int(w.selected_index),
            put,
        ),
    ]
    return Tabs(shared=True), binds  # selected_index is Python's: one tab for all


def _accordion(widget: Any) -> Built:
    cards: list[Card] = []  # by position, reused so their ids stay stable

    def card(i: int) -> Card:
        while len(cards) <= i:
            # shared: the accordion's selected_index is Python's, one for every viewer
            new = Card(collapsible=True, collapsed=True, shared=True)
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

    return Column(), [Bind("children", ("children", "titles", "selected_index"), get)]


def _file_upload(widget: Any) -> Built:
    """``FileUpload`` -> ``FileInput``: its ``value`` as ipywidgets 8 has it, a
    tuple of dicts (name, type, size, content as a memoryview, last_modified)."""
    from .files import FileInput, UploadedFile

    def get(w: Any) -> tuple[UploadedFile, ...]:
        return tuple(
            UploadedFile(
                str(f.get("name", "")),
                str(f.get("type", "")),
                int(f.get("size", 0)),
                bytes(f.get("content", b"")),
                f.get("last_modified"),
            )
            for f in w.value
        )

    def put(w: Any, value: Any) -> None:
        w.value = tuple(
            {
                "name": f.name,
                "type": f.type,
                "size": f.size,
                "content": memoryview(f.content),
                "last_modified": f.last_modified,
            }
            for f in value
        )

    binds = [
        _same("accept", "accept", back=False),
        _same("multiple", "multiple", back=False),
        Bind("value", ("value",), get, put),
        _LABEL,
        _DISABLED,
    ]
    return FileInput(), binds


#: ipywidgets class name -> builder; a subclass maps like its nearest listed base
BUILDERS: dict[str, Callable[[Any], Built]] = {
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
    "FileUpload": _file_upload,
}

#: never mirrored even though a base class would match (none today: Password,
#: which would show a secret as a Text, has its own write-only mirror)
REFUSED: frozenset[str] = frozenset()
