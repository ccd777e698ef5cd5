"""Real ``anywidget.AnyWidget`` objects in a dashboard, exactly as given.

Give any ``anywidget.AnyWidget`` instance (anywidget's README counter,
drawdata's ``ScatterWidget``, wigglystuff's ``Slider2D``, Plotly's
``go.FigureWidget``, Altair's ``alt.JupyterChart``...) wherever a widget is
accepted (layout ``children``, ``bridge.dashboard(name, root)``,
``dash.add``): wsbridge puts its *host* there, an :class:`AnyHost` model
whose view runs the widget's own ES module with anywidget's model API.

Why a host rather than a native mirror or a copy into ``wb.AnyWidget``:
an anywidget's behaviour is its module plus its Python class (observers,
``to_json``/``from_json`` serializers, ``on_msg`` handlers, properties such
as ``data_as_pandas``), so the only faithful way to show it is to keep the
real object as the source of truth, as ipywidgets mirroring does, and run
its module unchanged. The host holds no state of its own beyond the wire
form of the widget's synced traits, so there is nothing to keep in step
and no echo to cut:

- a Python change of a synced trait (any thread) is read back through the
  trait's ``to_json`` (as ipywidgets' ``get_state`` does) and sent as a
  ``patch``; ``bytes``/``memoryview`` anywhere in that value travel as
  binary buffers (uint8 arrays) and reach the module as ``DataView`` s, as
  in Jupyter;
- a browser's ``set`` goes through ``widget.set_state`` (the trait's
  ``from_json``, then its validation and observers), after the same
  ``from_json`` and validation were tried first so that a bad value is
  refused whole with ``invalid_value`` and changes nothing; what the widget
  made of it comes back to every browser;
- ``widget.send(content, buffers)`` reaches the module's
  ``msg:custom`` listeners, and the module's ``model.send`` reaches the
  widget's ``on_msg`` callbacks with ``memoryview`` buffers (Jupyter's
  form); anywidget's ``experimental.invoke`` commands ride on these;
- ``_esm`` and ``_css`` (text, a path or anywidget's ``FileContents``,
  which anywidget itself turns into text traits) travel as *assets*:
  :class:`AnyAsset` models holding the text, shared by every host whose
  text is the same, so a dashboard of four Plotly figures carries Plotly's
  5 MB bundle once. A changed ``_esm`` (a ``FileContents`` that changed on
  disk) gets a new asset and the views reload it, as anywidget's hot reload
  does. The page imports the module from a ``blob:`` URL; a module that
  itself imports URLs does so from the page; the hub never fetches
  anything;
- a trait that references other widgets (``widget_serialization``,
  ``"IPY_MODEL_<id>"``) travels as ``"IPY_MODEL_<wsbridge id>"``, the
  referenced widget joins the document (an anywidget as its host, an
  ipywidget as its mirror) and ``model.widget_manager.get_model(id)``
  resolves it in the page.

What a browser may set: the widget's own synced traits that are neither
read-only nor references, never ``_esm``, ``_css``, ``_anywidget_id`` or
the ipywidgets plumbing (``_model_*``, ``_view_*``, ``_dom_classes``,
``layout``, ``tabbable``, ``tooltip``), which do not travel at all.

Plotly's ``FigureWidget`` sends its updates as one-shot ``_py2js_*``
values and keeps its figure in ``_widget_data``/``_widget_layout`` only
as of its creation; the host re-reads the figure into those two with each
update (:func:`_plotly_refresh`), so a page that loads later starts from
the current figure (docs/charts.md "Plotly FigureWidget").

Hosts are cached on the widget object (one per widget, however many
places show it). anywidget is never imported here: whoever holds an
anywidget has imported it.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import traitlets

from ..wire.messages import Patch
from ..wire.values import InvalidValue, check_value, wire_dtype
from . import sync as _sync
from .model import Model
from .source import DataSource

__all__ = [
    "AnyAsset",
    "AnyHost",
    "host",
    "is_anywidget",
]

log = logging.getLogger(__name__)

_ATTR = "_wsbridge_host"  # where a widget keeps its host
_LOCK = threading.RLock()  # one host per widget, even from two threads
_REF = "IPY_MODEL_"
_MISSING = object()
#: values compared before a patch is sent (containers are sent as they are)
_SCALARS = frozenset({type(None), bool, int, float, str})

#: synced traits of the ipywidgets/anywidget bases that never travel: the
#: Jupyter plumbing, and the module and style, which travel as assets
_PLUMBING = frozenset(
    {
        "_model_name",
        "_model_module",
        "_model_module_version",
        "_view_name",
        "_view_module",
        "_view_module_version",
        "_view_count",
        "_dom_classes",
        "layout",
        "tabbable",
        "tooltip",
        "_esm",
        "_css",
        "_anywidget_id",
    }
)


def is_anywidget(obj: Any) -> bool:
    """Whether ``obj`` is an ``anywidget.AnyWidget`` (without importing anywidget)."""
    aw = sys.modules.get("anywidget")
    cls = getattr(aw, "AnyWidget", None) if aw is not None else None
    return cls is not None and isinstance(obj, cls)


# ---------------------------------------------------------------------------
# assets: module and CSS text, one model per distinct text


class AnyAsset(Model):
    """The text of an anywidget module or stylesheet, shared by every host using it.

    Never rendered; a host's ``_esm``/``_css`` hold its id. Immutable: a new
    text is a new asset.
    """

    _type = "AnyAsset"
    _client_settable = frozenset()
    text = traitlets.Unicode("").tag(sync=True)


_ASSETS: weakref.WeakValueDictionary[str, AnyAsset] = weakref.WeakValueDictionary()


def _asset(text: str) -> AnyAsset:
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    with _LOCK:
        found = _ASSETS.get(digest)
        if found is None:
            found = _ASSETS[digest] = AnyAsset(text=text)
        return found


# ---------------------------------------------------------------------------
# values: Jupyter's JSON-with-buffers form <-> the wire form


#: the models a value refers to, each with the Jupyter id of its widget
Refs = list[tuple[Model, str]]


def _to_wire(value: Any, refs: Refs, depth: int = 0) -> Any:
    """A ``to_json`` result as it travels: binary as uint8 arrays, refs translated."""
    kind = type(value)
    if value is None or kind is bool or kind is int or kind is float:
        return value
    if kind is str:
        return _ref_out(value, refs) if value.startswith(_REF) else value
    if depth > 100:
        raise InvalidValue("nested too deeply")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return np.frombuffer(bytes(value), dtype=np.uint8)  # a copy: the widget may reuse it
    if isinstance(value, dict):
        return {str(k): _to_wire(v, refs, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_wire(v, refs, depth + 1) for v in value]
    if isinstance(value, np.ndarray):
        if wire_dtype(value.dtype):
            return np.array(value)
        return _to_wire(value.tolist(), refs, depth + 1)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()  # what Jupyter's JSON encoder makes of them
    if isinstance(value, (bool, int, float, str)):  # enums and other subclasses
        return value
    if _is_widget(value):  # a widget left in a value without widget_serialization
        return _ref_out(_REF + value.model_id, refs)
    raise InvalidValue(f"a {type(value).__name__} cannot travel")


def _is_widget(value: Any) -> bool:
    ipw = sys.modules.get("ipywidgets")
    return ipw is not None and isinstance(value, ipw.Widget)


def _ref_out(text: str, refs: Refs) -> str:
    """``IPY_MODEL_<jupyter id>`` of a live widget -> ``IPY_MODEL_<wsbridge id>``."""
    ipw = sys.modules.get("ipywidgets.widgets.widget")
    widget = getattr(ipw, "_instances", {}).get(text[len(_REF) :]) if ipw else None
    if widget is None:
        return text
    from .model import _as_model

    model = _as_model(widget)
    if not isinstance(model, Model):
        return text
    refs.append((model, text[len(_REF) :]))
    return _REF + model.id


def _from_wire(value: Any, back: dict[str, str], as_bytes: bool = False) -> Any:
    """A browser's value in Jupyter's form: arrays as memoryviews (``bytes``
    with ``as_bytes``), known refs back."""
    if isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value).tobytes()
        return data if as_bytes else memoryview(data)
    if isinstance(value, dict):
        return {k: _from_wire(v, back, as_bytes) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_wire(v, back, as_bytes) for v in value]
    if isinstance(value, str) and value.startswith(_REF) and value[len(_REF) :] in back:
        return _REF + back[value[len(_REF) :]]
    return value


# ---------------------------------------------------------------------------
# Plotly's FigureWidget: the figure re-read when an update closes

_PLOTLY_DATA = frozenset(
    {
        "_py2js_restyle",
        "_py2js_addTraces",
        "_py2js_deleteTraces",
        "_py2js_moveTraces",
        "_py2js_removeTraceProps",
        "_py2js_update",
        "_py2js_animate",
    }
)
_PLOTLY_LAYOUT = frozenset(
    {"_py2js_relayout", "_py2js_removeLayoutProps", "_py2js_update", "_py2js_animate"}
)


#: what Plotly's page sets that its Python class has no trait for: Jupyter's
#: ``set_state`` drops unknown names silently, and so does the host (rather
#: than refuse every zoom with ``unknown_property``)
_PLOTLY_DROPPED = frozenset({"_js2py_widget_layoutDelta"})


def _is_plotly(widget: Any) -> bool:
    return any(
        c.__name__ == "BaseFigureWidget" and c.__module__ == "plotly.basewidget"
        for c in type(widget).__mro__
    )


#: updates that add to what the page holds (applying one twice would add
#: twice): the figure is re-read when they close, not with them
_PLOTLY_RELATIVE = frozenset({"_py2js_addTraces", "_py2js_deleteTraces", "_py2js_moveTraces"})


def _plotly_refresh(widget: Any, name: str, new: Any) -> dict[str, Any]:
    """The traits that hold the figure, re-read for update ``name`` (now ``new``).

    Plotly's page ignores changes of ``_widget_data``/``_widget_layout``
    (it keeps its own copy up to date from the updates), so re-reading them
    changes nothing a page shows, while the document then holds the figure
    a newly loaded page must start from. An update that sets values
    (restyle, relayout, update, animate, removing properties) carries the
    re-read figure in its own patch: applying it to the already current
    copy changes nothing, and no page can load between the two. One that
    adds or moves traces would apply twice, so the figure comes in the
    patch that closes it (the ``None`` after it).
    """
    if (new is None) != (name in _PLOTLY_RELATIVE):
        return {}
    out: dict[str, Any] = {}
    if name in _PLOTLY_DATA:
        out["_widget_data"] = widget._data
    if name in _PLOTLY_LAYOUT:
        out["_widget_layout"] = widget._layout_obj._props
    return out


# ---------------------------------------------------------------------------
# the host


class AnyHost(Model):
    """The model that shows one real ``anywidget.AnyWidget`` (see the module docstring).

    ``host.widget`` is the anywidget; the state is its synced traits in wire
    form plus ``_esm``/``_css`` (asset ids) and ``_anywidget_id``.
    """

    _type = "AnyHost"

    def __init__(self, widget: Any) -> None:
        super().__init__()
        self.widget = widget
        keys = [k for k in widget.keys if k not in _PLUMBING and widget.has_trait(k)]
        traits = widget.traits()
        self._settable: list[str] = sorted(
            k for k in keys if not traits[k].read_only and not _is_ref_trait(widget, k)
        )
        self._plotly = _is_plotly(widget)
        #: names a browser may send that are dropped, as Jupyter drops them
        self._dropped = _PLOTLY_DROPPED - set(keys) if self._plotly else frozenset()
        #: wire values by trait; models each trait refers to; wsbridge id -> Jupyter id
        self._state: dict[str, Any] = {}
        self._refs: dict[str, list[Model]] = {}
        self._back: dict[str, str] = {}
        self._esm = _asset(str(getattr(widget, "_esm", "") or ""))
        css = str(getattr(widget, "_css", "") or "")
        self._css: AnyAsset | None = _asset(css) if css else None
        for name in keys:
            self._read(name)
        widget.observe(self._on_widget, names=[*keys, "_esm", "_css"])
        _wrap_send(widget, self)

    def __repr__(self) -> str:
        return f"AnyHost({type(self.widget).__name__}, id={self.id!r})"

    # -- reading the widget
    def _read(self, name: str, value: Any = None, *, given: bool = False) -> Any:
        """Trait ``name`` through its ``to_json``, in wire form; refs recorded."""
        widget = self.widget
        to_json = widget.trait_metadata(name, "to_json", widget._trait_to_json)
        refs: Refs = []
        wire = _to_wire(to_json(value if given else getattr(widget, name), widget), refs)
        check_value(wire, name)
        self._state[name] = wire
        if refs:
            self._refs[name] = [model for model, _ in refs]
            self._back.update((model.id, jupyter_id) for model, jupyter_id in refs)
        else:
            self._refs.pop(name, None)
        return wire

    def _on_widget(self, change: dict[str, Any]) -> None:
        name = change["name"]
        try:
            with _sync.LOCK:
                if name in ("_esm", "_css"):
                    text = str(change["new"] or "")
                    asset = _asset(text) if text or name == "_esm" else None
                    if name == "_esm":
                        assert asset is not None
                        self._esm = asset
                    else:
                        self._css = asset
                    self._emit({name: asset.id if asset is not None else None})
                    return
                before = self._state.get(name, _MISSING)
                wire = self._read(name)
                if type(wire) in _SCALARS and type(before) is type(wire) and before == wire:
                    # nothing new for the pages: a notification fired twice, or
                    # Plotly resetting a browser's one-shot value it already reset
                    return
                state = {name: wire}
                if self._plotly and name.startswith("_py2js_"):
                    for extra, value in _plotly_refresh(self.widget, name, wire).items():
                        state[extra] = self._read(extra, value, given=True)
                self._emit(state)
        except (InvalidValue, TypeError, ValueError) as exc:
            log.error("%s.%s cannot travel: %s", type(self.widget).__name__, name, exc)

    def _emit(self, state: dict[str, Any]) -> None:
        """Send ``state`` (already in ``_state``) to the dashboards, under the lock."""
        if self._listeners:
            message = Patch(seq=0, model=self.id, state=state, origin=_sync.ORIGIN.get())
            for listener in list(self._listeners):
                listener(self, message)

    # -- what travels
    def get_state(self) -> dict[str, Any]:
        return {
            **self._state,
            "_esm": self._esm.id,
            "_css": self._css.id if self._css is not None else None,
            "_anywidget_id": str(getattr(self.widget, "_anywidget_id", "") or self.id),
        }

    def settable(self) -> list[str]:
        return sorted([*self._settable, *self._dropped])

    def _ref_names(self) -> list[str]:
        return ["_esm", "_css", *self._refs]

    def references(self) -> Iterator[Model | DataSource]:
        yield self._esm
        if self._css is not None:
            yield self._css
        for models in list(self._refs.values()):
            yield from models

    # -- a browser's input (the callbacks thread)
    def _client_value(self, name: str, value: Any) -> Any:
        """Refuse (``TraitError``) what the widget would refuse; change nothing."""
        if name in self._dropped:
            return None
        if name not in self._settable:
            raise traitlets.TraitError(f"{type(self.widget).__name__}.{name} is not settable")
        widget = self.widget
        from_json = widget.trait_metadata(name, "from_json", widget._trait_from_json)
        try:
            check_value(value, name)  # what the hub could not send back (2**70...)
            parsed = from_json(self._incoming(name, value), widget)
            valid = widget.traits()[name]._validate(widget, parsed)
            # and what the trait made of it must travel back (Int takes 1e21 as 10**21)
            to_json = widget.trait_metadata(name, "to_json", widget._trait_to_json)
            check_value(_to_wire(to_json(valid, widget), []), name)
        except traitlets.TraitError:
            raise
        except InvalidValue as exc:
            raise traitlets.TraitError(f"{type(widget).__name__}.{exc.message}") from None
        except Exception as exc:  # a from_json that chokes on a crafted value
            text = f"{type(widget).__name__}.{name}: {type(exc).__name__}: {exc}"
            raise traitlets.TraitError(text) from None
        return value

    def _client_current(self, name: str) -> Any:
        return self._state.get(name)

    def _client_apply(self, name: str, value: Any) -> None:
        """As Jupyter applies a front end's update: ``set_state`` (observers run)."""
        if name in self._dropped:
            return
        self.widget.set_state({name: self._incoming(name, value)})

    def _incoming(self, name: str, value: Any) -> Any:
        """A browser's value as ``set_state`` takes it: binary as memoryviews for
        a trait with its own ``from_json`` (Jupyter's form, which such functions
        expect), else as ``bytes`` (what a ``Bytes`` trait accepts)."""
        own = self.widget.trait_metadata(name, "from_json") is not None
        return _from_wire(value, self._back, as_bytes=not own)

    def _fire_msg(self, content: Any, buffers: list[Any]) -> None:
        views = [memoryview(np.ascontiguousarray(b).tobytes()) for b in buffers]
        self.widget._handle_custom_msg(_from_wire(content, self._back), views)
        super()._fire_msg(content, buffers)

    def _send_custom(self, content: Any, buffers: list[Any] | None) -> None:
        try:
            wire = _to_wire(content, [])
            arrays = [np.frombuffer(bytes(b), dtype=np.uint8) for b in buffers or []]
            self.send(wire, arrays)
        except (InvalidValue, TypeError, ValueError) as exc:
            log.error("a message of %s cannot travel: %s", type(self.widget).__name__, exc)


def _is_ref_trait(widget: Any, name: str) -> bool:
    ipw = sys.modules.get("ipywidgets.widgets.widget")
    to_json = widget.trait_metadata(name, "to_json")
    return ipw is not None and to_json is getattr(ipw, "_widget_to_json", None)


def _wrap_send(widget: Any, owner: AnyHost) -> None:
    """``widget.send`` (any ``_send`` of a custom message) also reaches the page.

    The widget's own ``_send`` still runs, so a widget also shown in Jupyter
    keeps working there.
    """
    original: Callable[..., Any] = widget._send
    ref = weakref.ref(owner)

    def _send(msg: Any, buffers: Any = None) -> None:
        found = ref()
        if found is not None and isinstance(msg, dict) and msg.get("method") == "custom":
            found._send_custom(msg.get("content"), buffers)
        original(msg, buffers=buffers)

    widget._send = _send


def host(widget: Any) -> AnyHost:
    """The :class:`AnyHost` showing anywidget ``widget`` (made once, cached on it)."""
    if not is_anywidget(widget):
        raise TypeError(f"not an anywidget.AnyWidget: {type(widget).__name__}")
    with _LOCK:
        existing = widget.__dict__.get(_ATTR)
        if existing is None:
            existing = widget.__dict__[_ATTR] = AnyHost(widget)
        return existing  # type: ignore[no-any-return]
