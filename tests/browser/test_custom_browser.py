"""Custom anywidget-style widgets end to end in real headless Chromium: the
anywidget README counter unchanged, custom messages with binary buffers both
ways, cleanup on removal, CSS once per class, no network for the module."""

from __future__ import annotations

from typing import Any

import numpy as np
import traitlets

import wsbridge as wb
from tests.helpers.browser import open_dashboard, root, wait_dom
from tests.helpers.common import wait_until

# anywidget's README example, verbatim apart from the base class
COUNTER_ESM = """
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

COUNTER_CSS = """
.counter-widget button { color: white; font-size: 1.75em; background-color: rgb(234, 88, 12);
  padding: 0.5em 1em; border: none; border-radius: 10px; }
"""


class CounterWidget(wb.AnyWidget):
    _esm = COUNTER_ESM
    _css = COUNTER_CSS
    value = traitlets.Int(0).tag(sync=True)


# the factory shape, initialize + render, cleanups counted in window.*, and
# custom messages with buffers: a "sum" request is answered with the sum and
# a Float64Array of the doubled input
ECHO_ESM = """
export default () => ({
  initialize({ model }) {
    window.inits = (window.inits || 0) + 1;
    return () => { window.initCleanups = (window.initCleanups || 0) + 1; };
  },
  render({ model, el }) {
    el.textContent = "echo " + model.get("name");
    model.on("change:name", () => { el.textContent = "echo " + model.get("name"); });
    model.on("msg:custom", (content, buffers) => {
      window.received = { content, kinds: buffers.map((b) => b.constructor.name) };
      const xs = new Float64Array(buffers[0].buffer);
      const sum = xs.reduce((a, b) => a + b, 0);
      const bytes = new DataView(new Uint8Array([7, 8, 9]).buffer);
      model.send({ kind: "sum", sum }, null, [xs.map((x) => 2 * x), bytes]);
    });
    window.renders = (window.renders || 0) + 1;
    return () => { window.cleanups = (window.cleanups || 0) + 1; };
  },
});
"""


class Echo(wb.AnyWidget):
    _esm = ECHO_ESM
    name = traitlets.Unicode("a").tag(sync=True)


def wait_text(page: Any, selector: str, text: str) -> None:
    wait_dom(page, "(sel, t) => document.querySelector(sel)?.textContent === t", selector, text)


def wait_ready(page: Any, model: wb.Model) -> None:
    wait_dom(
        page, "(sel) => document.querySelector(sel)?.dataset.wsbridgeState === 'ready'", root(model)
    )


def test_anywidget_counter_both_ways(bridge: wb.Bridge, page: Any) -> None:
    counter = CounterWidget(value=3)
    seen: list[int] = []
    counter.observe(lambda ch: seen.append(ch["new"]), names="value")
    bridge.dashboard("c", wb.Column(counter))
    network: list[str] = []
    page.on("request", lambda r: network.append(r.url))
    open_dashboard(page, bridge.url + "d/c")
    button = page.locator(f"{root(counter)} button")
    button.wait_for()
    assert button.text_content() == "count is 3"
    button.click()
    button.click()
    wait_until(lambda: counter.value == 5)
    assert seen == [4, 5]
    wait_text(page, f"{root(counter)} button", "count is 5")
    counter.value = 42
    wait_text(page, f"{root(counter)} button", "count is 42")
    # CSS applied, once for the class
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(234, 88, 12)"
    assert page.locator("style[data-wsbridge-css]").count() == 1
    # the module came from the page (a blob: URL), never over the network
    assert all(u.startswith((bridge.url, "blob:")) for u in network), network
    assert not page.js_errors


def test_browser_refused_value_snaps_back(bridge: wb.Bridge, page: Any) -> None:
    counter = CounterWidget(value=1)
    bridge.dashboard("c", wb.Column(counter))
    open_dashboard(page, bridge.url + "d/c")
    page.locator(f"{root(counter)} button").wait_for()
    # an Int trait refuses a string: the browser gets the canonical value back
    page.evaluate(
        """(id) => { const m = window.wsbridgeClient.model(id);
             m.set("value", "nope"); m.save_changes(); }""",
        counter.id,
    )
    wait_dom(
        page,
        "(sel) => document.querySelector(sel).textContent === 'count is 1'",
        f"{root(counter)} button",
    )
    assert counter.value == 1


def test_custom_messages_with_buffers_both_ways(bridge: wb.Bridge, page: Any) -> None:
    echo = Echo()
    got: list[tuple[Any, list[Any]]] = []
    echo.on_msg(lambda model, content, buffers: got.append((content, buffers)))
    bridge.dashboard("e", wb.Column(echo))
    open_dashboard(page, bridge.url + "d/e")
    wait_ready(page, echo)
    echo.send({"kind": "please sum"}, [np.array([1.5, 2.5, 4.0])])
    wait_until(lambda: bool(got))
    content, buffers = got[0]
    assert content == {"kind": "sum", "sum": 8.0}
    assert buffers[0].dtype == np.float64 and buffers[0].tolist() == [3.0, 5.0, 8.0]
    assert bytes(buffers[1]) == b"\x07\x08\x09"
    received = page.evaluate("() => window.received")
    assert received == {"content": {"kind": "please sum"}, "kinds": ["DataView"]}
    echo.name = "b"
    wait_dom(page, "(sel) => document.querySelector(sel).textContent === 'echo b'", root(echo))
    assert not page.js_errors


def test_cleanup_runs_when_removed_and_initialize_once_per_model(
    bridge: wb.Bridge, page: Any
) -> None:
    echo = Echo()
    col = wb.Column(echo, wb.Label("x"))
    tabs = wb.Tabs(wb.Label("other"), titles=["t"])
    bridge.dashboard("e", wb.Column(col, tabs))
    open_dashboard(page, bridge.url + "d/e")
    wait_ready(page, echo)
    # a second view of the same model: render runs again, initialize does not
    tabs.children = [*tabs.children, echo]
    tabs.titles = ["t", "echo"]
    wait_dom(page, "() => window.renders === 2")
    assert page.evaluate("() => [window.inits, window.cleanups ?? 0]") == [1, 0]
    col.children = [col.children[1]]
    wait_dom(page, "() => window.cleanups === 1")
    assert page.evaluate("() => window.initCleanups ?? 0") == 0  # one view is still shown
    tabs.children = [tabs.children[0]]
    wait_dom(page, "() => window.cleanups === 2 && window.initCleanups === 1")
    # a listener the widget added is gone with its view: Python changes reach no one
    echo.name = "zzz"
    page.wait_for_timeout(100)
    assert page.locator(root(echo)).count() == 0
    assert not page.js_errors


def test_module_shapes_and_a_broken_module(bridge: wb.Bridge, page: Any) -> None:
    class Named(wb.Widget):  # the legacy shape: a named render export
        _esm = (
            "export function render({ model, el }) { el.textContent = `named ${model.get('n')}`; }"
        )
        n = traitlets.Int(5).tag(sync=True)

    named = Named()
    broken = wb.AnyWidget(_esm="export default { render( }")
    empty = wb.AnyWidget(_esm="export const x = 1;")
    bridge.dashboard("m", wb.Column(named, broken, empty))
    open_dashboard(page, bridge.url + "d/m")
    wait_dom(page, "(sel) => document.querySelector(sel)?.textContent === 'named 5'", root(named))
    for model in (broken, empty):
        wait_dom(
            page,
            "(sel) => document.querySelector(sel)?.dataset.wsbridgeState === 'error'",
            root(model),
        )
    assert "render" in page.locator(f"{root(empty)} [role=alert]").text_content()
