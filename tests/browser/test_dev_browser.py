"""``wsbridge serve app.py --dev`` in real Chromium: a real ``wsbridge`` process,
its app edited, broken and fixed on disk while a page stays open.

The page is never reloaded (a marker set on its ``window`` survives every
step): the new document reaches it through the hub's snapshot of a new
epoch, the app's error through the overlay (``role=alert``, text only).
"""

from __future__ import annotations

import re
import signal
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.helpers.browser import open_dashboard, wait_dom
from tests.helpers.cli import Cli

OVERLAY = "#wsbridge-dev"

GOOD = """
import wsbridge as wb
from labels import LABEL

bridge.dashboard("main", wb.Column(wb.Label(value=LABEL, id="lbl")), title="Dev")
"""


def write(path: Path, text: str) -> None:
    """Write a file so that a watcher polling modification times sees it
    (a new mtime even on a file system with coarse timestamps)."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(textwrap.dedent(text))
    while path.stat().st_mtime_ns == before:
        time.sleep(0.05)
        path.write_text(textwrap.dedent(text))


def label(page: Any) -> str:
    return str(page.locator('[data-wsbridge-model="lbl"]').inner_text())


def wait_label(page: Any, text: str) -> None:
    wait_dom(
        page,
        "(t) => { const el = document.querySelector('[data-wsbridge-model=\"lbl\"]');"
        " return el !== null && el.textContent.includes(t); }",
        text,
    )


def overlay_shown(page: Any) -> bool:
    return bool(page.evaluate(f"() => !document.querySelector('{OVERLAY}').hidden"))


def test_dev_reloads_shows_errors_and_recovers_without_a_page_reload(
    page: Any, tmp_path: Path, start_cli: Callable[..., Cli]
) -> None:
    app = tmp_path / "app.py"
    helper = tmp_path / "labels.py"
    write(helper, 'LABEL = "version 1"\n')
    write(app, GOOD)
    server = start_cli("serve", str(app), "--port", "0", "--dev", cwd=tmp_path)
    url = server.read_until(re.compile(r"^Serving \S+ at (http://\S+)"), timeout=20).group(1)

    open_dashboard(page, url + "d/main")
    wait_label(page, "version 1")
    page.evaluate("() => { window.notReloaded = true; }")
    epoch = page.evaluate("window.wsbridgeClient.epoch")
    assert not overlay_shown(page)

    # 1. a module the app imports from its folder changes: the page follows
    write(helper, 'LABEL = "version 2, from the module"\n')
    wait_label(page, "version 2")
    assert page.evaluate("window.wsbridgeClient.epoch") != epoch
    assert page.evaluate("window.notReloaded === true")
    assert page.evaluate("window.wsbridgeClient.status") == "connected"

    # 2. a syntax error: the overlay shows it; the last good version stays
    write(app, GOOD + "\nthis is not python (\n")
    page.wait_for_selector(f"{OVERLAY}:not([hidden])", timeout=10_000)
    assert page.get_attribute(OVERLAY, "role") == "alert"
    text = page.locator(OVERLAY).inner_text()
    assert "SyntaxError" in text and "app.py" in text
    assert "version 2" in label(page)
    # dismissible: the button hides it
    page.locator(f"{OVERLAY} button").click()
    assert not overlay_shown(page)

    # 3. an exception (whose message looks like HTML: it must stay text)
    write(app, GOOD + '\nraise ValueError("bad <b>markup</b> " + str(1 // 0))\n')
    page.wait_for_selector(f"{OVERLAY}:not([hidden])", timeout=10_000)
    text = page.locator(OVERLAY).inner_text()
    assert "ZeroDivisionError" in text and 'app.py", line' in text
    write(app, GOOD + '\nraise ValueError("bad <b>markup</b>")\n')
    has = "(sel, t) => document.querySelector(sel).textContent.includes(t)"
    wait_dom(page, has, OVERLAY, "<b>markup</b>")
    assert page.locator(f"{OVERLAY} b").count() == 0  # text, never HTML
    assert "version 2" in label(page)
    assert page.evaluate("window.notReloaded === true")

    # 4. fixed: the overlay goes, the new version shows, still the same page
    write(helper, 'LABEL = "version 3, fixed"\n')
    write(app, GOOD)
    wait_label(page, "version 3")
    page.wait_for_selector(OVERLAY, state="hidden", timeout=10_000)
    assert page.evaluate("window.notReloaded === true")
    assert page.evaluate("window.wsbridgeClient.status") == "connected"
    assert not page.js_errors

    # the terminal had every traceback; Ctrl-C stops the server cleanly
    server.proc.send_signal(signal.SIGINT)
    code, _, err = server.wait()
    assert code == 0
    assert "SyntaxError" in err and "ZeroDivisionError" in err and "ValueError" in err
    assert "ran again" in err


def test_dev_starts_with_a_broken_app_and_serves_it_once_fixed(
    page: Any, tmp_path: Path, start_cli: Callable[..., Cli]
) -> None:
    app = tmp_path / "app.py"
    write(tmp_path / "labels.py", 'LABEL = "it runs"\n')
    write(app, "import wsbridge as wb\n1 / 0\n")
    server = start_cli("serve", str(app), "--port", "0", "--dev", cwd=tmp_path)
    url = server.read_until(re.compile(r"^Serving \S+ at (http://\S+)"), timeout=20).group(1)
    # no page yet: the landing page says what went wrong, as text
    page.goto(url)
    alert = page.locator('[role="alert"]')
    assert "ZeroDivisionError" in alert.inner_text()
    write(app, GOOD)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        page.goto(url)
        if page.locator('a[href="d/main"]').count():
            break
        time.sleep(0.2)
    assert page.locator('[role="alert"]').count() == 0
    page.locator('a[href="d/main"]').click()
    open_dashboard(page, url + "d/main")
    wait_label(page, "it runs")
    assert not overlay_shown(page)
