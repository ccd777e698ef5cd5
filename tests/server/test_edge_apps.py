"""Per-session apps and health: nobody but its own page joins a session.

- ``/healthz`` without the token answers only the status; the documents
  (and the per-session ``app~<id>`` names) need the token.
- A per-session document is joinable only with the key its page carries
  (``hello.key``): its name alone, from a log or a health answer, is not
  enough.
- A page load builds nothing: the session's document is built when the
  page's WebSocket joins, and app sessions are capped per client address
  and in all (``max_app_sessions_per_address`` / ``max_app_sessions``).

Real sockets on a started Bridge (docs/security.md).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

import pytest
from tornado.httpclient import HTTPRequest

import wsbridge as wb
from tests.helpers.common import http_get
from tests.helpers.ws import connect, read, ws_url
from wsbridge import wire as p
from wsbridge.client import Client
from wsbridge.errors import ConnectionFailed


def app_page(url: str) -> tuple[str, str]:
    """The document and key a per-session app page connects with."""
    status, _, body = http_get(url)
    assert status == 200, body
    found = re.search(r'doc: "([^"]+)", key: "([^"]+)"', body)
    assert found, body
    return found.group(1), found.group(2)


async def join(
    bridge: wb.Bridge, doc: str, key: str | None = None, source: str | None = None
) -> tuple[Any, p.Message]:
    """A raw WebSocket (from ``source``, a local address) saying hello for ``doc``."""
    req = HTTPRequest(ws_url(bridge), network_interface=source)
    conn = await connect(req)
    conn.write_message(p.encode(p.Hello(doc=doc, key=key)).data.decode())
    return conn, await read(conn)


async def closed_with(conn: Any) -> int | None:
    while await asyncio.wait_for(conn.read_message(), 5) is not None:
        pass
    return conn.close_code


def wait_until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


@pytest.fixture
def counter() -> Any:
    made: list[wb.Slider] = []

    def factory(dash: wb.Dashboard) -> wb.Model:
        s = wb.Slider(1.0)
        made.append(s)
        return wb.Column(s)

    with wb.Bridge(session_grace=0.2) as bridge:
        bridge.app("counter", factory)
        bridge.dashboard("main", wb.Column())
        yield bridge, made


def test_health_lists_documents_only_with_the_token() -> None:
    with wb.Bridge(token="s3cret") as bridge:
        bridge.dashboard("main", wb.Column())
        bridge.app("counter", lambda dash: wb.Column())
        bridge.flush()
        status, _, body = http_get(bridge.url + "healthz")
        assert status == 200 and json.loads(body) == {"status": "ok"}
        status, _, body = http_get(bridge.url + "healthz", {"Authorization": "Bearer s3cret"})
        assert status == 200 and "main" in json.loads(body)["documents"]
        status, _, body = http_get(bridge.url + "healthz?token=s3cret")
        assert status == 200 and "documents" in json.loads(body)


async def test_a_session_document_is_joinable_only_with_its_pages_key(counter: Any) -> None:
    bridge, made = counter
    doc, key = app_page(bridge.url + "d/counter")
    other_doc, other_key = app_page(bridge.url + "d/counter")
    conn, welcome = await join(bridge, doc, key)
    assert isinstance(welcome, p.Welcome) and welcome.doc == doc
    # its name is listed by health (a token-less local hub), but the name is not enough
    assert doc in json.loads(http_get(bridge.url + "healthz")[2])["documents"]
    for wrong in (None, other_key, key[:-1] + ("A" if key[-1] != "A" else "B")):
        intruder, err = await join(bridge, doc, wrong)
        assert isinstance(err, p.Error) and err.code == "unknown_document", wrong
        assert await closed_with(intruder) == 1008
    # nor is another page's session joinable with this page's key
    intruder, err = await join(bridge, other_doc, key)
    assert isinstance(err, p.Error) and err.code == "unknown_document"
    assert len(made) == 1
    # the page's own reconnection resumes, with its key (the Python client too)
    conn.close()
    client = await Client.connect(bridge.url, doc, key=key)
    assert client.connection.welcome is not None and client.connection.welcome.doc == doc
    await client.close()
    with pytest.raises(ConnectionFailed):
        await Client.connect(bridge.url, doc, reconnect=False)


async def test_page_loads_build_nothing_until_their_socket_joins(counter: Any) -> None:
    bridge, made = counter
    pages = [app_page(bridge.url + "d/counter") for _ in range(200)]
    assert len({doc for doc, _ in pages}) == 200
    assert made == [] and bridge.call(lambda hub: len(hub.documents)) == 1
    conn, welcome = await join(bridge, *pages[7])
    assert isinstance(welcome, p.Welcome) and isinstance(await read(conn), p.Snapshot)
    assert len(made) == 1 and bridge.call(lambda hub: sorted(hub.documents)) == sorted(
        ["main", pages[7][0]]
    )
    conn.close()


async def test_app_sessions_are_capped_per_address_and_in_all() -> None:
    with wb.Bridge(session_grace=0.2, max_app_sessions=3, max_app_sessions_per_address=2) as bridge:
        bridge.app("counter", lambda dash: wb.Column(wb.Slider(1.0)))
        pages = [app_page(bridge.url + "d/counter") for _ in range(6)]
        a, b = [(await join(bridge, *page))[0] for page in pages[:2]]
        extra, err = await join(bridge, *pages[2])  # a third from 127.0.0.1
        assert isinstance(err, p.Error) and err.code == "too_many_clients"
        assert await closed_with(extra) == 1013
        c, welcome = await join(bridge, *pages[3], source="127.0.0.2")  # another address
        assert isinstance(welcome, p.Welcome)
        extra, err = await join(bridge, *pages[4], source="127.0.0.2")  # the hub is full
        assert isinstance(err, p.Error) and err.code == "too_many_clients"
        # a page's reconnection to its live session is not a new session
        again, welcome = await join(bridge, *pages[0])
        assert isinstance(welcome, p.Welcome)
        # once a session is freed (its page left, session_grace later), its slot is free
        for conn in (a, again):
            conn.close()
        wait_until(lambda: len(bridge._app_sessions) == 2)
        d, welcome = await join(bridge, *pages[5])
        assert isinstance(welcome, p.Welcome)
        for conn in (b, c, d):
            conn.close()


async def test_a_failing_factory_refuses_the_join_not_the_page() -> None:
    with wb.Bridge() as bridge:
        bridge.app("broken", lambda dash: None)
        doc, key = app_page(bridge.url + "d/broken")
        conn, err = await join(bridge, doc, key)
        assert isinstance(err, p.Error) and err.code == "internal"
        assert await closed_with(conn) == 1011
        assert bridge.call(lambda hub: doc not in hub.documents)
        assert bridge._app_sessions == {}
