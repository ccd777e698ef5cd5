"""The default look in real Chromium: the demo (a Bokeh plot with axes, a
table following the stream, the viewer count, the update rate), the gallery
(fields line up, a two-thumb RangeSlider, formatted table numbers, no
horizontal scroll on a phone), themes (light, dark, auto, an accent, a
change from Python) and per-viewer tabs and cards.

One bridge serves every page of the module (the demo streams meanwhile);
each test opens the pages it needs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import wsbridge as wb
from tests.helpers.browser import open_dashboard, root, wait_dom
from tests.helpers.cli import Cli
from tests.helpers.common import wait_until
from wsbridge.demo import DemoStreamer, build_demo
from wsbridge.gallery import Gallery, build_gallery

pytestmark = pytest.mark.browser

LIGHT_BG = "rgb(244, 245, 247)"
DARK_BG = "rgb(13, 17, 23)"
PURPLE = "rgb(124, 58, 237)"


@dataclass
class Site:
    bridge: wb.Bridge
    demo: DemoStreamer
    gallery: Gallery
    dark: wb.Dashboard  # the gallery, theme dark with a purple accent
    light: wb.Dashboard  # the gallery, theme light

    def url(self, path: str = "") -> str:
        return self.bridge.url + path


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with wb.Bridge(port=0) as bridge:
        demo = DemoStreamer(seed=1)
        build_demo(bridge, demo)
        _, gallery = build_gallery(bridge)
        dark, _ = build_gallery(bridge, "dark", theme={"mode": "dark", "accent": "#7c3aed"})
        light, _ = build_gallery(bridge, "light", theme="light")
        try:
            yield Site(bridge, demo, gallery, dark, light)
        finally:
            demo.stop()
            demo.join(5.0)


def new_page(chromium: Any, width: int = 1280, scheme: str = "light") -> Any:
    context = chromium.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    return page


def close(*pages: Any) -> None:
    for page in pages:
        assert not page.js_errors, page.js_errors
        page.context.close()


def text(page: Any, selector: str) -> str:
    return str(page.locator(selector).first.text_content() or "")


def box(page: Any, selector: str) -> dict[str, float]:
    b = page.locator(selector).first.bounding_box()
    assert b is not None, selector
    return dict(b)


def background(page: Any) -> str:
    return str(page.evaluate("getComputedStyle(document.documentElement).backgroundColor"))


# -- the demo
def test_demo_plot_with_axes_table_viewers_and_rate(site: Site, chromium: Any) -> None:
    s = site.demo
    first = new_page(chromium)
    open_dashboard(first, site.url())  # the index is the demo
    plot = '[data-wsbridge-type="Plot"]'
    wait_dom(first, "(sel) => document.querySelector(sel)?.dataset.wsbridgeReady === 'true'", plot)
    # BokehJS drew it: a canvas of the plot's size, and its axes carry their labels
    canvas = first.locator(f"{plot} canvas").first  # in BokehJS's shadow DOM
    assert canvas.bounding_box()["width"] > 400 and canvas.bounding_box()["height"] > 200
    labels = first.evaluate(
        """() => Bokeh.documents.flatMap((d) => [...d.all_models])
                 .filter((m) => typeof m.axis_label === 'string').map((m) => m.axis_label).sort()"""
    )
    assert labels == ["time (s)", "value"]
    # the table follows the stream: its last row moves on
    last_t = """() => {
        const rows = document.querySelectorAll('[data-wsbridge-type="Table"] tr[data-row]');
        return rows.length ? rows[rows.length - 1].cells[0].textContent : ''; }"""
    wait_dom(first, f"() => ({last_t})() !== ''")
    before = first.evaluate(last_t)
    assert re.fullmatch(r"\d+\.\d\d", before), before
    wait_dom(first, f"(was) => ({last_t})() !== was", before)
    # the update rate, and one viewer, then two
    rate = f"{root(s.update_rate)} .wsbridge-number-value"
    wait_dom(first, "(sel) => Number(document.querySelector(sel).textContent) > 5", rate)
    viewers = f"{root(s.viewers)} .wsbridge-number-value"
    wait_dom(first, "(sel) => document.querySelector(sel).textContent === '1'", viewers)
    second = new_page(chromium)
    open_dashboard(second, site.url("d/demo"))
    for page in (first, second):
        wait_dom(page, "(sel) => document.querySelector(sel).textContent === '2'", viewers)
    close(second)
    wait_dom(first, "(sel) => document.querySelector(sel).textContent === '1'", viewers)
    close(first)


# -- the gallery: alignment, the RangeSlider, numbers, phone widths
def test_fields_line_up_with_their_labels_above(site: Site, chromium: Any) -> None:
    g = site.gallery
    page = new_page(chromium)
    open_dashboard(page, site.url("d/gallery"))
    controls = {
        g.slider: "input[type=range]",
        g.range: ".wsbridge-range",
        g.notes: "textarea",
    }
    lefts = {round(box(page, f"{root(m)} {sel}")["x"]) for m, sel in controls.items()}
    assert len(lefts) == 1, lefts  # one column: one left edge
    choices = {g.select: "select", g.multi: "select", g.live: "input[type=checkbox]"}
    assert len({round(box(page, f"{root(m)} {sel}")["x"]) for m, sel in choices.items()}) == 1
    for model, sel in {**controls, g.select: "select"}.items():
        label = box(page, f"{root(model)} .wsbridge-field-label")
        control = box(page, f"{root(model)} {sel}")
        assert label["y"] + label["height"] <= control["y"] + 1  # the label is above
        assert abs(label["x"] - control["x"]) <= 1  # and starts where it does
    # a Row: the labels of a Number and a Progress on one line, the button at the bottom
    row = page.locator(".wsbridge-row", has=page.locator(".wsbridge-number")).last
    tops = row.locator(".wsbridge-field-label").evaluate_all(
        "els => els.map((e) => Math.round(e.getBoundingClientRect().top))"
    )
    assert len(tops) == 2 and tops[0] == tops[1], tops
    close(page)


def test_range_slider_one_track_two_thumbs_keyboard_and_pointer(site: Site, chromium: Any) -> None:
    rng = site.gallery.range
    rng.value = (20.0, 75.0)
    page = new_page(chromium)
    open_dashboard(page, site.url("d/gallery"))
    el = page.locator(root(rng))
    assert el.locator(".wsbridge-range-rail").count() == 1  # one track
    assert el.locator(".wsbridge-range-fill").count() == 1
    lo, hi = el.locator("input[type=range]").nth(0), el.locator("input[type=range]").nth(1)
    assert lo.get_attribute("aria-label") == "band (%), minimum"
    assert hi.get_attribute("aria-label") == "band (%), maximum"
    assert el.get_attribute("role") == "group"
    # the thumbs sit on the one track, the fill between them
    rail = box(page, f"{root(rng)} .wsbridge-range-rail")
    fill = box(page, f"{root(rng)} .wsbridge-range-fill")
    assert abs(rail["y"] - fill["y"]) <= 0.5 and fill["width"] < rail["width"]
    lo.focus()
    lo.press("ArrowRight")
    lo.press("ArrowRight")
    wait_until(lambda: rng.value == (22.0, 75.0))
    hi.focus()
    hi.press("ArrowLeft")
    wait_until(lambda: rng.value == (22.0, 74.0))
    hi.press("Home")  # all the way down: stops at the other thumb
    wait_until(lambda: rng.value == (22.0, 22.0))
    assert page.locator(f"{root(rng)} output").text_content() == "22 \u2013 22"
    # the pointer: a press right of the interval takes the upper thumb there
    track = box(page, f"{root(rng)} .wsbridge-range")
    page.mouse.click(track["x"] + 8 + (track["width"] - 16) * 0.9, track["y"] + track["height"] / 2)
    wait_until(lambda: rng.value == (22.0, 90.0))
    page.mouse.click(track["x"] + 8 + (track["width"] - 16) * 0.3, track["y"] + track["height"] / 2)
    wait_until(lambda: rng.value == (30.0, 90.0))  # nearer the lower one
    close(page)


def test_table_numbers_right_aligned_and_rounded(site: Site, chromium: Any) -> None:
    table = site.gallery.table
    page = new_page(chromium)
    open_dashboard(page, site.url("d/gallery"))
    rows = page.locator(f"{root(table)} tbody tr[data-row]")
    rows.first.wait_for()
    cells = rows.first.locator("td")
    texts = cells.all_text_contents()
    ident, name, ratio, reading, total, ok = texts
    assert ident == "1" and name == "sensor-01" and ok in ("true", "false")
    assert re.fullmatch(r"0\.\d{5}", ratio), ratio  # 4 significant digits, not 0.0518394914994
    assert re.fullmatch(r"-?\d{1,3}\.\d{2}", reading), reading
    assert re.fullmatch(r"\d{1,3}(,\d{3})*\.\d{2}", total), total  # grouped
    align = cells.evaluate_all("tds => tds.map((td) => getComputedStyle(td).textAlign)")
    assert align == ["right", "left", "right", "right", "right", "left"]
    # every row of a column has the same decimals, so the points line up
    ratios = page.locator(f"{root(table)} tbody tr[data-row] td:nth-child(3)").all_text_contents()
    assert {len(r.split(".")[1]) for r in ratios} == {5}
    close(page)


@pytest.mark.parametrize("path", ["", "d/gallery"])
def test_phone_width_has_no_horizontal_scroll(site: Site, chromium: Any, path: str) -> None:
    page = new_page(chromium, width=390)
    open_dashboard(page, site.url(path))
    page.wait_for_timeout(300)  # let BokehJS and the grids lay out
    sizes = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert sizes[0] <= sizes[1], sizes
    close(page)


# -- themes
def test_themes_dark_light_auto_accent_and_live(site: Site, chromium: Any) -> None:
    checks = [
        ("d/gallery", "light", LIGHT_BG),  # auto follows the system
        ("d/gallery", "dark", DARK_BG),
        ("d/dark", "light", DARK_BG),  # a theme wins over the system
        ("d/light", "dark", LIGHT_BG),
    ]
    for path, scheme, expected in checks:
        page = new_page(chromium, scheme=scheme)
        open_dashboard(page, site.url(path))
        assert background(page) == expected, (path, scheme)
        close(page)
    page = new_page(chromium, scheme="light")
    open_dashboard(page, site.url("d/dark"))
    assert page.evaluate("document.documentElement.dataset.wsbridgeTheme") == "dark"
    # the accent colours the controls (the gallery's "live updates" switch is on)
    live = page.locator(".wsbridge-toggle input[type=checkbox]:checked").first
    live.wait_for()
    assert live.evaluate("(el) => getComputedStyle(el).backgroundColor") == PURPLE
    # a change from Python reaches the open page
    assert site.dark.theme is not None
    site.dark.theme.mode = "light"
    wait_dom(
        page, "(bg) => getComputedStyle(document.documentElement).backgroundColor === bg", LIGHT_BG
    )
    site.dark.theme.accent = "teal"
    wait_dom(
        page,
        """() => getComputedStyle(document.querySelector('.wsbridge-toggle input:checked'))
                 .backgroundColor === 'rgb(0, 128, 128)'""",
    )
    site.dark.theme.mode = "dark"
    site.dark.theme.accent = "#7c3aed"
    close(page)


def test_the_plot_follows_a_dark_page(site: Site, chromium: Any) -> None:
    page = new_page(chromium, scheme="dark")
    open_dashboard(page, site.url())
    plot = '[data-wsbridge-type="Plot"]'
    wait_dom(page, "(sel) => document.querySelector(sel)?.dataset.wsbridgeReady === 'true'", plot)
    assert page.locator(plot).get_attribute("data-wsbridge-scheme") == "dark"
    fill = page.evaluate(
        """() => Bokeh.documents.flatMap((d) => [...d.all_models])
                 .find((m) => m.type === 'Figure')?.background_fill_color"""
    )
    surface = page.evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--wsbridge-surface').trim()"
    )
    assert fill == surface == "#161b22"
    close(page)


# -- per-viewer state
def test_tabs_and_cards_are_per_viewer(site: Site, chromium: Any) -> None:
    g = site.gallery
    a, b = new_page(chromium), new_page(chromium)
    for page in (a, b):
        open_dashboard(page, site.url("d/gallery"))
    tab = f"{root(g.tabs)} [role=tab]"
    a.locator(tab, has_text="Sparkline").click()
    assert a.locator(tab, has_text="Sparkline").get_attribute("aria-selected") == "true"
    b.wait_for_timeout(300)  # nothing reaches the other page...
    assert b.locator(tab, has_text="Notes").get_attribute("aria-selected") == "true"
    assert g.tabs.selected == 0  # ...nor Python
    # a reload (or a reconnection) keeps this viewer's tab
    a.reload()
    open_dashboard(a, site.url("d/gallery"))
    assert a.locator(tab, has_text="Sparkline").get_attribute("aria-selected") == "true"
    # a card folds for this viewer only
    fold = a.locator(root(g.folded)).get_by_role("button")
    fold.click()
    assert fold.get_attribute("aria-expanded") == "false"
    assert b.locator(root(g.folded)).get_by_role("button").get_attribute("aria-expanded") == "true"
    assert g.folded.collapsed is False
    # Python moving the tab moves every viewer
    g.tabs.selected = 1
    for page in (a, b):
        wait_dom(
            page,
            "(sel) => document.querySelector(sel).getAttribute('aria-selected') === 'true'",
            f"{root(g.tabs)} [role=tab]:nth-child(2)",
        )
    g.tabs.selected = 0
    close(a, b)


# -- the command line
def test_wsbridge_demo_serves_the_demo_and_the_gallery_in_a_theme(
    start_cli: Callable[..., Cli], chromium: Any
) -> None:
    url = start_cli("demo", "--port", "0", "--theme", "dark", "--accent", "#7c3aed").url()
    page = new_page(chromium, scheme="light")
    open_dashboard(page, url)
    plot = '[data-wsbridge-type="Plot"]'
    wait_dom(page, "(sel) => document.querySelector(sel)?.dataset.wsbridgeReady === 'true'", plot)
    assert background(page) == DARK_BG
    assert page.locator('[data-wsbridge-type="Table"]').count() == 1
    open_dashboard(page, url + "d/gallery")
    assert background(page) == DARK_BG
    assert page.locator("input[type=range]").count() >= 3
    close(page)


def test_wsbridge_demo_refuses_a_bad_accent(capsys: pytest.CaptureFixture[str]) -> None:
    from wsbridge import cli

    assert cli.main(["demo", "--port", "0", "--accent", "blurple"]) == 1
    assert "theme accent must be a CSS colour such as '#7c3aed'" in capsys.readouterr().err


def test_a_viewers_tab_survives_a_reconnection(chromium: Any) -> None:
    """The hub restarts (a fresh snapshot, a new epoch): the page keeps its tab."""
    tabs = wb.Tabs(wb.Label("one"), wb.Label("two"), titles=["One", "Two"])
    bridge = wb.Bridge(port=0)
    bridge.start()
    try:
        bridge.dashboard("t", wb.Column(tabs))
        page = new_page(chromium)
        open_dashboard(page, bridge.url + "d/t")
        page.locator(f"{root(tabs)} [role=tab]", has_text="Two").click()
        epoch = page.evaluate("window.wsbridgeClient.epoch")
        bridge.stop()
        page.wait_for_function("() => window.wsbridgeClient.status !== 'connected'")
        bridge.start()
        page.wait_for_function(
            "(was) => window.wsbridgeClient.status === 'connected'"
            " && window.wsbridgeClient.epoch !== was",
            arg=epoch,
            timeout=30_000,  # the client backs off while the hub is down
        )
        selected = page.locator(f"{root(tabs)} [role=tab][aria-selected=true]")
        assert selected.text_content() == "Two" and tabs.selected == 0
        assert page.get_by_text("two", exact=True).is_visible()
        close(page)
    finally:
        bridge.stop()
