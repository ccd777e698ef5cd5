"""A page whose Python side is gone says so, greys out and disables its
controls, and comes back when the producer publishes again (Chromium)."""

from __future__ import annotations

from typing import Any

import wsbridge as wb
from tests.helpers.browser import RANGE, open_dashboard
from wsbridge.runtime.remote import RemoteBridge

GONE = "The Python process serving this dashboard has stopped; waiting for it to come back."
TOKEN = "producer-secret"

#: the page's state as a user sees it: its status line, and whether its
#: controls take input (an inert root takes none)
STATE = """() => {
  const root = document.getElementById("wsbridge-root");
  const status = document.getElementById("wsbridge-status");
  return {status: window.wsbridgeClient.status, text: status.hidden ? "" : status.textContent,
          inert: root.inert, opacity: Number(getComputedStyle(root).opacity)};
}"""


def _wait_gone(page: Any) -> None:
    page.wait_for_function(
        "([text]) => document.getElementById('wsbridge-status').textContent === text",
        arg=[GONE],
        timeout=20000,
    )
    state = page.evaluate(STATE)
    assert state["text"] == GONE and state["inert"] and state["opacity"] < 1, state


def _wait_back(page: Any) -> None:
    page.wait_for_function("() => window.wsbridgeClient.status === 'connected'", timeout=30000)
    state = page.evaluate(STATE)
    assert state["text"] == "" and not state["inert"] and state["opacity"] == 1, state


def test_a_stopped_script_greys_out_its_page_until_it_is_back(page: Any) -> None:
    bridge = wb.Bridge().start()
    try:
        slider = wb.Slider(value=1.0, min=0.0, max=10.0, label="f")
        bridge.dashboard("main", wb.Column(slider))
        open_dashboard(page, bridge.url + "d/main")
        bridge.stop()  # the script (and its embedded hub) is gone
        _wait_gone(page)
        bridge.start()  # the same port: the script runs again
        _wait_back(page)
        page.locator(RANGE.format(slider.id)).fill("7")
        bridge.flush()
        page.wait_for_function(
            "([mid]) => window.wsbridgeClient.model(mid).get('value') === 7", arg=[slider.id]
        )
    finally:
        bridge.stop()


def test_a_stopped_kernel_greys_out_its_page_until_it_publishes_again(page: Any) -> None:
    hub = wb.Bridge(producer_token=TOKEN).start()
    try:
        first = RemoteBridge(hub.url, token=TOKEN).start()
        first.dashboard("nb", wb.Column(wb.Slider(value=1.0, label="f")))
        first.flush()
        open_dashboard(page, hub.url + "d/nb")
        first.stop()  # the kernel stopped; the hub keeps the last state
        _wait_gone(page)
        second = RemoteBridge(hub.url, token=TOKEN).start()  # restarted, re-run
        try:
            again = wb.Slider(value=2.0, label="f")
            second.dashboard("nb", wb.Column(again))
            second.flush()
            _wait_back(page)
            page.wait_for_function(
                "([mid]) => window.wsbridgeClient.model(mid)?.get('value') === 2", arg=[again.id]
            )
        finally:
            second.stop()
    finally:
        hub.stop()
