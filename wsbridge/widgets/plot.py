"""Bokeh figures in wsbridge dashboards: BokehJS draws, our sources feed it.

``DataSource.bokeh`` is a ``bokeh.models.ColumnDataSource`` *tied* to a
wsbridge source: a figure's glyphs name it as usual
(``fig.line("x", "y", source=src.bokeh)``), and ``Plot(fig)`` sends the
figure to browsers as Bokeh's own JSON (``bokeh.embed.json_item``) with the
data of every tied ColumnDataSource left out. In the browser (js/src/views/plot.js)
BokehJS, served by our hub from the installed bokeh package, rebuilds the
figure with ``Bokeh.embed.embed_item``; the view then fills each tied
ColumnDataSource from the wsbridge source's binary columns and follows its
``stream`` / ``source_patch`` / ``source_replace`` messages with BokehJS's
``cds.stream`` / ``cds.patch`` / ``cds.data``. No Bokeh server, no second
copy of the data in the figure JSON, and every plot of a source (several
may share one) follows the same binary stream.

Why the data is stripped: the wsbridge source is the single truth in the
document (a snapshot, a replay and the hub's coalescing all apply to it).
A copy frozen in the figure JSON would be stale after the first stream and
would travel again, base64-encoded, in every snapshot.

Bokeh is optional: ``import wsbridge`` works without it; ``DataSource.bokeh``
and ``Plot`` raise an ``ImportError`` saying how to install it.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from typing import Any

import numpy as np
from traitlets import Dict, Instance, List, Unicode

from .model import Model
from .source import DataSource

__all__ = [
    "BUNDLES",
    "DARK_THEME",
    "MIN_BOKEH",
    "Plot",
    "bokeh_source",
    "bundles_for",
    "dark_overrides",
    "require_bokeh",
]

#: the oldest Bokeh whose JSON format (``{"type": "map", ...}``) plot.js reads
MIN_BOKEH = (3, 4)

_INSTALL_HINT = "pip install 'wsbridge[plot]' (or pip install 'bokeh>=3.4')"

_LOCK = threading.Lock()
#: DataSource -> its tied ColumnDataSource (one per source, created on demand)
_CDS_OF: weakref.WeakKeyDictionary[DataSource, Any] = weakref.WeakKeyDictionary()
#: ColumnDataSource id -> its wsbridge DataSource (how a Plot finds the sources it draws)
_SOURCE_OF: weakref.WeakValueDictionary[str, DataSource] = weakref.WeakValueDictionary()


def require_bokeh() -> Any:
    """The ``bokeh`` module, or an ``ImportError`` that says what to install."""
    try:
        import bokeh
    except ImportError as exc:
        raise ImportError(
            f"wsbridge.Plot and DataSource.bokeh need Bokeh >= 3.4, which is not installed: "
            f"{_INSTALL_HINT}"
        ) from exc
    version = tuple(int(p) for p in bokeh.__version__.split(".")[:2] if p.isdigit())
    if version < MIN_BOKEH:
        raise ImportError(
            f"wsbridge.Plot needs Bokeh >= 3.4, found {bokeh.__version__}: {_INSTALL_HINT}"
        )
    return bokeh


def _bokeh_column(values: Any) -> Any:
    """A column for the Python-side ColumnDataSource: its own writable copy."""
    if isinstance(values, np.ndarray):
        return np.array(values, copy=True)
    return list(values)


def bokeh_source(source: DataSource) -> Any:
    """The ColumnDataSource tied to ``source`` (``DataSource.bokeh``), cached.

    It has the source's columns and the data it held when first asked for,
    and is named ``wsbridge:<source id>`` (so it can be told apart in a
    BokehJS document: ``Bokeh.documents[i].all_models``).
    It is a *name* for the source inside Bokeh figures: browsers get their
    data from the wsbridge source, so stream, patch and replace through
    ``source`` (``src.stream(...)``), never through the ColumnDataSource,
    whose Python-side data is not kept up to date (Bokeh's ``stream`` copies
    the whole window per call; ``src.data`` is the live data).
    """
    require_bokeh()
    from bokeh.models import ColumnDataSource

    with _LOCK:
        cds = _CDS_OF.get(source)
        if cds is None:
            data = {name: _bokeh_column(col) for name, col in source.data.items()}
            cds = ColumnDataSource(data=data, name=f"wsbridge:{source.id}")
            _CDS_OF[source] = cds
            _SOURCE_OF[cds.id] = source
        return cds


def _walk_models(node: Any) -> Iterator[dict[str, Any]]:
    """Every full model object (``{"type": "object", ...}``) in Bokeh's JSON."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("type") == "object" and "name" in item:
                yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _doc_json(fig: Any, theme: Any) -> dict[str, Any]:
    """Bokeh's document JSON of ``fig`` under ``theme`` (``FromCurdoc``: the
    current document's, as Bokeh's own embedding does)."""
    from bokeh.embed.util import OutputDocumentFor, standalone_docs_json

    # What ``bokeh.embed.json_item`` does, but in a temporary document
    # (``always_new``): json_item leaves a lone figure in a new Document for
    # good, so a second figure sharing a ColumnDataSource (``src.bokeh``)
    # would fail with "Models must be owned by only a single document".
    with OutputDocumentFor([fig], apply_theme=theme, always_new=True):
        [doc_json] = standalone_docs_json([fig]).values()
    return dict(doc_json)


def figure_json(fig: Any) -> tuple[dict[str, Any], dict[str, DataSource]]:
    """``fig`` as Bokeh JSON without the tied sources' data, and those sources.

    Returns the ``json_item`` dict and a map of ColumnDataSource id to the
    wsbridge source it stands for. Each tied source keeps its column names
    (as empty columns) so glyphs resolve them until the browser fills them.
    """
    bokeh = require_bokeh()
    from bokeh.embed.util import FromCurdoc
    from bokeh.model import Model as BokehModel

    if not isinstance(fig, BokehModel):
        raise TypeError(f"Plot takes a Bokeh figure or layout, not {type(fig).__name__}")
    doc_json = _doc_json(fig, FromCurdoc)
    item: dict[str, Any] = {
        "doc": doc_json,
        "root_id": doc_json["roots"][0]["id"],
        "version": bokeh.__version__,
    }
    tied: dict[str, DataSource] = {}
    for obj in _walk_models(item["doc"]):
        source = _SOURCE_OF.get(str(obj.get("id")))
        if obj["name"] != "ColumnDataSource" or source is None:
            continue
        attrs = obj.setdefault("attributes", {})
        attrs["data"] = {"type": "map", "entries": [[name, []] for name in source.columns]}
        tied[str(obj["id"])] = source
    return item, tied


#: the colour the dark theme gives plot backgrounds; the browser replaces it
#: with the page's ``--wsbridge-surface`` (js/src/views/plot.js), so a plot
#: sits on its card whatever the stylesheet's colours
SURFACE = "#161b22"

#: a Bokeh theme in the colours of the page's dark mode (wsbridge.css): only
#: colours, so fonts and sizes stay those of the light figure
DARK_THEME: dict[str, Any] = {
    "attrs": {
        "Plot": {
            "background_fill_color": SURFACE,
            "border_fill_color": SURFACE,
            "outline_line_color": "#e6edf3",
            "outline_line_alpha": 0.15,
        },
        "Grid": {"grid_line_color": "#e6edf3", "grid_line_alpha": 0.1},
        "Axis": {
            "axis_line_color": "#7d8590",
            "major_tick_line_color": "#7d8590",
            "minor_tick_line_color": "#7d8590",
            "major_label_text_color": "#b6c0cb",
            "axis_label_text_color": "#c9d1d9",
        },
        "Title": {"text_color": "#e6edf3"},
        "Legend": {
            "background_fill_color": SURFACE,
            "background_fill_alpha": 0.85,
            "border_line_color": "#30363d",
            "label_text_color": "#c9d1d9",
            "inactive_fill_color": SURFACE,
        },
        "BaseColorBar": {
            "background_fill_color": SURFACE,
            "title_text_color": "#c9d1d9",
            "major_label_text_color": "#b6c0cb",
            "major_tick_line_color": "#7d8590",
        },
    }
}


def _has_model(value: Any) -> bool:
    """Whether a JSON value holds a Bokeh model (or a reference to one)."""
    if isinstance(value, dict):
        return "id" in value or any(_has_model(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_model(v) for v in value)
    return False


def dark_overrides(fig: Any) -> dict[str, dict[str, Any]]:
    """What the dark theme changes in ``fig``'s JSON: model id -> {attribute:
    value}, for the browser to apply when the page is dark.

    Empty when the current Bokeh document has a theme of its own (the user
    styled their figures: theirs wins in both modes). Properties set on a
    model explicitly win over any theme, so a figure with, say, a chosen
    background keeps it. Computed as the difference of the figure's JSON
    under ``DARK_THEME`` and under the current theme, so the browser needs
    no knowledge of Bokeh's class hierarchy.
    """
    require_bokeh()
    from bokeh.embed.util import FromCurdoc
    from bokeh.io import curdoc
    from bokeh.themes import Theme as BokehTheme

    own = getattr(curdoc().theme, "_json", {"attrs": {}})
    if own.get("attrs") or any(k != "attrs" for k in own):
        return {}
    light = {str(o["id"]): o for o in _walk_models(_doc_json(fig, FromCurdoc))}
    dark = {str(o["id"]): o for o in _walk_models(_doc_json(fig, BokehTheme(json=DARK_THEME)))}
    out: dict[str, dict[str, Any]] = {}
    for mid, obj in dark.items():
        before = light.get(mid, {}).get("attributes", {})
        changed = {
            name: value
            for name, value in obj.get("attributes", {}).items()
            if before.get(name) != value and not _has_model(value)
        }
        if changed:
            out[mid] = changed
    return out


#: BokehJS bundles beyond ``bokeh``, in the order Bokeh itself loads them
BUNDLES = ("bokeh-gl", "bokeh-widgets", "bokeh-tables", "bokeh-mathjax")


def bundles_for(fig: Any) -> list[str]:
    """The extra BokehJS bundles ``fig`` needs (WebGL, widgets, tables, MathJax).

    Asks Bokeh's own rules (``bokeh.embed.bundle``, as ``components`` and
    ``file_html`` do), so a figure of plain glyphs costs browsers one
    script. These helpers are private to Bokeh: should they move, every
    bundle is listed, which is slower to load but always works.
    """
    try:
        from bokeh.embed import bundle

        objs = set(fig.references())
        uses = (bundle._use_gl, bundle._use_widgets, bundle._use_tables, bundle._use_mathjax)
        return [name for name, use in zip(BUNDLES, uses, strict=True) if use(objs)]
    except Exception:  # pragma: no cover - a future Bokeh
        return list(BUNDLES)


class Plot(Model):
    """A Bokeh figure (or layout) drawn by BokehJS, live on wsbridge sources.

    ``Plot(fig)`` snapshots ``fig``'s structure (glyphs, axes, tools,
    styling) at construction; its tied data sources (``src.bokeh``) stay
    live. After changing the figure itself in Python, call ``refresh()``
    (or assign ``plot.fig``) to send the new structure to every browser.

    State: ``figure`` (Bokeh's ``json_item`` without tied data),
    ``source_ids`` (ColumnDataSource id -> wsbridge source id),
    ``sources`` (references, so the document holds the sources),
    ``bokeh_version`` (the version that wrote ``figure``; the browser loads
    BokehJS from the hub that serves the page), ``bundles`` (the BokehJS
    bundles it needs beyond ``bokeh``, see ``bundles_for``), ``dark`` (what
    the page's dark mode changes in the figure, see ``dark_overrides``:
    plots follow the dashboard's theme, docs/theming.md).
    """

    _type = "Plot"
    _client_settable = frozenset()
    figure = Dict().tag(sync=True)
    source_ids = Dict(value_trait=Unicode()).tag(sync=True)
    sources = List(Instance(DataSource)).tag(sync=True, ref=True)
    bokeh_version = Unicode("").tag(sync=True)
    bundles = List(Unicode()).tag(sync=True)
    dark = Dict().tag(sync=True)

    def __init__(self, fig: Any, **kwargs: Any) -> None:
        bokeh = require_bokeh()
        item, tied = figure_json(fig)
        super().__init__(
            figure=item,
            source_ids={cid: src.id for cid, src in tied.items()},
            sources=_unique(tied.values()),
            bokeh_version=bokeh.__version__,
            bundles=bundles_for(fig),
            dark=dark_overrides(fig),
            **kwargs,
        )
        self._fig = fig

    @property
    def fig(self) -> Any:
        """The Bokeh figure drawn; assigning one re-sends it (``refresh``)."""
        return self._fig

    @fig.setter
    def fig(self, fig: Any) -> None:
        self._fig = fig
        self.refresh()

    def refresh(self) -> None:
        """Send the figure's current structure to every browser (redrawn once)."""
        item, tied = figure_json(self._fig)
        with self.hold_trait_notifications():
            # sources first: a browser must have them before the figure names them
            self.sources = _unique(tied.values())
            self.source_ids = {cid: src.id for cid, src in tied.items()}
            self.bundles = bundles_for(self._fig)
            self.dark = dark_overrides(self._fig)
            self.figure = item


def _unique(sources: Any) -> list[DataSource]:
    out: list[DataSource] = []
    for src in sources:
        if all(src is not s for s in out):
            out.append(src)
    return out
