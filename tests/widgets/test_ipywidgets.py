"""ipywidgets mirroring without sockets: the mapping, two-way sync, echo
guard, placeholders, caching, ``traitlets.link`` and the layout hooks."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import traitlets

import wsbridge as wb
from wsbridge.ipy import is_ipywidget, mirror, mirrored, supported

W = pytest.importorskip("ipywidgets")


def values(widget: Any, name: str = "value") -> list[Any]:
    """Record what ``widget``'s observers see."""
    seen: list[Any] = []
    widget.observe(lambda change: seen.append(change["new"]), names=[name])
    return seen


def browser_sets(model: wb.Model, name: str, value: Any) -> None:
    """What the bridge does with a browser's ``set``."""
    model._apply_client_state(name, value)


# -- mapping


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda: W.IntSlider(), wb.Slider),
        (lambda: W.FloatSlider(), wb.Slider),
        (lambda: W.IntRangeSlider(), wb.RangeSlider),
        (lambda: W.Checkbox(), wb.Toggle),
        (lambda: W.ToggleButton(), wb.Toggle),
        (lambda: W.Dropdown(options=["a"]), wb.Select),
        (lambda: W.SelectMultiple(options=["a"]), wb.MultiSelect),
        (lambda: W.Text(), wb.TextInput),
        (lambda: W.Textarea(), wb.TextInput),
        (lambda: W.IntText(), wb.NumberInput),
        (lambda: W.FloatText(), wb.NumberInput),
        (lambda: W.BoundedIntText(), wb.NumberInput),
        (lambda: W.Button(), wb.Button),
        (lambda: W.Label(), wb.Label),
        (lambda: W.HTML(), wb.HTML),
        (lambda: W.IntProgress(), wb.Progress),
        (lambda: W.FloatProgress(), wb.Progress),
        (lambda: W.HBox(), wb.Row),
        (lambda: W.VBox(), wb.Column),
        (lambda: W.GridBox(), wb.Grid),
        (lambda: W.Tab(), wb.Tabs),
        (lambda: W.Accordion(), wb.Column),
    ],
)
def test_each_widget_maps_to_its_native_view(make: Any, kind: type) -> None:
    m = mirror(make())  # a subclass carrying _layout/_style (ipystyle.styled)
    assert isinstance(m, kind) and m._type == kind._type


def test_slider_traits_map_and_int_values_stay_ints() -> None:
    s = W.IntSlider(3, min=1, max=9, step=2, description="n", disabled=True)
    m = mirror(s)
    assert (m.value, m.min, m.max, m.step, m.label, m.disabled) == (3, 1, 9, 2, "n", True)
    m.disabled = False
    seen = values(s)
    browser_sets(m, "value", 6.6)
    assert s.value == 7 and type(s.value) is int and seen == [7]
    assert m.value == 7.0  # the ipywidget's rounding comes back to browsers


def test_python_changes_reach_the_mirror_with_new_bounds_at_once() -> None:
    s = W.FloatSlider(1.0, min=0, max=10, step=0.5)
    m = mirror(s)
    with s.hold_trait_notifications():
        s.max = 200.0
        s.value = 150.0
    assert (m.max, m.value) == (200.0, 150.0)  # not clamped to the old max
    s.description = "gain"
    assert m.label == "gain"
    m.label = "from the mirror"  # Python may change either side
    assert s.description == "from the mirror"


def test_range_slider_two_way() -> None:
    r = W.IntRangeSlider(value=(2, 5), min=0, max=10)
    m = mirror(r)
    assert m.value == (2.0, 5.0)
    browser_sets(m, "value", [1, 8])
    assert r.value == (1, 8) and all(type(v) is int for v in r.value)
    r.value = (3, 4)
    assert m.value == (3.0, 4.0)


def test_toggle_and_text_two_way() -> None:
    c = W.Checkbox(False, description="on")
    m = mirror(c)
    seen = values(c)
    browser_sets(m, "value", True)
    assert c.value is True and seen == [True]
    c.value = False
    assert m.value is False

    t = W.Text("a", placeholder="name", continuous_update=False)
    mt = mirror(t)
    assert (mt.value, mt.placeholder, mt.continuous) == ("a", "name", False)
    browser_sets(mt, "value", "hello")
    assert t.value == "hello"


def test_number_input_bounded_and_int() -> None:
    b = W.BoundedIntText(5, min=0, max=10)
    m = mirror(b)
    assert (m.min, m.max, m.value) == (0.0, 10.0, 5.0)
    browser_sets(m, "value", 3.4)
    assert b.value == 3 and type(b.value) is int and m.value == 3.0
    f = W.FloatText(1.5)
    mf = mirror(f)
    assert mf.min is None and mf.max is None
    browser_sets(mf, "value", 2.25)
    assert f.value == 2.25


def test_dropdown_travels_by_index_so_any_value_works() -> None:
    token = object()
    d = W.Dropdown(options=[("first", token), ("second", 2)], description="pick")
    m = mirror(d)
    assert m.options == {"first": 0, "second": 1} and m.value == 0 and m.label == "pick"
    seen = values(d)
    browser_sets(m, "value", 1)
    assert d.value == 2 and seen == [2]
    d.value = token
    assert m.value == 0
    d.options = ["x", "y", "z"]
    assert m.options == {"x": 0, "y": 1, "z": 2}
    with pytest.raises(traitlets.TraitError):
        browser_sets(m, "value", 7)  # not an option: refused by the model


def test_duplicate_option_labels_stay_distinct() -> None:
    d = W.Dropdown(options=[("a", 1), ("a", 2)])
    assert list(mirror(d).options) == ["a", "a (2)"]


def test_select_multiple_two_way() -> None:
    s = W.SelectMultiple(options=["a", "b", "c"], value=["b"], rows=3)
    m = mirror(s)
    assert m.value == [1] and m.size == 3
    browser_sets(m, "value", [0, 2])
    assert s.value == ("a", "c")
    s.value = ("b",)
    assert m.value == [1]


def test_button_click_reaches_the_ipywidget_handlers() -> None:
    b = W.Button(description="go")
    clicks: list[Any] = []
    b.on_click(clicks.append)
    m = mirror(b)
    assert m.label == "go"
    m._fire_event("click", {})
    assert clicks == [b]
    b.disabled = True
    m._fire_event("click", {})  # disabled: nothing happens
    assert clicks == [b]


def test_label_html_progress_follow_python() -> None:
    lab, html = W.Label("x"), W.HTML("<b>y</b>")
    ml, mh = mirror(lab), mirror(html)
    lab.value, html.value = "x2", "<i>z</i>"
    assert (ml.value, mh.value) == ("x2", "<i>z</i>")
    p = W.FloatProgress(5, min=2, max=12, description="load")
    mp = mirror(p)
    assert (mp.value, mp.max, mp.label) == (3.0, 10.0, "load")
    p.value = 12
    assert mp.value == 10.0


def test_box_children_follow_live() -> None:
    a, b = W.IntSlider(), W.Checkbox()
    box = W.VBox([a])
    m = mirror(box)
    assert m.children == [mirror(a)]
    box.children = (a, b)
    assert m.children == [mirror(a), mirror(b)]
    box.children = (b,)
    assert m.children == [mirror(b)]


def test_tab_titles_and_selection() -> None:
    t = W.Tab([W.Label("1"), W.Label("2")], titles=("One", ""))
    m = mirror(t)
    assert m.titles == ["One", "Tab 2"] and m.selected == 0
    browser_sets(m, "selected", 1)
    assert t.selected_index == 1
    t.set_title(1, "Two")
    assert m.titles == ["One", "Two"]


def test_accordion_is_a_column_of_cards_one_open() -> None:
    acc = W.Accordion([W.Label("a"), W.Label("b")], titles=("A", "B"))
    m = mirror(acc)
    cards = m.children
    assert [(c.title, c.collapsed) for c in cards] == [("A", True), ("B", True)]
    browser_sets(cards[1], "collapsed", False)
    assert acc.selected_index == 1
    acc.selected_index = 0
    assert [c.collapsed for c in cards] == [False, True]
    browser_sets(cards[0], "collapsed", True)
    assert acc.selected_index is None
    acc.children = (*acc.children, W.Label("c"))
    assert len(m.children) == 3 and m.children[:2] == cards
    acc.children = acc.children[:1]
    assert m.children == cards[:1]


def test_unsupported_is_a_visible_placeholder() -> None:
    pad = W.Controller()
    m = mirror(pad)
    assert isinstance(m, wb.Label) and m.value == "unsupported ipywidget: Controller"
    # a password is never shown, though it is a Text subclass (ipypickers.Password)
    assert "value" not in mirror(W.Password(value="secret")).get_state()
    col = wb.Column(W.HBox([W.Controller(), W.IntSlider()]))
    inner = col.children[0]
    assert inner.children[0].value == "unsupported ipywidget: Controller"


def test_mirrors_are_cached_per_widget() -> None:
    s = W.IntSlider()
    assert mirrored(s) is None
    col = wb.Column(s)
    row = wb.Row(children=[s])
    assert col.children[0] is row.children[0] is mirror(s) is mirrored(s)
    with pytest.raises(TypeError):
        mirror(wb.Slider())
    assert is_ipywidget(s) and not is_ipywidget(wb.Slider())
    assert "IntSlider" in supported()


def test_subclasses_map_like_their_base() -> None:
    class MySlider(W.IntSlider):  # type: ignore[misc]
        pass

    assert isinstance(mirror(MySlider()), wb.Slider)


def test_ipywidget_observer_changing_itself_converges() -> None:
    s = W.IntSlider(0, max=100)
    s.observe(lambda c: setattr(s, "description", f"v={c['new']}"), names=["value"])
    m = mirror(s)
    browser_sets(m, "value", 42)
    assert (s.value, m.value, m.label) == (42, 42.0, "v=42")


def test_a_refused_value_snaps_the_mirror_back() -> None:
    s = W.IntSlider(1, max=10)

    def refuse(change: Any) -> None:
        raise ValueError("no")

    s.observe(refuse, names=["value"])
    m = mirror(s)
    with pytest.raises(ValueError):
        browser_sets(m, "value", 5)
    assert m.value == float(s.value)


def test_traitlets_link_between_ipywidgets_and_models() -> None:
    s, native = W.IntSlider(2, max=50), wb.Slider(0, max=50)
    link = traitlets.link((s, "value"), (native, "value"))
    assert native.value == 2
    native.value = 7  # a Python (or browser) change of the native model
    assert s.value == 7
    s.value = 9
    assert native.value == 9
    link.unlink()

    # and the other way round: a native control driving an ipywidget's mirror
    c, tog = W.Checkbox(False), wb.Toggle(False)
    traitlets.dlink((tog, "value"), (c, "value"))
    m = mirror(c)
    browser_sets(tog, "value", True)
    assert c.value is True and m.value is True


def test_dashboard_and_add_accept_ipywidgets() -> None:
    box = W.VBox([W.IntSlider(), W.Checkbox()])
    dash = wb.Dashboard("ipy", box)
    assert dash.root is mirror(box)
    assert {mirror(c).id for c in box.children} <= set(dash.members)
    extra = W.Label("x")
    assert dash.add(extra) is mirror(extra)
    assert mirror(extra).id in dash.members


def test_new_children_are_added_to_the_document_before_the_patch() -> None:
    box = W.HBox([])
    dash = wb.Dashboard("ipy2", box)
    sent: list[Any] = []
    dash._sink = lambda name, message: sent.append(message)
    new = W.IntSlider()
    box.children = (new,)
    assert [m.type for m in sent] == ["add", "patch"]
    assert mirror(new).id in sent[0].models


def test_wsbridge_imports_without_ipywidgets() -> None:
    code = (
        "import sys; sys.modules['ipywidgets'] = None\n"
        "import wsbridge, wsbridge.ipy\n"
        "c = wsbridge.Column(wsbridge.Label('x'))\n"
        "assert not wsbridge.ipy.is_ipywidget(c)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_textarea_is_mirrored_as_a_multiline_text_input() -> None:
    area = W.Textarea("first\nsecond", rows=4)
    m = mirror(area)
    assert isinstance(m, wb.TextInput) and m.rows == 4 and m.value == "first\nsecond"
    assert mirror(W.Text("x")).rows == 1
