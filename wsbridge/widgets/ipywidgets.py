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
- ``layout`` and ``style`` are mirrored (:mod:`.ipystyle`): the mirror's
  ``_layout`` and ``_style`` follow the ipywidget's ``Layout`` and
  ``Style`` objects live (the mirror observes their traits, and a new
  object), their CSS values checked in Python and again in the page.
- ``Output`` (and so ``interact``) is captured in Python per thread, with
  or without a kernel (:mod:`.ipyoutput`, :mod:`.ipycapture`); the pickers, ``Password``
  (write-only), ``Combobox``, ``TagsInput`` and ``Play`` have native
  mirrors (:mod:`.ipypickers`); ``jslink``/``jsdlink`` run in the page
  (:mod:`.ipylinks`). docs/ipywidgets.md says what each does.
- Anything else (``Controller``, ``Video``, third-party widgets...) shows a
  :class:`~wsbridge.Label` placeholder ``"unsupported ipywidget: <class>"``:
  never a crash.
- A real ``anywidget.AnyWidget`` (drawdata, Plotly's ``FigureWidget``...)
  is not mirrored but hosted as given: its own module runs in the page
  (:mod:`~wsbridge.widgets.anyhost`).

Mirrors are cached on the ipywidget object itself (one model per ipywidget,
however many places show it), so a widget and its mirror are garbage
collected together. ipywidgets is imported only when a mirror is made: it
is an optional dependency.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import traitlets

from . import ipyhook, ipylinks, ipymap, ipyoutput, ipypickers
from .anyhost import host, is_anywidget
from .display import Label
from .ipymap import REFUSED, Bind, Built
from .ipystyle import style_binds
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
_PARTS = ("layout", "style")  # traits holding widgets whose own traits are bound too

#: ipywidgets class name -> builder; a subclass maps like its nearest listed base
BUILDERS: dict[str, Callable[[Any], Built]] = {
    **ipymap.BUILDERS,
    **ipyoutput.BUILDERS,
    **ipypickers.BUILDERS,
}


def supported() -> list[str]:
    """The ipywidgets class names with a native mirror (and their subclasses)."""
    return sorted(BUILDERS)


def is_ipywidget(obj: Any) -> bool:
    """Whether ``obj`` is an ipywidgets widget (without importing ipywidgets)."""
    ipw = sys.modules.get("ipywidgets")
    return ipw is not None and isinstance(obj, ipw.Widget)


def _builder(widget: Any) -> Callable[[Any], Built] | None:
    for cls in type(widget).__mro__:
        if not cls.__module__.startswith("ipywidgets"):
            continue  # a user's subclass: map it like its ipywidgets base
        if cls.__name__ in REFUSED:
            return None
        if cls.__name__ in BUILDERS:
            return BUILDERS[cls.__name__]
    return None


# ---------------------------------------------------------------------------
# the mirror


class _Mirror:
    """Keeps one model in step with one ipywidget (see the module docstring)."""

    def __init__(self, widget: Any, model: Model, binds: list[Bind]) -> None:
        self.widget = widget
        self.model = model
        self.binds = binds
        self._local = threading.local()
        self._parts: dict[str, Any] = {}
        self.sync_from_widget()
        sources = sorted({name for b in binds for name in b.sources if widget.has_trait(name)})
        if sources:
            widget.observe(self._on_widget, names=sources)
        for name in _PARTS:
            if name in sources:
                self._rewire(name)
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

    def _rewire(self, name: str) -> None:
        """Observe every trait of the widget's current ``layout``/``style``
        object (``w.layout.width = ...`` changes the Layout, not ``w``)."""
        old, new = self._parts.get(name), getattr(self.widget, name, None)
        if old is new:
            return
        if isinstance(old, traitlets.HasTraits):
            old.unobserve(self._on_widget, names=old.trait_names(sync=True))
        if isinstance(new, traitlets.HasTraits):
            new.observe(self._on_widget, names=new.trait_names(sync=True))
        self._parts[name] = new

    def _on_widget(self, change: dict[str, Any]) -> None:
        if change["owner"] is self.widget and change["name"] in self._parts:
            self._rewire(change["name"])
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
    if is_anywidget(widget):  # a real anywidget runs its own module (anyhost.py)
        return host(widget)
    ipyhook.install()
    with _LOCK:
        existing = widget.__dict__.get(_ATTR)
        if existing is not None:
            return existing.model  # type: ignore[no-any-return]
        build = _builder(widget)
        if build is None:
            model: Model = Label(f"unsupported ipywidget: {type(widget).__name__}")
            binds: list[Bind] = []
        else:
            model, binds = build(widget)
            if model.has_trait("_layout"):
                binds = [*binds, *style_binds()]
        widget.__dict__[_ATTR] = _Mirror(widget, model, binds)
    ipylinks.mirrored_now(widget)  # a jslink waiting for this end becomes live
    return model


def mirrored(widget: Any) -> Model | None:
    """The mirror of ``widget`` if one was made, else ``None``."""
    existing = getattr(widget, "__dict__", {}).get(_ATTR)
    return None if existing is None else existing.model
