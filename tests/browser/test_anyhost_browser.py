"""Real ``anywidget.AnyWidget`` objects in real headless Chromium, as given:
anywidget's README counter, drawdata's ``ScatterWidget`` drawn with the
mouse, wigglystuff's ``Slider2D`` both ways, a module reloaded when its
``_esm`` changes, bytes both ways and an ``experimental.invoke`` command."""

from __future__ import annotations

from typing import Any

import anywidget
import ipywidgets
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


def host_of(widget: Any) -> str:
    """The CSS selector of the view of a hosted anywidget."""
    return root(mirror(widget))


def wait_text(page: Any, selector: str, text: str) -> None:
    wait_dom(page, "(s, t) => document.querySelector(s)?.textContent?.includes(t)", selector, text)


def test_readme_counter_both_ways(module_bridge: wb.Bridge, page: Any) -> None:
    counter = CounterWidget(value=3)
    seen: list[int] = []
    counter.observe(lambda ch: seen.append(ch["new"]), names="value")
    module_bridge.dashboard("counter", wb.Column(counter))
    network: list[str] = []
    page.on("request", lambda r: network.append(r.url))
    open_dashboard(page, module_bridge.url + "d/counter")
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
    assert all(u.startswith((module_bridge.url, "blob:")) for u in network), network
    assert not page.js_errors


def test_drawdata_scatter_drawn_with_the_mouse(module_bridge: wb.Bridge, page: Any) -> None:
    from drawdata import ScatterWidget

    widget = ScatterWidget(width=600, height=300)
    module_bridge.dashboard("draw", wb.Column(widget))
    open_dashboard(page, module_bridge.url + "d/draw")
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


def test_wigglystuff_slider2d_both_ways(module_bridge: wb.Bridge, page: Any) -> None:
    from wigglystuff import Slider2D

    slider = Slider2D(x=0.0, y=0.0, width=200, height=200)
    module_bridge.dashboard("s2d", wb.Column(slider))
    open_dashboard(page, module_bridge.url + "d/s2d")
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


class Kitchen(anywidget.AnyWidget):
    """initialize/render with cleanups, bytes both ways, custom messages with
    buffers both ways, a referenced widget, an experimental command."""

    _esm = """
    export default {
      initialize({ model }) {
        window.inits = (window.inits || 0) + 1;
        return () => { window.initCleanups = (window.initCleanups || 0) + 1; };
      },
      async render({ model, el, experimental }) {
        const show = () => {
          const b = model.get("blob");
          el.dataset.blob = b instanceof DataView ? new Uint8Array(b.buffer).join(",") : "?";
        };
        show();
        model.on("change:blob", show);
        model.on("msg:custom", (content, buffers) => {
          const xs = new Float64Array(buffers[0].buffer);
          const bytes = new DataView(new Uint8Array([5, 6]).buffer);
          model.send({ kind: "pong", sum: xs.reduce((a, b) => a + b, 0) }, undefined, [bytes]);
        });
        const button = document.createElement("button");
        button.textContent = "bytes";
        button.addEventListener("click", () => {
          model.set("blob", new DataView(new Uint8Array([9, 8, 7]).buffer));
          model.save_changes();
        });
        el.append(button);
        const child = await model.widget_manager.get_model(model.get("child").slice(10));
        el.dataset.child = String(child.get("value"));
        const [answer] = await experimental.invoke("double", { x: 21 });
        el.dataset.invoked = String(answer.y);
        window.renders = (window.renders || 0) + 1;
        return () => { window.renderCleanups = (window.renderCleanups || 0) + 1; };
      },
    };
    """
    blob = traitlets.Bytes(b"\x01\x02").tag(sync=True)
    child = traitlets.Instance(ipywidgets.Widget, allow_none=True).tag(
        sync=True, **ipywidgets.widget_serialization
    )

    @anywidget.experimental.command  # type: ignore[misc]
    def double(self, msg: dict[str, Any], buffers: list[bytes]) -> tuple[Any, list[bytes]]:
        return {"y": msg["x"] * 2}, []


def test_lifecycle_bytes_messages_refs_and_reload(module_bridge: wb.Bridge, page: Any) -> None:
    import numpy as np

    widget = Kitchen(child=CounterWidget(value=11))
    got: list[Any] = []
    widget.on_msg(lambda w, content, buffers: got.append((content, buffers)))
    module_bridge.dashboard("kitchen", wb.Column(widget))
    open_dashboard(page, module_bridge.url + "d/kitchen")
    sel = host_of(widget)
    wait_dom(page, "(s) => document.querySelector(s)?.dataset.invoked === '42'", sel)
    view = page.locator(sel)
    assert view.get_attribute("data-child") == "11"  # the referenced widget's model
    assert view.get_attribute("data-blob") == "1,2"  # bytes arrive as a DataView
    page.locator(f"{sel} button").click()
    wait_until(lambda: widget.blob == b"\x09\x08\x07")
    widget.blob = b"\x03"
    wait_dom(page, "(s) => document.querySelector(s).dataset.blob === '3'", sel)
    widget.send({"kind": "ping"}, [memoryview(np.array([1.5, 2.5]))])
    wait_until(lambda: any(c.get("kind") == "pong" for c, _ in got))
    content, buffers = next(m for m in got if m[0].get("kind") == "pong")
    assert content["sum"] == 4.0 and bytes(buffers[0]) == b"\x05\x06"
    # a new module (anywidget's FileContents changed on disk): everything re-runs
    widget._esm = "export default { render({ el }) { el.textContent = 'reloaded'; } };"
    wait_text(page, sel, "reloaded")
    counts = page.evaluate("() => [window.inits, window.initCleanups, window.renderCleanups]")
    assert counts == [1, 1, 1]
    assert not page.js_errors


def test_a_module_importing_by_url_loads_it_from_the_page(
    module_bridge: wb.Bridge, page: Any
) -> None:
    """The hub never fetches: the page imports what the module imports."""
    import http.server
    import threading

    fetched: list[str] = []

    class Served(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fetched.append(self.path)
            body = b"export const greeting = 'hello from elsewhere';"
            self.send_response(200)
            self.send_header("Content-Type", "text/javascript")
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Served)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/lib.js"

        class Importer(anywidget.AnyWidget):
            _esm = f"""
            import {{ greeting }} from "{url}";
            export default {{ render({{ el }}) {{ el.textContent = greeting; }} }};
            """

        widget = Importer()
        module_bridge.dashboard("importer", wb.Column(widget))
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        open_dashboard(page, module_bridge.url + "d/importer")
        wait_text(page, host_of(widget), "hello from elsewhere")
        assert url in requests  # the page fetched it, once
        assert fetched == ["/lib.js"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_wb_anywidget_reloads_a_changed_filecontents(module_bridge: wb.Bridge, page: Any) -> None:
    from anywidget._file_contents import VirtualFileContents

    module = VirtualFileContents("export default { render({ el }) { el.textContent = 'one'; } };")

    class Live(wb.AnyWidget):
        _esm = module

    widget = Live()
    module_bridge.dashboard("live", wb.Column(widget))
    open_dashboard(page, module_bridge.url + "d/live")
    wait_text(page, root(widget), "one")
    module.contents = "export default { render({ el }) { el.textContent = 'two'; } };"
    wait_text(page, root(widget), "two")
    assert page.locator(root(widget)).text_content() == "two"  # replaced, not added
    assert not page.js_errors
