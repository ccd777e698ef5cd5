"""The small helpers every kind of test uses: one implementation of each.

- ``REPO``: the checkout the tests belong to (paths never depend on where
  a test file sits);
- ``IN_CI`` and ``require``: a missing browser or server fails the run in
  CI (``CI=true``) and skips the test locally, with how to install it;
- ``run``: a coroutine to completion on a fresh event loop, bounded in time;
- ``wait_until`` (blocking) and ``until`` (async): poll a condition until it
  holds, or fail saying which one did not;
- ``http_get``: a plain GET that returns error statuses instead of raising;
- ``free_port`` and ``port_of``: loopback ports.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Coroutine
from email.message import Message
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import pytest

__all__ = [
    "IN_CI",
    "REPO",
    "HttpResponse",
    "free_port",
    "http_get",
    "port_of",
    "require",
    "run",
    "until",
    "wait_until",
]

T = TypeVar("T")

#: the repository root (this file is tests/helpers/common.py)
REPO = Path(__file__).resolve().parents[2]

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, what: str, how: str) -> None:
    """Fail in CI, skip locally, when a real dependency is missing."""
    if condition:
        return
    message = f"{what} is not available; install it with: {how}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def run(coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
    """Run ``coro`` on a new event loop; fail after ``timeout`` seconds."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def _not_met(predicate: Callable[[], Any], timeout: float, what: str | None) -> AssertionError:
    what = what or getattr(predicate, "__qualname__", repr(predicate))
    return AssertionError(f"condition not met in {timeout} s: {what}")


def wait_until(
    predicate: Callable[[], Any],
    timeout: float = 10.0,
    interval: float = 0.01,
    what: str | None = None,
) -> None:
    """Poll ``predicate`` until it is truthy; ``AssertionError`` (naming ``what``) after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise _not_met(predicate, timeout, what)
        time.sleep(interval)


async def until(
    predicate: Callable[[], Any],
    timeout: float = 10.0,
    interval: float = 0.01,
    what: str | None = None,
) -> None:
    """``wait_until`` for coroutines: polls without blocking the running loop."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise _not_met(predicate, timeout, what)
        await asyncio.sleep(interval)


class HttpResponse(NamedTuple):
    """A response, whatever its status: ``status, headers, body = http_get(url)``."""

    status: int
    #: case-insensitive, like every HTTP header lookup
    headers: Message
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


def http_get(
    url: str, headers: dict[str, str] | None = None, timeout: float = 10.0
) -> HttpResponse:
    """GET ``url``; an error status is returned, not raised."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return HttpResponse(resp.status, resp.headers, resp.read().decode())
    except urllib.error.HTTPError as exc:
        with exc:  # it holds the connection
            return HttpResponse(exc.code, exc.headers, exc.read().decode(errors="replace"))


def free_port() -> int:
    """A loopback port free now (for a server whose URL must be known before it starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_of(url: str) -> int:
    """The port of an ``http://host:port/...`` or ``ws://host:port/...`` URL."""
    m = re.match(r"^[a-z]+://[^/]+:(\d+)(?:/|$)", url)
    assert m, url
    return int(m.group(1))
