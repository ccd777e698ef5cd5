"""The Python client over the streaming-HTTP fallback (wsbridge/client/httpstream.py).

A real Bridge behind a relay that refuses WebSocket upgrades, as some
proxies do (tests/helpers/relay.py): ``transport="auto"`` falls back to
HTTP, input and output flow, a cut stream resumes exactly; a forced
``websocket`` fails loudly, a forced ``http`` never tries a WebSocket.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

import wsbridge as wb
from tests.helpers.common import port_of, wait_until
from tests.helpers.relay import Relay
from wsbridge import wire as p
from wsbridge.client import Client, ConnectionFailed


@pytest.fixture
def app() -> Iterator[tuple[wb.Bridge, wb.Slider, wb.DataSource, Relay]]:
    with wb.Bridge(token="s3cret") as bridge:
        slider = wb.Slider(1.0, max=100.0)
        src = wb.DataSource({"x": np.arange(3.0)})
        bridge.dashboard("main", wb.Column(slider, wb.Sparkline(src)))
        bridge.flush()
        relay = Relay(port_of(bridge.url), refuse_upgrade=True)
        try:
            yield bridge, slider, src, relay
        finally:
            relay.close()


def hub_seq(bridge: wb.Bridge) -> int:
    return int(bridge.call(lambda hub: hub.documents["main"].seq))


async def test_auto_falls_back_to_http_both_ways_and_resumes_after_a_cut(app: tuple) -> None:
    bridge, slider, src, relay = app
    async with await Client.connect(relay.url, "main", token="s3cret") as c:
        assert relay.refused >= 1 and c.using == "http"
        await c.set(slider.id, value=42.0)
        wait_until(lambda: slider.value == 42.0)
        src.stream({"x": np.arange(10.0, 14.0)})
        await c.wait_for(lambda c: len(c.source(src.id)["x"]) == 7)
        before = c.seq
        seen: list[int] = []
        c.on_message(lambda m: seen.append(m.seq) if isinstance(m, p.Sequenced) else None)
        assert relay.cut() >= 1
        for i in range(5):  # missed while cut, replayed exactly
            slider.value = 50.0 + i
            bridge.flush()
        await c.wait_for(lambda c: c.connected and c.seq == hub_seq(bridge))
        assert c.connections == 2 and c.using == "http"
        assert c.model(slider.id)["value"] == 54.0
        assert seen == list(range(before + 1, hub_seq(bridge) + 1))  # no gap, no repeat
        assert bridge.call(lambda h: h.stats()["transports"]) == {"http": 1}


async def test_a_forced_transport_is_the_only_one_tried(app: tuple) -> None:
    bridge, slider, _, relay = app
    with pytest.raises(ConnectionFailed) as err:
        await Client.connect(relay.url, "main", token="s3cret", transport="websocket")
    assert err.value.code == 403
    refused = relay.refused
    async with await Client.connect(relay.url, "main", token="s3cret", transport="http") as c:
        assert relay.refused == refused  # no WebSocket attempted
        await c.set(slider.id, value=3.0)
        wait_until(lambda: slider.value == 3.0)
    with pytest.raises(ConnectionFailed) as err:  # the fallback has the same token rule
        await Client.connect(bridge.url, "main", token="wrong", transport="http")
    assert err.value.code == 403
    with pytest.raises(ValueError, match="transport"):
        Client(bridge.url, "main", transport="carrier-pigeon")
