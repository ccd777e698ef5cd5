"""Every code block of README.md runs as pasted, and so does every block of
docs/*.md marked ``<!-- block: runs -->`` (tests/helpers/docblocks.py says
how blocks are run and what the markers mean).

A block that serves a page is opened in Chromium and must draw its widgets;
a block that ends by itself must exit with 0.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.common import REPO, http_get
from tests.helpers.docblocks import LOCAL_REDIS, Block, Running, blocks, localise

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TIMEOUT = 60.0


def _cases() -> list[Block]:
    found = [b for b in blocks(REPO / "README.md") if b.lang in ("python", "bash")]
    for doc in sorted((REPO / "docs").glob("*.md")):
        found += [b for b in blocks(doc) if b.directive == "runs"]
    return found


CASES = _cases()


def _lines(code: str) -> list[str]:
    """A bash block's commands: comments and blank lines dropped, ``\\`` joined."""
    out: list[str] = []
    for raw in code.replace("\\\n", " ").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def _check_page(page: Any, url: str) -> None:
    """The page answers, and its widgets (or its first dashboard's) are drawn."""
    resp = http_get(url)
    assert resp.status == 200, (url, resp.status, resp.body[:300])
    if "data-wsbridge-model" not in resp.body and 'href="d/' in resp.body and "/d/" not in url:
        first = resp.body.split('href="d/', 1)[1].split('"', 1)[0]
        url = url.split("?")[0].rstrip("/") + "/d/" + first
    if "/d/" in url or "wsbridge-root" in resp.body:
        page.goto(url)
        page.wait_for_selector("[data-wsbridge-model]", timeout=20_000)
        assert page.js_errors == [], page.js_errors  # type: ignore[attr-defined]


def _files_before(block: Block, cwd: Path) -> None:
    """Save the ``file=`` blocks of the same document that come before ``block``."""
    for earlier in blocks(block.path):
        if earlier.line >= block.line:
            break
        if earlier.directive.startswith("file="):
            (cwd / earlier.directive[5:]).write_text(earlier.code)


def test_every_readme_python_block_is_run() -> None:
    """No block slips through: every fenced block of README.md is a case here."""
    readme = blocks(REPO / "README.md")
    assert readme and all(b.lang in ("python", "bash", "text", "js", "javascript") for b in readme)
    assert {b.line for b in readme if b.lang in ("python", "bash")} <= {
        b.line for b in CASES if b.path.name == "README.md"
    }


@pytest.mark.parametrize("block", CASES, ids=[b.name for b in CASES])
def test_block_runs_as_pasted(
    block: Block, tmp_path: Path, page: Any, request: pytest.FixtureRequest
) -> None:
    redis_url = None
    if LOCAL_REDIS in block.code:
        redis_url = request.getfixturevalue("redis_server").url
    code = localise(block.code, redis_url)
    _files_before(block, tmp_path)
    if block.directive.startswith("file="):
        compile(code, block.directive[5:], "exec")  # used by a later block:
        later = [b for b in blocks(block.path) if b.line > block.line]
        assert any(block.directive[5:] in b.code for b in later), "no block uses this file"
        return
    if block.directive == "setup":
        ci = (REPO / ".ci" / "run").read_text()
        commands = [c.strip() for line in _lines(code) for c in line.split("&&")]
        installs = [c for c in commands if c.startswith("pip install")]
        assert installs and all(c.split()[-1].strip("\"'.[]") in ci or c in ci for c in installs)
        assert "./scripts/test" in commands and "./scripts/test" in ci
        runs = [c for c in commands if c.startswith("wsbridge ")]
        code = "\n".join(f"{c} --port 0" for c in runs)
        block = Block(block.path, block.line, "bash", code, "")
    running: list[Running] = []
    try:
        if block.lang == "python":
            (tmp_path / "block.py").write_text(code)
            steps = [Running([sys.executable, "block.py"], tmp_path)]
        else:
            steps = []
        urls: list[str] = []
        for step in steps:
            running.append(step)
            url = step.url_or_exit(TIMEOUT)
            if url:
                urls.append(url)
        for line in _lines(code) if block.lang == "bash" else []:
            step = Running(["bash", "-c", line], tmp_path)
            running.append(step)
            url = step.url_or_exit(TIMEOUT)
            if url:
                urls.append(url)
        for url in urls:
            _check_page(page, url)
    finally:
        for step in running:
            step.stop()
