"""``PlotlyPlot`` without a browser: the figure travels without its mapped data,
mappings are checked against the figure and the source, events are cleaned."""

from __future__ import annotations

import numpy as np
import pytest

import wsbridge as wb
from wsbridge.widgets.plotly import clean_points, clean_relayout

plotly = pytest.importorskip("plotly")
import plotly.graph_objects as go  # noqa: E402


@pytest.fixture
def src() -> wb.DataSource:
    return wb.DataSource({"t": np.arange(5.0), "y": np.ones(5), "z": np.zeros(5)})


def test_the_mapped_attributes_travel_empty(src: wb.DataSource) -> None:
    fig = go.Figure(go.Scatter(x=[9, 9], y=[9, 9], name="s"), layout={"title": {"text": "T"}})
    plot = wb.PlotlyPlot(fig, source=src, x="t", y="y")
    assert plot.traces == [{"trace": 0, "columns": {"x": "t", "y": "y"}}]
    trace = plot.spec["data"][0]
    assert trace["x"] == [] and trace["y"] == [] and trace["name"] == "s"
    assert plot.spec["layout"]["title"]["text"] == "T"
    assert fig.data[0].x == (9, 9)  # the user's figure is untouched
    assert plot.plotly_version == plotly.__version__


def test_an_empty_figure_gets_a_line_and_a_figure_widget_and_dict_work(
    src: wb.DataSource,
) -> None:
    plot = wb.PlotlyPlot(go.Figure(), source=src, x="t", y="y")
    assert plot.spec["data"][0]["mode"] == "lines"
    widget = wb.PlotlyPlot(go.FigureWidget(go.Scatter()), source=src, traces={0: {"y": "z"}})
    assert widget.traces == [{"trace": 0, "columns": {"y": "z"}}]
    as_dict = wb.PlotlyPlot({"data": [{"type": "bar", "y": [1, 2]}], "layout": {}})
    assert as_dict.spec["data"][0]["type"] == "bar" and as_dict.source is None


def test_figure_updates_are_sent(src: wb.DataSource) -> None:
    plot = wb.PlotlyPlot(go.Figure(go.Scatter()), source=src, x="t", y="y")
    sent: list[object] = []
    plot.observe(lambda ch: sent.append(ch["name"]), names=["spec"])
    plot.update_layout(title={"text": "new"})
    assert plot.spec["layout"]["title"]["text"] == "new"
    plot.figure = go.Figure(go.Bar(), layout={"title": {"text": "bar"}})
    assert plot.spec["data"][0]["type"] == "bar" and plot.spec["data"][0]["x"] == []
    assert sent == ["spec", "spec"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"x": "nope"}, r"trace 0 x: the source has no column 'nope' \(it has t, y, z\)"),
        ({"traces": {3: {"y": "y"}}}, r"trace 3 is not a trace of the figure \(it has 1\)"),
        ({"traces": {0: {"Y!": "y"}}}, r"'Y!' is not a trace attribute"),
        ({"x": "t", "traces": {0: {"y": "y"}}}, r"x=/y= \(trace 0\) or traces=, not both"),
    ],
)
def test_bad_mappings_are_refused(
    src: wb.DataSource, kwargs: dict[str, object], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        wb.PlotlyPlot(go.Figure(go.Scatter()), source=src, **kwargs)  # type: ignore[arg-type]


def test_a_mapping_needs_a_source_and_a_figure_is_a_figure() -> None:
    with pytest.raises(ValueError, match="needs a source"):
        wb.PlotlyPlot(go.Figure(go.Scatter()), x="t")
    with pytest.raises(TypeError, match="plotly Figure, FigureWidget or figure dict, not str"):
        wb.PlotlyPlot("fig")


def test_events_are_cleaned_or_refused() -> None:
    good = {"points": [{"trace": 0, "index": 2, "x": 1.5, "y": "a" * 500, "extra": {"no": 1}}]}
    assert clean_points(good) == {"points": [{"trace": 0, "index": 2, "x": 1.5, "y": "a" * 200}]}
    for bad in ({"points": "all"}, {"points": [{"trace": -1, "index": 0}]},
                {"points": [{"trace": 0, "index": True}]}, {"points": [{}] * 51}, []):  # fmt: skip
        with pytest.raises(ValueError):
            clean_points(bad)
    zoom = {"xaxis.range[0]": 1, "xaxis.autorange": True, "yaxis.range": [0, 2]}
    assert clean_relayout(zoom) == zoom
    for bad_relayout in ({"__proto__": 1}, {"xaxis.range": [{}]}, {"x": {"a": 1}},
                         {f"k{i}": 1 for i in range(40)}):  # fmt: skip
        with pytest.raises(ValueError):
            clean_relayout(bad_relayout)


def test_a_bad_event_reaches_no_callback(src: wb.DataSource) -> None:
    plot = wb.PlotlyPlot(go.Figure(go.Scatter()), source=src, x="t", y="y")
    got: list[object] = []
    plot.on_click(lambda p, data: got.append(data))
    plot._fire_event("click", {"points": "all"})
    plot._fire_event("click", {"points": [{"trace": 0, "index": 1, "x": float("nan"), "y": 2}]})
    assert got == [{"points": [{"trace": 0, "index": 1, "x": None, "y": 2}]}]


def test_the_hub_serves_plotlyjs_from_the_installed_package(bridge: wb.Bridge) -> None:
    import urllib.request

    from tests.helpers.common import http_get
    from wsbridge.server.pages import plotly_static_dir

    static = plotly_static_dir()
    assert static is not None
    with urllib.request.urlopen(bridge.url + "static/plotly/plotly.min.js", timeout=10) as resp:
        body = resp.read()
        assert resp.headers["Content-Type"].startswith("text/javascript")
    assert body == (static / "plotly.min.js").read_bytes()
    assert http_get(bridge.url + "static/plotly/../../plotly.py").status in (403, 404)


def test_without_plotly_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "plotly", None)
    with pytest.raises(ImportError, match=r"pip install 'wsbridge\[plotly\]'"):
        wb.PlotlyPlot({"data": []})
