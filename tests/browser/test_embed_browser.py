"""A dashboard shown inline (its notebook display) sizes its iframe to its content.

The "notebook" is a page holding exactly the HTML ``dashboard._repr_html_()``
returns; its iframe loads the dashboard from a real embedded ``Bridge``.
Two origins: another one (an embedded hub beside a local notebook server:
the notebook page comes from a small HTTP server of its own on 127.0.0.1,
since Chromium lets only a page from a local address frame a loopback one)
and the hub's own (as under the Jupyter extension, where the dashboard is a
path of the notebook's origin: Playwright's router answers that one path).
"""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

import wsbridge as wb

pytestmark = pytest.mark.timeout(60)

#: the dashboard page's content height, as the browser lays it out
INNER_HEIGHT = "() => Math.ceil(document.body.getBoundingClientRect().bottom + window.scrollY)"
FRAME = "iframe[data-wsbridge-embed]"


def frame_height(page: Any) -> int:
    """The iframe's content-box height in the notebook page, in CSS pixels."""
    return int(page.eval_on_selector(FRAME, "f => f.clientHeight"))


def wait_fitted(page: Any, frame: Any, max_height: int = 1600, timeout: float = 10.0) -> int:
    """Until the iframe is as tall as its content (up to ``max_height``); that height."""
    deadline = time.monotonic() + timeout
    while True:
        want = min(max_height, int(frame.evaluate(INNER_HEIGHT)))
        got = frame_height(page)
        if got == want:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"the iframe is {got} px tall, its content {want} px")
        page.wait_for_timeout(20)


@contextmanager
def notebook_server(body: str) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 answering every GET with ``body``; its URL."""
    data = body.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/notebook.html"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def notebook(page: Any, bridge: wb.Bridge, shown: str, origin: str = "other") -> Iterator[None]:
    """``page`` shows a notebook page holding ``shown``, from ``origin``."""
    body = f'<!doctype html><html><body><div style="width:640px">{shown}</div></body></html>'
    if origin == "same":
        url = bridge.url + "notebook.html"
        page.route(url, lambda route: route.fulfill(content_type="text/html", body=body))
        page.goto(url)
        yield
        return
    with notebook_server(body) as url:
        page.goto(url)
        yield


def lines(n: int) -> str:
    return "\n\n".join(f"line {i}" for i in range(n))


@pytest.mark.parametrize("origin", ["other", "same"])
def test_the_inline_iframe_follows_its_content(bridge: wb.Bridge, page: Any, origin: str) -> None:
    md = wb.Markdown(lines(2))
    dash = bridge.dashboard("embedded", wb.Column(md), title="Embedded")
    with notebook(page, bridge, dash._repr_html_(), origin):
        frame = page.frame_locator(FRAME).first
        frame.locator(f'[data-wsbridge-model="{md.id}"]').get_by_text("line 1").wait_for()
        inner = page.frames[1]
        assert inner.url == bridge.url + "d/embedded"

        small = wait_fitted(page, inner)
        assert 40 <= small < 380  # shorter than the default the HTML starts with
        assert inner.evaluate("() => document.documentElement.scrollHeight") == small

        md.value = lines(12)  # from Python: the content grows, so does the frame
        frame.get_by_text("line 11").wait_for()
        grown = wait_fitted(page, inner)
        assert grown > small + 100

        md.value = lines(1)  # and shrinks back
        frame.get_by_text("line 11").wait_for(state="detached")
        wait_fitted(page, inner)
        assert frame_height(page) < small

        md.value = lines(200)  # clamped: the frame scrolls past the maximum
        frame.get_by_text("line 199").wait_for()
        assert wait_fitted(page, inner) == 1600
        assert not page.js_errors


def test_only_its_own_frame_resizes_an_iframe(bridge: wb.Bridge, page: Any) -> None:
    """A size message from anything but the iframe's own page changes nothing."""
    md = wb.Markdown(lines(3))
    dash = bridge.dashboard("guarded", wb.Column(md), title="Guarded")
    with notebook(page, bridge, dash._repr_html_()):
        page.frame_locator(FRAME).first.get_by_text("line 2").wait_for()
        fitted = wait_fitted(page, page.frames[1])
        # the notebook window itself posts one, then a marker: messages arrive
        # in order, so once the marker is seen the forged size was handled
        page.evaluate(
            """() => new Promise((resolve) => {
                 window.addEventListener("message", (e) => { if (e.data === "marker") resolve(); });
                 window.postMessage({ wsbridge: "size", height: 900 }, "*");
                 window.postMessage("marker", "*");
               })"""
        )
        assert frame_height(page) == fitted
        assert not page.js_errors
