"""Per-session apps (``bridge.app``) served by any hub of a Redis backplane.

A page of an app opened on a hub gets its own document: the hub asks the
producer through Redis to build it, the producer publishes it under that
session's name, and the page's input reaches the producer. A reconnection
to another hub resumes it exactly; the session is freed after the grace
period wherever it was last seen.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

import wsbridge as wb
from tests.helpers.browser import set_range
from tests.helpers.common import http_get, port_of, wait_until
from tests.helpers.relay import Relay
from wsbridge.scaleout.keys import BackplaneConfig

pytestmark = [pytest.mark.browser, pytest.mark.redis]

GRACE = 1.5


class Apps:
    """The producer (no port of its own) and what its sessions did."""

    def __init__(self, cfg: BackplaneConfig) -> None:
        self.moves: list[tuple[str, float]] = []
        self.built: list[str] = []
        self.bridge = wb.Bridge(backplane=cfg, serve=False, session_grace=GRACE)
        self.bridge.app("counter", self.factory, title="Counter")
        self.bridge.start()

    def factory(self, dash: wb.Dashboard) -> wb.Model:
        slider, label = wb.Slider(1.0, label="n"), wb.Label("start", id="label")
        self.built.append(dash.name)

        def moved(change: dict[str, Any]) -> None:
            self.moves.append((dash.name, change["new"]))
            label.value = f"{dash.name}: {change['new']}"

        slider.observe(moved, names="value")
        return wb.Column(slider, label)


@pytest.fixture
def apps(cfg: BackplaneConfig) -> Iterator[Apps]:
    a = Apps(cfg)
    yield a
    a.bridge.stop()


def _hub(cfg: BackplaneConfig) -> wb.Bridge:
    """A hub that lists the app (the producer lists it at its next heartbeat)."""
    hub = wb.Bridge(follow=cfg, port=0, session_grace=GRACE).start()
    wait_until(lambda: "counter" in hub._titles(), what="the hub lists the app")
    return hub


def _session(page: Any) -> str:
    return str(page.evaluate("() => window.wsbridgeClient.doc"))


def test_an_app_page_on_any_hub_and_moved_between_hubs(
    apps: Apps, cfg: BackplaneConfig, page: Any, chromium: Any
) -> None:
    a, b = _hub(cfg), _hub(cfg)
    relay = Relay(port_of(a.url))
    try:
        assert "Counter" in http_get(a.url).body  # the index lists the app
        page.goto(relay.url + "d/counter")
        page.wait_for_function("() => window.wsbridgeClient && window.wsbridgeClient.seq >= 0")
        name = _session(page)
        assert name.startswith("counter~") and apps.built == [name]
        page.wait_for_selector("input[type=range]")
        set_range(page, "input[type=range]", 4)
        wait_until(lambda: apps.moves == [(name, 4.0)], what="the move reached the producer")
        page.wait_for_function(f"() => document.body.innerText.includes('{name}: 4')")

        # a second page is a second session, built once
        other = chromium.new_page()
        other.goto(b.url + "d/counter")
        other.wait_for_function("() => window.wsbridgeClient && window.wsbridgeClient.seq >= 0")
        assert _session(other) != name and len(apps.built) == 2
        other.close()

        # the network moves the first page to hub b: it resumes its session there
        seq = page.evaluate("() => window.wsbridgeClient.seq")
        relay.target = ("127.0.0.1", port_of(b.url))
        relay.cut()
        wait_until(
            lambda: b.call(
                lambda hub: any(name == s.doc.name for s in hub.sessions.values() if s.doc)
            ),
            what="page on hub b",
        )
        assert _session(page) == name and page.evaluate("() => window.wsbridgeClient.seq") >= seq
        set_range(page, "input[type=range]", 6)
        wait_until(lambda: apps.moves[-1] == (name, 6.0), what="input through hub b")
        page.wait_for_function(f"() => document.body.innerText.includes('{name}: 6')")
        assert apps.built.count(name) == 1  # resumed, not rebuilt

        # hub b dies mid-session: back to hub a, same session
        relay.target = ("127.0.0.1", port_of(a.url))
        b.stop()
        relay.cut()
        set_range(page, "input[type=range]", 8)
        wait_until(lambda: apps.moves[-1] == (name, 8.0), timeout=15, what="input through hub a")
        assert apps.built.count(name) == 1

        # the page leaves: freed after the grace period, from the producer and Redis
        page.goto("about:blank")
        wait_until(lambda: name not in apps.bridge._app_sessions, timeout=GRACE + 10, what="freed")
        r = redis.Redis.from_url(cfg.url)
        try:
            wait_until(lambda: not r.hexists(f"{cfg.prefix}docs", name), what="gone from Redis")
        finally:
            r.close()
    finally:
        relay.close()
        a.stop()
        b.stop()


def test_a_session_a_hub_still_shows_is_not_freed(
    apps: Apps, cfg: BackplaneConfig, page: Any
) -> None:
    hub = _hub(cfg)
    try:
        page.goto(hub.url + "d/counter")
        page.wait_for_function("() => window.wsbridgeClient && window.wsbridgeClient.seq >= 0")
        name = _session(page)
        page.wait_for_timeout(int((GRACE + 2.5) * 1000))  # the producer's own hub has no viewer
        assert name in apps.bridge._app_sessions
        set_range(page, "input[type=range]", 3)
        wait_until(lambda: apps.moves[-1:] == [(name, 3.0)], what="still live")
    finally:
        hub.stop()


def test_an_unknown_app_on_a_hub_is_a_404(apps: Apps, cfg: BackplaneConfig) -> None:
    hub = _hub(cfg)
    try:
        assert http_get(hub.url + "d/nothing").status == 404
    finally:
        hub.stop()
