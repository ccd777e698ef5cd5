"""Custom anywidget-style widgets and ``Table`` on the producer side: state on
the wire, what a browser may set, assets from files, custom messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import traitlets

import wsbridge as wb
from wsbridge import wire as p

from .test_widgets import attach, refused

ESM = "export default { render({ model, el }) { el.textContent = model.get('value'); } };"


class Counter(wb.AnyWidget):
    _esm = ESM
    _css = ".x { color: red }"
    value = traitlets.Int(0).tag(sync=True)
    child = traitlets.Instance(wb.Label, allow_none=True).tag(sync=True, ref=True)
    hidden = traitlets.Int(0)  # not synced: never on the wire


def test_state_carries_the_module_css_and_class_key() -> None:
    c = Counter(value=3)
    spec = c._spec()
    assert spec["type"] == "AnyWidget"
    assert spec["state"] == {
        "value": 3,
        "child": None,
        "_esm": ESM,
        "_css": ".x { color: red }",
        "_anywidget_id": f"{__name__}.Counter",
    }
    # anywidget's rule: every synced, non-reference trait is browser-settable;
    # the module and CSS are not traits and can never be set by a browser
    assert spec["settable"] == ["value"]
    assert wb.Widget is wb.AnyWidget


def test_browser_values_go_through_the_traits() -> None:
    c = Counter()
    c._apply_client_state("value", 5)
    assert c.value == 5
    refused(c, "value", "five")
    refused(c, "value", 1.5)


def test_esm_and_css_from_files_and_per_instance(tmp_path: Path) -> None:
    js = tmp_path / "w.js"
    js.write_text("export default { render() {} };\n", encoding="utf-8")
    css = tmp_path / "w.css"
    css.write_text("b { color: blue }", encoding="utf-8")

    class FromFiles(wb.AnyWidget):
        _esm = js
        _css = str(css)  # a path-like string naming a .css file is read too

    w = FromFiles()
    assert w.get_state()["_esm"] == "export default { render() {} };\n"
    assert w.get_state()["_css"] == "b { color: blue }"
    js.write_text("export default { render() { 2 } };", encoding="utf-8")
    assert "2" in FromFiles().get_state()["_esm"]  # read per instance: edits show up

    ad_hoc = wb.AnyWidget(_esm="export function render() {}", _css="i {}")
    other = wb.AnyWidget(_esm="export function render() { 1 }")
    assert ad_hoc.get_state()["_esm"] == "export function render() {}"
    assert ad_hoc.get_state()["_anywidget_id"] != other.get_state()["_anywidget_id"]
    # a one-line module is never taken for a path
    assert wb.AnyWidget(_esm="x.js").get_state()["_esm"] == "x.js"


def test_a_module_is_required() -> None:
    with pytest.raises(ValueError, match="_esm"):
        wb.AnyWidget()
    with pytest.raises(FileNotFoundError):
        wb.AnyWidget(_esm=Path("/nonexistent/w.js"))
    with pytest.raises(TypeError):
        wb.AnyWidget(_esm=42)


def test_custom_messages_with_buffers() -> None:
    c = Counter()
    sent = attach(wb.Dashboard("main", wb.Column(c)))
    c.send({"kind": "data"}, [np.arange(3.0), b"\x01\x02"])
    (msg,) = [m for _, m in sent if isinstance(m, p.Custom)]
    assert msg.model == c.id and msg.content == {"kind": "data"}
    assert msg.buffers[0].dtype == np.float64 and msg.buffers[1].tolist() == [1, 2]
    got: list[tuple[Any, Any, list[Any]]] = []
    c.on_msg(lambda model, content, buffers: got.append((model, content, buffers)))
    c._fire_msg({"kind": "clicked"}, [np.ones(2)])
    assert got[0][0] is c and got[0][1] == {"kind": "clicked"}


def test_table_state_and_its_source_joins_the_document() -> None:
    src = wb.DataSource({"x": np.arange(3.0), "y": np.zeros(3)})
    t = wb.Table(src)
    assert t.get_state() == {
        "source": src.id,
        "columns": None,
        "page_size": 20,
        "datetime_columns": [],
        "follow": False,
        "label": "",
        "formats": {},
    }
    assert t.settable() == []
    assert t.shown_columns == ["x", "y"]
    assert list(t.references()) == [src]
    t2 = wb.Table(src, columns=("y",), page_size=5, datetime_columns=["x"])
    assert t2.columns == ["y"] and t2.shown_columns == ["y"] and t2.page_size == 5
    with pytest.raises(traitlets.TraitError):
        wb.Table(src, page_size=0)
    assert src.id in wb.Dashboard("main", wb.Column(t)).members
