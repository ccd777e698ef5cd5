"""Models and dashboards on the producer side (no hub, no sockets)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import traitlets

import wsbridge as wb
from wsbridge import wire as p
from wsbridge.widgets import sync as _sync


class Sink:
    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []

    def __call__(self, name: str, message: Any) -> None:
        self.sent.append((name, message))


def attach(dash: wb.Dashboard) -> tuple[Sink, list[p.Add]]:
    sink, created = Sink(), []
    dash._attach(None, sink, created.append)  # type: ignore[arg-type]
    return sink, created


def test_slider_state_settable_and_clamping() -> None:
    s = wb.Slider(value=1.0, min=0.0, max=10.0, step=0.5, label="f")
    assert s.get_state() == {
        "value": 1.0,
        "min": 0.0,
        "max": 10.0,
        "step": 0.5,
        "label": "f",
        "disabled": False,
    }
    assert s.settable() == ["value"]
    s._apply_client_state("value", 42)
    assert s.value == 10.0
    with pytest.raises(traitlets.TraitError):
        s._apply_client_state("value", "x")
    with pytest.raises(traitlets.TraitError):
        s._apply_client_state("value", float("nan"))
    with pytest.raises(traitlets.TraitError):
        wb.Slider(step=0)


def test_ids_are_unique_and_models_reference_by_id() -> None:
    a, b = wb.Slider(), wb.Slider()
    col = wb.Column(a, b)
    assert a.id != b.id
    assert col.get_state()["children"] == [a.id, b.id]
    assert set(col.references()) == {a, b}
    assert col.settable() == []


def test_dashboard_spec_holds_everything_reachable() -> None:
    src = wb.DataSource({"x": np.arange(3.0), "y": np.zeros(3)})
    s = wb.Slider()
    root = wb.Column(wb.Row(s), wb.Sparkline(src))
    dash = wb.Dashboard("main", root, title="T")
    _, created = attach(dash)
    spec = created[0]
    assert spec.root == root.id and spec.title == "T"
    assert s.id in spec.models and src.id in spec.sources
    assert spec.models[s.id]["settable"] == ["value"]


def test_changes_flow_in_order_and_new_children_are_added_first() -> None:
    s = wb.Slider()
    col = wb.Column(s)
    dash = wb.Dashboard("main", col)
    sink, _ = attach(dash)
    s.value = 3.0
    late = wb.Label("hi")
    col.children = [*col.children, late]
    kinds = [type(m).__name__ for _, m in sink.sent]
    assert kinds == ["Patch", "Add", "Patch"]
    assert late.id in sink.sent[1][1].models
    assert sink.sent[2][1].state == {"children": [s.id, late.id]}
    late.value = "changed"  # the late child is tracked too
    assert sink.sent[-1][1].state == {"value": "changed"}


def test_patch_carries_the_origin_of_a_browser_set() -> None:
    s = wb.Slider()
    sink, _ = attach(wb.Dashboard("main", wb.Column(s)))
    token = _sync.ORIGIN.set({"session": "c9", "req": 4})
    try:
        s._apply_client_state("value", 2.0)
    finally:
        _sync.ORIGIN.reset(token)
    s.value = 5.0
    assert sink.sent[0][1].origin == {"session": "c9", "req": 4}
    assert sink.sent[1][1].origin is None


def test_button_click_and_events() -> None:
    b = wb.Button("go")
    clicks: list[Any] = []
    b.on_click(clicks.append)
    b._fire_event("click", None)
    assert clicks == [b]
    with pytest.raises(ValueError):
        b.on_event("hover", print)


def test_custom_messages_both_ways() -> None:
    b = wb.Button()
    sink, _ = attach(wb.Dashboard("main", b))
    b.send({"k": 1}, [b"abc"])
    msg = sink.sent[0][1]
    assert isinstance(msg, p.Custom) and msg.content == {"k": 1}
    assert msg.buffers[0].tobytes() == b"abc"
    got: list[Any] = []
    b.on_msg(lambda m, content, bufs: got.append(content))
    b._fire_msg({"x": 2}, [])
    assert got == [{"x": 2}]


def test_dashboard_names_are_validated() -> None:
    for bad in ("", "a/b", "x" * 200):
        with pytest.raises(ValueError):
            wb.Dashboard(bad)
    with pytest.raises(TypeError):
        wb.Dashboard("ok").add(object())  # type: ignore[arg-type]


class _RunningBridge:
    """Just what a dashboard's display reads of a started bridge."""

    running = True

    def page_url(self, path: str) -> str:
        return "http://hub.test/" + path


def test_a_bare_model_displays_the_dashboard_that_shows_it() -> None:
    freq = wb.Slider(value=2.0, label="<f>")
    dash = wb.Dashboard("main", wb.Column(wb.Row(freq)), title="Main")
    dash._bridge = _RunningBridge()  # type: ignore[assignment]
    shown = freq._repr_html_()
    assert shown == dash._repr_html_()  # nested two levels deep: the same page
    assert '<iframe src="http://hub.test/d/main" title="Main"' in shown
    assert dash.root is not None and dash.root._repr_html_() == shown


def test_a_bare_model_not_served_says_what_to_do() -> None:
    freq = wb.Slider(value=2.0, label="<f>")
    shown = freq._repr_html_()
    assert "<iframe" not in shown
    assert "<code>Slider(" in shown and "label=&#x27;&lt;f&gt;&#x27;" in shown  # escaped
    assert "not published" in shown and "bridge.dashboard(" in shown

    bridge = wb.Bridge(port=0)  # never started: no thread, no socket
    dash = bridge.dashboard("main", wb.Column(freq))
    shown = freq._repr_html_()
    assert "<iframe" not in shown and "not published" not in shown
    assert "&#x27;main&#x27;" in shown and "no running bridge serves" in shown
    assert dash._repr_html_().startswith("<code>&lt;Dashboard ")  # escaped too

    bridge.dashboard("main", wb.Column(wb.Label()))  # replaced: freq is in no dashboard
    assert "not published" in freq._repr_html_()
