"""``Plot`` end to end in real headless Chromium: BokehJS comes from our own
server (no other origin is ever asked), the figure's pixels follow a stream,
and the BokehJS ColumnDataSource follows streams with rollover, patches and
replaces of the wsbridge source, for several plots sharing one source."""

from __future__ import annotations

import threading
import time
import urllib.parse
from typing import Any

import numpy as np
import pytest

import wsbridge as wb
from tests.helpers.browser import open_dashboard, root, wait_dom
from tests.helpers.common import port_of
from tests.helpers.relay import Relay

bokeh = pytest.importorskip("bokeh")
from bokeh.layouts import column  # noqa: E402
from bokeh.models import Slider  # noqa: E402
from bokeh.plotting import figure  # noqa: E402


def cds_data(page: Any, plot: wb.Plot, name: str) -> list[Any]:
    """A column of the BokehJS ColumnDataSource behind ``plot``, as a list."""
    (cds_id,) = plot.source_ids
    data: list[Any] = page.evaluate(
        """([cid, col, n]) => {
             const docs = window.Bokeh.documents.filter((d) => d.get_model_by_id(cid));
             const cds = docs[n].get_model_by_id(cid);
             return Array.from(cds.data[col], (v) => (Number.isNaN(v) ? null : v));
           }""",
        [cds_id, name, 0],
    )
    return data


def wait_ready(page: Any, plot: wb.Plot) -> None:
    wait_dom(
        page, "(sel) => document.querySelector(sel)?.dataset.wsbridgeReady === 'true'", root(plot)
    )
    # the canvas is drawn: BokehJS paints after its layout settles
    page.wait_for_function(
        "(sel) => document.querySelector(sel).querySelector('.bk-Figure, .bk-Row, .bk-Column')",
        arg=root(plot),
    )


def wait_lengths(page: Any, n: int) -> None:
    """Every BokehJS source tied to a wsbridge source has ``n`` rows."""
    wait_dom(
        page,
        """(n) => {
             const docs = window.Bokeh?.documents ?? [];
             const lens = [];
             for (const d of docs) for (const m of d.all_models)
               if (m.type === 'ColumnDataSource' && String(m.name).startsWith('wsbridge:'))
                 lens.push(m.get_length());
             return lens.length > 0 && lens.every((l) => l === n);
           }""",
        n,
    )


@pytest.fixture
def served(bridge: wb.Bridge) -> tuple[wb.Bridge, wb.DataSource, wb.Plot, wb.Plot]:
    x = np.arange(50.0)
    src = wb.DataSource({"x": x, "y": np.sin(x / 5.0)})
    f1 = figure(width=400, height=250, title="line", toolbar_location=None)
    f1.line("x", "y", source=src.bokeh, line_width=3)
    f2 = figure(width=400, height=250, title="dots", toolbar_location=None)
    f2.scatter("x", "y", source=src.bokeh, size=6)
    p1, p2 = wb.Plot(f1), wb.Plot(f2)
    bridge.dashboard("p", wb.Column(p1, p2))
    return bridge, src, p1, p2


def test_bokehjs_is_served_by_our_server_and_nothing_else_is_asked(
    served: tuple[wb.Bridge, wb.DataSource, wb.Plot, wb.Plot], page: Any
) -> None:
    bridge, _, p1, p2 = served
    origin = urllib.parse.urlsplit(bridge.url)
    requests: list[str] = []
    page.on("request", lambda req: requests.append(req.url))
    open_dashboard(page, bridge.url + "d/p")
    wait_ready(page, p1)
    wait_ready(page, p2)
    wait_lengths(page, 50)
    bokeh_js = [u for u in requests if u.endswith("/bokeh.min.js")]
    assert bokeh_js == [bridge.url + "static/bokeh/bokeh.min.js"]  # loaded once, ours
    foreign = [
        u
        for u in requests
        if urllib.parse.urlsplit(u).netloc != origin.netloc and not u.startswith(("data:", "blob:"))
    ]
    assert foreign == []
    assert page.evaluate("() => window.Bokeh.version") == bokeh.__version__
    assert not page.js_errors


def test_canvas_pixels_change_when_the_source_streams(
    served: tuple[wb.Bridge, wb.DataSource, wb.Plot, wb.Plot], page: Any
) -> None:
    bridge, src, p1, _ = served
    open_dashboard(page, bridge.url + "d/p")
    wait_ready(page, p1)
    wait_lengths(page, 50)
    page.wait_for_timeout(300)  # let BokehJS finish its first paint
    before = page.locator(root(p1)).screenshot()
    x = np.arange(50.0, 80.0)
    src.stream({"x": x, "y": 3.0 * np.cos(x)}, rollover=60)
    wait_lengths(page, 60)
    page.wait_for_timeout(300)
    after = page.locator(root(p1)).screenshot()
    assert before != after
    assert not page.js_errors


def test_bokeh_sources_follow_stream_rollover_patch_and_replace(
    served: tuple[wb.Bridge, wb.DataSource, wb.Plot, wb.Plot], page: Any
) -> None:
    bridge, src, p1, p2 = served
    open_dashboard(page, bridge.url + "d/p")
    wait_ready(page, p1)
    wait_ready(page, p2)
    wait_lengths(page, 50)
    assert cds_data(page, p1, "x") == list(np.arange(50.0))
    # many small streams between two frames: merged, cut to the rollover
    for k in range(20):
        src.stream({"x": [50.0 + k], "y": [float(k)]}, rollover=40)
    wait_lengths(page, 40)
    wait_dom(  # every plot saw the last stream (the length is 40 from the first one on)
        page,
        """(cid) => window.Bokeh.documents.every((d) => { const m = d.get_model_by_id(cid);
             return !m || m.data.x[m.data.x.length - 1] === 69; })""",
        next(iter(p1.source_ids)),
    )
    assert cds_data(page, p1, "x") == list(np.arange(30.0, 70.0))
    assert cds_data(page, p1, "y")[-3:] == [17.0, 18.0, 19.0]
    src.patch({"y": [(0, np.nan), (slice(1, 5, 2), [7.0, 8.0])]})
    wait_dom(
        page,
        """(cid) => { for (const d of window.Bokeh.documents) { const m = d.get_model_by_id(cid);
             if (!m || m.data.y[3] !== 8) return false; } return true; }""",
        next(iter(p1.source_ids)),
    )
    y = cds_data(page, p1, "y")
    assert y[0] is None and y[1] == 7.0 and y[3] == 8.0
    src.replace({"x": np.arange(5.0), "y": np.ones(5)})
    wait_lengths(page, 5)
    assert cds_data(page, p1, "y") == [1.0] * 5
    # the wsbridge client's own source arrays were never written by BokehJS
    assert (
        page.evaluate(f"() => Array.from(window.wsbridgeClient.source('{src.id}').data.y)")
        == [1.0] * 5
    )
    assert not page.js_errors


def test_a_plot_added_later_and_a_refresh_redraw(bridge: wb.Bridge, page: Any) -> None:
    src = wb.DataSource({"t": np.arange(3, dtype=np.int64), "v": np.array([1.0, 2.0, 3.0])})
    col = wb.Column(wb.Label("plots"))
    bridge.dashboard("late", col)
    open_dashboard(page, bridge.url + "d/late")
    fig = figure(width=300, height=200, title="first")
    fig.line("t", "v", source=src.bokeh)
    plot = wb.Plot(fig)
    col.children = [*col.children, plot]
    wait_ready(page, plot)
    wait_lengths(page, 3)
    assert cds_data(page, plot, "t") == [0, 1, 2]  # int64 arrives as numbers
    fig.title.text = "second"
    plot.refresh()
    wait_dom(
        page,
        "(sel) => document.querySelector(sel)?.dataset.wsbridgeReady === 'true' && "
        "window.Bokeh.documents.some((d) => d.all_models && "
        "[...d.all_models].some((m) => m.type === 'Title' && m.text === 'second'))",
        root(plot),
    )
    # the old BokehJS document was dropped, not leaked
    assert page.evaluate("() => window.Bokeh.documents.length") == 1
    src.stream({"t": np.array([3], dtype=np.int64), "v": [4.0]})
    wait_lengths(page, 4)
    assert not page.js_errors


def test_a_layout_with_bokeh_widgets_loads_their_bundle_from_our_server(
    bridge: wb.Bridge, page: Any
) -> None:
    src = wb.DataSource({"x": [0.0, 1.0], "y": [1.0, 0.0]})
    fig = figure(width=300, height=200)
    fig.line("x", "y", source=src.bokeh)
    plot = wb.Plot(column(fig, Slider(start=0, end=10, value=3, title="bokeh slider")))
    assert plot.bundles == ["bokeh-widgets"]
    bridge.dashboard("w", wb.Column(plot))
    requests: list[str] = []
    page.on("request", lambda req: requests.append(req.url))
    open_dashboard(page, bridge.url + "d/w")
    wait_ready(page, plot)
    wait_lengths(page, 2)
    scripts = sorted(u.rsplit("/", 1)[1] for u in requests if "/static/bokeh/" in u)
    assert scripts == ["bokeh-widgets.min.js", "bokeh.min.js"]
    assert all(u.startswith(bridge.url) for u in requests if not u.startswith(("data:", "blob:")))
    # BokehJS draws the widget inside nested shadow roots
    page.wait_for_function(
        """(sel) => {
             const text = (node) => [...node.querySelectorAll('*')].some((e) => e.shadowRoot
               && (e.shadowRoot.textContent.includes('bokeh slider') || text(e.shadowRoot)));
             return text(document.querySelector(sel));
           }""",
        arg=root(plot),
    )
    assert not page.js_errors


def test_plots_converge_after_a_cut_while_streaming(
    served: tuple[wb.Bridge, wb.DataSource, wb.Plot, wb.Plot], page: Any
) -> None:
    bridge, src, p1, p2 = served
    relay = Relay(port_of(bridge.url))
    try:
        open_dashboard(page, relay.url + "d/p")
        wait_ready(page, p1)
        wait_ready(page, p2)

        def produce() -> None:
            for i in range(100):
                x = np.arange(50.0 + i * 5, 50.0 + (i + 1) * 5)
                src.stream({"x": x, "y": np.cos(x)}, rollover=300)
                time.sleep(0.003)

        t = threading.Thread(target=produce)
        t.start()
        time.sleep(0.1)
        relay.cut()
        t.join()
        bridge.flush()
        final = src.data
        wait_lengths(page, 300)
        wait_dom(
            page,
            """([cid, last]) => window.Bokeh.documents.every((d) => {
                 const m = d.get_model_by_id(cid); return !m || m.data.x[299] === last; })""",
            [next(iter(p1.source_ids)), float(final["x"][-1])],
        )
        # both plots draw one BokehJS source (one document, docs/ipywidgets.md
        # "Bokeh: ragged columns and linked plots"), equal to the Python source
        columns = page.evaluate(
            """(cid) => window.Bokeh.documents.filter((d) => d.get_model_by_id(cid))
                 .map((d) => Array.from(d.get_model_by_id(cid).data.x))""",
            next(iter(p1.source_ids)),
        )
        assert len(columns) == 1
        np.testing.assert_array_equal(columns[0], final["x"])
        assert relay.accepted >= 2
    finally:
        relay.close()
    assert not page.js_errors


def test_bokehjs_unavailable_shows_a_note_not_a_crash(
    served: tuple[wb.Bridge, wb.DataSource, wb.Plot, wb.Plot], page: Any
) -> None:
    bridge, src, p1, _ = served
    page.route("**/static/bokeh/**", lambda route: route.fulfill(status=404, body="missing"))
    open_dashboard(page, bridge.url + "d/p")
    wait_dom(page, "(sel) => document.querySelector(sel)?.dataset.wsbridgeError", root(p1))
    note = page.locator(f"{root(p1)} [role=note]")
    assert "could not load BokehJS" in note.text_content()
    src.stream({"x": [50.0], "y": [0.0]})  # the rest of the page lives on
    page.wait_for_function(
        "(id) => window.wsbridgeClient.source(id).length === 51", arg=src.id, timeout=10_000
    )
    assert not page.js_errors
