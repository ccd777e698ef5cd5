"""The Jupyter server extension, in-process with pytest-jupyter's fixtures.

``jp_base_url`` is ``/a%40b/`` (pytest-jupyter's default): a base_url that
needs escaping, so every route is checked under it. The pytest-jupyter
fixtures are imported into this module only (not registered as a plugin),
so their autouse event-loop fixtures do not touch the rest of the suite.
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from typing import Any

import pytest

from tests.helpers.common import IN_CI

try:
    import jupyter_server  # noqa: F401
    from pytest_jupyter.jupyter_server import *  # noqa: F403

    HAVE_JUPYTER = True
except ImportError:  # pragma: no cover - the test extra
    HAVE_JUPYTER = False
    _WHY = 'jupyter_server + pytest-jupyter are not available; pip install -e ".[test]"'
    if IN_CI:  # the same rule as conftest.require: fail in CI, skip locally
        pytest.fail(_WHY, pytrace=False)
    pytest.skip(_WHY, allow_module_level=True)

import numpy as np
import tornado.httpclient
import tornado.websocket

import wsbridge as wb
from wsbridge.hub.hub import Hub
from wsbridge.wire.codec import decode, encode
from wsbridge.wire.envelope import encode_envelope
from wsbridge.wire.messages import Add, Patch, Snapshot, Stream, Welcome
from wsbridge.wire.requests import Hello, Set

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def jp_server_config(request: pytest.FixtureRequest) -> Any:
    """The extension on; a test may add ``WsbridgeApp`` settings (indirect parametrize)."""
    from traitlets.config import Config

    wsbridge_app = getattr(request, "param", {})
    return Config(
        {"ServerApp": {"jpserver_extensions": {"wsbridge": True}}, "WsbridgeApp": wsbridge_app}
    )


def hub_of(serverapp: Any) -> Hub:
    for ext in serverapp.extension_manager.extension_apps.get("wsbridge", ()):
        return ext.hub  # type: ignore[no-any-return]
    raise AssertionError("the wsbridge extension is not loaded")


def publish_demo(hub: Hub) -> str:
    slider = wb.Slider(2.0, max=5.0)
    spec = Add(seq=0, models={slider.id: slider._spec()}, root=slider.id, title="Demo <1>")

    class Sink:
        def __init__(self) -> None:
            self.sets: list[Set] = []

        def on_set(self, doc: str, session: str, message: Set) -> None:
            self.sets.append(message)
            hub.publish(doc, Patch(0, message.model, dict(message.state)))
            hub.input_done(session)

        def on_event(self, doc: str, session: str, message: Any) -> None:
            hub.input_done(session)

        on_custom = on_event

    hub.create_document("demo", spec, Sink(), "Demo <1>")
    return slider.id


def test_routes_live_under_the_escaped_base_url(
    io_loop: Any, jp_serverapp: Any, jp_fetch: Any, jp_base_url: str
) -> None:
    async def main() -> None:
        assert jp_base_url == "/a%40b/"
        publish_demo(hub_of(jp_serverapp))
        index = await jp_fetch("wsbridge/")
        body = index.body.decode()
        assert index.code == 200 and 'href="d/demo"' in body and "Demo &lt;1&gt;" in body
        page = await jp_fetch("wsbridge", "d", "demo")
        text = page.body.decode()
        assert page.code == 200 and "<title>Demo &lt;1&gt;</title>" in text
        assert 'from "../static/wsbridge.js"' in text and 'doc: "demo"' in text
        js = await jp_fetch("wsbridge", "static", "wsbridge.js", headers={"Authorization": ""})
        assert js.code == 200 and "export" in js.body.decode()  # static: no auth needed
        stats = json.loads((await jp_fetch("wsbridge", "healthz")).body)
        assert stats["status"] == "ok" and "demo" in stats["documents"]
        with pytest.raises(tornado.httpclient.HTTPClientError) as info:
            await jp_fetch("wsbridge", "d", "nope")
        assert info.value.code == 404

    io_loop.run_sync(main, timeout=20)


def test_pages_redirect_to_login_and_the_api_refuses_without_a_token(
    io_loop: Any, jp_serverapp: Any, jp_fetch: Any, jp_base_url: str
) -> None:
    async def main() -> None:
        publish_demo(hub_of(jp_serverapp))
        for parts in (("wsbridge/",), ("wsbridge", "d", "demo")):
            page = await jp_fetch(*parts, headers={"Authorization": ""}, follow_redirects=False,
                                  raise_error=False)  # fmt: skip
            assert page.code == 302, parts
            location = urllib.parse.unquote(page.headers["Location"])
            assert location.startswith(urllib.parse.unquote(jp_base_url) + "login"), location
        with pytest.raises(tornado.httpclient.HTTPClientError) as info:
            await jp_fetch("wsbridge", "healthz", headers={"Authorization": ""})
        assert info.value.code == 403

    io_loop.run_sync(main, timeout=20)


async def login_cookie(jp_fetch: Any, serverapp: Any) -> str:
    """Log in through Jupyter's login form, as a browser does; return the Cookie header."""
    first = await jp_fetch("login", headers={"Authorization": ""})
    jar = dict(_cookies(first))
    body = urllib.parse.urlencode(
        {"_xsrf": jar["_xsrf"], "password": serverapp.identity_provider.token}
    )
    answer = await jp_fetch(
        "login",
        method="POST",
        body=body,
        headers={"Authorization": "", "Cookie": f"_xsrf={jar['_xsrf']}"},
        follow_redirects=False,
        raise_error=False,
    )
    assert answer.code == 302, answer.code
    jar.update(_cookies(answer))
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def _cookies(response: Any) -> list[tuple[str, str]]:
    found = []
    for header in response.headers.get_list("Set-Cookie"):
        name, _, rest = header.partition("=")
        found.append((name, rest.split(";", 1)[0]))
    return found


def test_websockets_need_a_user_and_follow_jupyters_origin_rules(
    io_loop: Any, jp_serverapp: Any, jp_fetch: Any, jp_ws_fetch: Any, jp_http_port: int
) -> None:
    async def main() -> None:
        publish_demo(hub_of(jp_serverapp))
        for endpoint in ("ws", "producer"):
            with pytest.raises(tornado.httpclient.HTTPClientError) as info:
                await jp_ws_fetch("wsbridge", endpoint, headers={"Authorization": ""})
            assert info.value.code == 403, endpoint
        # a browser logged in with Jupyter's cookie: same origin only
        cookie = await login_cookie(jp_fetch, jp_serverapp)
        # the login cookie's name carries the host it was set for
        login_host = cookie.split("username-", 1)[1].split("=", 1)[0].rsplit("-", 1)
        netloc = f"{login_host[0].replace('-', '.')}:{login_host[1]}"
        as_page = {"Authorization": "", "Cookie": cookie, "Host": netloc}
        host = f"http://{netloc}"
        ws = await jp_ws_fetch("wsbridge", "ws", headers={**as_page, "Origin": host})
        ws.close()
        with pytest.raises(tornado.httpclient.HTTPClientError) as info:
            await jp_ws_fetch(
                "wsbridge", "ws", headers={**as_page, "Origin": "http://evil.example"}
            )
        assert info.value.code == 403
        # a token is no ambient credential, so Jupyter skips the origin check
        # for it; the producer endpoint still refuses anything that is a page
        ws = await jp_ws_fetch("wsbridge", "ws", headers={"Origin": "http://evil.example"})
        ws.close()
        for origin in (host, "http://evil.example"):
            with pytest.raises(tornado.httpclient.HTTPClientError) as info:
                await jp_ws_fetch("wsbridge", "producer", headers={"Origin": origin})
            assert info.value.code == 403

    io_loop.run_sync(main, timeout=20)


def test_a_browser_session_over_jupyters_websocket(
    io_loop: Any, jp_serverapp: Any, jp_ws_fetch: Any
) -> None:
    async def main() -> None:
        sid = publish_demo(hub_of(jp_serverapp))
        ws = await jp_ws_fetch("wsbridge", "ws")
        ws.write_message(encode(Hello(doc="demo")).data.decode())
        welcome = decode(await ws.read_message())
        snapshot = decode(await ws.read_message())
        assert isinstance(welcome, Welcome) and isinstance(snapshot, Snapshot)
        assert snapshot.models[sid]["state"]["value"] == 2.0
        ws.write_message(encode(Set(sid, {"value": 4.0}, req=1)).data.decode())
        patch = decode(await ws.read_message())
        assert isinstance(patch, Patch) and patch.state == {"value": 4.0}
        ws.close()

    io_loop.run_sync(main, timeout=20)


def test_a_producer_publishes_through_jupyter(
    io_loop: Any, jp_serverapp: Any, jp_ws_fetch: Any
) -> None:
    async def main() -> None:
        hub = hub_of(jp_serverapp)
        producer = await jp_ws_fetch("wsbridge", "producer")
        src = wb.DataSource({"x": np.zeros(0)})
        spec = Add(seq=0, sources={src.id: src._spec()}, title="Streamed")
        create = encode_envelope("create", doc="s", title="S", spec=spec)
        producer.write_message(create.data, binary=create.binary)
        stream = Stream(seq=0, source=src.id, data={"x": np.arange(4.0)})
        frame = encode_envelope("publish", doc="s", message=stream)
        producer.write_message(frame.data, binary=frame.binary)
        for _ in range(500):  # the producer's frames are handled on this loop
            if "s" in hub.documents and hub.documents["s"].seq == 1:
                break
            await asyncio.sleep(0.01)
        browser = await jp_ws_fetch("wsbridge", "ws")
        browser.write_message(encode(Hello(doc="s")).data.decode())
        assert isinstance(decode(await browser.read_message()), Welcome)
        snap = decode(await browser.read_message())
        assert isinstance(snap, Snapshot) and snap.seq == 1
        assert np.array_equal(snap.sources[src.id]["data"]["x"], np.arange(4.0))
        producer.close()
        gone = decode(await browser.read_message())
        assert gone.type == "error" and gone.code == "producer_gone"  # type: ignore[attr-defined]
        assert hub.documents["s"].gone is not None
        browser.close()

    io_loop.run_sync(main, timeout=20)


@pytest.mark.parametrize("jp_server_config", [{"gone_timeout": 1.0}], indirect=True)
def test_documents_of_a_producer_that_is_no_kernel_go_after_the_timeout(
    io_loop: Any, jp_serverapp: Any, jp_ws_fetch: Any
) -> None:
    """A producer that is no kernel of this server (here: one naming a kernel
    the server never had) leaves its documents stale for ``gone_timeout``
    seconds, then they are removed; one re-created meanwhile stays."""
    from wsbridge.jupyter.discovery import KERNEL_HEADER

    async def main() -> None:
        hub = hub_of(jp_serverapp)
        first = await jp_ws_fetch("wsbridge", "producer", headers={KERNEL_HEADER: "no-such"})
        for doc in ("keep", "drop"):
            frame = encode_envelope("create", doc=doc, title=doc, spec=Add(seq=0))
            first.write_message(frame.data, binary=frame.binary)
        for _ in range(500):
            if {"keep", "drop"} <= set(hub.documents):
                break
            await asyncio.sleep(0.01)
        browser = await jp_ws_fetch("wsbridge", "ws")
        browser.write_message(encode(Hello(doc="drop")).data.decode())
        assert isinstance(decode(await browser.read_message()), Welcome)
        assert isinstance(decode(await browser.read_message()), Snapshot)
        first.close()
        gone = decode(await browser.read_message())
        assert gone.type == "error" and gone.code == "producer_gone"  # type: ignore[attr-defined]
        second = await jp_ws_fetch("wsbridge", "producer")  # "keep" comes back
        frame = encode_envelope("create", doc="keep", title="keep", spec=Add(seq=0))
        second.write_message(frame.data, binary=frame.binary)
        removed = decode(await asyncio.wait_for(browser.read_message(), 10))
        assert removed.type == "error" and removed.code == "unknown_document"  # type: ignore[attr-defined]
        assert "did not come back within 1 s" in removed.message  # type: ignore[attr-defined]
        assert await asyncio.wait_for(browser.read_message(), 10) is None  # closed (1008)
        assert browser.close_code == 1008
        browser.close()  # closed by the hub; tornado still wants it closed here
        assert "drop" not in hub.documents
        assert "keep" in hub.documents and hub.documents["keep"].gone is None
        second.close()

    io_loop.run_sync(main, timeout=20)
