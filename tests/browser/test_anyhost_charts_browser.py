"""Plotly's ``go.FigureWidget`` and Altair's ``alt.JupyterChart`` (both
anywidgets) live in real headless Chromium, as given: drawn from their own
bundled modules with no network, updated from Python, and a zoom or a
selection made with the mouse reaching Python."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import wsbridge as wb
from tests.helpers.browser import open_dashboard, root, wait_dom
from tests.helpers.common import wait_until
from wsbridge.ipy import mirror

pytestmark = pytest.mark.browser


#: Plotly's graph div: the view's own element (selector ``s``)
GRAPH = "document.querySelector(s)"


def plot_y(page: Any, selector: str) -> list[float]:
    """The y values of the first trace as Plotly.js holds them in the page."""
    return page.evaluate(  # type: ignore[no-any-return]
        f"(s) => Array.from({GRAPH}.data[0].y)", selector
    )


def test_plotly_figurewidget_live(
    module_bridge: wb.Bridge, page: Any, chromium: Any, caplog: pytest.LogCaptureFixture
) -> None:
    import plotly.graph_objects as go

    fig = go.FigureWidget(data=[go.Scatter(x=np.arange(5.0), y=np.zeros(5), mode="markers")])
    fig.update_layout(width=500, height=320, margin={"l": 40, "r": 10, "t": 10, "b": 30})
    module_bridge.dashboard("fig", wb.Column(fig))
    network: list[str] = []
    page.on("request", lambda r: network.append(r.url))
    open_dashboard(page, module_bridge.url + "d/fig")
    sel = root(mirror(fig))
    page.locator(f"{sel} svg.main-svg").first.wait_for(timeout=20_000)
    assert plot_y(page, sel) == [0.0] * 5
    # Python -> page: an assignment, then a batch
    fig.data[0].y = np.arange(5.0) ** 2
    wait_dom(page, f"(s) => {GRAPH}.data[0].y[4] === 16", sel)
    with fig.batch_update():
        fig.data[0].y = np.full(5, 3.0)
        fig.layout.title = {"text": "batched"}
    wait_dom(page, f"(s) => {GRAPH}.data[0].y[0] === 3", sel)
    wait_dom(page, "(s) => document.querySelector(s)?.textContent.includes('batched')", sel)
    # page -> Python: a click on a point calls the trace's on_click
    clicks: list[list[int]] = []
    fig.data[0].on_click(lambda trace, points, state: clicks.append(points.point_inds))
    point = page.locator(f"{sel} .scatterlayer path.point").nth(2)
    pbox = point.bounding_box()
    assert pbox is not None
    page.mouse.move(pbox["x"] + pbox["width"] / 2, pbox["y"] + pbox["height"] / 2)
    page.mouse.click(pbox["x"] + pbox["width"] / 2, pbox["y"] + pbox["height"] / 2)
    wait_until(lambda: clicks == [[2]])
    # page -> Python: a zoom dragged with the mouse sets the axis range
    drag = page.locator(f"{sel} .nsewdrag").first
    box = drag.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.6, steps=5)
    page.mouse.up()
    wait_until(lambda: fig.layout.xaxis.range is not None)
    lo, hi = fig.layout.xaxis.range
    assert 0.0 < lo < hi < 4.0
    # a trace added from Python: once, in this page and in a page loaded later
    fig.add_scatter(x=[0.5, 1.5], y=[1.0, 2.0], mode="markers")
    wait_dom(page, f"(s) => {GRAPH}.data.length === 2", sel)
    # a page loaded now starts from the current figure, not the first one
    late = chromium.new_page()
    try:
        open_dashboard(late, module_bridge.url + "d/fig")
        late.locator(f"{sel} svg.main-svg").first.wait_for(timeout=20_000)
        assert plot_y(late, sel) == [3.0] * 5
        assert late.evaluate(f"(s) => {GRAPH}.data.length", sel) == 2
        assert "batched" in late.locator(sel).text_content()
        late_range = late.evaluate(f"(s) => {GRAPH}.layout.xaxis.range", sel)
        assert late_range == pytest.approx([lo, hi])  # the zoom made in the first page
    finally:
        late.close()
    assert all(u.startswith((module_bridge.url, "blob:", "data:")) for u in network), network
    assert not page.js_errors
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]


def test_altair_jupyterchart_selection(module_bridge: wb.Bridge, page: Any) -> None:
    import altair as alt
    import pandas as pd

    alt.JupyterChart.enable_offline()
    data = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [4.0, 1.0, 3.0, 2.0], "k": list("wxyz")})
    brush = alt.selection_point(name="pick", fields=["k"])
    size = alt.param(name="size", value=60)
    spec = (
        alt.Chart(data)
        .mark_point(filled=True, size=size)
        .encode(x="a:Q", y="b:Q")
        .add_params(brush, size)
        .properties(width=300, height=200)
    )
    chart = alt.JupyterChart(spec)
    module_bridge.dashboard("alt", wb.Column(chart))
    network: list[str] = []
    page.on("request", lambda r: network.append(r.url))
    open_dashboard(page, module_bridge.url + "d/alt")
    sel = root(mirror(chart))
    marks = page.locator(f"{sel} .mark-symbol path")
    marks.first.wait_for(timeout=20_000)
    assert marks.count() == 4
    # page -> Python: click the point at a = 3
    seen: list[Any] = []
    chart.selections.observe(lambda ch: seen.append(ch["new"]), names="pick")
    target = page.evaluate(
        """(s) => { const view = document.querySelector(s + ' .vega-embed');
                    return Array.from(document.querySelectorAll(s + ' .mark-symbol path'))
                      .map((p) => p.getBoundingClientRect())
                      .map((r) => [r.x + r.width / 2, r.y + r.height / 2]); }""",
        sel,
    )
    x, y = sorted(target)[2]
    page.mouse.click(x, y)
    wait_until(lambda: chart.selections.pick.value == [{"k": "y"}])
    assert seen
    # Python -> page: a param set in Python reaches the chart
    chart.params.size = 400
    wait_dom(
        page,
        "(s) => { const p = document.querySelector(s + ' .mark-symbol path');"
        " return p && p.getBoundingClientRect().width > 18; }",
        sel,
    )
    assert all(u.startswith((module_bridge.url, "blob:", "data:")) for u in network), network
    assert not page.js_errors
