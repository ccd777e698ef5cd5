"""Real ``anywidget.AnyWidget`` objects on the producer side (widgets/anyhost.py):
the state as it travels (serializers, bytes as buffers, references, module
and CSS as shared assets, ``FileContents``), what a browser may set and how
its values reach the widget, custom messages both ways, and ``wb.AnyWidget``
taking anywidget's ``FileContents``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
import ipywidgets
import numpy as np
import pytest
import traitlets

import wsbridge as wb
from wsbridge import wire as p
from wsbridge.ipy import mirror
from wsbridge.widgets.anyhost import AnyAsset, AnyHost

from .test_widgets import attach

ESM = "export default { render({ model, el }) { el.textContent = model.get('value'); } };"


def _array_to_json(value: np.ndarray, widget: Any) -> dict[str, Any]:
    return {"shape": list(value.shape), "data": memoryview(np.ascontiguousarray(value))}


def _array_from_json(value: dict[str, Any], widget: Any) -> np.ndarray:
    return np.frombuffer(bytes(value["data"]), dtype=np.float64).reshape(value["shape"])


class Counter(anywidget.AnyWidget):
    _esm = ESM
    _css = ".x { color: red }"
    value = traitlets.Int(0).tag(sync=True)
    blob = traitlets.Bytes(b"").tag(sync=True)
    points = traitlets.Instance(np.ndarray, args=(np.zeros(0),)).tag(
        sync=True, to_json=_array_to_json, from_json=_array_from_json
    )
    frozen = traitlets.Unicode("x", read_only=True).tag(sync=True)
    child = traitlets.Instance(ipywidgets.Widget, allow_none=True).tag(
        sync=True, **ipywidgets.widget_serialization
    )
    hidden = traitlets.Int(0)  # not synced: never on the wire


def test_any_anywidget_is_accepted_where_a_widget_is() -> None:
    c = Counter(value=3)
    col = wb.Column(c)
    host = col.children[0]
    assert isinstance(host, AnyHost) and host.widget is c and mirror(c) is host
    dash = wb.Dashboard("d", wb.Column())
    assert dash.add(Counter()) is not None
    root = wb.Dashboard("r", c).root
    assert root is host  # one host per widget, wherever it is shown
    assert isinstance(ipywidgets.VBox([c]), ipywidgets.VBox)
    box = mirror(ipywidgets.VBox([c]))
    assert box.children == [host]  # type: ignore[attr-defined]


def test_state_travels_through_the_serializers() -> None:
    c = Counter(value=3, blob=b"\x00\x01\xff", points=np.array([1.5, 2.5]))
    host = mirror(c)
    spec = host._spec()
    state = spec["state"]
    assert spec["type"] == "AnyHost"
    assert state["value"] == 3
    # bytes (and memoryviews inside to_json results) travel as uint8 buffers
    np.testing.assert_array_equal(state["blob"], np.array([0, 1, 255], dtype=np.uint8))
    assert state["points"]["shape"] == [2]
    assert state["points"]["data"].dtype == np.uint8
    assert state["points"]["data"].tobytes() == np.array([1.5, 2.5]).tobytes()
    assert state["_anywidget_id"] == f"{__name__}.Counter"
    # the plumbing of ipywidgets never travels; the module and CSS are assets
    for never in ("_model_name", "_view_module", "layout", "_dom_classes", "tooltip", "hidden"):
        assert never not in state
    esm, css = (host.get_state()[k] for k in ("_esm", "_css"))
    refs = list(host.references())
    assert [r.id for r in refs[:2]] == [esm, css]
    assert isinstance(refs[0], AnyAsset) and refs[0].text == ESM
    # it encodes (binary frame) and decodes back
    frame = p.encode(p.Add(seq=1, models={host.id: spec}))
    assert isinstance(frame.data, (bytes, bytearray, memoryview))


def test_a_browser_sets_only_the_widgets_own_traits() -> None:
    host = mirror(Counter())
    # read-only, references, the module, the CSS and the plumbing: never
    assert host.settable() == ["blob", "points", "value"]


def test_browser_values_go_through_from_json_and_validation() -> None:
    c = Counter()
    seen: list[Any] = []
    c.observe(lambda ch: seen.append(ch["new"]), names="value")
    host = mirror(c)
    host._apply_client_state("value", 7)
    assert c.value == 7 and seen == [7]
    # binary from a browser arrives as an array and reaches from_json as a memoryview
    data = np.frombuffer(np.array([4.0, 5.0]).tobytes(), dtype=np.uint8)
    host._apply_client_state("points", {"shape": [2], "data": data})
    np.testing.assert_array_equal(c.points, [4.0, 5.0])
    host._apply_client_state("blob", np.frombuffer(b"hi", dtype=np.uint8))
    assert c.blob == b"hi"  # a Bytes trait without from_json gets bytes
    # refused: wrong type, a from_json that chokes, not settable; nothing changes
    for name, bad in [("value", "x"), ("points", {"shape": [3]}), ("frozen", "y"), ("_esm", "")]:
        with pytest.raises(traitlets.TraitError):
            host._apply_client_state(name, bad)
    assert c.value == 7 and c.frozen == "x"


def test_python_changes_are_patches_from_any_trait() -> None:
    c = Counter()
    host = mirror(c)
    sent = attach(wb.Dashboard("d", wb.Column(c)))
    c.value = 5
    c.blob = b"\x07"
    patches = [m for _, m in sent if isinstance(m, p.Patch)]
    assert [pa.state.get("value") for pa in patches[:1]] == [5]
    np.testing.assert_array_equal(patches[1].state["blob"], [7])
    assert all(pa.model == host.id for pa in patches)


def test_references_travel_as_ids_and_join_the_document() -> None:
    a, b = Counter(value=1), Counter(value=2)
    slider = ipywidgets.IntSlider(5)
    a.child = b
    ha, hb = mirror(a), mirror(b)
    dash = wb.Dashboard("d", wb.Column(a))
    assert ha.get_state()["child"] == f"IPY_MODEL_{hb.id}"
    assert hb.id in dash.members  # the referenced widget joined the document
    sent = attach(dash)
    a.child = slider  # an ipywidget: its native mirror joins first, then the patch
    kinds = [type(m).__name__ for _, m in sent]
    assert kinds == ["Add", "Patch"]
    slider_mirror = mirror(slider)
    assert slider_mirror.id in sent[0][1].models
    assert sent[1][1].state == {"child": f"IPY_MODEL_{slider_mirror.id}"}
    assert "child" not in ha.settable()


def test_module_and_css_are_shared_assets_and_follow_changes() -> None:
    one, two = Counter(), Counter()
    h1, h2 = mirror(one), mirror(two)
    assert h1.get_state()["_esm"] == h2.get_state()["_esm"]  # one asset for both
    dash = wb.Dashboard("d", wb.Column(one, two))
    assets = [m for m in dash.members.values() if isinstance(m, AnyAsset)]
    assert len(assets) == 2  # the module and the CSS, once each
    sent = attach(dash)
    one._esm = "export default { render() {} };"  # what anywidget's FileContents does
    add, patch = (m for _, m in sent)
    assert isinstance(add, p.Add) and isinstance(patch, p.Patch)
    (new_id,) = add.models
    assert add.models[new_id]["state"]["text"] == "export default { render() {} };"
    assert patch.state == {"_esm": new_id}
    assert h2.get_state()["_esm"] != new_id  # the other widget keeps its module


def test_esm_from_a_file_through_filecontents(tmp_path: Path) -> None:
    js = tmp_path / "widget.js"
    js.write_text(ESM, encoding="utf-8")

    class FromFile(anywidget.AnyWidget):
        _esm = js

    assert type(FromFile.__dict__["_esm"]).__name__ == "FileContents"
    w = FromFile()
    host = mirror(w)
    (asset,) = [r for r in host.references() if isinstance(r, AnyAsset)]
    assert asset.text == ESM
    # the file changes: anywidget's watcher sets the trait, the page gets the new module
    js.write_text("export default { render() {} };", encoding="utf-8")
    contents = FromFile.__dict__["_esm"]
    contents._contents = None
    contents.changed.emit(str(contents))
    assert w._esm == "export default { render() {} };"
    (asset,) = [r for r in host.references() if isinstance(r, AnyAsset)]
    assert asset.text == "export default { render() {} };"


def test_wb_anywidget_takes_anywidgets_filecontents() -> None:
    from drawdata import ScatterWidget

    class Mine(wb.AnyWidget):
        _esm = ScatterWidget._esm  # a FileContents, as anywidget made it
        _css = ScatterWidget._css
        data = traitlets.List([]).tag(sync=True)

    state = Mine().get_state()
    assert state["_esm"] == str(ScatterWidget._esm) and "render" in state["_esm"]
    assert state["_css"] == str(ScatterWidget._css)


def test_custom_messages_both_ways_with_buffers() -> None:
    c = Counter()
    host = mirror(c)
    sent = attach(wb.Dashboard("d", wb.Column(c)))
    c.send({"kind": "hi"}, [b"\x01\x02", memoryview(np.array([1.5]))])
    (msg,) = [m for _, m in sent if isinstance(m, p.Custom)]
    assert msg.model == host.id and msg.content == {"kind": "hi"}
    assert [b.dtype for b in msg.buffers] == [np.uint8, np.uint8]
    assert msg.buffers[1].tobytes() == np.array([1.5]).tobytes()
    got: list[Any] = []
    c.on_msg(lambda w, content, buffers: got.append((w, content, buffers)))
    host._fire_msg({"kind": "back"}, [np.arange(3, dtype=np.float32)])
    ((w, content, buffers),) = got
    assert w is c and content == {"kind": "back"}
    assert isinstance(buffers[0], memoryview)
    assert bytes(buffers[0]) == np.arange(3, dtype=np.float32).tobytes()


def test_plotly_figure_is_reread_when_an_update_closes() -> None:
    import plotly.graph_objects as go

    fig = go.FigureWidget(data=[go.Scatter(y=np.zeros(3))])
    host = mirror(fig)
    sent = attach(wb.Dashboard("d", wb.Column(fig)))
    fig.data[0].y = np.array([1.0, 2.0, 3.0])
    patches = [m.state for _, m in sent if isinstance(m, p.Patch)]
    # a restyle sets values: the re-read figure travels in its own patch
    message = next(s for s in patches if s.get("_py2js_restyle"))
    assert message["_py2js_restyle"]["restyle_data"]["y"] is not None
    y = message["_widget_data"][0]["y"]
    assert y["dtype"] == "float64"
    np.testing.assert_array_equal(np.frombuffer(y["buffer"].tobytes()), [1.0, 2.0, 3.0])
    # the document's state is the current figure (what a page loading now gets)
    assert host.get_state()["_widget_data"][0]["y"] is y
    # adding a trace would apply twice: the figure comes when the update closes
    sent.clear()
    fig.add_scatter(y=[1.0, 2.0])
    patches = [m.state for _, m in sent if isinstance(m, p.Patch)]
    adding = next(s for s in patches if s.get("_py2js_addTraces"))
    assert "_widget_data" not in adding
    closing = next(s for s in patches if "_py2js_addTraces" in s and s is not adding)
    assert len(closing["_widget_data"]) == 2
    # what Plotly's page sets without a trait behind it is dropped, as in Jupyter
    assert "_js2py_widget_layoutDelta" in host.settable()
    before = host.get_state()
    host._apply_client_state("_js2py_widget_layoutDelta", {"layout_delta": {}})
    assert host.get_state().keys() == before.keys()


def test_wb_anywidget_follows_a_changing_filecontents() -> None:
    from anywidget._file_contents import VirtualFileContents

    module = VirtualFileContents(ESM)

    class Live(wb.AnyWidget):
        _esm = module
        value = traitlets.Int(0).tag(sync=True)

    w = Live()
    sent = attach(wb.Dashboard("d", wb.Column(w)))
    module.contents = "export default { render() {} };"
    assert [m.state for _, m in sent] == [{"_esm": "export default { render() {} };"}]
    assert w.get_state()["_esm"] == "export default { render() {} };"
