"""The streaming-HTTP fallback in real Chromium (docs/protocol.md "Streaming HTTP").

A dashboard served through a relay that answers every WebSocket upgrade
with 403, as some proxies do (tests/helpers/relay.py ``refuse_upgrade``):
the page falls back to streaming HTTP by itself, a stream reaches it and a
slider move reaches Python; when the relay cuts the stream, the page
reconnects and gets exactly the messages it missed (their ``seq``s, no gap,
no repeat). ``?transport=http`` and ``connect(url, {transport: "http"})``
force the fallback on a hub that would take a WebSocket.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import wsbridge as wb
from tests.helpers.browser import RANGE, open_dashboard, set_range
from tests.helpers.common import port_of, wait_until
from tests.helpers.relay import Relay

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app() -> Iterator[tuple[wb.Bridge, wb.Slider, wb.DataSource, Relay]]:
    with wb.Bridge() as bridge:
        slider = wb.Slider(value=1.0, min=0.0, max=10.0, step=0.5, label="f")
        src = wb.DataSource({"x": np.arange(3.0), "y": np.zeros(3)})
        bridge.dashboard("main", wb.Column(slider, wb.Sparkline(src)), title="Fallback")
        bridge.flush()
        relay = Relay(port_of(bridge.url), refuse_upgrade=True)
        try:
            yield bridge, slider, src, relay
        finally:
            relay.close()


def hub_seq(bridge: wb.Bridge) -> int:
    return int(bridge.call(lambda hub: hub.documents["main"].seq))


def test_a_proxy_that_refuses_websockets_gets_the_dashboard_over_http(app: Any, page: Any) -> None:
    bridge, slider, src, relay = app
    open_dashboard(page, relay.url + "d/main")
    assert relay.refused >= 1  # the page tried a WebSocket first
    assert page.evaluate("window.wsbridgeClient.transport") == "http"
    # Python -> page: a binary stream lands as a Float64Array
    src.stream({"x": np.arange(3.0, 6.0), "y": np.ones(3)})
    page.wait_for_function(
        """([id]) => { const x = window.wsbridgeClient.source(id).data.x;
                       return x instanceof Float64Array && x.length === 6 && x[5] === 5; }""",
        arg=[src.id],
    )
    # page -> Python: a slider move
    set_range(page, RANGE.format(slider.id), 7.5)
    wait_until(lambda: slider.value == 7.5)
    bridge.flush()
    page.wait_for_function("([seq]) => window.wsbridgeClient.seq === seq", arg=[hub_seq(bridge)])

    # the relay cuts the stream: the page resumes with exactly what it missed
    page.evaluate(
        """() => { window.seen = [];
                   window.wsbridgeClient.on('message', (m) => {
                     if (m.type !== 'welcome' && m.type !== 'error') {
                       window.seen.push([m.type, m.seq]); } }); }"""
    )
    before = page.evaluate("window.wsbridgeClient.seq")
    assert relay.cut() >= 1
    for i in range(4):  # missed while cut
        slider.value = float(i)
        bridge.flush()
    page.wait_for_function(
        """([seq]) => window.wsbridgeClient.status === 'connected'
                      && window.wsbridgeClient.seq === seq""",
        arg=[hub_seq(bridge)],
        timeout=15_000,
    )
    seen = page.evaluate("window.seen")
    assert seen == [
        ["patch", s] for s in range(before + 1, hub_seq(bridge) + 1)
    ]  # replayed exactly
    assert page.evaluate("window.wsbridgeClient.transport") == "http"
    assert page.locator(RANGE.format(slider.id)).input_value() == "3"
    assert not page.js_errors


def test_the_fallback_can_be_forced(app: Any, page: Any) -> None:
    bridge, slider, _, _ = app
    open_dashboard(page, bridge.url + "d/main?transport=http")
    assert page.evaluate("window.wsbridgeClient.transport") == "http"
    assert bridge.call(lambda h: h.stats()["transports"]).get("http", 0) >= 1
    set_range(page, RANGE.format(slider.id), 2.5)
    wait_until(lambda: slider.value == 2.5)
    forced = page.evaluate(
        """async ([base]) => {
             const { connect } = await import(base + "static/wsbridge.js");
             const c = await connect(base, { doc: "main", transport: "http" });
             const out = [c.transport, c.seq];
             c.close();
             return out;
           }""",
        [bridge.url],
    )
    assert forced == ["http", hub_seq(bridge)]
    assert not page.js_errors
