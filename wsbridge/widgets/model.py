"""Synced models: traitlets objects whose ``sync=True`` traits mirror to browsers.

A model knows nothing of sockets. When a synced trait changes it builds a
``patch`` message (wire.messages) with the *current* value and hands it to its
listeners (the dashboards it belongs to) under the producer lock, so the hub
sees the changes in the order they were applied even when several threads
set traits at once. Values from browsers come back through
:meth:`Model._apply_client_state`, which validates them with the traits
themselves: a browser can never set what a Python user could not.

Traits tagged ``ref=True`` hold other models (or data sources); they travel
as ids (docs/protocol.md "Values").
"""

from __future__ import annotations

import html
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import traitlets
from traitlets import HasTraits

from ..hub.columns import new_id
from ..wire.messages import Custom, Patch
from ..wire.values import InvalidValue, check_value
from . import sync as _sync
from .source import DataSource

if TYPE_CHECKING:
    from .dashboard import Dashboard

__all__ = [
    "Listener",
    "Model",
]

#: a dashboard's hook: called with (model, message) under the producer lock
Listener = Callable[["Model", Any], None]

#: Model._ref_names per class
_REF_NAMES: dict[type, list[str]] = {}


def _serialize(value: Any) -> Any:
    if isinstance(value, (Model, DataSource)):
        return value.id
    if isinstance(value, (list, tuple)):
        return [_serialize(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _serialize(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return np.frombuffer(value, dtype=np.uint8)  # bytes travel as a uint8 buffer
    return value


class Model(HasTraits):
    """Base of every synced object: an ``id``, a wire ``_type``, synced traits.

    Subclasses declare traits with ``.tag(sync=True)``; ``_client_settable``
    lists the ones a browser may set (``None``: every synced trait that is not
    a reference), ``_events`` the event names a browser may fire, and
    ``_event_data`` those of them whose ``data`` (a small JSON object) reaches
    the callbacks; the others carry none (the hub refuses any, docs/protocol.md
    "event").
    """

    _type: ClassVar[str] = "Model"
    _client_settable: ClassVar[frozenset[str] | None] = None
    _events: ClassVar[frozenset[str]] = frozenset()
    _event_data: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, *, id: str | None = None, **kwargs: Any) -> None:
        self._listeners: list[Listener] = []
        self._event_handlers: dict[str, list[Callable[..., Any]]] = {}
        self._msg_handlers: list[Callable[..., Any]] = []
        validators = self._trait_validators  # the class's @validate handlers, per instance
        for name in self.trait_names(sync=True):
            validators[name] = _TravelCheck(validators.get(name))
        super().__init__(**kwargs)
        self.id: str = id or new_id("m")
        self.observe(self._on_trait_change, names=self.trait_names(sync=True))

    def __repr__(self) -> str:
        state = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.trait_names(sync=True))
        return f"{type(self).__name__}({state})"

    def _dashboards(self) -> list[Dashboard]:
        """The dashboards that hold this model (directly or through a layout)."""
        from .dashboard import Dashboard

        found: list[Dashboard] = []
        for listener in list(self._listeners):
            owner = getattr(listener, "__self__", None)
            if isinstance(owner, Dashboard) and owner not in found:
                found.append(owner)
        return found

    def _repr_html_(self) -> str:
        """In a notebook: the page of a dashboard that shows this model, inline.

        A bare widget has no view of its own (browsers render documents, not
        loose models), so it shows the first dashboard holding it that a
        running bridge serves, exactly as displaying that dashboard would;
        otherwise its repr and what to do about it.
        """
        holders = self._dashboards()
        for dash in holders:
            bridge = dash._bridge
            if bridge is not None and bridge.running:
                return dash._repr_html_()
        if holders:
            names = ", ".join(repr(d.name) for d in holders)
            hint = f"in dashboard {names}, which no running bridge serves now"
        else:
            hint = 'not published: add it to a dashboard, bridge.dashboard("name", widget)'
        return f"<code>{html.escape(repr(self))}</code><div>{html.escape(hint)}</div>"

    # -- what travels
    def _ref_names(self) -> list[str]:
        """Synced traits holding references to other models (cached per class).

        Why cached: every patch asks (Dashboard._on_change), and traitlets'
        ``trait_names`` walks every trait's metadata each time, a third of a
        browser set's handling. Traits are per class (``add_traits`` makes a
        new class), so the class is the key.
        """
        cls = type(self)
        names = _REF_NAMES.get(cls)
        if names is None:
            names = _REF_NAMES[cls] = self.trait_names(sync=True, ref=True)
        return names

    def settable(self) -> list[str]:
        """Trait names a browser may set."""
        if self._client_settable is not None:
            return sorted(self._client_settable)
        refs = set(self._ref_names())
        return sorted(
            n for n, t in self.traits(sync=True).items() if n not in refs and not t.read_only
        )

    def _wire_value(self, name: str) -> Any:
        """The wire form of trait ``name`` (subclasses may normalise it)."""
        return _serialize(getattr(self, name))

    def get_state(self) -> dict[str, Any]:
        """Synced traits in wire form (references as ids, arrays as arrays)."""
        return {name: self._wire_value(name) for name in self.trait_names(sync=True)}

    def _spec(self) -> dict[str, Any]:
        spec = {
            "type": self._type,
            "state": self.get_state(),
            "settable": self.settable(),
            "events": sorted(self._events),
        }
        if self._event_data:  # only when some event carries data (hub.inputs)
            spec["event_data"] = sorted(self._event_data & self._events)
        return spec

    def references(self) -> Iterator[Model | DataSource]:
        """Models and sources this one refers to (children, a plot's source...)."""
        for name in self._ref_names():
            value = getattr(self, name)
            items = value if isinstance(value, (list, tuple)) else [value]
            for item in items:
                if isinstance(item, (Model, DataSource)):
                    yield item
        # models that travel with this one with no property naming them
        # (an ipywidgets jslink between two mirrors: widgets/ipylinks.py)
        yield from self.__dict__.get("_companions", ())

    # -- producer -> hub
    def _on_trait_change(self, change: dict[str, Any]) -> None:
        name = change["name"]
        with _sync.LOCK:
            if self._listeners:
                # the current value, not change["new"]: if two threads set the
                # trait at once, both patches carry the final value.
                state = {name: self._wire_value(name)}
                message = Patch(seq=0, model=self.id, state=state, origin=_sync.ORIGIN.get())
                for listener in list(self._listeners):
                    listener(self, message)
        self._synced_change(name)

    def _synced_change(self, name: str) -> None:
        """Hook: synced trait ``name`` changed and its patch is on its way.

        Derive other traits here (a value re-clamped to new bounds, a choice
        reset when the options change), not in ``@observe`` handlers:
        traitlets runs those before this model's own observer, so the
        derived patch would reach browsers before its cause.
        """

    def send(self, content: Any, buffers: list[Any] | None = None) -> None:
        """Send a custom message to this model's views (anywidget ``msg:custom``)."""
        arrays = [
            np.frombuffer(b, dtype=np.uint8)
            if isinstance(b, (bytes, bytearray, memoryview))
            else np.asarray(b)
            for b in buffers or []
        ]
        with _sync.LOCK:
            message = Custom(model=self.id, content=content, buffers=arrays, seq=0)
            for listener in list(self._listeners):
                listener(self, message)

    # -- hub -> producer (run on the producer's callback thread)
    def _client_value(self, name: str, value: Any) -> Any:
        """A browser's value for ``name`` as the trait makes it canonical.

        Raises ``traitlets.TraitError`` when the value is refused; changes
        nothing. A model with a true ``disabled`` trait refuses every browser
        value (its control is greyed out; a crafted ``set`` changes nothing).
        """
        if getattr(self, "disabled", False) is True:
            raise traitlets.TraitError(f"{type(self).__name__} is disabled")
        return self.traits()[name]._validate(self, value)

    def _client_current(self, name: str) -> Any:
        """The value of ``name`` a browser's ``set`` is compared with (the trait)."""
        return getattr(self, name)

    def _client_apply(self, name: str, value: Any) -> None:
        """Apply a browser's value that :meth:`_client_value` made canonical
        (the trait is set; a model standing for another object forwards it)."""
        setattr(self, name, value)

    def _apply_client_state(self, name: str, value: Any) -> None:
        """Validate a browser's value with the trait and set it (observers run;
        exceptions they raise propagate)."""
        self._client_apply(name, self._client_value(name, value))

    def on_event(self, name: str, callback: Callable[..., Any]) -> None:
        """Call ``callback(model, data)`` when a browser fires event ``name``."""
        if name not in self._events:
            raise ValueError(f"{type(self).__name__} has no event {name!r}")
        self._event_handlers.setdefault(name, []).append(callback)

    def on_msg(self, callback: Callable[..., Any]) -> None:
        """Call ``callback(model, content, buffers)`` on a custom message from a view."""
        self._msg_handlers.append(callback)

    def _fire_event(self, name: str, data: Any) -> None:
        if getattr(self, "disabled", False) is True:
            return  # a click on a disabled button does nothing in Python
        for cb in list(self._event_handlers.get(name, [])):
            cb(self, data)

    def _fire_msg(self, content: Any, buffers: list[Any]) -> None:
        for cb in list(self._msg_handlers):
            cb(self, content, buffers)


class _TravelCheck:
    """A synced trait's cross-validator: the trait's own ``@validate`` handler
    (if any), then the wire's value rules (``wire.values``).

    Why a validator: traitlets runs it before the value is stored, so a value
    that could not travel (a 70-bit int, a 300-level dict) raises
    ``TraitError`` from the assignment and nothing changes or is sent; a
    browser's ``set`` of one is refused with ``invalid_value`` the same way
    (``Model._apply_client_state``).
    """

    __slots__ = ("inner",)

    def __init__(self, inner: Callable[[Any, Any], Any] | None) -> None:
        self.inner = inner

    def __call__(self, obj: Any, proposal: Any) -> Any:
        value = proposal.value if self.inner is None else self.inner(obj, proposal)
        kind = type(value)
        if kind is float or kind is bool or value is None:
            return value  # the common scalars travel as they are
        try:
            check_value(_serialize(value), "value")
        except InvalidValue as exc:
            name = f"{type(obj).__name__}.{proposal.trait.name}"
            raise traitlets.TraitError(f"{name}: this value cannot travel: {exc.message}") from None
        return value


def _as_model(value: Any) -> Any:
    """An ipywidgets object becomes its native mirror (wsbridge/ipy.py); any
    other value is returned unchanged.

    Looked up in ``sys.modules`` rather than imported: whoever holds an
    ipywidget has imported ipywidgets already, and wsbridge must import
    without it.
    """
    ipw = sys.modules.get("ipywidgets")
    if ipw is not None and not isinstance(value, Model) and isinstance(value, ipw.Widget):
        from .ipywidgets import mirror

        return mirror(value)
    return value
