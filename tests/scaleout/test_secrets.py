"""Credentials stay out of logs, ``/healthz``, banners and the process list.

Redis passwords may come in any form redis-py accepts (``:pw@``,
``user:pw@``, ``?password=``); every one is redacted. The Redis URL and the
token can be given in a file or an environment variable instead of the
command line, where ``ps`` shows them (docs/deploy.md "Secrets").
"""

from __future__ import annotations

import json
import logging
import os
import re
import select
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import wsbridge as wb
from tests.helpers.common import require
from wsbridge.scaleout.keys import BackplaneConfig, redact_url

PASSWORD = "pw-Sekr1t-42"
TOKEN = "tok-Sekr1t-77"


@pytest.mark.parametrize(
    "url",
    [
        f"redis://:{PASSWORD}@h:6379/0",
        f"redis://user:{PASSWORD}@h/1",
        f"redis://h:6379/0?password={PASSWORD}",
        f"redis://h:6379/0?db=2&password={PASSWORD}&socket_timeout=3",
        f"rediss://h/0?ssl_password={PASSWORD}&ssl_cert_reqs=required",
        f"redis://user@h/0?PASSWORD={PASSWORD}",
        f"redis://:{PASSWORD}@[::1]:6379/0",
        f"unix://:{PASSWORD}@/run/redis.sock?db=0",
        f"unix:///run/redis.sock?password={PASSWORD}",
        f"redis://h/0?password={PASSWORD}#frag",
        f"redis://h/0?username=u&password={PASSWORD}&password={PASSWORD}",
    ],
)
def test_every_credential_form_is_redacted(url: str) -> None:
    shown = redact_url(url)
    assert PASSWORD not in shown, shown
    assert "***" in shown


def test_urls_without_credentials_are_unchanged() -> None:
    for url in ("redis://h:6379/0", "redis://user@h/0?db=1", "rediss://h/0?ssl_cert_reqs=none"):
        assert redact_url(url) == url


@pytest.fixture(scope="module")
def redis_pw() -> Iterator[Any]:
    require(
        shutil.which("redis-server") is not None, "redis-server", "apt-get install -y redis-server"
    )
    from tests.helpers.redisserver import RedisServer

    server = RedisServer(password=PASSWORD).start()
    try:
        yield server
    finally:
        server.stop()


def test_a_query_password_stays_out_of_health_and_logs(
    redis_pw: Any, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"redis://127.0.0.1:{redis_pw.port}/0?password={PASSWORD}"
    cfg = BackplaneConfig(url, heartbeat=0.2, alive_ttl=1.0, poll_interval=0.2, prefix="q:")
    with caplog.at_level(logging.DEBUG):
        producer = wb.Bridge(backplane=cfg).start()
        hub = wb.Bridge(follow=cfg).start()
        try:
            producer.dashboard("p", wb.Slider(value=1))
            deadline = time.monotonic() + 10
            while not hub.call(lambda h: "p" in h.documents):
                assert time.monotonic() < deadline, "the hub never got the document"
                time.sleep(0.05)
            for bridge in (producer, hub):
                with urllib.request.urlopen(bridge.url + "healthz", timeout=5) as r:
                    body = r.read().decode()
                assert "127.0.0.1" in body and PASSWORD not in body, body
            redis_pw.stop()  # connection errors get logged, with the URL
            time.sleep(1.0)
            redis_pw.start()
        finally:
            hub.stop()
            producer.stop()
    assert "127.0.0.1" in caplog.text
    assert PASSWORD not in caplog.text


class _Process:
    """``python -m wsbridge ...`` with its own environment; output collected."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wsbridge", "--log-level", "debug", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
        )
        self.out = b""

    def banner(self, timeout: float = 15.0) -> str:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while b"\n" not in self.out:
            left = deadline - time.monotonic()
            assert left > 0 and self.proc.poll() is None, self.stop()
            if select.select([self.proc.stdout], [], [], left)[0]:
                self.out += os.read(self.proc.stdout.fileno(), 65536)
        return self.out.decode().splitlines()[0]

    def cmdline(self) -> str:
        return Path(f"/proc/{self.proc.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
        out, err = self.proc.communicate(timeout=15)
        self.out += out
        return self.out.decode() + err.decode()


def _health(base: str) -> str:
    req = urllib.request.Request(base + "healthz", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.read().decode()


@pytest.mark.parametrize("how", ["files", "environment"])
def test_the_cli_takes_the_redis_url_and_the_token_from_a_file_or_the_environment(
    how: str, redis_pw: Any, tmp_path: Path
) -> None:
    """Neither secret is on the command line (``ps``), in the banner's Redis
    URL, in ``/healthz`` or in the debug log; both are used."""
    url = f"redis://:{PASSWORD}@127.0.0.1:{redis_pw.port}/0"
    if how == "files":
        (tmp_path / "redis-url").write_text(url + "\n")
        (tmp_path / "token").write_text(TOKEN + "\n")
        args = [
            "--redis-file",
            str(tmp_path / "redis-url"),
            "--token-file",
            str(tmp_path / "token"),
        ]
        env: dict[str, str] = {}
    else:
        query_form = f"redis://127.0.0.1:{redis_pw.port}/0?password={PASSWORD}"
        args, env = [], {"WSBRIDGE_REDIS_URL": query_form, "WSBRIDGE_TOKEN": TOKEN}
    producer = wb.Bridge(backplane=BackplaneConfig(url, heartbeat=0.2, alive_ttl=1.0)).start()
    hub = _Process(["hub", *args, "--port", "0", "--host", "127.0.0.1"], env)
    try:
        producer.dashboard("p", wb.Slider(value=1))
        banner = hub.banner()
        assert PASSWORD not in banner and "127.0.0.1" in banner
        base = re.search(r"(http://\S+/)", banner).group(1)  # type: ignore[union-attr]
        assert f"token={TOKEN}" in banner  # the URL to open, printed once on stdout
        for secret in (PASSWORD, TOKEN):
            assert secret not in hub.cmdline()
        body = _health(base)
        assert PASSWORD not in body and json.loads(body)["backplane"]["status"] == "ok"
        req = urllib.request.Request(base + "d/p")
        with pytest.raises(urllib.error.HTTPError) as refused:  # the token is in force
            urllib.request.urlopen(req, timeout=5)
        refused.value.close()
        assert refused.value.code == 403
    finally:
        text = hub.stop()
        producer.stop()
    assert PASSWORD not in text


def test_a_missing_secret_is_a_clear_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("WSBRIDGE_REDIS_URL", "WSBRIDGE_TOKEN")}
    cases = [
        (["hub", "--port", "0"], "--redis-file PATH or $WSBRIDGE_REDIS_URL"),
        (["demo", "--port", "0", "--token-file", str(tmp_path / "nope")], "cannot read"),
    ]
    for (args, expected), code in zip(cases, (2, 1), strict=True):  # usage error, bad file
        done = subprocess.run(
            [sys.executable, "-m", "wsbridge", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
        )
        assert done.returncode == code and expected in done.stderr, done.stderr
