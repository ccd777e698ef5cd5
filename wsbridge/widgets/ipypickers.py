"""Native mirrors of ipywidgets' pickers, Play, Password, Combobox and TagsInput.

Each model is shown by a native element (js/src/views/pickers.js):
``input[type=color]``, ``date``, ``datetime-local``, ``time``,
``password``, a text input with a ``datalist``, a list of tags, and Play's
buttons. Values travel as strings in the input's own format, so the browser
needs no conversion: a colour as the ipywidget holds it (the view shows
named colours as ``#rrggbb``), a date ``YYYY-MM-DD``, a time
``HH:MM[:SS[.fff]]``, a date-time as UTC ISO 8601 with ``Z`` (shown in the
viewer's time zone; a ``NaiveDatetimePicker``'s has no ``Z`` and is shown
as is).

``Password``: ipywidgets syncs its ``value`` to every front end (the
browser holds the text, only drawn as dots). A dashboard has many viewers,
so the mirror never sends it: ``value`` is write-only from the browser
(``settable``, not in the state); the state says only whether Python's
value is empty (``filled``), so clearing it in Python clears the fields.

``Play``: a browser drives it (js/src/views/pickers.js): the page whose
user pressed play steps ``value`` every ``interval`` ms and sends it, as
ipywidgets' front end does; other pages follow. When Python sets
``playing`` itself, Python steps the value (a timer thread), since no page
was asked to.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Callable
from typing import Any, NoReturn

import traitlets
from traitlets import Bool, Float, Int, List, Unicode, validate

from .ipymap import _DISABLED, _LABEL, Bind, Built, _same
from .ipystyle import styled
from .model import Model
from .sync import ORIGIN

__all__ = [
    "BUILDERS",
    "ColorPicker",
    "Combobox",
    "DatePicker",
    "DatetimePicker",
    "Password",
    "Play",
    "TagsInput",
    "TimePicker",
]

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?")
#: what ipywidgets' Color trait takes: #rgb, #rrggbb(aa), names, rgb(a)/hsl(a)(...)
_COLOR = re.compile(r"#[0-9a-fA-F]{3,8}|[a-zA-Z]{1,30}|(rgb|rgba|hsl|hsla)\([0-9.,%\s]{1,60}\)")


class _Picker(Model):
    _client_settable = frozenset({"value"})
    value = Unicode(None, allow_none=True).tag(sync=True)
    label = Unicode("").tag(sync=True)
    disabled = Bool(False).tag(sync=True)


class ColorPicker(_Picker):
    """``input[type=color]`` (and the value as text unless ``concise``)."""

    _type = "ColorPicker"
    concise = Bool(False).tag(sync=True)

    @validate("value")
    def _colour(self, proposal: Any) -> str:
        value = proposal["value"]
        if not isinstance(value, str) or not _COLOR.fullmatch(value):
            raise traitlets.TraitError(f"not a colour: {value!r}")
        return value


class DatePicker(_Picker):
    """``input[type=date]``: ``value``, ``min``, ``max`` as ``YYYY-MM-DD`` or null."""

    _type = "DatePicker"
    min = Unicode(None, allow_none=True).tag(sync=True)
    max = Unicode(None, allow_none=True).tag(sync=True)

    @validate("value")
    def _date(self, proposal: Any) -> str | None:
        value = proposal["value"]
        if value is None or value == "":
            return None
        if not isinstance(value, str) or not _DATE.fullmatch(value):
            return _bad(value)
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            return _bad(value)


class DatetimePicker(_Picker):
    """``input[type=datetime-local]``: UTC ISO 8601 (``naive``: local, no zone)."""

    _type = "DatetimePicker"
    min = Unicode(None, allow_none=True).tag(sync=True)
    max = Unicode(None, allow_none=True).tag(sync=True)
    naive = Bool(False).tag(sync=True)

    @validate("value")
    def _datetime(self, proposal: Any) -> str | None:
        value = proposal["value"]
        if value is None or value == "":
            return None
        try:
            parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return _bad(value)
        return _iso(parsed, naive=self.naive)


class TimePicker(_Picker):
    """``input[type=time]``: ``HH:MM[:SS[.ffffff]]``; ``step`` in seconds (null: any)."""

    _type = "TimePicker"
    min = Unicode(None, allow_none=True).tag(sync=True)
    max = Unicode(None, allow_none=True).tag(sync=True)
    step = Float(60.0, allow_none=True).tag(sync=True)

    @validate("value")
    def _time(self, proposal: Any) -> str | None:
        value = proposal["value"]
        if value is None or value == "":
            return None
        if not isinstance(value, str) or not _TIME.fullmatch(value):
            return _bad(value)
        try:
            return dt.time.fromisoformat(value).isoformat()
        except ValueError:
            return _bad(value)


def _bad(value: Any = None) -> NoReturn:
    raise traitlets.TraitError(f"not a valid value: {value!r}")


def _iso(value: dt.datetime, *, naive: bool) -> str:
    if naive:
        return value.replace(tzinfo=None).isoformat()
    if value.tzinfo is None:
        raise traitlets.TraitError("a DatetimePicker value needs a time zone")
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat() + "Z"


class Password(Model):
    """``input[type=password]``; ``value`` is write-only (the module docstring)."""

    _type = "Password"
    _client_settable = frozenset({"value"})
    value = Unicode("")  # not synced: never sent to a browser
    filled = Bool(False).tag(sync=True)
    placeholder = Unicode("").tag(sync=True)
    label = Unicode("").tag(sync=True)
    disabled = Bool(False).tag(sync=True)


class Combobox(Model):
    """A text input with a ``datalist`` of ``options``; with ``ensure_option``
    only an option (or nothing) is accepted."""

    _type = "Combobox"
    _client_settable = frozenset({"value"})
    value = Unicode("").tag(sync=True)
    options = List(Unicode()).tag(sync=True)
    ensure_option = Bool(False).tag(sync=True)
    placeholder = Unicode("").tag(sync=True)
    continuous = Bool(False).tag(sync=True)
    label = Unicode("").tag(sync=True)
    disabled = Bool(False).tag(sync=True)

    @validate("value")
    def _option(self, proposal: Any) -> str:
        value = str(proposal["value"])
        if self.ensure_option and value and value not in self.options:
            raise traitlets.TraitError(f"{value!r} is not one of the options")
        return value


class TagsInput(Model):
    """A list of string tags: each shown with a remove button, a text input
    (with ``allowed_tags`` as its ``datalist``) adds one."""

    _type = "TagsInput"
    _client_settable = frozenset({"value"})
    value = List(Unicode()).tag(sync=True)
    allowed_tags = List(Unicode()).tag(sync=True)
    allow_duplicates = Bool(True).tag(sync=True)
    placeholder = Unicode("").tag(sync=True)
    label = Unicode("").tag(sync=True)
    disabled = Bool(False).tag(sync=True)

    @validate("value")
    def _tags(self, proposal: Any) -> list[str]:
        tags = [str(t) for t in proposal["value"]]
        if "" in tags:
            raise traitlets.TraitError("a tag cannot be empty")
        if self.allowed_tags and any(t not in self.allowed_tags for t in tags):
            raise traitlets.TraitError("a tag that is not allowed")
        if not self.allow_duplicates and len(set(tags)) != len(tags):
            raise traitlets.TraitError("duplicate tags are not allowed")
        return tags


class Play(Model):
    """Play, pause, stop and repeat buttons stepping ``value`` from ``min`` to
    ``max`` by ``step`` every ``interval`` ms while ``playing``."""

    _type = "Play"
    _client_settable = frozenset({"value", "playing", "repeat"})
    value = Int(0).tag(sync=True)
    min = Int(0).tag(sync=True)
    max = Int(100).tag(sync=True)
    step = Int(1).tag(sync=True)
    interval = Int(100).tag(sync=True)
    playing = Bool(False).tag(sync=True)
    repeat = Bool(False).tag(sync=True)
    show_repeat = Bool(True).tag(sync=True)
    label = Unicode("").tag(sync=True)
    disabled = Bool(False).tag(sync=True)

    @validate("value")
    def _clamp(self, proposal: Any) -> int:
        value = proposal["value"]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise traitlets.TraitError(f"Play value must be an integer, not {value!r}")
        return min(max(value, self.min), self.max)


# ---------------------------------------------------------------------------
# builders


def _put_none(convert: Callable[[Any], Any]) -> Callable[[Any, Any], None]:
    def put(widget: Any, value: Any) -> None:
        widget.value = None if value is None else convert(value)

    return put


def _color(widget: Any) -> Built:
    binds = [_same("value", "value"), _same("concise", "concise", back=False), _LABEL, _DISABLED]
    return styled(ColorPicker)(), binds


def _iso_or_none(value: Any) -> str | None:
    return None if value is None else str(value.isoformat())


_date_of, _time_of = dt.date.fromisoformat, dt.time.fromisoformat


def _date(widget: Any) -> Built:
    binds = [
        Bind("value", ("value",), lambda w: _iso_or_none(w.value), _put_none(_date_of)),
        Bind("min", ("min",), lambda w: _iso_or_none(w.min)),
        Bind("max", ("max",), lambda w: _iso_or_none(w.max)),
        _LABEL,
        _DISABLED,
    ]
    return styled(DatePicker)(), binds


def _datetime(widget: Any) -> Built:
    naive = type(widget).__name__ == "NaiveDatetimePicker" or any(
        c.__name__ == "NaiveDatetimePicker" for c in type(widget).__mro__
    )

    def wire(value: dt.datetime | None) -> str | None:
        return None if value is None else _iso(value, naive=naive)

    def parse(value: str) -> dt.datetime:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed.replace(tzinfo=None) if naive else parsed.astimezone(dt.timezone.utc)

    binds = [
        Bind("value", ("value",), lambda w: wire(w.value), _put_none(parse)),
        Bind("min", ("min",), lambda w: wire(w.min)),
        Bind("max", ("max",), lambda w: wire(w.max)),
        _LABEL,
        _DISABLED,
    ]
    return styled(DatetimePicker)(naive=naive), binds


def _time(widget: Any) -> Built:
    def step(w: Any) -> float | None:
        return None if w.step == "any" or w.step is None else float(w.step)

    binds = [
        Bind("value", ("value",), lambda w: _iso_or_none(w.value), _put_none(_time_of)),
        Bind("min", ("min",), lambda w: _iso_or_none(w.min)),
        Bind("max", ("max",), lambda w: _iso_or_none(w.max)),
        Bind("step", ("step",), step),
        _LABEL,
        _DISABLED,
    ]
    return styled(TimePicker)(), binds


def _password(widget: Any) -> Built:
    model = styled(Password)()

    def on_value(change: dict[str, Any]) -> None:
        widget.value = change["new"]  # a browser's entry, to the ipywidget only

    model.observe(on_value, names=["value"])
    binds = [
        Bind("filled", ("value",), lambda w: bool(w.value)),
        _same("placeholder", "placeholder", back=False),
        _LABEL,
        _DISABLED,
    ]
    return model, binds


def _combobox(widget: Any) -> Built:
    binds = [
        Bind("options", ("options",), lambda w: [str(o) for o in w.options]),
        _same("ensure_option", "ensure_option", back=False),
        _same("value", "value"),
        _same("placeholder", "placeholder", back=False),
        _same("continuous", "continuous_update", back=False),
        _LABEL,
        _DISABLED,
    ]
    return styled(Combobox)(), binds


def _tags(widget: Any) -> Built:
    def put(w: Any, value: Any) -> None:
        w.value = list(value)

    binds = [
        Bind("allowed_tags", ("allowed_tags",), lambda w: [str(t) for t in w.allowed_tags]),
        _same("allow_duplicates", "allow_duplicates", back=False),
        Bind("value", ("value",), lambda w: [str(t) for t in w.value], put),
        _same("placeholder", "placeholder", back=False),
        _LABEL,  # ipywidgets' TagsInput has no ``disabled``
    ]
    return styled(TagsInput)(), binds


def _play(widget: Any) -> Built:
    binds = [
        _same("min", "min", back=False),
        _same("max", "max", back=False),
        _same("value", "value"),
        _same("step", "step", back=False),
        _same("interval", "interval", back=False),
        _same("playing", "playing"),
        _same("repeat", "repeat"),
        _same("show_repeat", "show_repeat", back=False),
        _LABEL,
        _DISABLED,
    ]
    model = styled(Play)()
    _PythonDriver(widget, model)
    return model, binds


class _PythonDriver:
    """Steps a Play whose ``playing`` was set by Python (no page was asked
    to), as ipywidgets' front end would: ``value += step`` every
    ``interval`` ms, back to ``min`` with ``repeat``, else stop at ``max``."""

    def __init__(self, widget: Any, model: Model) -> None:
        self.widget = widget
        self.model = model
        self.thread: threading.Thread | None = None
        self.from_browser = False
        model.observe(self._browser, names=["playing"])
        widget.observe(self._changed, names=["playing"])

    def _browser(self, change: dict[str, Any]) -> None:
        self.from_browser = ORIGIN.get() is not None

    def _changed(self, change: dict[str, Any]) -> None:
        started_here = not self.from_browser
        self.from_browser = False
        if change["new"] and started_here and self.thread is None:
            self.thread = threading.Thread(target=self._run, name="wsbridge-play", daemon=True)
            self.thread.start()

    def _run(self) -> None:
        w = self.widget
        try:
            stop = threading.Event()
            while w.playing and not stop.wait(max(w.interval, 10) / 1000):
                if not w.playing:
                    break
                nxt = w.value + w.step
                if nxt <= w.max:
                    w.value = nxt
                elif w.repeat:
                    w.value = w.min
                else:
                    w.playing = False
        finally:
            self.thread = None


BUILDERS: dict[str, Callable[[Any], Built]] = {
    "ColorPicker": _color,
    "DatePicker": _date,
    "DatetimePicker": _datetime,
    "NaiveDatetimePicker": _datetime,
    "TimePicker": _time,
    "Password": _password,
    "Combobox": _combobox,
    "TagsInput": _tags,
    "Play": _play,
}
