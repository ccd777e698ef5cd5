"""Notifications, pages and URL state in real Chromium.

Toasts to every viewer and to one session, the navigation bar between two
dashboards and the landing page, a bookmarked query restored into Python,
a Python-set query in the page's address, and a page's query that breaks
the bounds refused.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import wsbridge as wb
from tests.helpers.browser import open_dashboard, wait_dom
from tests.helpers.common import wait_until

TOAST = "#wsbridge-toasts .wsbridge-toast"


def toasts(page: Any) -> list[dict[str, str]]:
    return list(
        page.evaluate(
            """(sel) => [...document.querySelectorAll(sel)].map((t) => ({
                 text: t.querySelector('.wsbridge-toast-text').textContent,
                 role: t.getAttribute('role'), level: t.dataset.level }))""",
            TOAST,
        )
    )


def wait_toast(page: Any, text: str) -> None:
    wait_dom(
        page,
        "(sel, t) => [...document.querySelectorAll(sel)].some((e) => e.textContent.includes(t))",
        TOAST,
        text,
    )


def query_of(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


@pytest.fixture
def two_pages(chromium: Any) -> Iterator[tuple[Any, Any]]:
    ctx = chromium.new_context()
    pages = []
    for _ in range(2):
        pg = ctx.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
        pg.js_errors = errors
        pages.append(pg)
    try:
        yield pages[0], pages[1]
    finally:
        ctx.close()


# -- notifications
def test_a_toast_to_every_viewer_and_one_to_the_clicking_viewer_only(
    bridge: wb.Bridge, two_pages: tuple[Any, Any]
) -> None:
    save = wb.Button(label="Save", id="save")
    sessions: list[wb.Session | None] = []

    def on_save(button: Any) -> None:
        s = wb.session()
        sessions.append(s)
        assert s is not None
        s.notify("saved <i>for you</i>", level="success")

    save.on_click(on_save)
    dash = bridge.dashboard("main", wb.Column(save))
    one, two = two_pages
    for pg in (one, two):
        open_dashboard(pg, bridge.url + "d/main")

    dash.notify("to everyone", level="info")
    dash.notify("disk almost full", level="warning")
    for pg in (one, two):
        wait_toast(pg, "disk almost full")
        shown = {t["text"]: t for t in toasts(pg)}
        assert shown["to everyone"]["role"] == "status"
        assert shown["disk almost full"]["role"] == "alert"

    one.locator('[data-wsbridge-model="save"] button').click()
    wait_toast(one, "for you")
    mine = [t for t in toasts(one) if "for you" in t["text"]]
    assert mine == [{"text": "saved <i>for you</i>", "role": "status", "level": "success"}]
    assert one.locator(f"{TOAST} i").count() == 0  # text, never HTML
    # a later toast to all reached page two: the one-session toast would be there by now
    dash.notify("after the click")
    wait_toast(two, "after the click")
    assert not [t for t in toasts(two) if "for you" in t["text"]]
    assert sessions and sessions[0] is not None and sessions[0].dashboard is dash
    assert wb.session() is None  # outside a callback
    assert not one.js_errors and not two.js_errors


def test_toasts_go_by_themselves_after_their_duration_or_when_dismissed(
    bridge: wb.Bridge, page: Any
) -> None:
    dash = bridge.dashboard("main", wb.Column())
    open_dashboard(page, bridge.url + "d/main")
    dash.notify("brief", duration=0.4)
    dash.notify("sticky", level="error", duration=None)
    wait_toast(page, "sticky")
    gone = "(s) => ![...document.querySelectorAll(s)].some((e) => e.innerText.includes('brief'))"
    page.wait_for_function(gone, arg=TOAST, timeout=5_000)
    time.sleep(0.5)
    assert [t["text"] for t in toasts(page)] == ["sticky"]
    page.locator(f"{TOAST} button[aria-label='Dismiss']").click()
    assert toasts(page) == []


def test_a_late_viewer_does_not_get_earlier_toasts(bridge: wb.Bridge, page: Any) -> None:
    dash = bridge.dashboard("main", wb.Column())
    dash.notify("before anyone came")
    bridge.flush()
    open_dashboard(page, bridge.url + "d/main")
    dash.notify("now")
    wait_toast(page, "now")
    assert [t["text"] for t in toasts(page)] == ["now"]


# -- pages
def test_the_nav_bar_goes_between_dashboards_and_marks_the_current_one(page: Any) -> None:
    with wb.Bridge(title="Plant <3>") as bridge:
        bridge.dashboard("one", wb.Column(wb.Label(value="first")), title="First")
        bridge.dashboard("two", wb.Column(wb.Label(value="second")), title="Second")
        bridge.dashboard("hidden", wb.Column(), title="Hidden", nav=False)
        bridge.app("solo", lambda dash: wb.Column(), title="Solo app")

        open_dashboard(page, bridge.url + "d/one")
        nav = page.locator("nav#wsbridge-nav")
        assert nav.get_attribute("aria-label") == "Plant <3>"
        assert nav.locator("a").all_inner_texts() == ["Plant <3>", "First", "Second", "Solo app"]
        assert nav.locator('[aria-current="page"]').inner_text() == "First"
        nav.get_by_role("link", name="Second").click()
        page.wait_for_url("**/d/two")
        open_dashboard(page, page.url)
        assert page.locator('nav [aria-current="page"]').inner_text() == "Second"
        assert "second" in page.locator("#wsbridge-root").inner_text()

        # the landing page: a card per dashboard and app, with its title
        page.locator("nav .wsbridge-nav-home").click()
        page.wait_for_url(bridge.url)
        assert page.title() == "Plant <3>"
        cards = page.locator(".wsbridge-page-card a")
        assert cards.evaluate_all("(as) => as.map((a) => a.getAttribute('href'))") == [
            "d/one",
            "d/two",
            "d/solo",
        ]
        assert "Solo app" in cards.nth(2).inner_text()
        cards.nth(0).click()
        page.wait_for_url("**/d/one")
        # nav=False: not listed, still served
        open_dashboard(page, bridge.url + "d/hidden")
        assert page.locator('nav [aria-current="page"]').count() == 0
        assert not page.js_errors


def test_one_dashboard_alone_has_no_nav_bar(bridge: wb.Bridge, page: Any) -> None:
    bridge.dashboard("main", wb.Column())
    open_dashboard(page, bridge.url + "d/main")
    assert page.locator("nav").count() == 0


# -- URL query
def test_a_bookmarked_query_reaches_python_and_python_sets_the_address(
    bridge: wb.Bridge, two_pages: tuple[Any, Any]
) -> None:
    dash = bridge.dashboard("main", wb.Column())
    query = dash.query
    seen: list[dict[str, str]] = []
    query.observe(lambda ch: seen.append(ch["new"]), names="value")
    one, two = two_pages

    # a bookmarked address sets the shared query
    open_dashboard(one, bridge.url + "d/main?view=map&year=2023#top")
    wait_until(lambda: dict(query) == {"view": "map", "year": "2023"})
    assert seen[-1] == {"view": "map", "year": "2023"}

    # Python sets it: every viewer's address follows (no reload, fragment kept)
    one.evaluate("() => { window.notReloaded = true; }")
    query["year"] = "2024"
    one.wait_for_function("() => location.search.includes('year=2024')")
    assert query_of(one) == {"view": ["map"], "year": ["2024"]}
    assert urlsplit(one.url).fragment == "top"
    assert one.evaluate("window.notReloaded === true")

    # a plain link changes nothing: its address takes the dashboard's query
    open_dashboard(two, bridge.url + "d/main")
    two.wait_for_function("() => location.search.includes('view=map')")
    assert query_of(two) == {"view": ["map"], "year": ["2024"]}
    assert dict(query) == {"view": "map", "year": "2024"}
    del query["view"]
    for pg in (one, two):
        pg.wait_for_function("() => !location.search.includes('view=')")
    assert not one.js_errors and not two.js_errors


def test_an_app_factory_reads_its_page_query_and_sets_only_its_address(
    bridge: wb.Bridge, two_pages: tuple[Any, Any]
) -> None:
    built: list[dict[str, str]] = []

    def factory(dash: wb.Dashboard) -> wb.Model:
        built.append(dash.query.to_dict())
        button = wb.Button(label="next", id="next")
        shown = wb.Label(value=dash.query.get("view", "table"), id="shown")

        def advance(b: Any) -> None:
            dash.query["view"] = "chart"
            shown.value = "chart"

        button.on_click(advance)
        return wb.Column(shown, button)

    bridge.app("solo", factory)
    one, two = two_pages
    open_dashboard(one, bridge.url + "d/solo?view=map")
    open_dashboard(two, bridge.url + "d/solo")
    assert one.locator('[data-wsbridge-model="shown"]').inner_text() == "map"
    assert two.locator('[data-wsbridge-model="shown"]').inner_text() == "table"
    assert sorted(built, key=len) == [{}, {"view": "map"}]
    one.locator('[data-wsbridge-model="next"] button').click()
    one.wait_for_function("() => location.search === '?view=chart'")
    time.sleep(0.2)
    assert urlsplit(two.url).query == ""  # another session: its own address


def test_a_page_query_past_the_bounds_is_refused(bridge: wb.Bridge, page: Any) -> None:
    dash = bridge.dashboard("main", wb.Column())
    query = dash.query
    query["view"] = "table"
    errors: list[Any] = []
    page.on("console", lambda m: errors.append(m.text) if "invalid_value" in m.text else None)

    many = "&".join(f"p{i}=x" for i in range(40))  # more than 32 parameters
    open_dashboard(page, bridge.url + "d/main?" + many)
    # refused: Python keeps its value, and the address is set back to it
    page.wait_for_function("() => location.search === '?view=table'", timeout=10_000)
    assert dict(query) == {"view": "table"}
    wait_until(lambda: errors, what="the page logged the refusal")

    long = "x" * 2000  # a value over 1024 characters
    open_dashboard(page, bridge.url + "d/main?view=" + long)
    page.wait_for_function("() => location.search === '?view=table'", timeout=10_000)
    assert dict(query) == {"view": "table"}

    # a crafted set that is not strings is refused the same way
    model = query.id
    page.evaluate(f"() => window.wsbridgeClient.sendSet('{model}', {{value: {{a: 1}}}})")
    page.wait_for_function(
        f"() => JSON.stringify(window.wsbridgeClient.model('{model}').get('value'))"
        " === JSON.stringify({view: 'table'})"
    )
    time.sleep(0.2)
    assert dict(query) == {"view": "table"}
