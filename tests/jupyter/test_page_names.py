"""Document names with '%', spaces and other URL-special characters: every
name the index lists opens its page (the name is decoded exactly once).

Against the real Jupyter extension (pytest-jupyter, as in
tests/jupyter/test_jupyter_extension.py) and the embedded server, with real HTTP
requests following the index's own links.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.parse
from typing import Any

import pytest

import wsbridge as wb
from tests.helpers.common import IN_CI, http_get

try:
    import jupyter_server  # noqa: F401
    from pytest_jupyter.jupyter_server import *  # noqa: F403

    HAVE_JUPYTER = True
except ImportError:  # pragma: no cover - the test extra
    HAVE_JUPYTER = False

from wsbridge.wire.envelope import encode_envelope
from wsbridge.wire.messages import Add

#: each is a valid document name (1-128 characters, no '/')
NAMES = ["50%41off", "a%2Fb", "100%", "sp ace", "q?x=1", "h#x", "ü-€", "a+b", "%25"]

pytestmark = pytest.mark.timeout(90)


def _links(index: str) -> list[str]:
    return re.findall(r'<a href="([^"]+)">', index)


def _doc_of(page: str) -> str:
    found = re.search(r"doc: (\"(?:[^\"\\]|\\.)*\")", page)
    assert found, page
    return json.loads(found.group(1))  # type: ignore[no-any-return]


@pytest.fixture
def jp_server_config() -> Any:
    from traitlets.config import Config

    return Config({"ServerApp": {"jpserver_extensions": {"wsbridge": True}}})


@pytest.mark.skipif(  # in CI a missing Jupyter fails (its fixtures are not found)
    not HAVE_JUPYTER and not IN_CI,
    reason='jupyter_server + pytest-jupyter are not available; pip install -e ".[test]"',
)
def test_jupyter_pages_open_for_every_listed_name(
    io_loop: Any,
    jp_serverapp: Any,
    jp_ws_fetch: Any,
    jp_fetch: Any,
    http_server_client: Any,
    jp_auth_header: dict[str, str],
    jp_base_url: str,
) -> None:
    async def main() -> None:
        producer = await jp_ws_fetch("wsbridge", "producer")
        for name in NAMES:
            frame = encode_envelope("create", doc=name, title=f"T {name}", spec=Add(seq=0))
            producer.write_message(frame.data, binary=frame.binary)
        deadline = time.monotonic() + 30  # a loaded CI machine: seconds, not a count
        while True:
            stats = json.loads((await jp_fetch("wsbridge", "healthz")).body)
            if set(NAMES) <= set(stats["documents"]):
                break
            assert time.monotonic() < deadline, f"never created: {sorted(stats['documents'])}"
            await asyncio.sleep(0.05)
        index = (await jp_fetch("wsbridge/")).body.decode()
        links = _links(index)
        assert len(links) == len(NAMES)
        opened = []
        for href in links:
            url = f"{jp_base_url}wsbridge/{href}"
            page = await http_server_client.fetch(url, headers=jp_auth_header, raise_error=False)
            assert page.code == 200, (href, page.code)
            opened.append(_doc_of(page.body.decode()))
        assert sorted(opened) == sorted(NAMES)
        producer.close()

    io_loop.run_sync(main, timeout=60)


def test_embedded_pages_open_for_every_listed_name() -> None:
    with wb.Bridge() as bridge:
        for name in NAMES:
            bridge.dashboard(name, wb.Column())
        bridge.flush()
        status, _, index = http_get(bridge.url)
        assert status == 200
        opened = []
        for href in _links(index):
            status, _, page = http_get(urllib.parse.urljoin(bridge.url, href))
            assert status == 200, (href, status)
            opened.append(_doc_of(page))
        assert sorted(opened) == sorted(NAMES)
