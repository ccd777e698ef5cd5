"""The streaming-HTTP fallback through two hubs of a Redis backplane.

A page behind a proxy that refuses WebSockets (tests/helpers/relay.py
``refuse_upgrade``) reads a producer's dashboard from hub A over streaming
HTTP; the network then moves it to hub B (the relay's target changes and it
cuts the stream): the page resumes there over HTTP with exactly the seqs it
missed, and its input reaches the producer through hub B. The same for a
per-session app, whose session the producer built through Redis.
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
from wsbridge.scaleout.keys import BackplaneConfig

pytestmark = [pytest.mark.browser, pytest.mark.redis]


class Producer:
    def __init__(self, cfg: BackplaneConfig) -> None:
        self.bridge = wb.Bridge(backplane=cfg, serve=False)
        self.slider = wb.Slider(1.0, min=0.0, max=10.0, step=0.5, label="f")
        self.src = wb.DataSource({"x": np.arange(3.0)})
        self.bridge.dashboard("live", wb.Column(self.slider, wb.Sparkline(self.src)))
        self.moves: list[tuple[str, float]] = []
        self.bridge.app("solo", self.factory)
        self.bridge.start()

    def factory(self, dash: wb.Dashboard) -> wb.Model:
        slider = wb.Slider(2.0, min=0.0, max=10.0, step=0.5, label="mine")
        slider.observe(lambda ch: self.moves.append((dash.name, ch["new"])), names="value")
        return wb.Column(slider)


@pytest.fixture
def deployment(cfg: BackplaneConfig) -> Iterator[tuple[Producer, wb.Bridge, wb.Bridge, Relay]]:
    producer = Producer(cfg)
    a = wb.Bridge(follow=cfg, port=0).start()
    b = wb.Bridge(follow=cfg, port=0).start()
    relay = Relay(port_of(a.url), refuse_upgrade=True)
    try:
        wait_until(lambda: "solo" in a._titles() and "solo" in b._titles(), what="apps listed")
        yield producer, a, b, relay
    finally:
        relay.close()
        a.stop()
        b.stop()
        producer.bridge.stop()


def _seq(hub: wb.Bridge, doc: str) -> int:
    return int(hub.call(lambda h: h.documents[doc].seq))


def _on(hub: wb.Bridge, doc: str) -> bool:
    return bool(
        hub.call(
            lambda h: any(s.doc is not None and s.doc.name == doc for s in h.sessions.values())
        )
    )


def test_a_dashboard_over_http_moves_between_hubs(deployment: Any, page: Any) -> None:
    producer, _a, b, relay = deployment
    open_dashboard(page, relay.url + "d/live")
    assert page.evaluate("window.wsbridgeClient.transport") == "http"
    set_range(page, RANGE.format(producer.slider.id), 7.5)
    wait_until(lambda: producer.slider.value == 7.5, what="input through hub a")

    relay.target = ("127.0.0.1", port_of(b.url))
    before = page.evaluate("window.wsbridgeClient.seq")
    relay.cut()
    for i in range(5):  # while the page is away
        producer.src.stream({"x": [10.0 + i]})
    producer.bridge.flush()
    wait_until(lambda: _on(b, "live"), timeout=15, what="the page on hub b")
    wait_until(lambda: _seq(b, "live") >= before + 5, what="hub b has the stream")
    page.wait_for_function(
        """([seq]) => window.wsbridgeClient.seq === seq
                      && window.wsbridgeClient.transport === 'http'""",
        arg=[_seq(b, "live")],
        timeout=15_000,
    )
    x = page.evaluate(f"Array.from(window.wsbridgeClient.source('{producer.src.id}').data.x)")
    assert x[-5:] == [10.0, 11.0, 12.0, 13.0, 14.0]
    set_range(page, RANGE.format(producer.slider.id), 2.5)
    wait_until(lambda: producer.slider.value == 2.5, what="input through hub b")


def test_an_app_session_over_http_moves_between_hubs(deployment: Any, page: Any) -> None:
    producer, _a, b, relay = deployment
    open_dashboard(page, relay.url + "d/solo")
    name = page.evaluate("window.wsbridgeClient.doc")
    assert name.startswith("solo~") and page.evaluate("window.wsbridgeClient.transport") == "http"
    page.wait_for_selector("input[type=range]")
    set_range(page, "input[type=range]", 4)
    wait_until(lambda: producer.moves[-1:] == [(name, 4.0)], what="app input through hub a")

    relay.target = ("127.0.0.1", port_of(b.url))
    relay.cut()
    wait_until(lambda: _on(b, name), timeout=15, what="the session on hub b")
    assert page.evaluate("window.wsbridgeClient.doc") == name
    set_range(page, "input[type=range]", 6)
    wait_until(lambda: producer.moves[-1:] == [(name, 6.0)], what="app input through hub b")
