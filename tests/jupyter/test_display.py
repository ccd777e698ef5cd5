"""What a notebook shows for a bridge and a dashboard (jupyter/display.py)."""

from __future__ import annotations

import urllib.request

import wsbridge as wb


def test_a_bridge_shows_its_dashboards_as_links_each_openable_inline(bridge: wb.Bridge) -> None:
    assert "serves no dashboard yet" in bridge._repr_html_()
    bridge.dashboard("prices", wb.Column(wb.Slider(1.0)), title="Prices <live>")
    bridge.dashboard("a b", wb.Column(wb.Label("x")))
    shown = bridge._repr_html_()
    assert "2 dashboards" in shown and "Prices &lt;live&gt;" in shown
    assert f'href="{bridge.url}d/prices"' in shown and f'href="{bridge.url}d/a%20b"' in shown
    # each dashboard inline, folded; never a frame of the hub's index page
    assert shown.count("<details>") == 2 and shown.count("<iframe") == 2
    assert f'src="{bridge.url}"' not in shown


def test_a_dashboard_url_is_encoded_and_opens(bridge: wb.Bridge) -> None:
    dash = bridge.dashboard("x?y#z", wb.Column(wb.Slider(1.0)))
    assert dash.url == bridge.url + "d/x%3Fy%23z"
    with urllib.request.urlopen(dash.url, timeout=5) as response:
        assert response.status == 200
