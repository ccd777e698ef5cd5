"""The widget set on the producer side: validation, clamping, what a browser may set."""

from __future__ import annotations

from typing import Any

import pytest
import traitlets

import wsbridge as wb
from wsbridge import wire as p


def attach(dash: wb.Dashboard) -> list[tuple[str, Any]]:
    sent: list[tuple[str, Any]] = []
    dash._attach(None, lambda name, msg: sent.append((name, msg)), lambda spec: None)  # type: ignore[arg-type]
    return sent


def refused(model: wb.Model, name: str, value: Any) -> None:
    before = getattr(model, name)
    with pytest.raises(traitlets.TraitError):
        model._apply_client_state(name, value)
    assert getattr(model, name) == before


SETTABLE = {
    wb.RangeSlider: ["value"],
    wb.Toggle: ["value"],
    wb.Select: ["value"],
    wb.MultiSelect: ["value"],
    wb.TextInput: ["value"],
    wb.NumberInput: ["value"],
    wb.Markdown: [],
    wb.HTML: [],
    wb.Number: [],
    wb.Progress: [],
    wb.Grid: [],
    wb.Tabs: ["selected"],
    wb.Card: ["collapsed"],
}


@pytest.mark.parametrize("cls", list(SETTABLE), ids=lambda c: c.__name__)
def test_browsers_set_only_the_value_like_properties(cls: type[wb.Model]) -> None:
    model = cls()
    assert model._type == cls.__name__
    assert model.settable() == SETTABLE[cls]
    spec = model._spec()
    assert spec["type"] == cls.__name__ and spec["settable"] == SETTABLE[cls]
    for never in ("label", "options", "min", "max", "step", "titles", "title", "format"):
        assert never not in model.settable()


def test_range_slider_clamps_each_end_and_refuses_inverted_pairs() -> None:
    with pytest.raises(ValueError, match="outside"):  # a typo when building it
        wb.RangeSlider((2, 8), min=0, max=5)
    r = wb.RangeSlider((2, 4), min=0, max=5, step=0.5, label="band")
    r.value = (2, 8)  # assigning clamps, as ipywidgets does
    assert r.value == (2.0, 5.0)
    assert r.get_state() == {
        "value": [2.0, 5.0],
        "min": 0.0,
        "max": 5.0,
        "step": 0.5,
        "label": "band",
        "disabled": False,
    }
    r._apply_client_state("value", [-1, 3])  # JSON lists are accepted
    assert r.value == (0.0, 3.0)
    refused(r, "value", [4, 3])
    refused(r, "value", [1])
    refused(r, "value", [1, float("nan")])
    refused(r, "value", "1,2")
    r.max = 2.0  # new bounds re-clamp the value
    assert r.value == (0.0, 2.0)
    with pytest.raises(traitlets.TraitError):
        r.min = 3.0
    with pytest.raises(traitlets.TraitError):
        wb.RangeSlider(step=0)
    assert wb.RangeSlider().value == (0.0, 10.0)


def test_toggle_is_a_bool() -> None:
    t = wb.Toggle(label="on")
    t._apply_client_state("value", True)
    assert t.value is True
    refused(t, "value", "yes")


def test_select_options_list_or_dict_and_values_in_them() -> None:
    s = wb.Select(["a", "b", "c"])
    assert s.value == "a"  # the first option by default
    assert s.get_state()["options"] == [["a", "a"], ["b", "b"], ["c", "c"]]
    s._apply_client_state("value", "c")
    assert s.value == "c"
    refused(s, "value", "z")
    d = wb.Select({"One": 1, "Pair": (2, 3), "10": "ten"}, value=1)
    # pairs keep the order even of integer-like labels (a JSON object would not)
    assert d.get_state()["options"] == [["One", 1], ["Pair", [2, 3]], ["10", "ten"]]
    d._apply_client_state("value", [2, 3])  # a JSON list matches the tuple option
    assert d.value == (2, 3)
    refused(d, "value", "One")  # labels are not values
    d.options = {"x": 9}  # the value left the options: back to the first
    assert d.value == 9
    assert wb.Select().value is None
    with pytest.raises(traitlets.TraitError):
        wb.Select(["a"], value="b")


def test_multiselect_values_are_options_in_option_order() -> None:
    m = wb.MultiSelect(["a", "b", "c"], value=["c", "a", "a"])
    assert m.value == ["a", "c"]
    m._apply_client_state("value", ["b"])
    assert m.value == ["b"]
    refused(m, "value", ["b", "zz"])
    refused(m, "value", "b")
    m.options = ["b", "d"]
    assert m.value == ["b"]
    m.options = ["d"]
    assert m.value == []


def test_text_input() -> None:
    t = wb.TextInput("hi", placeholder="name", max_length=5)
    assert t.get_state()["continuous"] is False
    t._apply_client_state("value", "hello")
    refused(t, "value", "too long")
    refused(t, "value", 3)


def test_number_input_clamps_to_optional_bounds() -> None:
    n = wb.NumberInput(50, min=0, max=10)
    assert n.value == 10.0
    n._apply_client_state("value", -3)
    assert n.value == 0.0
    refused(n, "value", "7")
    refused(n, "value", float("inf"))
    free = wb.NumberInput(1e9, step=None)
    assert free.value == 1e9 and free.get_state()["step"] is None
    n.min = 5.0
    assert n.value == 5.0
    with pytest.raises(traitlets.TraitError):
        n.max = 1.0
    with pytest.raises(traitlets.TraitError):
        wb.NumberInput(step=-1)


def test_number_indicator_format_and_colours() -> None:
    n = wb.Number(1234.5, label="Revenue", format="{:,.1f} €", colors=[(100, "red"), (0, "blue")])
    assert n.text == "1,234.5 €"
    assert n.get_state()["colors"] == [[0.0, "blue"], [100.0, "red"]]  # sorted
    assert n.color() == "red"
    n.value = -1
    assert n.color() == "blue"
    n.value = None
    assert n.text == "\u2013"
    assert wb.Number(0.256, format="{value:.1%}").text == "25.6%"
    for bad in ("{:q}", "{:d}", "{", "{x}"):
        with pytest.raises(traitlets.TraitError):
            wb.Number(format=bad)


def test_progress_clamps_and_may_be_indeterminate() -> None:
    assert wb.Progress(150, max=100).value == 100.0
    assert wb.Progress(-1).value == 0.0
    assert wb.Progress().value is None
    with pytest.raises(traitlets.TraitError):
        wb.Progress(max=0)


def test_layouts_reference_their_children() -> None:
    a, b, c = wb.Label("a"), wb.Label("b"), wb.Label("c")
    g = wb.Grid(a, b, c, columns=3, gap="1em")
    assert g.get_state() == {
        "children": [a.id, b.id, c.id],
        "columns": 3,
        "widths": [],
        "gap": "1em",
    }
    assert set(g.references()) == {a, b, c}
    with pytest.raises(traitlets.TraitError):
        wb.Grid(columns=0)
    t = wb.Tabs(a, b, titles=["A", "B"], shared=True)
    t._apply_client_state("selected", 7)  # clamped to the children
    assert t.selected == 1
    refused(t, "selected", "1")
    t.children = [a]
    assert t.selected == 0
    card = wb.Card(a, title="T", shared=True)
    card._apply_client_state("collapsed", True)
    assert card.collapsed is True
    fixed = wb.Card(b, title="T", collapsible=False)
    refused(fixed, "collapsed", True)


def test_a_disabled_control_refuses_browser_values_and_clicks() -> None:
    t = wb.Toggle(disabled=True)
    refused(t, "value", True)
    t.value = True  # Python still can
    s = wb.Slider(disabled=True)
    refused(s, "value", 3.0)
    b = wb.Button("go", disabled=True)
    clicks: list[Any] = []
    b.on_click(clicks.append)
    b._fire_event("click", None)
    assert clicks == []
    b.disabled = False
    b._fire_event("click", None)
    assert clicks == [b]


def test_children_added_from_python_reach_the_document_first() -> None:
    first = wb.Toggle()
    tabs = wb.Tabs(first, titles=["one"])
    sent = attach(wb.Dashboard("main", wb.Card(tabs, title="c")))
    late = wb.Select(["x"])
    tabs.children = [*tabs.children, late]
    kinds = [type(m).__name__ for _, m in sent]
    assert kinds == ["Add", "Patch"]
    add = sent[0][1]
    assert isinstance(add, p.Add) and add.models[late.id]["state"]["options"] == [["x", "x"]]
    assert add.models[late.id]["settable"] == ["value"]
    late.options = ["y", "z"]  # the wire form of options, then the value that followed
    assert sent[-2][1].state == {"options": [["y", "y"], ["z", "z"]]}
    assert sent[-1][1].state == {"value": "y"}
