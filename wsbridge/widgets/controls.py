"""Controls: the widgets a viewer changes (sliders, toggles, choices, text, numbers, buttons).

Each class is a :class:`~wsbridge.widgets.model.Model` with a view of the
same ``_type`` in the bundled client (js/src/views/controls.js) built on the
native, accessible control (``input[type=range]``, ``input[type=checkbox]``,
``select``, ``input[type=text]``, ``input[type=number]``, ``progress``).

A browser may set only the user-facing value of a control
(``_client_settable``: ``value``, a Tabs' ``selected``, a Card's
``collapsed``), never its labels, options or bounds; what it sends is
validated here by the same traits a Python user goes through, and the
canonical value goes back to every browser (docs/protocol.md "set").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import traitlets
from traitlets import Any as AnyTrait
from traitlets import (
    Bool,
    Dict,
    Float,
    Int,
    List,
    Tuple,
    Unicode,
    Union,
    validate,
)

from .model import Model, _serialize

__all__ = [
    "Button",
    "MultiSelect",
    "NumberInput",
    "RangeSlider",
    "Select",
    "Slider",
    "TextInput",
    "Toggle",
]


def _finite(value: Any, what: str) -> float:
    """``value`` as a float, refusing booleans, NaN and infinities."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise traitlets.TraitError(f"{what} must be a number, not {type(value).__name__}")
    out = float(value)
    if not math.isfinite(out):
        raise traitlets.TraitError(f"{what} must be finite, not {out}")
    return out


# ---------------------------------------------------------------------------
# controls


def _check_construction(kind: str, kwargs: dict[str, Any], values: tuple[Any, ...]) -> None:
    """Refuse ``min > max`` and a value outside ``[min, max]`` when a slider is
    built: almost always a typo. (Assigning later clamps, as ipywidgets does.)"""
    lo, hi = kwargs.get("min", 0.0), kwargs.get("max", 10.0)
    numbers = (lo, hi, *values)
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers):
        return  # the traits' own validation names the bad type
    if lo > hi:
        raise ValueError(f"{kind} needs min <= max, not min={lo:g} > max={hi:g}")
    if any(not lo <= v <= hi for v in values):
        shown = ", ".join(f"{v:g}" for v in values)
        shown = shown if len(values) == 1 else f"({shown})"
        raise ValueError(
            f"{kind} value={shown} is outside [min={lo:g}, max={hi:g}]: "
            "give a value in range, or set min/max to include it"
        )


class RangeSlider(Model):
    """A ``(lo, hi)`` interval within ``[min, max]``; two ``input[type=range]``.

    Each end is clamped to ``[min, max]`` (as :class:`~wsbridge.Slider`
    does); an interval with ``lo > hi`` is refused. Changing ``min``/``max``
    re-clamps the value.
    """

    _type = "RangeSlider"
    _client_settable = frozenset({"value"})

    value = Tuple(Float(), Float(), default_value=(0.0, 10.0)).tag(sync=True)
    min = Float(0.0).tag(sync=True)
    max = Float(10.0).tag(sync=True)
    step = Float(0.1).tag(sync=True)
    label = Unicode("").tag(sync=True)
    disabled = Bool(False).tag(sync=True)

    def __init__(self, value: Sequence[float] | None = None, **kwargs: Any) -> None:
        if value is not None:
            kwargs["value"] = value
            if isinstance(value, (list, tuple)):
                _check_construction("RangeSlider", kwargs, tuple(value))
        else:
            _check_construction("RangeSlider", kwargs, ())
        super().__init__(**kwargs)
        self.value = self._clamped(self.value)

    def _clamped(self, value: Any) -> tuple[float, float]:
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise traitlets.TraitError("RangeSlider value must be a pair (lo, hi)")
        lo, hi = (_finite(v, "RangeSlider value") for v in value)
        if lo > hi:
            raise traitlets.TraitError(f"RangeSlider value needs lo <= hi, not ({lo}, {hi})")
        return (min(max(lo, self.min), self.max), min(max(hi, self.min), self.max))

    @validate("value")
    def _check_value(self, proposal: Any) -> tuple[float, float]:
        return self._clamped(proposal["value"])

    @validate("step")
    def _positive_step(self, proposal: Any) -> float:
        if not proposal["value"] > 0:
            raise traitlets.TraitError("RangeSlider step must be > 0")
        return float(proposal["value"])

    @validate("min", "max")
    def _ordered_bounds(self, proposal: Any) -> float:
        value = _finite(proposal["value"], f"RangeSlider {proposal['trait'].name}")
        lo, hi = (value, self.max) if proposal["trait"].name == "min" else (self.min, value)
        if lo > hi:
            raise traitlets.TraitError(f"RangeSlider needs min <= max, not {lo} > {hi}")
        return value

    def _synced_change(self, name: str) -> None:
        if name in ("min", "max"):
            self.value = self._clamped(self.value)


class Toggle(Model):
    """An on/off switch: ``input[type=checkbox]`` inside a ``<label>``."""

    _type = "Toggle"
    _client_settable = frozenset({"value"})

    value = Bool(False).tag(sync=True)
    label = Unicode("").tag(sync=True)
    disabled = Bool(False).tag(sync=True)

    def __init__(self, value: bool = False, **kwargs: Any) -> None:
        super().__init__(value=value, **kwargs)


def _option_pairs(options: Any) -> list[tuple[str, Any]]:
    """``options`` (a list of labels, or a dict label -> value) as pairs."""
    if isinstance(options, dict):
        return [(str(k), v) for k, v in options.items()]
    return [(str(o), o) for o in options]


class _Choice(Model):
    """What Select and MultiSelect share: ``options`` and matching values.

    ``options`` is a list (each item is its own label) or a dict mapping
    labels to values. On the wire it is always a list of ``[label, value]``
    pairs (JSON objects would lose the order of integer-like labels).
    """

    _client_settable = frozenset({"value"})
    options = Union([List(), Dict()], default_value=[]).tag(sync=True)
    label = Unicode("").tag(sync=True)
    disabled = Bool(False).tag(sync=True)

    def _wire_value(self, name: str) -> Any:
        if name == "options":
            return [[label, _serialize(v)] for label, v in _option_pairs(self.options)]
        return super()._wire_value(name)

    def _match(self, value: Any) -> Any:
        """The option value equal to ``value`` (compared in wire form, so a
        JSON list from a browser matches a tuple option); refuses others."""
        wire = _serialize(value)
        for _, option in _option_pairs(self.options):
            if option == value or _serialize(option) == wire:
                return option
        raise traitlets.TraitError(f"{value!r} is not one of the {type(self).__name__} options")


class Select(_Choice):
    """One of ``options`` (list, or dict label -> value); a ``<select>``.

    ``value`` defaults to the first option (``None`` without options) and
    falls back to it when ``options`` change and no longer hold the value.
    """

    _type = "Select"
    value = AnyTrait(None, allow_none=True).tag(sync=True)

    def __init__(self, options: Any = None, value: Any = None, **kwargs: Any) -> None:
        if options is not None:
            kwargs["options"] = options
        if value is not None:
            kwargs["value"] = value
        super().__init__(**kwargs)
        self._reset_value()

    def _reset_value(self) -> None:
        pairs = _option_pairs(self.options)
        try:
            self._match(self.value)
        except traitlets.TraitError:
            self.value = pairs[0][1] if pairs else None

    @validate("value")
    def _in_options(self, proposal: Any) -> Any:
        value = proposal["value"]
        if value is None and not self.options:
            return None
        return self._match(value)

    def _synced_change(self, name: str) -> None:
        if name == "options":
            self._reset_value()


class MultiSelect(_Choice):
    """Any of ``options``; a ``<select multiple>`` showing ``size`` rows.

    ``value`` is a list, kept in the order of ``options``, without
    duplicates; an item that is not an option is refused. When ``options``
    change, values no longer offered are dropped.
    """

    _type = "MultiSelect"
    value: List[Any] = List().tag(sync=True)
    size = Int(5, min=1).tag(sync=True)

    def __init__(self, options: Any = None, value: Any = None, **kwargs: Any) -> None:
        if options is not None:
            kwargs["options"] = options
        if value is not None:
            kwargs["value"] = value
        super().__init__(**kwargs)

    def _canonical(self, values: Any) -> list[Any]:
        if not isinstance(values, (list, tuple)):
            raise traitlets.TraitError(f"MultiSelect value must be a list, not {values!r}")
        chosen = [self._match(v) for v in values]
        wires = [_serialize(c) for c in chosen]
        return [o for _, o in _option_pairs(self.options) if _serialize(o) in wires]

    @validate("value")
    def _in_options(self, proposal: Any) -> list[Any]:
        return self._canonical(proposal["value"])

    def _synced_change(self, name: str) -> None:
        if name == "options":
            offered = [_serialize(o) for _, o in _option_pairs(self.options)]
            self.value = [v for v in self.value if _serialize(v) in offered]


class TextInput(Model):
    """Text: ``input[type=text]``, or a ``textarea`` when ``rows`` > 1.

    The browser sends the value when the user commits it (Enter, or leaving
    the field; in a textarea Enter is a new line and Ctrl/Cmd+Enter or
    leaving commits), not per keystroke, unless ``continuous=True``. Escape
    reverts an uncommitted edit.
    """

    _type = "TextInput"
    _client_settable = frozenset({"value"})

    value = Unicode("").tag(sync=True)
    placeholder = Unicode("").tag(sync=True)
    label = Unicode("").tag(sync=True)
    continuous = Bool(False).tag(sync=True)
    max_length = Int(None, allow_none=True, min=0).tag(sync=True)
    rows = Int(1, min=1, max=200).tag(sync=True)
    disabled = Bool(False).tag(sync=True)

    def __init__(self, value: str = "", **kwargs: Any) -> None:
        super().__init__(value=value, **kwargs)

    @validate("value")
    def _not_too_long(self, proposal: Any) -> str:
        value = str(proposal["value"])
        if self.max_length is not None and len(value) > self.max_length:
            raise traitlets.TraitError(f"TextInput value is longer than {self.max_length}")
        return value


class NumberInput(Model):
    """A number typed in: ``input[type=number]``.

    ``min`` and ``max`` (``None``: unbounded) clamp the value; ``step``
    (``None``: any) is the spinner's increment. Changing the bounds
    re-clamps the value.
    """

    _type = "NumberInput"
    _client_settable = frozenset({"value"})

    value = Float(0.0).tag(sync=True)
    min = Float(None, allow_none=True).tag(sync=True)
    max = Float(None, allow_none=True).tag(sync=True)
    step = Float(1.0, allow_none=True).tag(sync=True)
    label = Unicode("").tag(sync=True)
    disabled = Bool(False).tag(sync=True)

    def __init__(self, value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(value=value, **kwargs)
        self.value = self._clamped(self.value)

    def _clamped(self, value: Any) -> float:
        out = _finite(value, "NumberInput value")
        if self.min is not None:
            out = max(out, self.min)
        if self.max is not None:
            out = min(out, self.max)
        return out

    @validate("value")
    def _clamp(self, proposal: Any) -> float:
        return self._clamped(proposal["value"])

    @validate("step")
    def _positive_step(self, proposal: Any) -> float | None:
        step = proposal["value"]
        if step is not None and not step > 0:
            raise traitlets.TraitError("NumberInput step must be > 0 or None")
        return None if step is None else float(step)

    @validate("min", "max")
    def _ordered_bounds(self, proposal: Any) -> float | None:
        value = proposal["value"]
        if value is None:
            return None
        value = _finite(value, f"NumberInput {proposal['trait'].name}")
        is_min = proposal["trait"].name == "min"
        lo, hi = (value, self.max) if is_min else (self.min, value)
        if lo is not None and hi is not None and lo > hi:
            raise traitlets.TraitError(f"NumberInput needs min <= max, not {lo} > {hi}")
        return value

    def _synced_change(self, name: str) -> None:
        if name in ("min", "max"):
            self.value = self._clamped(self.value)


# ---------------------------------------------------------------------------
# text and indicators


# ---------------------------------------------------------------------------
# layouts (children travel as ids; adding or removing children from Python
# sends an ``add`` of the new models, then the ``patch`` of ``children``)


class Slider(Model):
    """A number between ``min`` and ``max``; browsers see ``input[type=range]``.

    Building one with ``min > max`` or a ``value`` outside ``[min, max]``
    raises ``ValueError`` (almost always a typo). Later, out-of-range values
    are clamped and moved bounds take the value along (as ipywidgets'
    FloatSlider does); the clamped value is what every browser gets back.
    """

    _type = "Slider"
    _client_settable = frozenset({"value"})

    value = Float(0.0).tag(sync=True)
    min = Float(0.0).tag(sync=True)
    max = Float(10.0).tag(sync=True)
    step = Float(0.1).tag(sync=True)
    label = Unicode("").tag(sync=True)
    disabled = Bool(False).tag(sync=True)

    def __init__(self, value: float = 0.0, **kwargs: Any) -> None:
        if isinstance(value, (int, float)):
            _check_construction("Slider", kwargs, (value,))
        super().__init__(value=value, **kwargs)

    @validate("value")
    def _clamp(self, proposal: Any) -> float:
        value = float(proposal["value"])
        if value != value:  # NaN
            raise traitlets.TraitError("Slider value cannot be NaN")
        return min(max(value, self.min), self.max)

    @validate("min", "max")
    def _ordered_bounds(self, proposal: Any) -> float:
        value = _finite(proposal["value"], f"Slider {proposal['trait'].name}")
        lo, hi = (value, self.max) if proposal["trait"].name == "min" else (self.min, value)
        if lo > hi:
            raise traitlets.TraitError(f"Slider needs min <= max, not min={lo:g} > max={hi:g}")
        return value

    def _synced_change(self, name: str) -> None:
        if name in ("min", "max"):  # as ipywidgets: moved bounds take the value along
            self.value = min(max(self.value, self.min), self.max)

    @validate("step")
    def _positive_step(self, proposal: Any) -> float:
        if not proposal["value"] > 0:
            raise traitlets.TraitError("Slider step must be > 0")
        return float(proposal["value"])


class Button(Model):
    """A push button; ``on_click(cb)`` calls ``cb(button)`` per browser click."""

    _type = "Button"
    _client_settable = frozenset()
    _events = frozenset({"click"})
    label = Unicode("").tag(sync=True)
    disabled = Bool(False).tag(sync=True)

    def __init__(self, label: str = "", **kwargs: Any) -> None:
        super().__init__(label=label, **kwargs)

    def on_click(self, callback: Callable[[Button], Any]) -> None:
        self.on_event("click", lambda model, data: callback(model))
