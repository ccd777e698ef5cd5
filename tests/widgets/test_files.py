"""FileInput and FileDownload as Python objects: accept, value and what
viewers see of it, the download's content, the FileUpload mirror both ways."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import traitlets

import wsbridge as wb
from wsbridge.widgets.files import UploadRefused, accepts


@pytest.mark.parametrize(
    ("accept", "name", "mime", "ok"),
    [
        ("", "x.bin", "", True),
        (".csv", "DATA.CSV", "", True),
        (".csv, .txt", "a.txt", "", True),
        (".csv", "a.csv.exe", "application/x-msdownload", False),
        ("image/*", "p.png", "image/png", True),
        ("image/*", "p.png", "text/plain", False),
        ("text/plain", "notes", "text/plain", True),
    ],
)
def test_accept_matches_as_html_does(accept: str, name: str, mime: str, ok: bool) -> None:
    assert accepts(accept, name, mime) is ok


def _upload(inp: wb.FileInput, *files: tuple[str, str, bytes]) -> None:
    meta = [{"name": n, "type": t, "size": len(b), "last_modified": 0} for n, t, b in files]
    inp._receive_upload(meta, [np.frombuffer(b, np.uint8) for _, _, b in files])


def test_an_upload_sets_value_and_viewers_see_names_only() -> None:
    inp = wb.FileInput(accept=[".txt"], multiple=True)
    assert inp.accept == ".txt" and inp.max_size == 10 * 1024 * 1024
    got: list[tuple[wb.UploadedFile, ...]] = []
    inp.on_upload(got.append)
    _upload(inp, ("a.txt", "text/plain", b"abc"), ("b.txt", "", b"de"))
    assert [f.content for f in inp.value] == [b"abc", b"de"]
    assert inp.value[0].last_modified == dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    assert got == [inp.value]
    assert "abc" not in repr(inp.value[0])
    state = inp.get_state()
    assert state["files"] == [
        {"name": "a.txt", "type": "text/plain", "size": 3},
        {"name": "b.txt", "type": "", "size": 2},
    ]
    assert "value" not in state and inp._spec()["uploads"] is True
    assert inp.settable() == []
    inp.value = ()
    assert inp.files == []
    with pytest.raises(traitlets.TraitError):
        inp.value = ("not a file",)


def test_python_refuses_what_the_input_does_not_take() -> None:
    inp = wb.FileInput(accept=".csv", max_size=4)
    with pytest.raises(UploadRefused, match="not one of the accepted types"):
        _upload(inp, ("a.exe", "", b"x"))
    with pytest.raises(UploadRefused, match="larger than 4 bytes"):
        _upload(inp, ("a.csv", "", b"12345"))
    with pytest.raises(UploadRefused, match="one file at a time"):
        _upload(inp, ("a.csv", "", b"1"), ("b.csv", "", b"2"))
    assert inp.value == ()


def test_a_download_is_bytes_from_data_or_the_callback() -> None:
    assert wb.FileDownload("é", filename="t.txt")._content() == "é".encode()
    calls = []
    dl = wb.FileDownload(callback=lambda: calls.append(1) or b"fresh")
    assert dl._content() == b"fresh" and calls == [1]
    with pytest.raises(TypeError):
        wb.FileDownload()
    with pytest.raises(TypeError):
        wb.FileDownload(callback=lambda: 42)._content()  # type: ignore[arg-type, return-value]
    assert dl._spec()["events"] == ["click"]


def test_file_upload_mirror_both_ways() -> None:
    W = pytest.importorskip("ipywidgets")
    from wsbridge.ipy import mirror

    up = W.FileUpload(accept=".txt", multiple=True, description="Pick")
    m = mirror(up)
    assert isinstance(m, wb.FileInput)
    assert (m.accept, m.multiple, m.label) == (".txt", True, "Pick")
    _upload(m, ("a.txt", "text/plain", b"hello"))
    (entry,) = up.value
    assert entry["content"].tobytes() == b"hello" and entry["size"] == 5
    assert entry["last_modified"].tzinfo is not None
    up.value = ()  # cleared in Python: the mirror follows
    assert m.value == () and m.files == []
