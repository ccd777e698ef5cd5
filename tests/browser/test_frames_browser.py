"""DataFrames as they are and Bokeh's ragged columns and linked plots, in
real headless Chromium: a pandas DataFrame with a DatetimeIndex, a tz-aware
column and nullable columns in a ``Table`` (dates in their zone, empty cells)
and a Bokeh plot (NaN where a value is missing); polars and pyarrow tables;
``multi_line`` over ragged rows that stream; two ``Plot``s sharing an
``x_range``, one panned with the mouse and the other following."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import wsbridge as wb
from tests.helpers.browser import open_dashboard, root, wait_dom

pytestmark = pytest.mark.browser

bokeh = pytest.importorskip("bokeh")
from bokeh.plotting import figure  # noqa: E402


def cells(page: Any, table: wb.Table, row: int) -> list[str]:
    texts: list[str] = page.locator(f'{root(table)} tr[data-row="{row}"] td').all_text_contents()
    return texts


def wait_rows(page: Any, model: Any, rows: int) -> None:
    wait_dom(
        page,
        "(sel, n) => document.querySelector(sel)?.dataset.wsbridgeRows === n",
        root(model),
        str(rows),
    )


def wait_ready(page: Any, plot: wb.Plot) -> None:
    wait_dom(
        page, "(sel) => document.querySelector(sel)?.dataset.wsbridgeReady === 'true'", root(plot)
    )


def cds_column(page: Any, plot: wb.Plot, name: str) -> Any:
    """A column of the BokehJS ColumnDataSource behind ``plot`` (NaN as None;
    a ragged or 2-D column as lists)."""
    (cds_id,) = plot.source_ids
    return page.evaluate(
        """([cid, col]) => {
             const doc = window.Bokeh.documents.find((d) => d.get_model_by_id(cid));
             const conv = (v) => (typeof v === 'number' && Number.isNaN(v) ? null : v);
             return Array.from(doc.get_model_by_id(cid).data[col],
               (v) => (v !== null && typeof v === 'object' ? Array.from(v, conv) : conv(v)));
           }""",
        [cds_id, name],
    )


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "paris": pd.date_range("2024-07-01 09:30", periods=3, freq="D", tz="Europe/Paris"),
            "n": pd.array([10, None, 30], dtype="Int64"),
            "s": pd.array(["a", None, "c"], dtype="string"),
            "ok": pd.array([True, None, False], dtype="boolean"),
            "cat": pd.Categorical(["x", None, "y"]),
            "f": [0.5, 1.5, 2.5],
        },
        index=pd.DatetimeIndex(["2024-01-02 03:04:05", "2024-01-02 04:00", "2024-01-03"], name="t"),
    )


def test_a_dataframe_in_a_table_and_a_plot(bridge: wb.Bridge, page: Any) -> None:
    src = wb.DataSource(frame())
    table = wb.Table(src)
    fig = figure(width=300, height=200, x_axis_type="datetime")
    fig.line("t", "n", source=src.bokeh)
    plot = wb.Plot(fig)
    bridge.dashboard("df", wb.Column(table, plot))
    open_dashboard(page, bridge.url + "d/df")
    wait_rows(page, table, 3)
    header = page.locator(f"{root(table)} th").all_text_contents()
    assert header == ["t", "paris", "n", "s", "ok", "cat", "f"]
    # dates by their dtype, without datetime_columns; the tz-aware one in its zone
    assert cells(page, table, 0) == [
        "2024-01-02 03:04:05",
        "2024-07-01 09:30:00+02:00",
        "10",
        "a",
        "true",
        "x",
        "0.5",
    ]
    # the missing values are empty cells
    assert cells(page, table, 1) == ["2024-01-02 04:00:00", "2024-07-02 09:30:00+02:00",
                                     "", "", "", "", "1.5"]  # fmt: skip
    # rows streamed with missing values keep the mask in step, rollover included
    src.stream(frame().iloc[[1, 0]], rollover=4)
    wait_rows(page, table, 4)
    assert cells(page, table, 2)[2:6] == ["", "", "", ""]
    assert cells(page, table, 3)[2:6] == ["10", "a", "true", "x"]
    wait_ready(page, plot)
    wait_dom(  # BokehJS has the streamed rows: NaN where n is missing
        page,
        """(cid) => window.Bokeh.documents.some(
             (d) => d.get_model_by_id(cid)?.get_length() === 4)""",
        next(iter(plot.source_ids)),
    )
    assert cds_column(page, plot, "n") == [None, 30.0, None, 10.0]
    assert not page.js_errors


def test_polars_and_pyarrow_tables_in_a_table(bridge: wb.Bridge, page: Any) -> None:
    pl_src = wb.DataSource(
        pl.DataFrame(
            {
                "t": pl.Series([1_700_000_000_000, None], dtype=pl.Datetime("ms", "Asia/Tokyo")),
                "i": [1, None],
                "s": ["x", None],
            }
        )
    )
    pa_src = wb.DataSource(
        pa.table({"d": pa.array([19_000, None], pa.date32()), "b": pa.array([None, False])})
    )
    t1, t2 = wb.Table(pl_src), wb.Table(pa_src)
    bridge.dashboard("tables", wb.Column(t1, t2))
    open_dashboard(page, bridge.url + "d/tables")
    wait_rows(page, t1, 2)
    wait_rows(page, t2, 2)
    assert cells(page, t1, 0) == ["2023-11-15 07:13:20+09:00", "1", "x"]
    assert cells(page, t1, 1) == ["NaT", "", ""]
    assert cells(page, t2, 0) == ["2022-01-08 00:00:00", ""]
    assert cells(page, t2, 1) == ["NaT", "false"]
    assert not page.js_errors


def test_multi_line_over_ragged_rows_follows_streams(bridge: wb.Bridge, page: Any) -> None:
    src = wb.DataSource({"xs": [[0, 1, 2], [0, 1]], "ys": [[0.0, 1.0, 0.5], [2.0, 2.5]]})
    grid = wb.DataSource({"xs": np.array([[0.0, 1.0], [0.0, 2.0]]), "ys": np.ones((2, 2))})
    fig = figure(width=300, height=200)
    fig.multi_line("xs", "ys", source=src.bokeh)
    fig.multi_line("xs", "ys", source=grid.bokeh, color="red")  # 2-D: rows of equal length
    fig.patches("xs", "ys", source=src.bokeh, alpha=0.2)
    plot = wb.Plot(fig)
    bridge.dashboard("ragged", wb.Column(plot))
    open_dashboard(page, bridge.url + "d/ragged")
    wait_ready(page, plot)
    src.stream({"xs": [[3, 4, 5, 6]], "ys": [[1.0, 2.0, 1.0, 2.0]]}, rollover=2)
    ids = {sid: cid for cid, sid in plot.source_ids.items()}
    wait_dom(
        page,
        """(cid) => window.Bokeh.documents.some(
             (d) => d.get_model_by_id(cid)?.data.xs[1]?.length === 4)""",
        ids[src.id],
    )
    xs = page.evaluate(
        """(cid) => { const d = window.Bokeh.documents.find((d) => d.get_model_by_id(cid));
             return d.get_model_by_id(cid).data.xs.map((r) => Array.from(r)); }""",
        ids[src.id],
    )
    assert xs == [[0, 1], [3, 4, 5, 6]]
    # BokehJS drew every glyph: a renderer that failed would log an error
    page.wait_for_timeout(200)
    assert not page.js_errors


def test_two_plots_sharing_a_range_stay_linked_when_one_is_panned(
    bridge: wb.Bridge, page: Any
) -> None:
    src = wb.DataSource({"x": np.arange(20.0), "y": np.sin(np.arange(20.0))})
    f1 = figure(width=400, height=250, tools="pan", active_drag="pan")
    f1.line("x", "y", source=src.bokeh)
    f2 = figure(width=400, height=250, tools="pan", x_range=f1.x_range)
    f2.scatter("x", "y", source=src.bokeh)
    p1, p2 = wb.Plot(f1), wb.Plot(f2)
    bridge.dashboard("linked", wb.Column(p1, p2))
    open_dashboard(page, bridge.url + "d/linked")
    wait_ready(page, p1)
    wait_ready(page, p2)
    rid = f1.x_range.id
    starts = """(rid) => window.Bokeh.documents.flatMap((d) => {
                  const r = d.get_model_by_id(rid); return r ? [r.start] : []; })"""
    wait_dom(page, f"(rid) => ({starts})(rid).every((s) => Number.isFinite(s))", rid)
    before = page.evaluate(starts, rid)
    canvas = page.locator(f"{root(p1)} .bk-Figure").first
    page.wait_for_timeout(300)  # BokehJS lays out, then listens
    box = canvas.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(x - 15 * step, y, steps=2)
    page.mouse.up()
    wait_dom(page, f"(rid, s0) => ({starts})(rid).every((s) => s > s0 + 0.5)", rid, before[0])
    after = page.evaluate(starts, rid)
    # one range object in one BokehJS document: both plots drew the same one
    assert len(after) == 1
    found = page.evaluate(
        """(rid) => { const d = window.Bokeh.documents.find((d) => d.get_model_by_id(rid));
             const plots = [...d.all_models].filter((m) => m.type === 'Figure');
             return plots.map((p) => p.x_range === d.get_model_by_id(rid)); }""",
        rid,
    )
    assert found == [True, True]
    assert not page.js_errors
