"""``runtime/devserver.py`` in-process: runs, failed runs, module reloads,
app sessions rebuilt, ``teardown``; the watcher's change detection.

The end-to-end behaviour (a real ``wsbridge serve --dev`` and a page in
Chromium) is tests/browser/test_dev_browser.py.
"""

from __future__ import annotations

import io
import os
import sys
import textwrap
import threading
from pathlib import Path

import pytest

import wsbridge as wb
from tests.helpers.common import wait_until
from wsbridge.runtime.devserver import DevServer


def write(path: Path, text: str) -> None:
    path.write_text(textwrap.dedent(text))
    st = path.stat()  # a new mtime even on coarse file systems
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


@pytest.fixture
def dev(bridge: wb.Bridge, tmp_path: Path) -> DevServer:
    write(tmp_path / "parts.py", 'TITLE = "one"\n')
    write(
        tmp_path / "app.py",
        """
        import wsbridge as wb
        from parts import TITLE
        bridge.dashboard("main", wb.Column(wb.Label(value=TITLE)), title=TITLE)
        """,
    )
    server = DevServer(str(tmp_path / "app.py"), bridge, out=io.StringIO())
    yield server
    server.close()
    sys.modules.pop("parts", None)


def epoch(bridge: wb.Bridge, name: str = "main") -> str:
    return str(bridge.call(lambda hub: hub.documents[name].epoch))


def test_a_good_run_publishes_and_a_change_is_seen(dev: DevServer, tmp_path: Path) -> None:
    bridge = dev.bridge
    assert dev.run() and dev.runs == 1 and dev.error is None
    assert bridge.dashboards["main"].title == "one"
    assert not dev.changed()
    assert str(tmp_path / "parts.py") in dev._stamps  # an imported module is watched
    write(tmp_path / "parts.py", 'TITLE = "two, longer"\n')
    assert dev.changed()
    first = epoch(bridge)
    assert dev.run()
    assert bridge.dashboards["main"].title == "two, longer"  # the module was imported afresh
    assert epoch(bridge) != first  # a new epoch: open pages get a snapshot
    assert bridge.call(lambda hub: hub.dev_mode) is True


def test_a_failed_run_keeps_the_last_good_version_and_shows_the_error(
    dev: DevServer, tmp_path: Path
) -> None:
    bridge = dev.bridge
    assert dev.run()
    before, dash = epoch(bridge), bridge.dashboards["main"]
    write(
        tmp_path / "app.py",
        """
        import wsbridge as wb
        bridge.dashboard("main", wb.Column(wb.Label(value="half")))
        bridge.dashboard("extra", wb.Column())
        raise RuntimeError("boom <b>")
        """,
    )
    assert not dev.run()
    assert bridge.dashboards == {"main": dash} and epoch(bridge) == before  # nothing changed
    assert dev.error is not None and dev.error["title"] == "app.py raised RuntimeError: boom <b>"
    assert 'app.py", line 5' in dev.error["text"]
    assert bridge.call(lambda hub: hub.dev_error) == dev.error
    out = dev.out.getvalue()  # type: ignore[attr-defined]
    assert "RuntimeError: boom" in out and "still serving the last version" in out
    write(tmp_path / "app.py", "this is (not python\n")
    assert not dev.run() and "SyntaxError" in dev.error["title"]
    write(tmp_path / "app.py", 'bridge.dashboard("other", None)\n')
    assert dev.run() and dev.error is None
    assert bridge.call(lambda hub: hub.dev_error) is None
    assert list(bridge.dashboards) == ["other"]  # "main" is gone: removed from the hub
    wait_until(lambda: "main" not in bridge.call(lambda hub: list(hub.documents)))


def test_open_app_sessions_are_rebuilt_with_their_query(bridge: wb.Bridge, tmp_path: Path) -> None:
    write(
        tmp_path / "app.py",
        """
        import wsbridge as wb
        VERSION = 1
        def factory(dash):
            return wb.Column(wb.Label(value=f"v{VERSION} {dash.query.get('view', '-')}"))
        bridge.app("solo", factory)
        """,
    )
    dev = DevServer(str(tmp_path / "app.py"), bridge, out=io.StringIO())
    assert dev.run()
    name = "solo~test"
    bridge._app_owners[name] = "127.0.0.1"
    bridge._new_app_session("solo", name, {"view": "map"})
    wait_until(lambda: name in bridge._app_sessions)
    old = bridge._app_sessions[name]
    text = (tmp_path / "app.py").read_text().replace("VERSION = 1", "VERSION = 2")
    write(tmp_path / "app.py", text)
    assert dev.run()
    new = bridge._app_sessions[name]
    assert new is not old and new.query.to_dict() == {"view": "map"}
    assert new.root is not None
    label = new.root.children[0]
    assert label.value == "v2 map"
    write(tmp_path / "app.py", text.replace("dash.query.get", "dash.nope"))
    assert not dev.run()  # a factory that raises fails the whole run
    assert bridge._app_sessions[name] is new
    dev.close()


def test_teardown_of_the_replaced_version_runs(bridge: wb.Bridge, tmp_path: Path) -> None:
    calls: list[str] = []
    write(
        tmp_path / "app.py",
        """
        import wsbridge as wb
        NAME = "first"
        bridge.dashboard("main", wb.Column())
        def teardown(bridge):
            CALLS.append(NAME)
        """,
    )
    dev = DevServer(str(tmp_path / "app.py"), bridge, out=io.StringIO())
    import builtins

    builtins.CALLS = calls  # type: ignore[attr-defined]
    try:
        assert dev.run() and calls == []
        text = (tmp_path / "app.py").read_text().replace('"first"', '"second"')
        write(tmp_path / "app.py", text)
        assert dev.run() and calls == ["first"]
        dev.close()
        assert calls == ["first", "second"]
    finally:
        del builtins.CALLS  # type: ignore[attr-defined]


def test_serve_runs_again_on_a_save_until_stopped(dev: DevServer, tmp_path: Path) -> None:
    assert dev.run()
    stop = threading.Event()
    thread = threading.Thread(target=dev.serve, args=(stop, 0.05))
    thread.start()
    try:
        write(tmp_path / "parts.py", 'TITLE = "saved"\n')
        wait_until(lambda: dev.bridge.dashboards["main"].title == "saved")
        assert dev.runs == 2
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
