"""End to end in real headless Chromium: the page, the JS client, the hub."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import wsbridge as wb
from tests.helpers.browser import open_dashboard, set_range
from tests.helpers.cli import Cli
from tests.helpers.common import free_port, port_of, wait_until
from tests.helpers.relay import Relay

RANGE = '[data-wsbridge-model="{}"] input[type=range]'


@pytest.fixture
def app(bridge: wb.Bridge) -> Iterator[tuple[wb.Bridge, wb.Slider, wb.DataSource]]:
    s = wb.Slider(value=1.0, min=0.0, max=10.0, step=0.5, label="f")
    src = wb.DataSource({"x": np.arange(3.0), "y": np.zeros(3)})
    dash = bridge.dashboard("main", wb.Column(s, wb.Sparkline(src)), title="E2E")
    dash.add(src)
    yield bridge, s, src


def test_slider_moves_reach_python_and_the_other_tab(app: Any, chromium: Any) -> None:
    bridge, s, _ = app
    seen: list[float] = []
    s.observe(lambda ch: seen.append(ch["new"]), names="value")
    ctx = chromium.new_context()
    try:
        one, two = ctx.new_page(), ctx.new_page()
        for pg in (one, two):
            open_dashboard(pg, bridge.url + "d/main")
            assert pg.locator(f'[data-wsbridge-model="{s.id}"]').count() == 1
            assert pg.locator(RANGE.format(s.id)).input_value() == "1"
        set_range(one, RANGE.format(s.id), 7.5)
        wait_until(lambda: s.value == 7.5)
        assert seen[-1] == 7.5
        two.wait_for_function(
            "([sel]) => document.querySelector(sel).value === '7.5'", arg=[RANGE.format(s.id)]
        )
        # a Python change reaches both tabs
        s.value = 3.0
        for pg in (one, two):
            pg.wait_for_function(
                "([sel]) => document.querySelector(sel).value === '3'", arg=[RANGE.format(s.id)]
            )
            assert pg.evaluate(f"window.wsbridgeClient.model('{s.id}').get('value')") == 3.0
    finally:
        ctx.close()


def test_stream_with_rollover_lands_as_float64array(app: Any, page: Any) -> None:
    bridge, _, src = app
    open_dashboard(page, bridge.url + "d/main")
    for i in range(20):
        x = np.arange(3 + i * 50, 3 + (i + 1) * 50, dtype=np.float64)
        src.stream({"x": x, "y": np.sin(x)}, rollover=500)
    expected = src.data
    got = page.wait_for_function(
        """([id, n, first, last]) => {
             const d = window.wsbridgeClient.source(id).data;
             if (!(d.x instanceof Float64Array) || d.x.length !== n) return false;
             if (d.x[0] !== first || d.x[n - 1] !== last) return false;
             return [d.y instanceof Float64Array, d.y[n - 1]];
           }""",
        arg=[src.id, 500, float(expected["x"][0]), float(expected["x"][-1])],
    ).json_value()
    assert got == [True, pytest.approx(float(expected["y"][-1]))]
    assert not page.js_errors


def test_cut_while_streaming_converges_to_python_state(app: Any, page: Any) -> None:
    bridge, s, src = app
    relay = Relay(port_of(bridge.url))
    try:
        open_dashboard(page, relay.url + "d/main")
        stop = threading.Event()

        def produce() -> None:
            for i in range(200):  # 2,000 points in chunks of 10
                x = np.arange(3 + i * 10, 3 + (i + 1) * 10, dtype=np.float64)
                src.stream({"x": x, "y": x * 2}, rollover=1500)
                time.sleep(0.002)
            stop.set()

        t = threading.Thread(target=produce)
        t.start()
        time.sleep(0.1)
        assert relay.cut() >= 1
        s.value = 6.0  # a change while the page is disconnected
        time.sleep(0.05)
        relay.cut()
        t.join()
        bridge.flush()
        final = src.data
        page.wait_for_function(
            """([id, sid, n, last, v]) => {
                 const c = window.wsbridgeClient;
                 const d = c.source(id).data;
                 return c.status === 'connected' && d.x.length === n && d.x[n - 1] === last
                   && c.model(sid).get('value') === v;
               }""",
            arg=[src.id, s.id, len(final["x"]), float(final["x"][-1]), 6.0],
            timeout=15000,
        )
        xs = page.evaluate(f"Array.from(window.wsbridgeClient.source('{src.id}').data.x)")
        ys = page.evaluate(f"Array.from(window.wsbridgeClient.source('{src.id}').data.y)")
        np.testing.assert_array_equal(xs, final["x"])
        np.testing.assert_array_equal(ys, final["y"])
        assert relay.accepted >= 2  # it really reconnected
        seq = bridge.call(lambda hub: hub.documents["main"].seq)
        assert page.evaluate("window.wsbridgeClient.seq") == seq
    finally:
        relay.close()


def test_foreign_origin_is_refused_in_the_browser(app: Any, page: Any) -> None:
    bridge, _, _ = app
    with wb.Bridge() as other:  # another port: another origin
        other.dashboard("x", wb.Column())
        open_dashboard(page, other.url + "d/x")
        target = bridge.url.replace("http://", "ws://") + "ws"
        outcome = page.evaluate(
            """(url) => new Promise((resolve) => {
                 const ws = new WebSocket(url);
                 ws.onopen = () => resolve('open');
                 ws.onclose = (e) => resolve('closed ' + e.code);
               })""",
            target,
        )
        assert outcome == "closed 1006"  # the handshake got 403


def test_wsbridge_demo_shows_live_updates(page: Any, start_cli: Callable[..., Cli]) -> None:
    demo = start_cli("demo", "--port", "0")
    url = demo.read_until(re.compile(r"http://127\.0\.0\.1:\d+/"), timeout=20).group(0)
    open_dashboard(page, url)
    seq0 = page.evaluate("window.wsbridgeClient.seq")
    page.wait_for_function(f"() => window.wsbridgeClient.seq > {seq0} + 10")
    assert page.locator("canvas").count() >= 1
    assert page.locator("input[type=range]").count() >= 2
    assert not page.js_errors


def test_replaced_dashboard_reaches_open_pages(app: Any, page: Any) -> None:
    bridge, s, _ = app
    open_dashboard(page, bridge.url + "d/main")
    epoch = page.evaluate("window.wsbridgeClient.epoch")
    fresh = wb.Slider(value=4.0, label="new one")
    bridge.dashboard("main", wb.Column(fresh), title="E2E again")
    page.wait_for_function(
        "([sel]) => { const el = document.querySelector(sel); return el && el.value === '4'; }",
        arg=[RANGE.format(fresh.id)],
    )
    assert page.evaluate("window.wsbridgeClient.epoch") != epoch
    assert page.locator(f'[data-wsbridge-model="{s.id}"]').count() == 0


def test_hub_restart_gives_open_pages_a_fresh_snapshot(app: Any, page: Any) -> None:
    bridge, s, src = app
    open_dashboard(page, bridge.url + "d/main")
    epoch = page.evaluate("window.wsbridgeClient.epoch")
    bridge.stop()
    page.wait_for_function("() => window.wsbridgeClient.status !== 'connected'")
    s.value = 9.0  # changed while the hub is down
    src.stream({"x": np.array([100.0]), "y": np.array([1.0])})
    bridge.start()
    page.wait_for_function(
        """([sid, mid]) => { const c = window.wsbridgeClient;
             return c.status === 'connected' && c.model(mid).get('value') === 9
               && c.source(sid).data.x[c.source(sid).data.x.length - 1] === 100; }""",
        arg=[src.id, s.id],
        timeout=30000,  # the client backs off while the hub is down (up to 10 s + jitter)
    )
    assert page.evaluate("window.wsbridgeClient.epoch") != epoch
    assert page.locator(RANGE.format(s.id)).input_value() == "9"


@pytest.mark.parametrize("token", [None, "s3cret"])
def test_page_fails_over_to_a_peer_hub_when_its_hub_stops(page: Any, token: str | None) -> None:
    # Two hubs serving a document of the same name; here each with its own
    # state (a Redis backplane would share it), so B answers with a snapshot.
    # With a shared token, A's HttpOnly cookie reaches B (cookies ignore ports).
    port_a = free_port()
    origin_a = f"http://127.0.0.1:{port_a}"
    # the page's Origin stays A's: B must allow it
    with wb.Bridge(allow_origins=[origin_a], token=token) as b:
        b_value = wb.Number(2.0, format="{:.0f}", label="hub")
        b.dashboard("main", wb.Column(b_value), title="Failover")
        a = wb.Bridge(port=port_a, peers=[b.url], token=token)
        try:
            a.start()
            a_value = wb.Number(1.0, format="{:.0f}", label="hub")
            a.dashboard("main", wb.Column(a_value), title="Failover")
            open_dashboard(page, a.url + "d/main" + (f"?token={token}" if token else ""))
            ws_a, ws_b = (h.url.replace("http://", "ws://") + "ws" for h in (a, b))
            assert page.evaluate("window.wsbridgeClient.endpoints") == [ws_a, ws_b]
            assert page.evaluate("window.wsbridgeClient.endpoint") == ws_a
            number = '[data-wsbridge-model="{}"] .wsbridge-number-value'
            assert page.locator(number.format(a_value.id)).text_content() == "1"
            epoch_a = page.evaluate("window.wsbridgeClient.epoch")
        finally:
            a.stop()
        page.wait_for_function(
            "([url]) => window.wsbridgeClient.status === 'connected'"
            " && window.wsbridgeClient.endpoint === url",
            arg=[ws_b],
            timeout=3000,
        )
        assert page.evaluate("window.wsbridgeClient.epoch") != epoch_a
        page.wait_for_function(
            "([sel]) => document.querySelector(sel)?.textContent === '2'",
            arg=[number.format(b_value.id)],
            timeout=2000,
        )
        assert page.locator(number.format(a_value.id)).count() == 0
        # B is live: a change in B's producer reaches the page
        b_value.value = 3.0
        page.wait_for_function(
            "([sel]) => document.querySelector(sel)?.textContent === '3'",
            arg=[number.format(b_value.id)],
            timeout=2000,
        )
        assert not page.js_errors
