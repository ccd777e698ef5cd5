"""The code blocks of README.md and docs/*.md, and running them as a user would.

A block runs as pasted: a Python block is saved to a file and run with this
interpreter; a bash block's lines are run by bash. A line of HTML comment
just before a block can say more about it (GitHub does not show it):

- ``<!-- block: file=app.py -->``: the block is a file the next block uses
  (saved under that name, not run by itself);
- ``<!-- block: setup -->``: the set-up commands (.ci/run runs them in a
  fresh venv; the test checks .ci/run does, and runs ``wsbridge demo``);
- ``<!-- block: runs -->``: in docs/*.md, a block that claims to run (there,
  unmarked blocks are fragments and are not run).

Two things are replaced before a block runs, so that runs in parallel do not
collide: a ``--port N`` or ``port=N`` with a free port, and the Redis URL
``redis://127.0.0.1:6379/0`` with the test's own redis-server.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.common import free_port

__all__ = ["LOCAL_REDIS", "Block", "Running", "blocks", "localise"]

LOCAL_REDIS = "redis://127.0.0.1:6379/0"
_FENCE = re.compile(r"^```(\w*)\s*$")
_DIRECTIVE = re.compile(r"^<!--\s*block:\s*(.*?)\s*-->\s*$")
_URL = re.compile(r"https?://127\.0\.0\.1:\d+/\S*")


@dataclass(frozen=True)
class Block:
    """One fenced code block: where it is, its language, text and directive."""

    path: Path
    line: int
    lang: str
    code: str
    directive: str

    @property
    def name(self) -> str:
        return f"{self.path.name}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of a Markdown file, in order."""
    found: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if m is None or not m.group(1):
            i += 1
            continue
        d = _DIRECTIVE.match(lines[i - 1]) if i else None
        start, i = i, i + 1
        body: list[str] = []
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        found.append(
            Block(path, start + 1, m.group(1), "\n".join(body) + "\n", d.group(1) if d else "")
        )
        i += 1
    return found


def localise(code: str, redis_url: str | None = None) -> str:
    """``code`` with its fixed ports made free ones and the Redis URL the test's."""
    code = re.sub(r"--port[ =]\d+", lambda m: f"--port {free_port()}", code)
    code = re.sub(r"\bport=\d{2,5}\b", lambda m: f"port={free_port()}", code)
    if redis_url is not None:
        code = code.replace(LOCAL_REDIS, redis_url)
    return code


class Running:
    """A process started from a block, its output, and its end."""

    def __init__(self, argv: list[str], cwd: Path) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # bash's children go with it
        )
        self.output = ""

    def _read(self, timeout: float) -> bool:
        """Read what is there within ``timeout``; False at end of output."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        if select.select([fd], [], [], timeout)[0]:
            chunk = os.read(fd, 65536)
            if not chunk:
                return False
            self.output += chunk.decode(errors="replace")
        return True

    def url_or_exit(self, timeout: float) -> str | None:
        """The first local URL it prints, or None when it exits first (with 0)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = _URL.search(self.output)
            if m:
                return m.group(0).rstrip(".,)'\"")
            if not self._read(0.2):
                code = self.proc.wait(timeout=10)
                assert code == 0, f"exited with {code}:\n{self.output[-3000:]}"
                return None
        raise AssertionError(f"neither a URL nor an exit in {timeout} s:\n{self.output[-3000:]}")

    def until(self, pattern: str, timeout: float) -> re.Match[str]:
        """The first match of ``pattern`` (multi-line) in what it printed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.output, re.M)
            if m:
                return m
            if not self._read(0.2):
                break
        raise AssertionError(f"no {pattern!r} in its output:\n{self.output[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGINT)
                self.proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
