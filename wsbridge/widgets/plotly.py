"""Plotly figures in wsbridge dashboards: Plotly.js draws, a ``DataSource`` feeds it.

``PlotlyPlot(fig, source=src, x="t", y="y")`` shows a
``plotly.graph_objects.Figure`` (or ``FigureWidget``, or a figure dict) with
Plotly.js, served by our hub from the installed plotly package
(``plotly/package_data/plotly.min.js``, never a CDN). The figure travels as
Plotly's JSON without the data of the *mapped* trace attributes; in the
browser (js/src/views/plotly.js) those come from the wsbridge source as
typed arrays, and the source's ``stream`` / ``source_patch`` /
``source_replace`` reach Plotly.js as ``Plotly.extendTraces`` (the stream's
rollover is ``maxPoints``) or ``Plotly.react`` with the whole data, at most
once per animation frame, through the same ``Feed`` as BokehJS's sources
(js/src/views/plotfeed.js). A snapshot after a reconnection redraws from the
source: the source is the single truth, never data frozen in the figure.

Why one source per plot with a per-trace mapping
(``traces={0: {"x": "t", "y": "a"}, 1: {"x": "t", "y": "b"}}``) rather than
a source per trace: one ``src.stream`` is one sequenced message with one
rollover, so every trace of the plot grows in the same step with one
``extendTraces`` call, and a shared column (the time axis) travels once.
``x=``/``y=`` are the shorthand for trace 0.

Browser events come back as events (``on_click``, ``on_select``,
``on_relayout``): untrusted input, so the view sends a small summary and
Python keeps only what it expects (``clean_points``, ``clean_relayout``);
anything else is dropped and logged (rate-limited).

plotly is optional: ``import wsbridge`` works without it, and
``PlotlyPlot`` raises an ``ImportError`` that says how to install it.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from traitlets import Dict, Instance, List, Unicode

from ..logs import log_limited
from .model import Model
from .source import DataSource

__all__ = [
    "MAX_EVENT_POINTS",
    "PlotlyPlot",
    "clean_points",
    "clean_relayout",
    "figure_spec",
    "require_plotly",
]

log = logging.getLogger("wsbridge.widgets")

_INSTALL_HINT = "pip install 'wsbridge[plotly]' (or pip install 'plotly>=6')"

#: points a click or selection event may carry (the view sends at most these)
MAX_EVENT_POINTS = 50
#: keys a relayout event may carry
MAX_RELAYOUT_KEYS = 32
#: characters of a string value kept in an event
MAX_EVENT_TEXT = 200

_ATTR = re.compile(r"[a-z][a-z0-9]*(\.[a-z][a-z0-9]*)*")
_RELAYOUT_KEY = re.compile(r"[a-z][a-z0-9]*(\.[a-z_][a-z0-9_]*)*(\[\d\])?")


def require_plotly() -> Any:
    """The ``plotly`` module, or an ``ImportError`` that says what to install."""
    try:
        import plotly
    except ImportError as exc:
        raise ImportError(
            f"wsbridge.PlotlyPlot needs plotly >= 6, which is not installed: {_INSTALL_HINT}"
        ) from exc
    return plotly


def _figure_dict(fig: Any) -> dict[str, Any]:
    """``fig`` as Plotly's JSON (``data``, ``layout``) in plain Python values."""
    from plotly.basedatatypes import BaseFigure

    if isinstance(fig, BaseFigure):
        text = fig.to_json()
    elif isinstance(fig, Mapping) and "data" in fig:
        import plotly.io

        text = plotly.io.to_json(dict(fig), validate=False)
    else:
        raise TypeError(
            f"PlotlyPlot takes a plotly Figure, FigureWidget or figure dict, "
            f"not {type(fig).__name__}"
        )
    out: dict[str, Any] = json.loads(text)
    out.setdefault("data", [])
    out.setdefault("layout", {})
    return out


def _set_path(obj: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        child = obj.get(key)
        if not isinstance(child, dict):
            child = obj[key] = {}
        obj = child
    obj[last] = value


def _mapping(
    traces: Mapping[int, Mapping[str, str]], ntraces: int, source: DataSource | None
) -> list[dict[str, Any]]:
    """The wire form of a trace mapping, checked against the figure and the source."""
    if traces and source is None:
        raise ValueError("PlotlyPlot: a trace mapping needs a source (source=wb.DataSource(...))")
    out: list[dict[str, Any]] = []
    for index, attrs in sorted(traces.items()):
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < ntraces:
            raise ValueError(
                f"PlotlyPlot: trace {index!r} is not a trace of the figure (it has {ntraces})"
            )
        columns: dict[str, str] = {}
        for attr, column in attrs.items():
            if not isinstance(attr, str) or not _ATTR.fullmatch(attr):
                raise ValueError(f"PlotlyPlot: {attr!r} is not a trace attribute such as 'x'")
            assert source is not None
            if column not in source.columns:
                raise ValueError(
                    f"PlotlyPlot: trace {index} {attr}: the source has no column {column!r} "
                    f"(it has {', '.join(source.columns) or 'none'})"
                )
            columns[attr] = column
        if columns:
            out.append({"trace": index, "columns": columns})
    return out


def figure_spec(fig: Any, mapping: list[dict[str, Any]]) -> dict[str, Any]:
    """``fig``'s JSON with every mapped attribute emptied (the source fills it)."""
    spec = _figure_dict(fig)
    for entry in mapping:
        trace = spec["data"][entry["trace"]]
        for attr in entry["columns"]:
            _set_path(trace, attr, [])
    return {"data": spec["data"], "layout": spec["layout"]}


def _plain(value: Any) -> Any:
    """A point's coordinate as a finite number, a short string, or None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return value[:MAX_EVENT_TEXT]
    return None


def clean_points(data: Any) -> dict[str, Any]:
    """A click or selection event's data as ``{"points": [{"trace", "index", "x", "y"}]}``.

    Raises ``ValueError`` for anything else (the event is then dropped)."""
    points = data.get("points") if isinstance(data, dict) else None
    if not isinstance(points, list) or len(points) > MAX_EVENT_POINTS:
        raise ValueError(f"points must be a list of at most {MAX_EVENT_POINTS}")
    out = []
    for p in points:
        if not isinstance(p, dict):
            raise ValueError("a point must be an object")
        trace, index = p.get("trace"), p.get("index")
        for name, v in (("trace", trace), ("index", index)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"a point's {name} must be a non-negative integer")
        out.append({"trace": trace, "index": index, "x": _plain(p.get("x")),
                    "y": _plain(p.get("y"))})  # fmt: skip
    return {"points": out}


def clean_relayout(data: Any) -> dict[str, Any]:
    """A relayout event's data: axis ranges and the like, as Plotly names them
    (``"xaxis.range[0]": 1.5``, ``"xaxis.autorange": True``); values are
    numbers, booleans, short strings or lists of at most 4 numbers.

    Raises ``ValueError`` for anything else (the event is then dropped)."""
    if not isinstance(data, dict) or len(data) > MAX_RELAYOUT_KEYS:
        raise ValueError(f"a relayout is an object of at most {MAX_RELAYOUT_KEYS} keys")
    out: dict[str, Any] = {}
    for key, value in data.items():
        if not _RELAYOUT_KEY.fullmatch(key):
            raise ValueError(f"{key[:40]!r} is not a layout attribute")
        if isinstance(value, list):
            if len(value) > 4 or not all(isinstance(v, (int, float, str)) for v in value):
                raise ValueError(f"{key}: a list of at most 4 numbers")
            out[key] = [_plain(v) for v in value]
        elif value is None or isinstance(value, (bool, int, float, str)):
            out[key] = _plain(value) if value is not None else None
        else:
            raise ValueError(f"{key}: a {type(value).__name__} is not a layout value")
    return out


_CLEANERS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "click": clean_points,
    "select": clean_points,
    "relayout": clean_relayout,
}


class PlotlyPlot(Model):
    """A Plotly figure drawn by Plotly.js, its traces fed by a ``DataSource``.

    ``PlotlyPlot(fig, source=src, x="t", y="y")`` maps trace 0's ``x``/``y``
    to the source's columns ``t``/``y``; ``traces={i: {"x": ..., "y": ...,
    "marker.color": ...}}`` maps any trace attribute of any trace (one source
    for the whole plot: see the module docstring for why). ``src.stream``
    extends the traces (with ``rollover`` as Plotly's ``maxPoints``),
    ``src.patch``/``src.replace`` redraw them, as typed arrays. A figure with
    no trace gets a line trace when ``x``/``y`` are given.

    ``plot.figure = new_fig`` sends another figure; after changing the
    figure in place (``fig.update_layout(title=...)``), call
    :meth:`refresh`, or use :meth:`update_layout`. ``config`` is Plotly.js's
    config (``{"displayModeBar": False}``...).

    Browser events: :meth:`on_click`, :meth:`on_select` (``cb(plot, {"points":
    [{"trace", "index", "x", "y"}...]})``) and :meth:`on_relayout` (``cb(plot,
    {"xaxis.range[0]": ..., ...})`` after a zoom or pan).
    """

    _type = "PlotlyPlot"
    _client_settable = frozenset()
    _events = frozenset(_CLEANERS)
    _event_data = frozenset(_CLEANERS)

    spec = Dict().tag(sync=True)
    source = Instance(DataSource, allow_none=True).tag(sync=True, ref=True)
    traces = List(Dict()).tag(sync=True)
    config = Dict().tag(sync=True)
    plotly_version = Unicode("").tag(sync=True)

    def __init__(
        self,
        fig: Any,
        source: DataSource | None = None,
        x: str | None = None,
        y: str | None = None,
        traces: Mapping[int, Mapping[str, str]] | None = None,
        config: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        plotly = require_plotly()
        shorthand = {k: v for k, v in (("x", x), ("y", y)) if v is not None}
        if shorthand and traces:
            raise ValueError("PlotlyPlot: give x=/y= (trace 0) or traces=, not both")
        self._mapped = dict(traces) if traces else ({0: shorthand} if shorthand else {})
        base: Any = _base_figure()
        if shorthand and isinstance(fig, base) and not fig.data:
            fig.add_scatter(mode="lines")
        self._fig = fig
        spec, mapping = self._build(fig, source)
        super().__init__(
            spec=spec,
            source=source,
            traces=mapping,
            config=dict(config or {}),
            plotly_version=plotly.__version__,
            **kwargs,
        )

    def _build(
        self, fig: Any, source: DataSource | None
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        ntraces = len(_figure_dict(fig)["data"])
        mapping = _mapping(self._mapped, ntraces, source)
        return figure_spec(fig, mapping), mapping

    @property
    def figure(self) -> Any:
        """The figure drawn; assigning another one sends it (its traces keep the mapping)."""
        return self._fig

    @figure.setter
    def figure(self, fig: Any) -> None:
        spec, mapping = self._build(fig, self.source)
        self._fig = fig
        with self.hold_trait_notifications():
            self.traces = mapping
            self.spec = spec

    def refresh(self) -> None:
        """Send the figure's current structure (layout, styling) to every browser."""
        self.figure = self._fig

    def update_layout(self, **changes: Any) -> None:
        """``fig.update_layout(**changes)``, then :meth:`refresh`."""
        self._fig.update_layout(**changes)
        self.refresh()

    def on_click(self, callback: Callable[..., Any]) -> None:
        """``callback(plot, {"points": [...]})`` when a viewer clicks a point."""
        self.on_event("click", callback)

    def on_select(self, callback: Callable[..., Any]) -> None:
        """``callback(plot, {"points": [...]})`` after a box or lasso selection."""
        self.on_event("select", callback)

    def on_relayout(self, callback: Callable[..., Any]) -> None:
        """``callback(plot, {"xaxis.range[0]": ..., ...})`` after a zoom, pan or autoscale."""
        self.on_event("relayout", callback)

    def _fire_event(self, name: str, data: Any) -> None:
        try:
            clean = _CLEANERS[name](data)
        except ValueError as exc:
            log_limited(
                log,
                logging.WARNING,
                "plotly event",
                "dropped a %s event of PlotlyPlot %s: %s",
                name,
                self.id,
                exc,
            )
            return
        super()._fire_event(name, clean)


def _base_figure() -> Any:
    from plotly.basedatatypes import BaseFigure

    return BaseFigure
