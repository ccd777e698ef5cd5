"""DNS rebinding: the hub answers only to the host names it serves.

A page of ``attacker.example`` whose name is re-pointed at 127.0.0.1 is
same-origin with itself, so its ``Origin`` always equals the request's
``Host``; only checking ``Host`` against the hub's own names stops it
(docs/security.md "Host names"). Real sockets, and a real Chromium whose
resolver maps ``attacker.example`` to 127.0.0.1.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from tornado.httpclient import HTTPRequest

import wsbridge as wb
from tests.conftest import CHROMIUM_ARGS
from tests.helpers.cli import Cli
from tests.helpers.common import http_get, require
from tests.helpers.ws import connect, hello, read
from wsbridge import wire as p


def port_of(bridge: wb.Bridge) -> int:
    return int(bridge.url.rstrip("/").rsplit(":", 1)[1])


@pytest.fixture
def hub() -> Iterator[wb.Bridge]:
    with wb.Bridge(port=0) as bridge:
        bridge.dashboard("main", wb.Column(wb.Slider(1.0)))
        bridge.flush()
        yield bridge


@pytest.mark.parametrize("path", ["", "d/main", "static/wsbridge.js", "healthz"])
def test_a_foreign_host_name_is_refused_everywhere(hub: wb.Bridge, path: str) -> None:
    port = port_of(hub)
    status, _, body = http_get(hub.url + path, {"Host": f"attacker.example:{port}"})
    assert status == 403, body
    assert "main" not in body
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"LOCALHOST.:{port}"):
        assert http_get(hub.url + path, {"Host": host})[0] == 200, host


async def test_a_rebound_websocket_is_refused(hub: wb.Bridge) -> None:
    port = port_of(hub)
    evil = {"Host": f"attacker.example:{port}", "Origin": f"http://attacker.example:{port}"}
    with pytest.raises(Exception, match="403"):
        await hello(hub, headers=evil)
    own = {"Host": f"localhost:{port}", "Origin": f"http://localhost:{port}"}
    conn = await hello(hub, headers=own)
    assert isinstance(await read(conn), p.Welcome)
    conn.close()


async def test_allow_hosts_names_more_hosts() -> None:
    with wb.Bridge(allow_hosts=["dash.example.org", "*.corp.example"]) as bridge:
        bridge.dashboard("main", wb.Column())
        port = port_of(bridge)
        for host in ("dash.example.org", f"dash.example.org:{port}", "a.corp.example"):
            assert http_get(bridge.url + "d/main", {"Host": host})[0] == 200, host
        assert http_get(bridge.url + "d/main", {"Host": "corp.example"})[0] == 403
        req = HTTPRequest(
            bridge.url.replace("http://", "ws://") + "ws",
            headers={"Host": "dash.example.org", "Origin": "https://dash.example.org"},
        )
        conn = await connect(req)
        conn.write_message(p.encode(p.Hello(doc="main")).data.decode())
        assert isinstance(await read(conn), p.Welcome)
        conn.close()
    with wb.Bridge(allow_hosts=["*"]) as bridge:  # any name (Jupyter's allow_remote_access)
        bridge.dashboard("main", wb.Column())
        assert http_get(bridge.url + "d/main", {"Host": "anything.example"})[0] == 200


def test_a_token_hub_beyond_loopback_answers_to_its_own_name() -> None:
    with wb.Bridge(host="0.0.0.0", token="s3cret") as bridge:
        bridge.dashboard("main", wb.Column())
        port = port_of(bridge)
        local = f"http://127.0.0.1:{port}/"
        auth = {"Authorization": "Bearer s3cret"}
        # the URL it prints names this machine; its addresses work too
        assert socket.gethostname() in bridge.url
        for host in (socket.gethostname(), f"{socket.gethostname()}:{port}", "192.0.2.7"):
            assert http_get(local + "d/main", {**auth, "Host": host})[0] == 200, host
        assert http_get(local + "d/main", {**auth, "Host": "attacker.example"})[0] == 403


def test_cli_allow_host() -> None:
    demo = Cli("demo", "--port", "0", "--allow-host", "dash.example.org")
    try:
        url = demo.url()
        assert http_get(url, {"Host": "dash.example.org"})[0] == 200
        assert http_get(url, {"Host": "attacker.example"})[0] == 403
        assert http_get(url)[0] == 200
    finally:
        demo.close()


# -- a real browser whose resolver was rebound


@pytest.fixture(scope="module")
def rebound_chromium() -> Iterator[Any]:
    """Chromium resolving ``attacker.example`` to 127.0.0.1, as after DNS rebinding.

    Chromium's own Local Network Access checks are off: they block a page the
    browser thinks came from the internet from reaching loopback, which
    Firefox, Safari and older Chromium do not; the hub must not rely on them.
    """
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    require(exe is not None, "chromium", "apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    args = [
        *CHROMIUM_ARGS,
        "--host-resolver-rules=MAP attacker.example 127.0.0.1",
        "--disable-features=LocalNetworkAccessChecks",
    ]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, headless=True, args=args)
        try:
            yield browser
        finally:
            browser.close()


#: the attacker's page, as its own server sent it before the name was rebound:
#: it reads the hub's health, then tries the WebSocket (same origin, to it)
_EVIL = """<!doctype html><script>
window.result = (async () => {
  const out = {};
  try {
    const r = await fetch("/healthz");
    out.health = r.status + " " + (await r.text());
  } catch (e) { out.health = "failed " + e; }
  try {
    const r = await fetch("/d/main");
    out.page = r.status;
  } catch (e) { out.page = "failed " + e; }
  out.ws = await new Promise((resolve) => {
    const ws = new WebSocket(`ws://${location.host}/ws`);
    ws.onopen = () => ws.send(JSON.stringify({v: 1, type: "hello", doc: "main"}));
    ws.onmessage = (ev) => { ws.close(); resolve("message " + ev.data.slice(0, 40)); };
    ws.onclose = (ev) => resolve("closed " + ev.code);
  });
  return out;
})();
</script>"""


def test_chromium_after_dns_rebinding(hub: wb.Bridge, rebound_chromium: Any) -> None:
    port = port_of(hub)
    context = rebound_chromium.new_context()
    try:
        pg = context.new_page()
        # navigating to the rebound name reaches the hub: it refuses the page
        resp = pg.goto(f"http://attacker.example:{port}/d/main")
        assert resp is not None and resp.status == 403
        # the attacker's script, running at http://attacker.example:PORT
        pg.route(
            f"http://attacker.example:{port}/evil.html",
            lambda route: route.fulfill(status=200, content_type="text/html", body=_EVIL),
        )
        pg.goto(f"http://attacker.example:{port}/evil.html")
        out = pg.evaluate("window.result")
        assert out["health"].startswith("403") and "main" not in out["health"], out
        assert out["page"] == 403, out
        assert out["ws"].startswith("closed"), out  # refused at the handshake (1006)
        # the hub's own names still work
        for base in (f"http://127.0.0.1:{port}/", f"http://localhost:{port}/"):
            pg.goto(base + "d/main")
            pg.wait_for_function(
                "() => window.wsbridgeClient && window.wsbridgeClient.status === 'connected'"
            )
    finally:
        context.close()
