"""``PlotlyPlot`` in real headless Chromium: Plotly.js comes from our own server,
the traces follow a DataSource's streams as typed arrays with rollover, patches
and replaces, Python's figure changes reach the page, a click and a zoom reach
Python, and a page that reconnects past the log shows the full current data."""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import wsbridge as wb
from tests.helpers.browser import open_dashboard, root, wait_dom
from tests.helpers.common import port_of
from tests.helpers.relay import Relay

pytestmark = pytest.mark.browser

plotly = pytest.importorskip("plotly")
import plotly.graph_objects as go  # noqa: E402

GD = "(sel) => document.querySelector(sel + ' .wsbridge-plotly-host')"


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, Any]]:
    # a short log: a page cut off for a few messages resyncs from a snapshot
    with wb.Bridge(port=0, log_max_messages=4) as bridge:
        t = np.arange(20.0)
        src = wb.DataSource({"t": t, "a": np.sin(t), "b": np.cos(t)})
        fig = go.Figure(
            [go.Scatter(mode="markers", marker={"size": 14}), go.Scatter(mode="lines")],
            layout={"title": {"text": "first"}, "width": 500, "height": 350},
        )
        plot = wb.PlotlyPlot(
            fig, source=src, traces={0: {"x": "t", "y": "a"}, 1: {"x": "t", "y": "b"}}
        )
        clicks: list[Any] = []
        zooms: list[Any] = []
        plot.on_click(lambda p, data: clicks.append(data))
        plot.on_relayout(lambda p, data: zooms.append(data))
        bridge.dashboard("plotly", wb.Column(plot))
        yield {"bridge": bridge, "src": src, "plot": plot, "fig": fig, "clicks": clicks,
               "zooms": zooms}  # fmt: skip


@pytest.fixture(scope="module")
def ppage(chromium: Any, served: dict[str, Any]) -> Iterator[Any]:
    context = chromium.new_context()
    pg = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("request", lambda req: requests.append(req.url))
    pg.js_errors = errors
    pg.requests = requests
    open_dashboard(pg, served["bridge"].url + "d/plotly")
    wait_dom(pg, "(sel) => document.querySelector(sel)?.dataset.wsbridgeReady === 'true'",
             root(served["plot"]))  # fmt: skip
    try:
        yield pg
    finally:
        context.close()


def trace(page: Any, plot: Any, i: int, attr: str) -> dict[str, Any]:
    got: dict[str, Any] = page.evaluate(
        f"""(sel) => {{ const a = ({GD})(sel).data[{i}]['{attr}'];
              return {{kind: a.constructor.name, values: Array.from(a)}}; }}""",
        root(plot),
    )
    return got


def wait_length(page: Any, plot: Any, n: int, last: float | None = None) -> None:
    wait_dom(
        page,
        f"""(sel, n, last) => {{ const d = ({GD})(sel).data;
              return d && d.every((t) => t.x.length === n)
                && (last === null || d[0].x[n - 1] === last); }}""",
        root(plot),
        n,
        last,
    )


def test_plotlyjs_is_served_by_our_server_and_draws_the_source(
    served: dict[str, Any], ppage: Any
) -> None:
    bridge, plot = served["bridge"], served["plot"]
    wait_length(ppage, plot, 20)
    assert [u for u in ppage.requests if u.endswith("plotly.min.js")] == [
        bridge.url + "static/plotly/plotly.min.js"
    ]
    netloc = urllib.parse.urlsplit(bridge.url).netloc
    assert all(urllib.parse.urlsplit(u).netloc == netloc for u in ppage.requests
               if not u.startswith(("data:", "blob:")))  # fmt: skip
    x = trace(ppage, plot, 0, "x")
    assert x["kind"] == "Float64Array" and x["values"] == list(np.arange(20.0))
    assert trace(ppage, plot, 1, "y")["values"] == pytest.approx(np.cos(np.arange(20.0)))
    assert not ppage.js_errors


def test_streams_extend_the_traces_as_typed_arrays_with_rollover(
    served: dict[str, Any], ppage: Any
) -> None:
    src, plot = served["src"], served["plot"]
    ppage.evaluate(  # count the real Plotly.js calls the view makes
        """() => { const P = window.Plotly; window.__calls = {extendTraces: 0, react: 0};
             for (const name of ['extendTraces', 'react']) { const real = P[name];
               P[name] = (...args) => { window.__calls[name]++; return real(...args); }; } }"""
    )
    for k in range(10):
        t = np.array([20.0 + k])
        src.stream({"t": t, "a": t * 2, "b": -t}, rollover=25)
    wait_length(ppage, plot, 25, 29.0)
    x = trace(ppage, plot, 0, "x")
    assert x["kind"] == "Float64Array" and x["values"] == list(np.arange(5.0, 30.0))
    assert trace(ppage, plot, 1, "y")["values"][-3:] == [-27.0, -28.0, -29.0]
    calls = ppage.evaluate("() => window.__calls")
    assert calls["extendTraces"] >= 1 and calls["react"] == 0  # extended, never redrawn
    src.patch({"a": [(0, 100.0)]})
    wait_dom(ppage, f"(sel) => ({GD})(sel).data[0].y[0] === 100", root(plot))
    src.replace({"t": np.arange(3.0), "a": np.ones(3), "b": np.zeros(3)})
    wait_length(ppage, plot, 3)
    assert trace(ppage, plot, 0, "y")["values"] == [1.0, 1.0, 1.0]
    assert not ppage.js_errors


def test_python_figure_changes_reach_the_page(served: dict[str, Any], ppage: Any) -> None:
    plot = served["plot"]
    plot.update_layout(title={"text": "second"})
    wait_dom(ppage, f"(sel) => ({GD})(sel).layout.title.text === 'second'", root(plot))
    fig = go.Figure(
        [go.Scatter(mode="markers", marker={"size": 14}), go.Bar()],
        layout={"title": {"text": "third"}, "width": 500, "height": 350},
    )
    plot.figure = fig
    wait_dom(ppage, f"(sel) => ({GD})(sel).data[1].type === 'bar'", root(plot))
    assert trace(ppage, plot, 1, "x")["values"] == list(served["src"].data["t"])  # still fed
    assert not ppage.js_errors


def test_a_click_and_a_zoom_reach_python(served: dict[str, Any], ppage: Any) -> None:
    plot, src = served["plot"], served["src"]
    src.replace({"t": np.array([1.0, 2.0, 3.0]), "a": np.array([1.0, 3.0, 2.0]),
                 "b": np.zeros(3)})  # fmt: skip
    wait_dom(ppage, f"(sel) => ({GD})(sel).data[0].y[1] === 3", root(plot))
    ppage.wait_for_timeout(200)
    # where Plotly.js drew the point (x=2, y=3) of trace 0, in page coordinates
    x, y = ppage.evaluate(
        f"""(sel) => {{ const gd = ({GD})(sel); const fl = gd._fullLayout;
              const box = gd.getBoundingClientRect();
              return [box.left + fl._size.l + fl.xaxis.d2p(2),
                      box.top + fl._size.t + fl.yaxis.d2p(3)];
           }}""",
        root(plot),
    )
    ppage.mouse.move(x - 3, y - 3)
    ppage.mouse.move(x, y)
    ppage.mouse.click(x, y)
    deadline = time.monotonic() + 10
    while not served["clicks"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert served["clicks"][0] == {"points": [{"trace": 0, "index": 1, "x": 2.0, "y": 3.0}]}
    # a zoom box dragged with the mouse over x in about [1.5, 2.5]
    x0, x1, ymid = ppage.evaluate(
        f"""(sel) => {{ const gd = ({GD})(sel); const fl = gd._fullLayout;
              const box = gd.getBoundingClientRect(); const l = box.left + fl._size.l;
              return [l + fl.xaxis.d2p(1.5), l + fl.xaxis.d2p(2.5),
                      box.top + fl._size.t + fl.yaxis.d2p(2)]; }}""",
        root(plot),
    )
    ppage.mouse.move(x0, ymid - 40)
    ppage.mouse.down()
    ppage.mouse.move(x1, ymid + 40, steps=8)
    ppage.mouse.up()
    deadline = time.monotonic() + 10
    while not served["zooms"] and time.monotonic() < deadline:
        time.sleep(0.05)
    zoom = served["zooms"][-1]
    assert zoom["xaxis.range[0]"] == pytest.approx(1.5, abs=0.05)
    assert zoom["xaxis.range[1]"] == pytest.approx(2.5, abs=0.05)
    ppage.evaluate(f"(sel) => window.Plotly.relayout(({GD})(sel), {{'xaxis.range': [0, 4]}})",
                   root(plot))  # fmt: skip
    deadline = time.monotonic() + 10
    while served["zooms"][-1] is zoom and time.monotonic() < deadline:
        time.sleep(0.05)
    assert served["zooms"][-1] == {"xaxis.range": [0, 4]}
    assert not ppage.js_errors


def test_a_box_selection_reaches_python(served: dict[str, Any], ppage: Any) -> None:
    plot, src = served["plot"], served["src"]
    src.replace({"t": np.array([1.0, 2.0, 3.0]), "a": np.array([1.0, 3.0, 2.0]),
                 "b": np.zeros(3)})  # fmt: skip
    wait_dom(ppage, f"(sel) => ({GD})(sel).data[0].y[1] === 3", root(plot))
    selections: list[Any] = []
    plot.on_select(lambda p, data: selections.append(data))
    ppage.evaluate(
        f"(sel) => window.Plotly.relayout(({GD})(sel), {{dragmode: 'select', 'xaxis.range': [0, 4],"
        " 'yaxis.range': [0, 4]})",
        root(plot),
    )
    # a box around the points x = 2 and 3 (y = 3 and 2) of trace 0
    a, b = ppage.evaluate(
        f"""(sel) => {{ const gd = ({GD})(sel); const fl = gd._fullLayout;
              const box = gd.getBoundingClientRect();
              const px = (x, y) => [box.left + fl._size.l + fl.xaxis.d2p(x),
                                    box.top + fl._size.t + fl.yaxis.d2p(y)];
              return [px(1.6, 3.6), px(3.4, 1.4)]; }}""",
        root(plot),
    )
    ppage.mouse.move(*a)
    ppage.mouse.down()
    ppage.mouse.move(*b, steps=8)
    ppage.mouse.up()
    deadline = time.monotonic() + 10
    while not selections and time.monotonic() < deadline:
        time.sleep(0.05)
    picked = {(p["trace"], p["index"]) for p in selections[-1]["points"]}
    assert {(0, 1), (0, 2)} <= picked
    assert all(p["x"] in (2.0, 3.0) for p in selections[-1]["points"])
    assert not ppage.js_errors


def test_bad_events_are_dropped_before_any_callback(served: dict[str, Any], ppage: Any) -> None:
    plot = served["plot"]
    before = (len(served["clicks"]), len(served["zooms"]))
    ppage.evaluate(
        """(id) => { const c = window.wsbridgeClient;
             c.event(id, 'click', {points: [{trace: -1, index: 'x'}]});
             c.event(id, 'click', {points: 'all'});
             c.event(id, 'relayout', {'__proto__.x': 1});
             c.event(id, 'relayout', {'xaxis.range': [{}, 2]}); }""",
        plot.id,
    )
    served["bridge"].flush()
    time.sleep(0.3)
    assert (len(served["clicks"]), len(served["zooms"])) == before


def test_a_page_cut_off_past_the_log_shows_the_full_current_data(
    served: dict[str, Any], chromium: Any
) -> None:
    bridge, src, plot = served["bridge"], served["src"], served["plot"]
    relay = Relay(port_of(bridge.url))
    context = chromium.new_context()
    try:
        page = context.new_page()
        open_dashboard(page, relay.url + "d/plotly")
        wait_dom(page, "(sel) => document.querySelector(sel)?.dataset.wsbridgeReady === 'true'",
                 root(plot))  # fmt: skip
        page.evaluate(
            "() => { window.__snaps = 0; "
            "window.wsbridgeClient.state.on('snapshot', () => window.__snaps++); }"
        )
        relay.cut()
        for k in range(12):  # more messages than the log keeps, while the page is away
            t = np.array([100.0 + k])
            src.stream({"t": t, "a": t, "b": t}, rollover=1000)
            bridge.flush()
        n = len(src)
        wait_length(page, plot, n, float(src.data["t"][-1]))
        assert trace(page, plot, 0, "x")["values"] == list(src.data["t"])
        assert relay.accepted >= 2
        assert page.evaluate("() => window.__snaps") >= 1  # resynced by a snapshot
    finally:
        context.close()
        relay.close()
