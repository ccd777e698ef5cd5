"""An ipywidgets dashboard end to end in real headless Chromium: the native
views show the ipywidgets, both ways, and layouts follow their children."""

from __future__ import annotations

from typing import Any

import pytest

import wsbridge as wb
from tests.helpers.browser import open_dashboard, root, set_range, wait_dom
from tests.helpers.common import wait_until
from wsbridge.ipy import mirror

W = pytest.importorskip("ipywidgets")


def test_vbox_of_intslider_and_checkbox_is_two_way(bridge: wb.Bridge, page: Any) -> None:
    slider = W.IntSlider(2, min=0, max=10, description="level")
    check = W.Checkbox(False, description="armed")
    box = W.VBox([slider, check])
    seen: list[Any] = []
    slider.observe(lambda change: seen.append(change["new"]), names=["value"])
    bridge.dashboard("ipy", box)
    open_dashboard(page, bridge.url + "d/ipy")

    s, c = mirror(slider), mirror(check)
    range_input = f"{root(s)} input[type=range]"
    page.locator(range_input).wait_for()
    assert page.get_by_label("level").evaluate("el => el.type") == "range"

    # browser -> ipywidget: the IntSlider changes, stays an int, its observer fires
    set_range(page, range_input, 7)
    wait_until(lambda: slider.value == 7)
    assert type(slider.value) is int and seen[-1] == 7

    # Python -> browser: the page's checkbox follows Checkbox.value
    check.value = True
    wait_dom(page, "(sel) => document.querySelector(sel).checked", f"{root(c)} input")
    # and back: the viewer unticks it, the Checkbox follows
    page.get_by_label("armed").uncheck()
    wait_until(lambda: check.value is False)

    # Python moves the IntSlider; the page follows
    slider.value = 4
    wait_dom(page, "(sel) => document.querySelector(sel).value === '4'", range_input)

    # children follow live: a Button appears, its click runs the ipywidget's handlers
    clicks: list[Any] = []
    button = W.Button(description="fire")
    button.on_click(clicks.append)
    box.children = (*box.children, button, W.Controller())
    page.get_by_role("button", name="fire").click()
    wait_until(lambda: clicks == [button])
    page.get_by_text("unsupported ipywidget: Controller").wait_for()
    assert not page.js_errors


def test_selections_tabs_accordion_text_progress(bridge: wb.Bridge, page: Any) -> None:
    token = object()  # option values need not be JSON: selections travel by index
    drop = W.Dropdown(options=[("one", token), ("two", 2)], description="pick")
    multi = W.SelectMultiple(options=["a", "b", "c"], description="many")
    text = W.Text("", description="name", continuous_update=False)
    rng = W.IntRangeSlider(value=(2, 8), min=0, max=10, description="band")
    prog = W.FloatProgress(5, min=0, max=10, description="load")
    tab = W.Tab([W.Label("first"), W.Label("second")], titles=("A", "B"))
    acc = W.Accordion([W.Label("alpha"), W.Label("beta")], titles=("Al", "Be"))
    box = W.VBox([drop, multi, text, rng, prog, tab, acc])
    bridge.dashboard("ipy2", box)
    open_dashboard(page, bridge.url + "d/ipy2")

    page.get_by_label("pick").select_option(label="two")
    wait_until(lambda: drop.value == 2)
    drop.value = token
    wait_dom(
        page,
        "(sel) => document.querySelector(sel).selectedOptions[0].textContent === 'one'",
        f"{root(mirror(drop))} select",
    )

    page.get_by_label("many").select_option(label=["a", "c"])
    wait_until(lambda: multi.value == ("a", "c"))

    page.get_by_label("name", exact=True).fill("Ada")
    page.get_by_label("name", exact=True).press("Enter")
    wait_until(lambda: text.value == "Ada")

    lo = f"{root(mirror(rng))} input[type=range] >> nth=0"
    set_range(page, lo, 3)
    wait_until(lambda: rng.value == (3, 8))

    prog.value = 7.5
    wait_dom(
        page,
        "(sel) => document.querySelector(sel).value === 7.5",
        f"{root(mirror(prog))} progress",
    )

    page.get_by_role("tab", name="B").click()
    wait_until(lambda: tab.selected_index == 1)
    tab.selected_index = 0
    wait_dom(
        page,
        "(sel) => document.querySelector(sel).getAttribute('aria-selected') === 'true'",
        f"{root(mirror(tab))} [role=tab]",
    )

    # Accordion: Cards, all closed; opening one sets selected_index
    cards = mirror(acc).children
    page.locator(f"{root(cards[1])} button[aria-expanded]").click()
    wait_until(lambda: acc.selected_index == 1)
    page.get_by_text("beta").wait_for()
    acc.selected_index = 0  # Python opens another: the first closes in the page
    wait_dom(
        page,
        "(sel) => document.querySelector(sel).getAttribute('aria-expanded') === 'false'",
        f"{root(cards[1])} button[aria-expanded]",
    )
    assert not page.js_errors


def test_an_app_factory_may_return_an_ipywidget(bridge: wb.Bridge, page: Any) -> None:
    def factory(dash: wb.Dashboard) -> Any:
        return W.HBox([W.Label("hello from ipywidgets")])

    bridge.app("ipyapp", factory)
    open_dashboard(page, bridge.url + "d/ipyapp")
    page.get_by_text("hello from ipywidgets").wait_for()
