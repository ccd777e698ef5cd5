"""Connection slots: only sessions that authenticated count against ``max_clients``.

A WebSocket that has not said a valid ``hello`` (nor shown the token at the
handshake) is *pending*: it counts against ``max_pending`` instead, and is
closed (4008) after ``hello_timeout`` seconds. So idle sockets, which any
page of the hub's own origin can open without a token, never lock users
out (docs/security.md "Limits"). Real sockets on a started Bridge.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from tornado.httpclient import HTTPRequest

import wsbridge as wb
from tests.helpers.ws import connect, read, ws_url
from wsbridge import wire as p


async def idle(bridge: wb.Bridge, headers: dict[str, str] | None = None) -> Any:
    """A WebSocket that says nothing, from a page of the hub's own origin."""
    own = {"Origin": bridge.url.rstrip("/"), **(headers or {})}
    return await connect(HTTPRequest(ws_url(bridge), headers=own))


async def join(bridge: wb.Bridge, conn: Any, **kw: Any) -> p.Message:
    conn.write_message(p.encode(p.Hello(doc="main", **kw)).data.decode())
    return await read(conn)


async def closed(conn: Any, timeout: float = 5.0) -> tuple[int | None, str | None]:
    """Read until the hub closes ``conn``; its close code and reason (and the
    client side released)."""
    while await asyncio.wait_for(conn.read_message(), timeout) is not None:
        pass
    conn.close()
    return conn.close_code, conn.close_reason


def token_cookie(bridge: wb.Bridge) -> dict[str, str]:
    """The token cookie a page of this hub (token ``s3cret``) sends."""
    return {"Cookie": f"wsbridge_token_{bridge.url.rstrip('/').rsplit(':', 1)[1]}=s3cret"}


def sessions(bridge: wb.Bridge) -> tuple[int, int]:
    """(admitted, pending) sessions, as the hub counts them."""
    return bridge.call(lambda hub: (hub.admitted, hub.pending))


async def test_idle_sockets_do_not_lock_out_users_of_a_token_hub() -> None:
    with wb.Bridge(token="s3cret", max_clients=5) as bridge:
        bridge.dashboard("main", wb.Column())
        squatters = [await idle(bridge) for _ in range(5)]
        # a user's page: the token in its hello, or in the cookie at the handshake
        page = await idle(bridge)
        assert isinstance(await join(bridge, page, token="s3cret"), p.Welcome)
        cookie = await idle(bridge, token_cookie(bridge))
        assert isinstance(await join(bridge, cookie), p.Welcome)
        assert sessions(bridge) == (2, 5)
        for conn in (*squatters, page, cookie):
            conn.close()


async def test_a_socket_without_hello_is_closed_after_hello_timeout() -> None:
    with wb.Bridge(token="s3cret", hello_timeout=0.5) as bridge:
        bridge.dashboard("main", wb.Column())
        start = time.monotonic()
        conn = await idle(bridge)
        # one that authenticated at the handshake must say hello too
        authed = await idle(bridge, token_cookie(bridge))
        assert await closed(conn) == (4008, "no hello in time")
        assert await closed(authed) == (4008, "no hello in time")
        assert 0.4 < time.monotonic() - start < 3.0
        # a session that joined stays
        ok = await idle(bridge)
        assert isinstance(await join(bridge, ok, token="s3cret"), p.Welcome)
        await asyncio.sleep(0.8)
        assert ok.close_code is None
        ok.close()


async def test_pending_sockets_are_capped_separately() -> None:
    with wb.Bridge(token="s3cret", max_pending=3, max_clients=10) as bridge:
        bridge.dashboard("main", wb.Column())
        squatters = [await idle(bridge) for _ in range(3)]
        extra = await idle(bridge)
        err = await read(extra)
        assert isinstance(err, p.Error) and err.code == "too_many_clients"
        assert await closed(extra) == (1013, "too many connections waiting for hello")
        # a token at the handshake is not pending: it still gets in
        user = await idle(bridge, token_cookie(bridge))
        assert isinstance(await join(bridge, user), p.Welcome)
        # a pending socket that authenticates frees its pending slot
        assert isinstance(await join(bridge, squatters[0], token="s3cret"), p.Welcome)
        again = await idle(bridge)
        assert isinstance(await join(bridge, again, token="s3cret"), p.Welcome)
        assert sessions(bridge) == (3, 2)
        for conn in (*squatters, user, again):
            conn.close()


async def test_a_token_less_hub_counts_sessions_that_joined() -> None:
    with wb.Bridge(max_clients=2, hello_timeout=60.0) as bridge:
        bridge.dashboard("main", wb.Column())
        squatters = [await idle(bridge) for _ in range(4)]
        a, b, c = [await idle(bridge) for _ in range(3)]
        assert isinstance(await join(bridge, a), p.Welcome)
        assert isinstance(await join(bridge, b), p.Welcome)
        err = await join(bridge, c)  # the third viewer: the hub is full
        assert isinstance(err, p.Error) and err.code == "too_many_clients"
        assert (await closed(c))[0] == 1013
        a.close()
        await asyncio.sleep(0.2)
        d = await idle(bridge)
        assert isinstance(await join(bridge, d), p.Welcome)  # a's slot is free again
        for conn in (*squatters, b, d):
            conn.close()


@pytest.mark.parametrize("bad", [0, -1.0])
def test_limits_must_be_positive(bad: float) -> None:
    with pytest.raises(ValueError, match="hello_timeout"):
        wb.Bridge(hello_timeout=bad)
    with pytest.raises(ValueError, match="max_pending"):
        wb.Bridge(max_pending=int(bad))
