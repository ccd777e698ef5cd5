"""examples/deploy/run.sh as a user runs it: Redis, two hubs, the producer and
nginx in front, all on loopback; a page through nginx is live, and stays live
when a hub dies (nginx sends its reconnection to the other hub, which resumes
it: no sticky sessions)."""

from __future__ import annotations

import os
import re
import shutil
import signal
from typing import Any

import pytest

from tests.helpers.common import REPO, free_port, require
from tests.helpers.docblocks import Running

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.slow]


def _seq(page: Any) -> int:
    return int(page.evaluate("() => window.wsbridgeClient.seq"))


def test_two_hubs_behind_nginx_survive_a_hub(page: Any, tmp_path: Any) -> None:
    for tool, package in (("nginx", "nginx"), ("redis-server", "redis-server")):
        require(shutil.which(tool) is not None, tool, f"apt-get install -y {package}")
    port = free_port()
    script = Running(
        ["bash", str(REPO / "examples" / "deploy" / "run.sh"), "2", str(port)], tmp_path
    )
    try:
        url = script.until(r"^open (http://\S+)", 60.0).group(1)
        assert url == f"http://127.0.0.1:{port}/d/live"
        hubs = [int(pid) for pid in re.findall(r"^hub \d+: \S+ \(pid (\d+)\)", script.output, re.M)]
        assert len(hubs) == 2, script.output
        page.goto(url)
        page.wait_for_function("() => window.wsbridgeClient && window.wsbridgeClient.seq > 5")
        page.wait_for_selector("[data-wsbridge-model]")
        os.kill(hubs[0], signal.SIGKILL)  # one hub dies; maybe the one this page is on
        before = _seq(page)
        page.wait_for_function(f"() => window.wsbridgeClient.seq > {before + 20}", timeout=30_000)
        # a new viewer gets in too, through the hub left
        page.goto(url)
        page.wait_for_function("() => window.wsbridgeClient && window.wsbridgeClient.seq > 5")
        assert page.js_errors == []  # type: ignore[attr-defined]
    finally:
        script.stop()
