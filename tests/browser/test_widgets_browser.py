"""The widget set end to end in real headless Chromium: every control both
ways, layouts following Python, Markdown inert."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import wsbridge as wb
from tests.helpers.browser import open_dashboard, root, set_range, wait_dom
from tests.helpers.common import wait_until


@dataclass
class Widgets:
    bridge: wb.Bridge
    col: wb.Column
    rng: wb.RangeSlider
    tog: wb.Toggle
    sel: wb.Select
    multi: wb.MultiSelect
    text: wb.TextInput
    live: wb.TextInput
    num_in: wb.NumberInput
    md: wb.Markdown
    html: wb.HTML
    label: wb.Label
    number: wb.Number
    prog: wb.Progress
    grid: wb.Grid
    tabs: wb.Tabs
    card: wb.Card
    tab_a: wb.Label
    tab_b: wb.Label

    @property
    def url(self) -> str:
        return self.bridge.url + "d/w"


XSS_MD = (
    "# Hi *there*\n\n"
    "<img src=x onerror=\"window.pwned = 'img'\">\n\n"
    "<script>window.pwned = 'script'</script>\n\n"
    "[click me](javascript:window.pwned='link') and [ok](https://example.org)\n\n"
    '<a href="javascript:window.pwned=1" onclick="window.pwned=2">raw</a>'
)


@pytest.fixture
def w(bridge: wb.Bridge) -> Iterator[Widgets]:
    tab_a, tab_b = wb.Label("first tab"), wb.Label("second tab")
    ws = Widgets(
        bridge=bridge,
        col=wb.Column(),
        rng=wb.RangeSlider((2, 8), min=0, max=10, step=1, label="band"),
        tog=wb.Toggle(label="enabled"),
        sel=wb.Select({"One": 1, "Two": 2, "Three": 3}, label="pick"),
        multi=wb.MultiSelect(["a", "b", "c"], value=["b"], label="many"),
        text=wb.TextInput("start", placeholder="name", label="name"),
        live=wb.TextInput("", continuous=True, label="live"),
        num_in=wb.NumberInput(5, min=0, max=10, label="n"),
        md=wb.Markdown(XSS_MD),
        html=wb.HTML("<b class='raw-bold'>bold</b>"),
        label=wb.Label("<img src=x onerror=\"window.pwned='label'\">"),
        number=wb.Number(
            1234.5, label="Revenue", colors=[(0, "rgb(0, 0, 255)"), (1e9, "rgb(255, 0, 0)")]
        ),
        prog=wb.Progress(30, max=60, label="load"),
        grid=wb.Grid(wb.Label("g1"), wb.Label("g2"), wb.Label("g3"), columns=3),
        # shared: one tab and one folding for every viewer, set in Python
        # (per-viewer ones: tests/browser/test_look_browser.py)
        tabs=wb.Tabs(tab_a, tab_b, titles=["A", "B"], shared=True),
        card=wb.Card(wb.Label("inside"), title="Details", shared=True),
        tab_a=tab_a,
        tab_b=tab_b,
    )
    ws.col.children = [
        ws.rng,
        ws.tog,
        ws.sel,
        ws.multi,
        ws.text,
        ws.live,
        ws.num_in,
        ws.md,
        ws.html,
        ws.label,
        ws.number,
        ws.prog,
        ws.grid,
        ws.tabs,
        ws.card,
    ]
    bridge.dashboard("w", ws.col, title="widgets")
    yield ws


def test_every_widget_renders_its_native_control(w: Widgets, page: Any) -> None:
    open_dashboard(page, w.url)
    expect = {
        w.rng: "input[type=range]",
        w.tog: "label input[type=checkbox]",
        w.sel: "select:not([multiple])",
        w.multi: "select[multiple]",
        w.text: "input[type=text]",
        w.num_in: "input[type=number]",
        w.prog: "progress",
        w.tabs: "[role=tablist] [role=tab]",
        w.card: "button[aria-expanded]",
    }
    for model, control in expect.items():
        page.locator(f"{root(model)} {control}").first.wait_for()
    assert page.locator(f"{root(w.rng)} input[type=range]").count() == 2
    assert page.locator(f"{root(w.tabs)} [role=tabpanel]").count() == 2
    # labels are real <label>s tied to their controls
    assert page.get_by_label("pick").evaluate("el => el.tagName") == "SELECT"
    assert page.get_by_label("name", exact=True).evaluate("el => el.type") == "text"
    assert page.get_by_label("enabled").evaluate("el => el.type") == "checkbox"
    assert page.locator(f"{root(w.text)} input").get_attribute("placeholder") == "name"
    assert page.locator(f"{root(w.number)} .wsbridge-number-value").text_content() == "1,234.50"
    assert page.locator(f"{root(w.number)} .wsbridge-number-value").evaluate(
        "el => el.style.color"
    ) == ("rgb(255, 0, 0)")
    assert page.locator(f"{root(w.prog)} progress").evaluate("el => [el.value, el.max]") == [30, 60]
    assert page.locator(f"{root(w.grid)}").evaluate(
        "el => getComputedStyle(el).gridTemplateColumns.split(' ').length"
    ) == (3)
    assert page.locator(f"{root(w.html)} b.raw-bold").count() == 1  # HTML is raw, as documented
    assert not page.js_errors


def test_range_slider_both_ways(w: Widgets, page: Any) -> None:
    open_dashboard(page, w.url)
    lo, hi = (f"{root(w.rng)} input[type=range] >> nth={i}" for i in (0, 1))
    set_range(page, lo, 3)
    wait_until(lambda: w.rng.value == (3.0, 8.0))
    set_range(page, hi, 1)  # past the other end: stops at it
    wait_until(lambda: w.rng.value == (3.0, 3.0))
    w.rng.value = (4, 9)
    wait_dom(
        page,
        "(sel) => [...document.querySelectorAll(sel)].map(e => e.value).join() === '4,9'",
        f"{root(w.rng)} input[type=range]",
    )
    assert "4 \u2013 9" in page.locator(f"{root(w.rng)} output").text_content()


def test_toggle_select_multiselect_both_ways(w: Widgets, page: Any) -> None:
    open_dashboard(page, w.url)
    page.get_by_label("enabled").check()
    wait_until(lambda: w.tog.value is True)
    w.tog.value = False
    wait_dom(page, "(sel) => !document.querySelector(sel).checked", f"{root(w.tog)} input")

    page.get_by_label("pick").select_option(label="Three")
    wait_until(lambda: w.sel.value == 3)
    w.sel.value = 2
    wait_dom(
        page,
        "(sel) => document.querySelector(sel).selectedOptions[0].textContent === 'Two'",
        f"{root(w.sel)} select",
    )
    w.sel.options = {"Four": 4, "Two": 2}  # new options from Python
    wait_dom(
        page,
        "(sel) => [...document.querySelector(sel).options].map(o => o.text).join() === 'Four,Two'",
        f"{root(w.sel)} select",
    )
    assert page.locator(f"{root(w.sel)} select option:checked").text_content() == "Two"

    page.get_by_label("many").select_option(label=["a", "c"])
    wait_until(lambda: w.multi.value == ["a", "c"])
    w.multi.value = ["b", "c"]
    wait_dom(
        page,
        "(sel) => [...document.querySelector(sel).selectedOptions]"
        ".map(o => o.text).join() === 'b,c'",
        f"{root(w.multi)} select",
    )


def test_text_input_sends_on_enter_and_blur_not_per_keystroke(w: Widgets, page: Any) -> None:
    open_dashboard(page, w.url)
    box = page.locator(f"{root(w.text)} input")
    seen: list[str] = []
    w.text.observe(lambda ch: seen.append(ch["new"]), names="value")
    box.fill("")
    box.press_sequentially("hello")
    time.sleep(0.3)
    assert w.text.value == "start" and seen == []  # typing alone sends nothing
    box.press("Enter")
    wait_until(lambda: w.text.value == "hello")
    box.fill("bye")
    box.blur()
    wait_until(lambda: w.text.value == "bye")
    assert seen == ["hello", "bye"]
    box.fill("never")
    box.press("Escape")  # reverts, nothing sent
    box.blur()
    time.sleep(0.2)
    assert w.text.value == "bye" and box.input_value() == "bye"
    w.text.value = "from python"
    wait_dom(
        page,
        "(sel) => document.querySelector(sel).value === 'from python'",
        f"{root(w.text)} input",
    )
    # continuous=True: every keystroke (at most one set per frame)
    page.locator(f"{root(w.live)} input").press_sequentially("abc")
    wait_until(lambda: w.live.value == "abc")


def test_number_input_clamps_and_snaps_back(w: Widgets, page: Any) -> None:
    open_dashboard(page, w.url)
    box = page.locator(f"{root(w.num_in)} input")
    box.fill("7.5")
    box.press("Enter")
    wait_until(lambda: w.num_in.value == 7.5)
    box.fill("42")  # over max: Python clamps, the page shows the canonical value
    box.press("Enter")
    wait_until(lambda: w.num_in.value == 10.0)
    wait_dom(page, "(sel) => document.querySelector(sel).value === '10'", f"{root(w.num_in)} input")
    w.num_in.value = 1
    wait_dom(page, "(sel) => document.querySelector(sel).value === '1'", f"{root(w.num_in)} input")


def test_a_refused_set_snaps_the_page_back(w: Widgets, page: Any) -> None:
    open_dashboard(page, w.url)
    page.evaluate(
        """(id) => { const m = window.wsbridgeClient.model(id);
                     m.set('value', 'not an option'); m.save_changes(); }""",
        w.sel.id,
    )
    wait_dom(
        page,
        "(id) => window.wsbridgeClient.model(id).get('value') === 1",
        w.sel.id,
    )
    assert w.sel.value == 1
    # a browser may not set what is not settable (options, labels, bounds)
    page.evaluate(
        """(id) => { const m = window.wsbridgeClient.model(id);
                     m.set('max', 1000); m.save_changes(); }""",
        w.num_in.id,
    )
    wait_dom(page, "(id) => window.wsbridgeClient.model(id).get('max') === 10", w.num_in.id)
    assert w.num_in.max == 10.0


def test_tabs_and_card_both_ways(w: Widgets, page: Any) -> None:
    open_dashboard(page, w.url)
    tabs = page.locator(root(w.tabs))
    assert tabs.get_by_role("tab", name="A").get_attribute("aria-selected") == "true"
    assert tabs.get_by_text("second tab").is_hidden()
    tabs.get_by_role("tab", name="B").click()
    wait_until(lambda: w.tabs.selected == 1)
    assert tabs.get_by_text("second tab").is_visible()
    assert tabs.get_by_text("first tab").is_hidden()
    tabs.get_by_role("tab", name="B").press("ArrowLeft")  # keyboard: the WAI-ARIA pattern
    wait_until(lambda: w.tabs.selected == 0)
    w.tabs.selected = 1
    wait_dom(
        page,
        "(sel) => document.querySelector(sel).getAttribute('aria-selected') === 'true'",
        f"{root(w.tabs)} [role=tab]:nth-child(2)",
    )
    w.tabs.titles = ["Alpha", "Beta"]
    tabs.get_by_role("tab", name="Beta").wait_for()
    # a child added from Python gets its tab
    w.tabs.children = [*w.tabs.children, wb.Label("third tab")]
    tabs.get_by_role("tab", name="Tab 3").click()
    wait_until(lambda: w.tabs.selected == 2)

    card = page.locator(root(w.card))
    toggle = card.get_by_role("button", name="Details")
    assert toggle.get_attribute("aria-expanded") == "true"
    toggle.click()
    wait_until(lambda: w.card.collapsed is True)
    assert card.get_by_text("inside").is_hidden()
    assert toggle.get_attribute("aria-expanded") == "false"
    w.card.collapsed = False
    card.get_by_text("inside").wait_for(state="visible")


def test_indicators_follow_python(w: Widgets, page: Any) -> None:
    open_dashboard(page, w.url)
    value = f"{root(w.number)} .wsbridge-number-value"
    w.number.format = "{:.1%}"
    w.number.value = -0.256
    wait_dom(page, "(sel) => document.querySelector(sel).textContent === '-25.6%'", value)
    assert page.locator(value).evaluate("el => el.style.color") == "rgb(0, 0, 255)"
    w.prog.value = 45
    wait_dom(page, "(sel) => document.querySelector(sel).value === 45", f"{root(w.prog)} progress")
    w.prog.value = None  # indeterminate
    wait_dom(
        page,
        "(sel) => !document.querySelector(sel).hasAttribute('value')",
        f"{root(w.prog)} progress",
    )
    w.md.value = "**bold** and `code`"
    page.locator(f"{root(w.md)} strong").wait_for()
    assert page.locator(f"{root(w.md)} code").text_content() == "code"
    w.grid.columns = 2
    wait_dom(
        page,
        "(sel) => getComputedStyle(document.querySelector(sel))"
        ".gridTemplateColumns.split(' ').length === 2",
        root(w.grid),
    )


def test_markdown_and_label_xss_is_inert(w: Widgets, page: Any) -> None:
    open_dashboard(page, w.url)
    md = page.locator(root(w.md))
    md.locator("h1").wait_for()
    assert md.locator("h1 em").text_content() == "there"
    page.wait_for_timeout(300)  # an onerror would have fired by now
    assert page.evaluate("window.pwned") is None
    assert md.locator("img, script, [onerror], [onclick]").count() == 0
    text = md.text_content()
    assert "<script>window.pwned = 'script'</script>" in text
    assert "<img src=x onerror=" in text
    # the javascript: link is dropped (its text stays), the https one kept
    assert md.locator("a").count() == 1
    assert md.locator("a").get_attribute("href") == "https://example.org"
    md.get_by_text("click me").click()
    page.wait_for_timeout(100)
    assert page.evaluate("window.pwned") is None
    # Label: always text
    label = page.locator(root(w.label))
    assert label.locator("img").count() == 0
    assert label.text_content() == "<img src=x onerror=\"window.pwned='label'\">"
    # new Markdown from Python is just as inert
    w.md.value = "<svg onload=\"window.pwned='svg'\"></svg> [x](JaVaScRiPt:window.pwned=3)"
    md.get_by_text("<svg").wait_for()
    page.wait_for_timeout(200)
    assert page.evaluate("window.pwned") is None
    assert md.locator("svg, a").count() == 0
    assert not page.js_errors


def test_layouts_follow_children_added_and_removed_from_python(w: Widgets, page: Any) -> None:
    open_dashboard(page, w.url)
    page.locator(root(w.card)).wait_for()
    extra = wb.Toggle(label="late toggle")
    w.col.children = [*w.col.children, extra]
    page.get_by_label("late toggle").check()  # the new child is live both ways
    wait_until(lambda: extra.value is True)
    # removed from Python: gone from the page
    w.col.children = [c for c in w.col.children if c is not w.tog]
    page.locator(root(w.tog)).wait_for(state="detached")
    # a Grid and a Card gain children too
    w.grid.children = [*w.grid.children, wb.Label("g4")]
    page.locator(root(w.grid)).get_by_text("g4").wait_for()
    w.card.children = [wb.Markdown("*new body*")]
    page.locator(root(w.card)).locator("em").wait_for()
    page.locator(root(w.card)).get_by_text("inside").wait_for(state="detached")
    # a second browser opened now sees the same layout
    ctx = page.context.browser.new_context()
    try:
        other = ctx.new_page()
        open_dashboard(other, w.url)
        other.get_by_label("late toggle").wait_for()
        assert other.locator(root(w.tog)).count() == 0
        assert other.get_by_label("late toggle").is_checked()
    finally:
        ctx.close()


def test_multiline_text_input_is_a_textarea_keeping_line_breaks(
    bridge: wb.Bridge, page: Any
) -> None:
    text = wb.TextInput("one", rows=3, label="notes")
    bridge.dashboard("notes", wb.Column(text))
    open_dashboard(page, bridge.url + "d/notes")
    box = page.locator(f'[data-wsbridge-model="{text.id}"] textarea')
    assert box.get_attribute("rows") == "3"
    box.fill("")
    box.press_sequentially("a")
    box.press("Enter")  # a new line, not a commit
    box.press_sequentially("b")
    time.sleep(0.2)
    assert text.value == "one"
    box.press("Control+Enter")
    wait_until(lambda: text.value == "a\nb")
    text.value = "x\ny"
    wait_dom(
        page,
        "(sel) => document.querySelector(sel).value === 'x\\ny'",
        f'[data-wsbridge-model="{text.id}"] textarea',
    )
