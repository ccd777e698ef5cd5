"""Real ``anywidget.AnyWidget`` objects in real headless Chromium, as given:
anywidget's README counter, drawdata's ``ScatterWidget`` drawn with the
mouse, wigglystuff's ``Slider2D`` both ways, a module reloaded when its
``_esm`` changes, bytes both ways and an ``experimental.invoke`` command."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anywidget
import pytest
import traitlets

import wsbridge as wb
from tests.helpers.browser import open_dashboard, root, wait_dom
from tests.helpers.common import wait_until
from wsbridge.ipy import mirror

pytestmark = pytest.mark.browser


# anywidget's README example, verbatim
class CounterWidget(anywidget.AnyWidget):
    _esm = """
    function render({ model, el }) {
      let button = document.createElement("button");
      button.innerHTML = `count is ${model.get("value")}`;
      button.addEventListener("click", () => {
        model.set("value", model.get("value") + 1);
        model.save_changes();
      });
      model.on("change:value", () => {
        button.innerHTML = `count is ${model.get("value")}`;
      });
      el.classList.add("counter-widget");
      el.appendChild(button);
    }
    export default { render };
    """
    _css = """
    .counter-widget button { color: white; font-size: 1.75em; background-color: #ea580c;
      padding: 0.5em 1em; border: none; border-radius: 10px; }
    .counter-widget button:hover { background-color: #9a3412; }
    """
    value = traitlets.Int(0).tag(sync=True)


@pytest.fixture(scope="module")
def shared_bridge() -> Iterator[wb.Bridge]:
    b = wb.Bridge(port=0)
    b.start()
    try:
        yield b
    finally:
        b.stop()


def host_of(widget: Any) -> str:
    """The CSS selector of the view of a hosted anywidget."""
    return root(mirror(widget))


def wait_text(page: Any, selector: str, text: str) -> None:
    wait_dom(page, "(s, t) => document.querySelector(s)?.textContent?.includes(t)", selector, text)


def test_readme_counter_both_ways(shared_bridge: wb.Bridge, page: Any) -> None:
    counter = CounterWidget(value=3)
    seen: list[int] = []
    counter.observe(lambda ch: seen.append(ch["new"]), names="value")
    shared_bridge.dashboard("counter", wb.Column(counter))
    network: list[str] = []
    page.on("request", lambda r: network.append(r.url))
    open_dashboard(page, shared_bridge.url + "d/counter")
    button = page.locator(f"{host_of(counter)} button")
    button.wait_for()
    assert button.text_content() == "count is 3"
    button.click()
    button.click()
    wait_until(lambda: counter.value == 5)
    assert seen == [4, 5]
    wait_text(page, f"{host_of(counter)} button", "count is 5")
    counter.value = 42
    wait_text(page, f"{host_of(counter)} button", "count is 42")
    page.mouse.move(0, 0)  # off the button: its :hover colour goes
    wait_dom(
        page,
        "(s) => getComputedStyle(document.querySelector(s)).backgroundColor === 'rgb(234, 88, 12)'",
        f"{host_of(counter)} button",
    )
    assert all(u.startswith((shared_bridge.url, "blob:")) for u in network), network
    assert not page.js_errors


def test_drawdata_scatter_drawn_with_the_mouse(shared_bridge: wb.Bridge, page: Any) -> None:
    from drawdata import ScatterWidget

    widget = ScatterWidget(width=600, height=300)
    shared_bridge.dashboard("draw", wb.Column(widget))
    open_dashboard(page, shared_bridge.url + "d/draw")
    svg = page.locator(f"{host_of(widget)} svg.dd-scatter-svg")
    svg.wait_for()
    box = svg.bounding_box()
    assert box is not None
    x0, y0 = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5
    page.mouse.move(x0, y0)
    page.mouse.down()
    for i in range(1, 16):
        page.mouse.move(x0 + i * 12, y0 - i * 3)
    page.mouse.up()
    wait_until(lambda: len(widget.data) >= 5)
    frame = widget.data_as_pandas
    assert {"x", "y", "color", "label", "batch"} <= set(frame.columns)
    assert frame["x"].between(0, 600).all() and frame["y"].between(0, 300).all()
    # Python clears it: the page's points go
    widget.data = []
    wait_dom(page, "(s) => document.querySelectorAll(s).length === 0", "circle.drawn")
    assert not page.js_errors


def test_wigglystuff_slider2d_both_ways(shared_bridge: wb.Bridge, page: Any) -> None:
    from wigglystuff import Slider2D

    slider = Slider2D(x=0.0, y=0.0, width=200, height=200)
    shared_bridge.dashboard("s2d", wb.Column(slider))
    open_dashboard(page, shared_bridge.url + "d/s2d")
    canvas = page.locator(f"{host_of(slider)} canvas")
    canvas.wait_for()
    box = canvas.bounding_box()
    assert box is not None
    # the top right of the circle: x and y both positive in Python
    page.mouse.move(box["x"] + 170, box["y"] + 30)
    page.mouse.down()
    page.mouse.move(box["x"] + 175, box["y"] + 25)
    page.mouse.up()
    wait_until(lambda: slider.x > 0.5 and slider.y > 0.5)
    slider.x, slider.y = -0.5, 0.25
    wait_text(page, f"{host_of(slider)} #sliderValues", "X: -0.50, Y: 0.25")
    assert not page.js_errors
