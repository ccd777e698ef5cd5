"""A live page shows a source patch's exact values, in real headless Chromium.

inf and -inf in a float64 column, 2**53 + 1 and int64 max in an int64
column, uint64 max in a uint64 column: a viewer connected before the patch
must see what a reload shows (tests/test_exact_patches.py has the rules).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import wsbridge as wb

from .test_widgets_browser import open_dashboard, root, wait_dom

#: the cell texts of the two rows after the patch (Table shows ±inf as ∞, BigInts exactly)
ROWS = [
    ["∞", str(2**53 + 1), str(2**64 - 1)],
    ["-∞", str(2**63 - 1), "0"],
]


def test_a_live_page_shows_the_exact_values_after_a_patch(bridge: wb.Bridge, page: Any) -> None:
    src = wb.DataSource(
        {"f": np.zeros(2), "i": np.zeros(2, dtype=np.int64), "u": np.zeros(2, dtype=np.uint64)}
    )
    table = wb.Table(src, page_size=5)
    bridge.dashboard("exact", wb.Column(table))
    open_dashboard(page, bridge.url + "d/exact")
    cells = f'{root(table)} tr[data-row="0"] td'
    wait_dom(page, "(sel) => document.querySelectorAll(sel).length === 3", cells)
    src.patch(
        {
            "f": [(0, np.inf), (1, -np.inf)],
            "i": [(0, 2**53 + 1), (1, 2**63 - 1)],
            "u": [(0, 2**64 - 1)],
        }
    )
    last = f'{root(table)} tr[data-row="1"] td:nth-child(2)'
    wait_dom(page, "(sel, t) => document.querySelector(sel)?.textContent === t", last, ROWS[1][1])
    for row, texts in enumerate(ROWS):
        got = page.locator(f'{root(table)} tr[data-row="{row}"] td').all_text_contents()
        assert got == texts, (row, got)
    # the client's own columns, as user code reads them
    values = page.evaluate(
        """(id) => { const s = window.wsbridgeClient.state.source(id);
             return [String(s.column("f")[0]), String(s.column("f")[1]),
                     s.column("i")[0].toString(), s.column("i")[1].toString(),
                     s.column("u")[0].toString(),
                     s.column("f").constructor.name, s.column("i").constructor.name,
                     s.column("u").constructor.name]; }""",
        src.id,
    )
    assert values == [
        "Infinity",
        "-Infinity",
        str(2**53 + 1),
        str(2**63 - 1),
        str(2**64 - 1),
        "Float64Array",
        "BigInt64Array",
        "BigUint64Array",
    ]
    assert page.js_errors == []
