"""A custom widget's ``_css`` wins over wsbridge's own defaults, as it does in
Jupyter: our rules for native controls carry no specificity (``:where``)."""

from __future__ import annotations

from typing import Any

import pytest
import traitlets

import wsbridge as wb
from tests.helpers.browser import open_dashboard, root

pytestmark = pytest.mark.browser


class Big(wb.AnyWidget):
    _esm = """
    export default { render({ model, el }) {
      const b = document.createElement("button");
      b.textContent = String(model.get("value"));
      el.appendChild(b);
    } };
    """
    _css = "button { font-size: 30px; font-family: monospace }"  # anywidget-style, unscoped
    value = traitlets.Int(0).tag(sync=True)


def test_a_widgets_plain_css_wins_over_our_defaults(bridge: wb.Bridge, page: Any) -> None:
    big, slider = Big(), wb.Slider(1.0)
    dash = bridge.dashboard("css", wb.Column(big, wb.Button("plain"), slider))
    open_dashboard(page, dash.url)
    page.wait_for_selector(f"{root(big)} button")
    size = page.eval_on_selector(f"{root(big)} button", "b => getComputedStyle(b).fontSize")
    family = page.eval_on_selector(f"{root(big)} button", "b => getComputedStyle(b).fontFamily")
    assert size == "30px" and "monospace" in family
