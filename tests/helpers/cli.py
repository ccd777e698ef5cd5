"""``python -m wsbridge ...`` as a subprocess, and what it printed.

Used by the CLI tests (tests/test_cli.py) and by the end-to-end backplane
test (tests/browser/test_backplane_browser.py), which runs hubs and a
producer as processes; the ``start_cli`` fixture (tests/conftest.py) starts
them and kills whatever a test leaves running.
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

__all__ = ["TIMEOUT", "URL_RE", "Cli"]

URL_RE = re.compile(r"http://\S+")
TIMEOUT = 8.0


class Cli:
    """A ``python -m wsbridge ...`` subprocess and what it printed."""

    def __init__(self, *args: str, cwd: Path | None = None) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wsbridge", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
        )
        self.lines: list[str] = []
        self._partial = b""

    def read_until(self, pattern: re.Pattern[str], timeout: float = TIMEOUT) -> re.Match[str]:
        """The first stdout line matching ``pattern`` (fails on exit or timeout)."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines:
                m = pattern.search(line)
                if m:
                    return m
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"no line matching {pattern.pattern!r}; got {self.lines}")
            # raw reads: a buffered readline() could hold lines that select()
            # then never reports
            fd = self.proc.stdout.fileno()
            if select.select([fd], [], [], left)[0]:
                chunk = os.read(fd, 65536)
                if not chunk:
                    err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                    pytest.fail(f"the process ended ({self.proc.wait()}): {self.lines}\n{err}")
                *complete, self._partial = (self._partial + chunk).split(b"\n")
                self.lines.extend(line.decode() for line in complete)

    def url(self) -> str:
        return self.read_until(URL_RE).group(0)

    def wait(self, timeout: float = TIMEOUT) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=timeout)
        rest = (self._partial + out).decode()
        return self.proc.returncode, "\n".join([*self.lines, rest]), err.decode()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate(timeout=TIMEOUT)
