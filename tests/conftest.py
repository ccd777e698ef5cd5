"""Shared fixtures: a running Bridge, real headless Chromium, a redis-server,
``python -m wsbridge`` processes.

In CI (``CI=true``) a missing browser or server fails the run; locally the
test skips with a message saying how to install it (``require``, in
tests/helpers/common.py with the other shared helpers).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import wsbridge as wb
from tests.helpers.cli import Cli
from tests.helpers.common import require

TESTS = Path(__file__).resolve().parent

#: every test under these folders gets the marker (pyproject.toml declares them)
FOLDER_MARKS = {"browser": "browser", "jupyter": "jupyter", "scaleout": "redis"}
#: and so does every test, wherever it is, that uses one of these fixtures
FIXTURE_MARKS = {"chromium": "browser", "page": "browser", "redis_server": "redis"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark by folder and by fixture: ``-m "not browser"`` leaves out every
    test that needs Chromium, wherever it lives."""
    for item in items:
        try:
            folder = item.path.resolve().relative_to(TESTS).parts[0]
        except ValueError:  # pragma: no cover - a test outside tests/
            folder = ""
        wanted = {FOLDER_MARKS[folder]} if folder in FOLDER_MARKS else set()
        wanted |= {mark for name, mark in FIXTURE_MARKS.items() if name in item.fixturenames}
        have = {m.name for m in item.iter_markers()}
        for mark in sorted(wanted - have):
            item.add_marker(mark)


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(autouse=True)
def _close_raw_clients() -> Iterator[None]:
    from tests.helpers.stream import close_streams
    from tests.helpers.ws import close_raw_clients

    yield
    close_raw_clients()
    close_streams()


@pytest.fixture(autouse=True)
def _log_windows() -> Iterator[None]:
    """Each test's log starts a new rate-limit interval (wsbridge.logs):
    what one test logged must not silence the lines another one checks."""
    from wsbridge import logs

    logs.reset()
    # a library's logging.config.dictConfig (Jupyter's) disables the loggers
    # that existed before it: ours must still log for the tests that read them
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if name.startswith("wsbridge") and isinstance(logger, logging.Logger):
            logger.disabled = False
    yield


@pytest.fixture
def bridge() -> Iterator[wb.Bridge]:
    b = wb.Bridge(port=0)
    b.start()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture(scope="module")
def module_bridge() -> Iterator[wb.Bridge]:
    """One started bridge shared by a module's tests (each uses dashboards of its own)."""
    with wb.Bridge(port=0) as bridge:
        yield bridge


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A real headless Chromium driven by Playwright, one per test module.

    Module scope, not session: Playwright's sync API keeps an event loop
    running on the main thread while it is open, which would stop the
    asyncio tests of other modules from starting theirs.
    """
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    require(exe is not None, "chromium", "apt-get install -y chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - a test extra
        require(False, "playwright", 'pip install -e ".[test]"')
        raise
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context()
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.js_errors = errors  # type: ignore[attr-defined]
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture(scope="module")
def redis_server() -> Iterator[Any]:
    """A real redis-server on a free loopback port, one per test module."""
    require(
        shutil.which("redis-server") is not None, "redis-server", "apt-get install -y redis-server"
    )
    from tests.helpers.redisserver import RedisServer

    server = RedisServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def start_cli() -> Iterator[Callable[..., Cli]]:
    """``start_cli("serve", "app.py", ...)``: a ``python -m wsbridge`` process, killed after."""
    started: list[Cli] = []

    def start(*args: str, cwd: Path | None = None) -> Cli:
        c = Cli(*args, cwd=cwd)
        started.append(c)
        return c

    yield start
    for c in started:
        c.close()
