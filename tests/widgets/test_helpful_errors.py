"""Mistakes a new user makes get messages that name the argument, what was
given and what is expected (issue: "errors that help")."""

from __future__ import annotations

import numpy as np
import pytest
import traitlets

import wsbridge as wb
from wsbridge.widgets.dashboard import Dashboard


def test_dashboard_name_must_be_a_string() -> None:
    with pytest.raises(TypeError) as info:
        Dashboard(123)  # type: ignore[arg-type]
    text = str(info.value)
    assert "name" in text and "123" in text and "str" in text


def test_dashboard_root_must_be_a_widget() -> None:
    with pytest.raises(TypeError) as info:
        Dashboard("x", "hello")  # type: ignore[arg-type]
    text = str(info.value)
    assert "root" in text and "'hello'" in text and "wb.Markdown" in text


def test_dashboard_title_must_be_a_string() -> None:
    with pytest.raises(TypeError, match="title"):
        Dashboard("x", wb.Label("a"), 5)  # type: ignore[arg-type]


def test_dashboard_add_names_what_it_takes() -> None:
    dash = Dashboard("x")
    with pytest.raises(TypeError) as info:
        dash.add(3.5)  # type: ignore[arg-type]
    assert "3.5" in str(info.value) and "DataSource" in str(info.value)


def test_bridge_dashboard_says_the_same(bridge: wb.Bridge) -> None:
    with pytest.raises(TypeError, match=r"name must be a str.*123"):
        bridge.dashboard(123)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="root"):
        bridge.dashboard("x", "hello")  # type: ignore[arg-type]
    assert "x" not in bridge.dashboards


def test_streaming_a_2d_array_into_a_1d_column() -> None:
    src = wb.DataSource({"x": np.zeros(3)})
    with pytest.raises(ValueError) as info:
        src.stream({"x": np.zeros((2, 2))})
    text = str(info.value)
    assert "'x'" in text and "(2, 2)" in text and "1-D" in text
    assert len(src.data["x"]) == 3  # nothing half-appended


def test_streaming_1d_into_a_2d_column() -> None:
    src = wb.DataSource({"img": np.zeros((3, 2))})
    with pytest.raises(ValueError) as info:
        src.stream({"img": np.zeros(2)})
    text = str(info.value)
    assert "(2,)" in text and "(n, 2)" in text


@pytest.mark.parametrize("cls", [wb.Slider, wb.RangeSlider])
def test_slider_refuses_min_above_max(cls: type[wb.Model]) -> None:
    with pytest.raises(ValueError) as info:
        cls(min=5, max=1)
    text = str(info.value)
    assert "min=5" in text and "max=1" in text


def test_slider_refuses_a_value_out_of_range_at_construction() -> None:
    with pytest.raises(ValueError) as info:
        wb.Slider(value=20, max=10)
    text = str(info.value)
    assert "value=20" in text and "min=0" in text and "max=10" in text


def test_range_slider_refuses_a_value_out_of_range_at_construction() -> None:
    with pytest.raises(ValueError, match=r"value=\(2.*20"):
        wb.RangeSlider(value=(2, 20), min=0, max=10)


def test_slider_assignment_clamps_as_ipywidgets_does() -> None:
    ipywidgets = pytest.importorskip("ipywidgets")
    ours, theirs = wb.Slider(value=5, max=10), ipywidgets.FloatSlider(value=5, max=10)
    ours.value = theirs.value = 20
    assert ours.value == theirs.value == 10
    ours.value = theirs.value = -3
    assert ours.value == theirs.value == 0
    # bounds moved past the value take it along, and min > max is refused
    ours.value = theirs.value = 5
    ours.min = theirs.min = 7
    assert ours.value == theirs.value == 7
    with pytest.raises(traitlets.TraitError, match="min"):
        ours.min = 11
    with pytest.raises(traitlets.TraitError):
        theirs.min = 11
    ours.max = 8
    assert ours.value == 7
    ours.max = 7.5
    ours.value = 9
    assert ours.value == 7.5


def test_good_sliders_still_build() -> None:
    assert wb.Slider(value=1.0, min=0.0, max=10.0, step=0.5, label="f").value == 1.0
    assert wb.Slider(value=50, max=100).value == 50
    assert wb.Slider().value == 0.0
    assert wb.RangeSlider(value=(2, 3)).value == (2.0, 3.0)
