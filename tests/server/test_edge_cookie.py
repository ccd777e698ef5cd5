"""The token cookie: one per hub, and the token gone from the address bar.

A page opened with ``?token=`` sets an HttpOnly, SameSite=Strict cookie
named for the hub's port (``wsbridge_token_<port>``: cookies ignore ports,
so a host-wide name let two hubs on one host overwrite each other), marked
``Secure`` over https, then redirects to the same URL without the token, so
it stays out of the address bar and the history (docs/security.md). Real
sockets, and a real Chromium with two hubs on one host.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from typing import Any

import pytest

import wsbridge as wb
from tests.helpers.common import http_get


def port_of(bridge: wb.Bridge) -> int:
    return int(bridge.url.rstrip("/").rsplit(":", 1)[1])


def raw_get(bridge: wb.Bridge, path: str, headers: dict[str, str] | None = None) -> Any:
    """One GET, redirects not followed."""
    conn = http.client.HTTPConnection("127.0.0.1", port_of(bridge), timeout=5)
    conn.request("GET", path, headers=headers or {})
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp


@pytest.fixture
def hubs() -> Iterator[tuple[wb.Bridge, wb.Bridge]]:
    with wb.Bridge(token="tok-a") as a, wb.Bridge(token="tok-b") as b:
        for hub, label in ((a, "hub A"), (b, "hub B")):
            hub.dashboard("main", wb.Column(wb.Label(label)))
            hub.flush()
        yield a, b


def test_the_cookie_is_named_for_the_hub_and_the_url_cleaned(
    hubs: tuple[wb.Bridge, wb.Bridge],
) -> None:
    a, _ = hubs
    name = f"wsbridge_token_{port_of(a)}"
    resp = raw_get(a, "/d/main?x=1&token=tok-a&y=2")
    assert resp.status == 303 and resp.getheader("Location") == "./main?x=1&y=2"
    cookie = resp.getheader("Set-Cookie")
    assert cookie.startswith(f"{name}=tok-a;") and "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie and "Path=/" in cookie and "Secure" not in cookie
    # the clean URL works with the cookie
    assert raw_get(a, "/d/main?x=1&y=2", {"Cookie": f"{name}=tok-a"}).status == 200
    # a peer's cookie on this host (another port) counts when it holds this
    # hub's token (peers share theirs), and only then
    assert raw_get(a, "/d/main", {"Cookie": "wsbridge_token_1=tok-a"}).status == 200
    assert raw_get(a, "/d/main", {"Cookie": "wsbridge_token_1=tok-b"}).status == 403
    assert raw_get(a, "/d/main", {"Cookie": "other_token=tok-a"}).status == 403
    # the index too, and any spelling of the parameter
    resp = raw_get(a, "/?%74oken=tok-a")
    assert resp.status == 303 and resp.getheader("Location") == "./"
    # a wrong token sets nothing and stays a 403
    resp = raw_get(a, "/d/main?token=wrong")
    assert resp.status == 403 and resp.getheader("Set-Cookie") is None
    # over https (here: a proxy that says so) the cookie is Secure
    resp = raw_get(a, "/d/main?token=tok-a", {"X-Forwarded-Proto": "https"})
    assert "Secure" in resp.getheader("Set-Cookie")
    # the token in a header sets no cookie and needs no redirect
    assert http_get(a.url + "d/main", {"Authorization": "Bearer tok-a"})[0] == 200


def test_two_hubs_on_one_host_keep_their_cookies(
    hubs: tuple[wb.Bridge, wb.Bridge], chromium: Any
) -> None:
    a, b = hubs
    context = chromium.new_context()
    try:
        pg = context.new_page()
        for hub, token, label in ((a, "tok-a", "hub A"), (b, "tok-b", "hub B")):
            pg.goto(hub.url + f"d/main?token={token}")
            assert pg.url == hub.url + "d/main", "the token is still in the address bar"
            pg.wait_for_function(
                "() => window.wsbridgeClient && window.wsbridgeClient.status === 'connected'"
            )
            assert label in pg.inner_text("#wsbridge-root")
        history = pg.evaluate("() => history.length")
        assert history >= 2
        # back to hub A, without the token: its cookie was not overwritten by B's
        pg.goto(a.url + "d/main")
        pg.wait_for_function(
            "() => window.wsbridgeClient && window.wsbridgeClient.status === 'connected'"
        )
        assert "hub A" in pg.inner_text("#wsbridge-root")
        names = sorted(c["name"] for c in context.cookies())
        assert names == sorted(f"wsbridge_token_{port_of(h)}" for h in (a, b))
    finally:
        context.close()
