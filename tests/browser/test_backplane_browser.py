"""The backplane end to end: real processes, real Redis, real Chromium.

A producer process (``wsbridge serve app.py --redis URL``), two hub
processes (``wsbridge hub --redis URL``), a page on each hub. What one page
does reaches the producer and the other page; when hub A dies mid-stream,
its page moves to hub B (the page knows it as a peer) and ends up with
exactly the producer's data; when the producer dies, pages say so, and a
new producer's state replaces it everywhere.
"""

from __future__ import annotations

import signal
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import Cli
from tests.helpers.common import free_port, http_get

APP = textwrap.dedent(
    """
    import threading
    import time

    import numpy as np

    import wsbridge as wb

    slider = wb.Slider(1.0, min=0.0, max=10.0, step=1.0, id="s")
    doubled = wb.Number(2.0, id="d")
    src = wb.DataSource({"x": np.zeros(0)}, id="src")
    CHUNKS, SIZE = 400, 10

    def stream():
        for i in range(CHUNKS):
            src.stream({"x": np.arange(i * SIZE, (i + 1) * SIZE, dtype=float)})
            time.sleep(0.01)

    def changed(change):
        doubled.value = change["new"] * 2
        if change["new"] == 5:  # the browser asked for the stream
            threading.Thread(target=stream, daemon=True).start()

    slider.observe(changed, "value")
    bridge.dashboard("live", wb.Column(slider, doubled, wb.Sparkline(src, y="x")))
    """
)

RANGE = '[data-wsbridge-model="s"] input[type="range"]'


def _value(page: Any, model: str) -> Any:
    return page.evaluate(f"window.wsbridgeClient.model('{model}').get('value')")


@pytest.mark.slow
def test_two_hubs_one_dashboard_and_failover(
    redis_server: Any, start_cli: Callable[..., Cli], chromium: Any, tmp_path: Path
) -> None:
    app = tmp_path / "app.py"
    app.write_text(APP)
    producer = start_cli("serve", str(app), "--port", "0", "--redis", redis_server.url)
    producer.url()
    port_a, port_b = free_port(), free_port()
    base_a, base_b = f"http://127.0.0.1:{port_a}/", f"http://127.0.0.1:{port_b}/"
    common = ["hub", "--redis", redis_server.url, "--allow-origin", "http://127.0.0.1:*"]
    hub_a = start_cli(*common, "--port", str(port_a), "--peer", base_b)
    hub_b = start_cli(*common, "--port", str(port_b), "--peer", base_a)
    hub_a.url()
    hub_b.url()
    for base in (base_a, base_b):
        assert http_get(base + "healthz").json()["backplane"]["status"] == "ok"

    ctx = chromium.new_context()
    try:
        page_a, page_b = ctx.new_page(), ctx.new_page()
        errors: list[str] = []
        for page in (page_a, page_b):
            page.on("pageerror", lambda exc: errors.append(str(exc)))
        for page, base in ((page_a, base_a), (page_b, base_b)):
            page.goto(base + "d/live")
            page.wait_for_function(
                "() => window.wsbridgeClient && window.wsbridgeClient.status === 'connected'"
                " && window.wsbridgeClient.model('d')"
            )
            assert _value(page, "s") == 1.0 and _value(page, "d") == 2.0
        assert page_a.evaluate("window.wsbridgeClient.epoch") == page_b.evaluate(
            "window.wsbridgeClient.epoch"
        )

        # a change on hub B's page reaches the producer (which doubles it) and hub A's page
        page_b.locator(RANGE).evaluate(
            """el => { el.value = '5';
                 el.dispatchEvent(new Event('input', {bubbles: true}));
                 el.dispatchEvent(new Event('change', {bubbles: true})); }"""
        )
        for page in (page_a, page_b):
            page.wait_for_function(
                "() => window.wsbridgeClient.model('d').get('value') === 10"
                " && window.wsbridgeClient.model('s').get('value') === 5"
            )
        # the stream started: both pages see it; then hub A dies mid-stream
        page_a.wait_for_function("() => window.wsbridgeClient.source('src').data.x.length > 400")
        hub_a.proc.send_signal(signal.SIGKILL)
        hub_a.proc.wait(5)
        page_a.wait_for_function(
            f"() => window.wsbridgeClient.endpoint.startsWith('ws://127.0.0.1:{port_b}/')"
            " && window.wsbridgeClient.status === 'connected'",
            timeout=15_000,
        )
        for page in (page_a, page_b):
            page.wait_for_function(
                "() => window.wsbridgeClient.source('src').data.x.length === 4000", timeout=20_000
            )
        xs = page_a.evaluate("Array.from(window.wsbridgeClient.source('src').data.x)")
        assert xs == [float(i) for i in range(4000)]  # exactly the producer's data
        assert page_a.evaluate("window.wsbridgeClient.seq") == page_b.evaluate(
            "window.wsbridgeClient.seq"
        )

        # the producer dies: pages keep its last state, marked stale; a new one replaces it
        epoch = page_a.evaluate("window.wsbridgeClient.epoch")
        producer.proc.send_signal(signal.SIGKILL)
        producer.proc.wait(5)
        for page in (page_a, page_b):
            page.wait_for_function("() => window.wsbridgeClient.status === 'stale'", timeout=15_000)
            assert page.evaluate("window.wsbridgeClient.source('src').data.x.length") == 4000
        start_cli("serve", str(app), "--port", "0", "--redis", redis_server.url).url()
        for page in (page_a, page_b):
            page.wait_for_function(
                f"() => window.wsbridgeClient.epoch !== '{epoch}'"
                " && window.wsbridgeClient.status === 'connected'"
                " && window.wsbridgeClient.model('d').get('value') === 2",
                timeout=15_000,
            )
            assert page.evaluate("window.wsbridgeClient.source('src').data.x.length") == 0
        assert errors == []
    finally:
        ctx.close()
