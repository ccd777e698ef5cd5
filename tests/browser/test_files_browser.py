"""Files in real headless Chromium: uploads through the native file picker
with a progress bar, bytes intact in Python, refusals shown and nothing
kept, a download saved by the browser, ipywidgets' FileUpload mirrored."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import wsbridge as wb
from tests.helpers.browser import open_dashboard, root
from tests.helpers.common import wait_until

pytestmark = pytest.mark.browser

MB = 1_000_000


@dataclass
class Files:
    bridge: wb.Bridge
    big: wb.FileInput
    many: wb.FileInput
    small: wb.FileInput
    download: wb.FileDownload
    too_big: wb.FileDownload
    ipy: Any
    payload: bytes
    uploaded_at: list[float] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.bridge.url + "d/files"

    def held(self) -> dict[str, int]:
        """What the hub holds for uploads, read on its loop."""
        stats: dict[str, int] = self.bridge.call(lambda hub: hub.uploads.stats())
        return stats


@pytest.fixture(scope="module")
def files() -> Iterator[Files]:
    import ipywidgets as W

    payload = os.urandom(3 * MB)
    bridge = wb.Bridge(port=0)
    bridge.start()
    fs = Files(
        bridge=bridge,
        big=wb.FileInput("Big", max_size=32 * MB),
        many=wb.FileInput("Many", multiple=True, accept=".txt,.csv"),
        small=wb.FileInput("Small", max_size=MB),
        download=wb.FileDownload(callback=lambda: payload, filename="report.bin"),
        too_big=wb.FileDownload(callback=lambda: bytes(40 * MB), filename="huge.bin"),
        ipy=W.FileUpload(accept=".txt", multiple=True, description="ipy"),
        payload=payload,
    )
    fs.big.on_upload(lambda files: fs.uploaded_at.append(time.monotonic()))
    bridge.dashboard(
        "files",
        wb.Column(fs.big, fs.many, fs.small, fs.download, fs.too_big, fs.ipy),
        title="Files",
    )
    try:
        yield fs
    finally:
        bridge.stop()


@pytest.fixture
def opened(page: Any, files: Files) -> Iterator[Any]:
    open_dashboard(page, files.url)
    yield page
    assert page.js_errors == []


def _input(model: wb.Model) -> str:
    return root(model) + " input[type=file]"


def _status(page: Any, model: wb.Model) -> Any:
    return page.locator(root(model) + " .wsbridge-file-status")


def test_a_20_mb_upload_shows_progress_and_reaches_python_intact(
    opened: Any, files: Files, tmp_path: Path
) -> None:
    data = os.urandom(20 * MB)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    # every progress the page shows, as it shows it
    opened.evaluate(
        """(sel) => { const el = document.querySelector(sel); window.seen = [];
             new MutationObserver(() => { const p = el.querySelector('progress');
               if (!p.hidden) window.seen.push([p.value, p.max]); })
             .observe(el, {subtree: true, childList: true, characterData: true,
                           attributes: true}); }""",
        root(files.big),
    )
    start = time.monotonic()
    opened.set_input_files(_input(files.big), str(path))
    wait_until(lambda: len(files.uploaded_at) == 1, timeout=30)
    seconds = files.uploaded_at[0] - start
    print(f"\nupload of 20 MB from Chromium: {seconds:.2f} s, {20 / seconds:.1f} MB/s")
    (f,) = files.big.value
    assert (f.name, f.size) == ("big.bin", len(data))
    assert hashlib.sha256(f.content).hexdigest() == hashlib.sha256(data).hexdigest()
    status = _status(opened, files.big)
    status.filter(has_text="Uploaded big.bin").wait_for()
    seen = opened.evaluate("window.seen")
    partial = {v for v, m in seen if 0 < v < m == len(data)}
    assert len(partial) >= 3, seen  # the bar moved as the hub acknowledged bytes
    assert files.held() == {"uploads": 0, "received_bytes": 0, "reserved_bytes": 0}


def test_several_files_at_once_and_other_viewers_see_only_names(
    opened: Any, files: Files, tmp_path: Path, page: Any
) -> None:
    paths = []
    for i, text in enumerate(["alpha\n", "beta,gamma\n" * 1000, "delta"]):
        path = tmp_path / (f"f{i}.csv" if i == 1 else f"f{i}.txt")
        path.write_text(text)
        paths.append(path)
    other = page.context.browser.new_page()
    try:
        open_dashboard(other, files.url)
        opened.set_input_files(_input(files.many), [str(p) for p in paths])
        wait_until(lambda: len(files.many.value) == 3)
        assert [f.name for f in files.many.value] == ["f0.txt", "f1.csv", "f2.txt"]
        assert [f.content for f in files.many.value] == [p.read_bytes() for p in paths]
        names = other.locator(root(files.many) + " .wsbridge-file-names")
        names.filter(has_text="f0.txt (6 bytes), f1.csv (11.0 KB), f2.txt (5 bytes)").wait_for()
        # what the other viewer holds of the upload: names, types, sizes; no bytes
        state = other.evaluate(
            "(id) => window.wsbridgeClient.model(id).get('files')", files.many.id
        )
        assert [sorted(f) for f in state] == [["name", "size", "type"]] * 3
    finally:
        other.close()


def test_an_oversized_file_is_refused_with_its_message_and_nothing_kept(
    opened: Any, files: Files, tmp_path: Path
) -> None:
    path = tmp_path / "huge.bin"
    path.write_bytes(os.urandom(2 * MB))
    opened.set_input_files(_input(files.small), str(path))
    alert = opened.locator(root(files.small) + " [role=alert]")
    alert.filter(
        has_text="huge.bin is 2.0 MB; files of at most 1.0 MB are accepted here"
    ).wait_for()
    assert files.small.value == ()
    assert files.held() == {"uploads": 0, "received_bytes": 0, "reserved_bytes": 0}


def test_a_type_outside_accept_is_refused_by_python(
    opened: Any, files: Files, tmp_path: Path
) -> None:
    path = tmp_path / "tool.exe"
    path.write_bytes(b"MZ")
    before = files.many.value
    opened.set_input_files(_input(files.many), str(path))
    alert = opened.locator(root(files.many) + " [role=alert]")
    alert.filter(has_text="tool.exe is not one of the accepted types (.txt,.csv)").wait_for()
    assert files.many.value == before


def test_a_download_is_saved_by_the_browser(opened: Any, files: Files, tmp_path: Path) -> None:
    with opened.expect_download() as info:
        opened.locator(root(files.download) + " button").click()
    download = info.value
    assert download.suggested_filename == "report.bin"
    saved = tmp_path / "saved.bin"
    download.save_as(saved)
    assert saved.read_bytes() == files.payload
    _status(opened, files.download).filter(has_text="Saved report.bin (3.0 MB)").wait_for()


def test_a_download_over_the_limit_is_refused_beside_its_button(opened: Any, files: Files) -> None:
    opened.locator(root(files.too_big) + " button").click()
    status = _status(opened, files.too_big)
    status.filter(has_text="40.0 MB is more than the 33.6 MB allowed").wait_for()
    assert "wsbridge-error" in (status.get_attribute("class") or "")


def test_ipywidgets_file_upload_gets_its_value_as_ipywidgets_8_has_it(
    opened: Any, files: Files, tmp_path: Path
) -> None:
    changes: list[Any] = []
    done = threading.Event()

    def seen(change: dict[str, Any]) -> None:
        changes.append(change["new"])
        done.set()

    files.ipy.observe(seen, names="value")
    (tmp_path / "a.txt").write_bytes(b"first file")
    (tmp_path / "b.txt").write_bytes(b"second")
    from wsbridge.ipy import mirror

    chosen = [str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]
    opened.set_input_files(_input(mirror(files.ipy)), chosen)
    assert done.wait(10)
    value = files.ipy.value
    assert isinstance(value, tuple) and [v["name"] for v in value] == ["a.txt", "b.txt"]
    first = value[0]
    assert first["type"] == "text/plain" and first["size"] == 10
    assert isinstance(first["content"], memoryview) and first["content"].tobytes() == b"first file"
    assert first["last_modified"].tzinfo is not None
    assert changes == [value]


def test_a_connection_lost_mid_upload_keeps_nothing_and_says_so(
    opened: Any, files: Files, tmp_path: Path
) -> None:
    path = tmp_path / "cut.bin"
    path.write_bytes(os.urandom(20 * MB))
    before = files.big.value
    # the socket drops as soon as the first bytes are acknowledged
    opened.evaluate(
        """(sel) => { const el = document.querySelector(sel + ' .wsbridge-file-status');
             const ob = new MutationObserver(() => { if (el.textContent.includes(' of ')) {
               ob.disconnect(); window.wsbridgeClient._ws.close(); } });
             ob.observe(el, {childList: true, characterData: true, subtree: true}); }""",
        root(files.big),
    )
    opened.set_input_files(_input(files.big), str(path))
    alert = opened.locator(root(files.big) + " [role=alert]")
    alert.filter(has_text="the connection was lost; upload again").wait_for()
    wait_until(lambda: files.held()["reserved_bytes"] == 0)
    assert files.held() == {"uploads": 0, "received_bytes": 0, "reserved_bytes": 0}
    assert files.big.value is before
    opened.wait_for_function("() => window.wsbridgeClient.status === 'connected'")
