"""ipywidgets pickers, Play with jslink, layout and style in real headless
Chromium: native inputs both ways, a Play moving its linked slider in the
page while Python is busy, CSS measured in the page, bad CSS refused."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest

import wsbridge as wb
from tests.helpers.browser import open_dashboard, root, set_range, wait_dom
from tests.helpers.common import port_of, wait_until
from tests.helpers.relay import Relay
from wsbridge.ipy import mirror

W = pytest.importorskip("ipywidgets")

pytestmark = pytest.mark.browser


def commit(page: Any, selector: str, value: str) -> None:
    """Set a native input's value as a picker does (input, then change)."""
    page.locator(selector).evaluate(
        """(el, v) => { el.value = v;
             el.dispatchEvent(new Event('input', {bubbles: true}));
             el.dispatchEvent(new Event('change', {bubbles: true})); }""",
        value,
    )


def test_pickers_both_ways(module_bridge: wb.Bridge, page: Any) -> None:
    color = W.ColorPicker(value="red", description="colour")
    date = W.DatePicker(value=dt.date(2024, 5, 1), description="day", max=dt.date(2025, 12, 31))
    when = W.DatetimePicker(
        value=dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone.utc), description="when"
    )
    time = W.TimePicker(value=dt.time(9, 15), description="at")
    secret = W.Password(description="secret")
    combo = W.Combobox(options=["apple", "banana"], description="fruit", ensure_option=True)
    tags = W.TagsInput(value=["a"], allowed_tags=["a", "b", "c"], allow_duplicates=False)
    module_bridge.dashboard("pickers", W.VBox([color, date, when, time, secret, combo, tags]))
    open_dashboard(page, module_bridge.url + "d/pickers")

    # Python -> page, in each input's own format
    wait_dom(
        page,
        "(s) => document.querySelector(s).value === '#ff0000'",
        f"{root(mirror(color))} input[type=color]",
    )
    assert page.get_by_label("day").input_value() == "2024-05-01"
    assert page.get_by_label("at").input_value() == "09:15:00"
    local = page.evaluate("() => new Date('2024-05-01T12:30:00Z').getHours()")
    assert page.get_by_label("when").input_value() == f"2024-05-01T{local:02d}:30"

    # page -> Python, as the ipywidgets' own types
    commit(page, f"{root(mirror(color))} input[type=color]", "#00ff00")
    wait_until(lambda: color.value == "#00ff00")
    commit(page, f"{root(mirror(date))} input", "2025-01-02")
    wait_until(lambda: date.value == dt.date(2025, 1, 2))
    page.get_by_label("day").fill("2026-06-01")  # past max: the DatePicker clamps it
    wait_until(lambda: date.value == dt.date(2025, 12, 31))
    page.get_by_label("day").evaluate("el => el.blur()")  # shown once the field is left
    wait_dom(
        page,
        "(s) => document.querySelector(s).value === '2025-12-31'",
        f"{root(mirror(date))} input",
    )
    commit(page, f"{root(mirror(time))} input", "18:05")
    wait_until(lambda: time.value == dt.time(18, 5))
    commit(page, f"{root(mirror(when))} input", f"2024-06-01T{local:02d}:00:00")
    wait_until(lambda: when.value == dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.timezone.utc))

    # Password: the ipywidget gets the value; no page ever holds it
    page.get_by_label("secret").fill("hunter2")
    page.get_by_label("secret").press("Enter")
    wait_until(lambda: secret.value == "hunter2")
    other = page.context.new_page()
    open_dashboard(other, module_bridge.url + "d/pickers")
    model = mirror(secret).id
    assert other.evaluate(f"() => window.wsbridgeClient.model('{model}').get('value')") is None
    assert "hunter2" not in other.content()
    secret.value = ""  # Python clears it: the field follows
    wait_dom(page, "(s) => document.querySelector(s).value === ''", f"{root(mirror(secret))} input")
    other.close()

    # Combobox with ensure_option: an option is taken, anything else refused
    commit(page, f"{root(mirror(combo))} input", "banana")
    wait_until(lambda: combo.value == "banana")
    commit(page, f"{root(mirror(combo))} input", "cherry")
    wait_dom(
        page, "(s) => document.querySelector(s).value === 'banana'", f"{root(mirror(combo))} input"
    )
    assert combo.value == "banana"

    # TagsInput: add with Enter, remove with its button
    tag_input = page.locator(f"{root(mirror(tags))} input")
    tag_input.fill("c")
    tag_input.press("Enter")
    wait_until(lambda: tags.value == ["a", "c"])
    page.get_by_role("button", name="remove a").click()
    wait_until(lambda: tags.value == ["c"])
    assert not page.js_errors


def test_play_jslink_moves_the_slider_without_python(module_bridge: wb.Bridge, page: Any) -> None:
    play = W.Play(value=0, min=0, max=50, step=1, interval=40, description="play")
    slider = W.IntSlider(0, min=0, max=50, description="frame")
    W.jslink((play, "value"), (slider, "value"))
    gate = threading.Event()
    seen: list[int] = []

    def busy(change: Any) -> None:  # Python is stuck until the gate opens
        seen.append(change["new"])
        gate.wait(10)

    play.observe(busy, names="value")
    module_bridge.dashboard("play", W.VBox([play, slider]))
    open_dashboard(page, module_bridge.url + "d/play")
    rng = f"{root(mirror(slider))} input[type=range]"
    page.get_by_role("button", name="play").click()
    # the page's slider follows Play while Python's callbacks thread is blocked
    wait_dom(page, "(s) => Number(document.querySelector(s).value) >= 5", rng)
    assert len(seen) <= 1
    gate.set()
    page.get_by_role("button", name="pause").click()
    shown = int(page.locator(rng).input_value())
    wait_until(lambda: play.playing is False and play.value == slider.value >= shown - 1)
    # Python moves the Play: the link (in Python and in the page) moves the slider
    play.unobserve(busy, names="value")
    play.value = 42
    assert slider.value == 42
    wait_dom(page, "(s) => document.querySelector(s).value === '42'", rng)
    assert not page.js_errors


def test_a_jsdlink_still_runs_in_the_page_after_a_reconnect(
    module_bridge: wb.Bridge, page: Any
) -> None:
    src = W.IntSlider(1, min=0, max=20, description="src")
    dst = W.IntText(0, description="dst")
    W.jsdlink((src, "value"), (dst, "value"))
    module_bridge.dashboard("dlink", W.HBox([src, dst]))
    relay = Relay(port_of(module_bridge.url))
    try:
        open_dashboard(page, relay.url + "d/dlink")
        number = f"{root(mirror(dst))} input"
        wait_dom(page, "(s) => document.querySelector(s).value === '1'", number)
        assert relay.cut() >= 1
        page.wait_for_function("() => window.wsbridgeClient.status === 'connected'")
        set_range(page, f"{root(mirror(src))} input[type=range]", 9)
        wait_dom(page, "(s) => document.querySelector(s).value === '9'", number)
        wait_until(lambda: dst.value == 9 and src.value == 9)
        mirror(dst)  # one way only: the number does not move the slider
        dst.value = 3
        wait_dom(page, "(s) => document.querySelector(s).value === '3'", number)
        assert src.value == 9 and relay.accepted >= 2
    finally:
        relay.close()
    assert not page.js_errors


def test_layout_and_style_reach_the_page(module_bridge: wb.Bridge, page: Any) -> None:
    slider = W.IntSlider(layout=W.Layout(width="300px", border="2px solid rgb(0, 0, 255)"))
    button = W.Button(description="go", button_style="danger", style={"font_weight": "bold"})
    bar = W.FloatProgress(5, max=10, style={"bar_color": "#00ff00"})
    text = W.Text(description="name", style={"description_width": "150px"})
    bad = W.Label("bad", layout=W.Layout(width="url(http://x/)", height="10px; display: none"))
    module_bridge.dashboard("layout", W.VBox([slider, button, bar, text, bad]))
    open_dashboard(page, module_bridge.url + "d/layout")
    s = root(mirror(slider))
    page.locator(s).wait_for()
    assert page.locator(s).evaluate("el => el.getBoundingClientRect().width") == 300
    assert page.locator(s).evaluate("el => getComputedStyle(el).borderTopColor") == "rgb(0, 0, 255)"
    btn = page.get_by_role("button", name="go")
    assert btn.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(211, 47, 47)"
    assert btn.evaluate("el => getComputedStyle(el).fontWeight") == "700"
    progress = f"{root(mirror(bar))} progress"
    assert (
        page.locator(progress).evaluate("el => getComputedStyle(el).accentColor")
        == "rgb(0, 255, 0)"
    )

    # a Python change of the Layout reaches the page
    slider.layout.width = "200px"
    wait_dom(page, "(s) => document.querySelector(s).getBoundingClientRect().width === 200", s)
    # bad values were refused in Python; crafted ones are refused by the page too
    assert mirror(bad)._layout == {}
    mirror(bad)._layout = {"width": "url(http://x/)", "height": "1px;display:none", "color": "red"}
    mirror(bad)._style = {"text_color": "expression(alert(1))", "background": "rgb(1, 2, 3)"}
    b = root(mirror(bad))
    wait_dom(page, "(s) => document.querySelector(s).style.background !== ''", b)
    style = page.locator(b).evaluate("el => el.getAttribute('style')")
    assert style == "box-sizing: border-box; background: rgb(1, 2, 3);"
    assert not page.js_errors
