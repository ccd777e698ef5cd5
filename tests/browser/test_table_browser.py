"""``Table`` end to end in real headless Chromium: 100,000 rows drawn as a
small window of ``<tr>``, scrolled to the end, following streams with
rollover, patches and replaces."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import wsbridge as wb
from tests.helpers.browser import open_dashboard, root, wait_dom

N = 100_000


def cell_texts(page: Any, table: wb.Table, row: int) -> list[str]:
    texts: list[str] = page.locator(f'{root(table)} tr[data-row="{row}"] td').all_text_contents()
    return texts


def wait_rows(page: Any, table: wb.Table, rows: int) -> None:
    wait_dom(
        page,
        "(sel, n) => document.querySelector(sel)?.dataset.wsbridgeRows === n",
        root(table),
        str(rows),
    )


def wait_cell(page: Any, table: wb.Table, row: int, col: int, text: str) -> None:
    sel = f'{root(table)} tr[data-row="{row}"] td:nth-child({col})'
    wait_dom(page, "(sel, t) => document.querySelector(sel)?.textContent === t", sel, text)


def scroll_to(page: Any, table: wb.Table, where: str) -> None:
    page.locator(f"{root(table)} .wsbridge-table-scroll").evaluate(
        f"el => {{ el.scrollTop = {where}; el.dispatchEvent(new Event('scroll')); }}"
    )


@pytest.fixture
def big(bridge: wb.Bridge) -> tuple[wb.Bridge, wb.DataSource, wb.Table]:
    src = wb.DataSource(
        {
            "i": np.arange(N, dtype=np.int64),
            "x": np.arange(N) * 0.5,
            "name": [f"row {k}" for k in range(N)],
        }
    )
    table = wb.Table(src, page_size=15)
    bridge.dashboard("t", wb.Column(table))
    return bridge, src, table


def test_100k_rows_render_a_small_window_and_scroll_to_the_end(
    big: tuple[wb.Bridge, wb.DataSource, wb.Table], page: Any
) -> None:
    bridge, _, table = big
    open_dashboard(page, bridge.url + "d/t")
    wait_rows(page, table, N)
    assert page.locator(f"{root(table)} th").all_text_contents() == ["i", "x", "name"]
    # x: steps of 0.5, one decimal for the whole column, thousands grouped
    assert cell_texts(page, table, 0) == ["0", "0.0", "row 0"]
    assert page.locator(f"{root(table)} tr").count() < 200
    assert page.locator(f"{root(table)} table").get_attribute("aria-rowcount") == str(N + 1)
    # the scroll range is every row's height: the scroll bar means something
    scroller = page.locator(f"{root(table)} .wsbridge-table-scroll")
    assert scroller.evaluate("el => el.scrollHeight") >= N * 28
    scroll_to(page, table, "el.scrollHeight")
    last = f'{root(table)} tr[data-row="{N - 1}"]'
    page.locator(last).wait_for()
    assert cell_texts(page, table, N - 1) == [str(N - 1), "49,999.5", f"row {N - 1}"]
    assert page.locator(f"{root(table)} tr").count() < 200
    # the last row is inside the visible box of the scroll container
    visible = page.locator(f"{root(table)} .wsbridge-table-scroll").evaluate(
        f"""el => {{ const r = el.querySelector('tr[data-row="{N - 1}"]').getBoundingClientRect();
               const b = el.getBoundingClientRect();
               return r.top >= b.top - 1 && r.bottom <= b.bottom + 1; }}"""
    )
    assert visible
    scroll_to(page, table, "28 * 50000")
    page.locator(f'{root(table)} tr[data-row="50000"]').wait_for()
    assert cell_texts(page, table, 50000) == ["50000", "25,000.0", "row 50000"]
    assert not page.js_errors


def test_stream_with_rollover_and_patch_update_the_visible_rows(
    big: tuple[wb.Bridge, wb.DataSource, wb.Table], page: Any
) -> None:
    bridge, src, table = big
    open_dashboard(page, bridge.url + "d/t")
    wait_rows(page, table, N)
    # append 10 rows, keep 100,000: the first visible row is now the old row 10
    src.stream(
        {
            "i": np.arange(N, N + 10, dtype=np.int64),
            "x": np.full(10, -1.25),
            "name": [f"new {k}" for k in range(10)],
        },
        rollover=N,
    )
    wait_cell(page, table, 0, 3, "row 10")
    # a long column's decimals come from the rows drawn (js/src/views/numbers.js)
    assert cell_texts(page, table, 0) == ["10", "5.0", "row 10"]
    src.patch({"x": [(1, 0.1 + 0.2)], "name": [(0, "patched")]})
    wait_cell(page, table, 0, 3, "patched")
    assert cell_texts(page, table, 1)[1] == "0.3"  # no float noise
    scroll_to(page, table, "el.scrollHeight")
    page.locator(f'{root(table)} tr[data-row="{N - 1}"]').wait_for()
    assert cell_texts(page, table, N - 1) == [str(N + 9), "-1.25", "new 9"]
    assert not page.js_errors


def test_columns_replace_follow_and_datetimes(bridge: wb.Bridge, page: Any) -> None:
    t0 = np.datetime64("2024-01-02T03:04:05", "ms")
    src = wb.DataSource(
        {
            "t": np.array([t0, t0 + np.timedelta64(250, "ms")]),
            "v": np.array([1.0, np.nan]),
            "ok": np.array([True, False]),
        }
    )
    table = wb.Table(
        src, columns=["v", "t", "ok"], datetime_columns=["t"], page_size=3, follow=True
    )
    bridge.dashboard("d", wb.Column(table))
    open_dashboard(page, bridge.url + "d/d")
    wait_rows(page, table, 2)
    assert page.locator(f"{root(table)} th").all_text_contents() == ["v", "t", "ok"]
    assert cell_texts(page, table, 0) == ["1", "2024-01-02 03:04:05", "true"]
    assert cell_texts(page, table, 1) == ["NaN", "2024-01-02 03:04:05.250", "false"]
    # follow: streamed rows keep the bottom in view
    n = 200
    src.stream({"t": np.full(n, t0), "v": np.arange(n, dtype=float), "ok": np.ones(n, dtype=bool)})
    page.locator(f'{root(table)} tr[data-row="{n + 1}"]').wait_for()
    # a replace with other columns; columns=None shows them all
    table.columns = None
    src.replace({"a": np.array([7, 8], dtype=np.int32), "b": ["p", "q"]})
    wait_rows(page, table, 2)
    assert page.locator(f"{root(table)} th").all_text_contents() == ["a", "b"]
    assert cell_texts(page, table, 1) == ["8", "q"]
    assert not page.js_errors
