"""ipywidgets Output, interact and interactive_output in a dashboard, in real
headless Chromium: prints, Markdown, DataFrames, images and HTML (sanitised)
reach the page, and moving the slider reruns the function there."""

from __future__ import annotations

import struct
import threading
import zlib
from typing import Any

import pytest

import wsbridge as wb
from tests.helpers.browser import open_dashboard, root, set_range, wait_dom
from tests.helpers.common import wait_until
from wsbridge.ipy import mirror

W = pytest.importorskip("ipywidgets")
pd = pytest.importorskip("pandas")
from IPython.display import HTML, Image, Markdown, clear_output, display  # noqa: E402

pytestmark = pytest.mark.browser


def png(width: int, height: int) -> bytes:
    """A real PNG of a red ``width`` x ``height`` rectangle."""
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def text_of(page: Any, model: Any) -> str:
    return str(page.locator(root(model)).inner_text())


def test_interact_reruns_in_the_page(module_bridge: wb.Bridge, page: Any) -> None:
    def f(x: int) -> None:
        print(f"x is {x}")
        display(Markdown(f"**bold {x}**"))
        display(pd.DataFrame({"n": [x, x * 2]}))

    w = W.interact(f, x=(0, 10)).widget
    module_bridge.dashboard("interact", w)
    open_dashboard(page, module_bridge.url + "d/interact")
    out = mirror(w.children[-1])
    page.locator(f"{root(out)} strong", has_text="bold 5").wait_for()
    assert page.locator(f"{root(out)} table td", has_text="10").count() == 1

    set_range(page, f"{root(mirror(w.children[0]))} input[type=range]", 7)
    page.locator(f"{root(out)} table td", has_text="14").wait_for()
    wait_until(lambda: "x is 7" in text_of(page, out))
    shown = text_of(page, out)
    assert "x is 5" not in shown and shown.count("x is") == 1  # clear_output(wait=True)
    assert "bold 7" in shown and not page.js_errors


def test_interactive_output_and_a_print_from_another_thread(
    module_bridge: wb.Bridge, page: Any
) -> None:
    a = W.IntSlider(1, min=0, max=5, description="a")

    def f(a: int) -> None:
        clear_output(wait=True)
        print("a =", a)
        display(Image(data=png(8 * (a + 1), 6), format="png"))

    out = W.interactive_output(f, {"a": a})
    log = W.Output()
    module_bridge.dashboard("io", W.VBox([a, out, log]))
    open_dashboard(page, module_bridge.url + "d/io")
    page.get_by_text("a = 1").wait_for()
    img = f"{root(mirror(out))} img"
    wait_dom(page, "(sel) => document.querySelector(sel)?.naturalWidth === 16", img)
    assert page.locator(img).get_attribute("src").startswith("blob:")  # bytes, not base64

    a.value = 3  # from Python this time
    wait_dom(page, "(sel) => document.querySelector(sel)?.naturalWidth === 32", img)
    assert "a = 3" in text_of(page, mirror(out))
    src = page.locator(img).get_attribute("src")
    out.append_stdout("more\n")  # a redraw keeps an unchanged image's blob URL
    page.get_by_text("more").wait_for()
    assert page.locator(img).get_attribute("src") == src

    def work() -> None:
        with log:
            print("from a thread")

    t = threading.Thread(target=work)
    t.start()
    t.join()
    print("from the main thread")  # not inside `with log:`: never in the Output
    page.get_by_text("from a thread").wait_for()
    assert "main thread" not in text_of(page, mirror(log))
    assert log.outputs == ({"output_type": "stream", "name": "stdout", "text": "from a thread\n"},)


def test_html_is_sanitised_and_errors_show_as_tracebacks(
    module_bridge: wb.Bridge, page: Any
) -> None:
    out = W.Output()
    module_bridge.dashboard("html", W.VBox([out]))
    open_dashboard(page, module_bridge.url + "d/html")
    with out:
        display(
            HTML(
                '<b id="ok">safe</b><img src=x onerror="window.pwned=1">'
                '<script>window.pwned=2</script><a href="javascript:window.pwned=3">link</a>'
                '<p style="color: red; background: url(http://x/)"'
                ' onclick="window.pwned=4">para</p>'
            )
        )
        raise ValueError("boom")  # shown in the Output, not raised (as in a kernel)
    view = root(mirror(out))
    page.locator(f"{view} b", has_text="safe").wait_for()
    page.get_by_text("ValueError: boom").wait_for()
    assert page.evaluate("() => window.pwned") is None
    assert page.locator(f"{view} script").count() == 0
    assert page.locator(f"{view} a").get_attribute("href") is None
    para = page.locator(f"{view} p")
    assert para.get_attribute("onclick") is None
    assert para.evaluate("el => el.style.color") == "red" and "url" not in str(
        para.get_attribute("style")
    )
    out.clear_output()
    wait_dom(page, "(sel) => document.querySelector(sel).textContent === ''", view)
    assert not page.js_errors


def test_a_widget_displayed_in_an_output_is_live(module_bridge: wb.Bridge, page: Any) -> None:
    out = W.Output()
    module_bridge.dashboard("inner", W.VBox([out]))
    open_dashboard(page, module_bridge.url + "d/inner")
    clicks: list[Any] = []
    button = W.Button(description="inner")
    button.on_click(clicks.append)
    with out:
        print("a button:")
        display(button)
    page.get_by_role("button", name="inner").click()
    wait_until(lambda: clicks == [button])
    with out:
        clear_output()
        print("gone")
    page.get_by_text("gone").wait_for()
    assert page.get_by_role("button", name="inner").count() == 0
    assert not page.js_errors
