"""Per-session apps: ``bridge.app(name, factory)`` (one document per page load)."""

from __future__ import annotations

import asyncio
import re
import urllib.request
from typing import Any

import pytest

import wsbridge as wb
from tests.helpers.browser import root, set_range
from tests.helpers.common import run, wait_until
from wsbridge.client import Client
from wsbridge.errors import ConnectionFailed


def page_doc(url: str) -> tuple[str, str]:
    """The session document a page opens, and the key it joins with."""
    with urllib.request.urlopen(url, timeout=5) as resp:
        body = resp.read().decode()
    found = re.search(r'doc: "([^"]+)", key: "([^"]+)"', body)
    assert found, body
    return found.group(1), found.group(2)


@pytest.fixture
def counter_app() -> Any:
    made: list[wb.Slider] = []

    def factory(dash: wb.Dashboard) -> wb.Model:
        s = wb.Slider(1.0, label=f"session {len(made)}")
        made.append(s)
        return wb.Column(s, wb.Label("mine"))

    with wb.Bridge(session_grace=0.5) as bridge:
        bridge.app("counter", factory, title="Counter")
        yield bridge, made


def test_each_page_load_gets_its_own_document(counter_app: Any) -> None:
    bridge, made = counter_app
    (one, key1), (two, key2) = (page_doc(bridge.url + "d/counter") for _ in range(2))
    assert one != two and one.startswith("counter~") and made == []  # built when joined
    with urllib.request.urlopen(bridge.url, timeout=5) as resp:
        index = resp.read().decode()
    assert 'href="d/counter"' in index and "Counter" in index and "~" not in index

    async def main() -> None:
        a = await Client.connect(bridge.url, one, key=key1)
        b = await Client.connect(bridge.url, two, key=key2)
        await a.set(made[0].id, value=7.0)
        await a.wait_for(lambda c: c.model(made[0].id)["value"] == 7.0)
        wait_until(lambda: made[0].value == 7.0)
        assert made[1].value == 1.0 and made[1].id not in a.models
        assert b.model(made[1].id)["value"] == 1.0 and made[0].id not in b.models
        await a.close()
        await b.close()

    run(main())


def test_sessions_are_freed_after_the_grace_period_and_resume_within_it(counter_app: Any) -> None:
    bridge, made = counter_app
    doc, key = page_doc(bridge.url + "d/counter")

    async def main() -> None:
        c = await Client.connect(bridge.url, doc, key=key, backoff=(0.05, 0.1))
        await c.drop()  # back within the grace period: resumed
        await c.wait_for(lambda c: c.connections == 2 and c.connected)
        assert bridge.call(lambda hub: doc in hub.documents)
        await c.close()

    run(main())
    wait_until(lambda: not bridge.call(lambda hub: doc in hub.documents), timeout=5)
    assert doc not in bridge._app_sessions
    assert made[0]._listeners == []  # the session's objects are released


def test_a_factory_must_return_its_layout() -> None:
    with wb.Bridge() as bridge:
        bridge.app("broken", lambda dash: None)
        doc, key = page_doc(bridge.url + "d/broken")  # built (and refused) when joined

        async def main() -> None:
            with pytest.raises(ConnectionFailed):
                await Client.connect(bridge.url, doc, key=key, reconnect=False)

        asyncio.run(main())
        with pytest.raises(ValueError):
            bridge.app("a~b", lambda dash: wb.Column())


def test_two_browser_contexts_keep_separate_state(counter_app: Any, chromium: Any) -> None:
    bridge, made = counter_app
    contexts = [chromium.new_context() for _ in range(2)]
    try:
        pages = [ctx.new_page() for ctx in contexts]
        for pg in pages:
            pg.goto(bridge.url + "d/counter")
            pg.wait_for_function(
                "() => window.wsbridgeClient && window.wsbridgeClient.status === 'connected'"
            )
        sel = f"{root(made[0])} input[type=range]"
        set_range(pages[0], sel, 4)
        wait_until(lambda: made[0].value == 4.0)
        assert made[1].value == 1.0
        assert pages[1].locator(sel).count() == 0  # the other page has its own models
        other = f"{root(made[1])} input[type=range]"
        assert pages[1].locator(other).input_value() == "1"
    finally:
        for ctx in contexts:
            ctx.close()
