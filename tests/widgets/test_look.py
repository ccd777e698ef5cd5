"""The default look's Python side: themes (values, errors, how they travel
and reach the page), per-viewer Tabs and Cards, Grid widths, Table formats,
a Plot's dark overrides, and the demo without Bokeh."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pytest
import traitlets

import wsbridge as wb
from wsbridge.hub.theme import check_accent, document_theme
from wsbridge.server.pages import render_page


# -- theme values and their errors
@pytest.mark.parametrize(
    ("theme", "mode", "accent"),
    [
        ("dark", "dark", ""),
        ("light", "light", ""),
        ("auto", "auto", ""),
        ({"mode": "dark", "accent": "#7c3aed"}, "dark", "#7c3aed"),
        ({"accent": "teal"}, "auto", "teal"),
        ({"accent": " rgb(124 58 237 / 0.9) "}, "auto", "rgb(124 58 237 / 0.9)"),
        ({"accent": "oklch(0.55 0.2 290)"}, "auto", "oklch(0.55 0.2 290)"),
    ],
)
def test_a_theme_from_a_string_or_a_dict(theme: Any, mode: str, accent: str) -> None:
    t = wb.Theme.coerce(theme)
    assert t is not None and (t.mode, t.accent) == (mode, accent)


@pytest.mark.parametrize(
    ("theme", "error", "match"),
    [
        ("blue", ValueError, r"theme mode must be one of 'auto', 'light', 'dark', not 'blue'"),
        ("Dark", ValueError, "theme mode must be one of"),
        ({"mode": "night"}, ValueError, "not 'night'"),
        ({"colour": "red"}, ValueError, r"keys 'mode' and 'accent', not 'colour'"),
        ({"accent": "blurple"}, ValueError, r"CSS colour such as '#7c3aed'.*not 'blurple'"),
        ({"accent": "#12"}, ValueError, "CSS colour"),
        ({"accent": "red; background: url(x)"}, ValueError, "CSS colour"),
        ({"accent": 'rgb(1 2 3)"><script>'}, ValueError, "CSS colour"),
        ({"accent": 7}, ValueError, "CSS colour string, not int"),
        (123, TypeError, r"theme must be one of .* or a wsbridge.Theme, not int"),
        (["dark"], TypeError, "not list"),
    ],
)
def test_a_bad_theme_says_what_is_accepted(theme: Any, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        wb.Theme.coerce(theme)
    with pytest.raises(error, match=match):
        wb.Bridge().dashboard("x", wb.Label("x"), theme=theme)
    with pytest.raises(error, match=match):
        wb.Bridge().app("x", lambda dash: wb.Label("x"), theme=theme)


def test_a_theme_model_validates_its_traits() -> None:
    t = wb.Theme()
    assert (t.mode, t.accent) == ("auto", "")
    with pytest.raises(traitlets.TraitError, match="theme mode must be one of"):
        t.mode = "sepia"
    with pytest.raises(traitlets.TraitError, match="CSS colour"):
        t.accent = "url(evil)"
    assert t.settable() == []  # a browser sets nothing of it


def test_the_theme_travels_as_a_model_of_the_document() -> None:
    dash = wb.Dashboard("d", wb.Label("x"), theme={"mode": "dark", "accent": "#7c3aed"})
    assert isinstance(dash.theme, wb.Theme) and dash.get(dash.theme.id) is dash.theme
    spec = dash._full_spec()
    assert spec.models[dash.theme.id]["type"] == "Theme"
    assert document_theme(spec.models) == ("dark", "#7c3aed")
    plain = wb.Dashboard("p", wb.Label("x"))
    assert plain.theme is None and document_theme(plain._full_spec().models) is None
    # assigning later adds it, or updates the one there (every page follows)
    plain.theme = "light"
    assert plain.theme is not None and plain.theme.mode == "light"
    first = plain.theme
    plain.theme = {"mode": "dark", "accent": "teal"}
    assert plain.theme is first and (first.mode, first.accent) == ("dark", "teal")


def test_the_page_carries_the_theme_from_the_first_paint() -> None:
    page = render_page("T", "../", "d", theme=("dark", "#7c3aed"))
    assert '<html lang="en" data-wsbridge-theme="dark" style="--wsbridge-accent: #7c3aed">' in page
    assert "followTheme(client, document.documentElement)" in page
    assert '<html lang="en"><head>' in render_page("T", "../", "d")
    # a remote producer's document is not trusted: a bad value is left out
    assert "data-wsbridge-theme" not in render_page("T", "../", "d", theme=("x", ""))
    assert "<script>alert" not in render_page("T", "../", "d", theme=("dark", "<script>alert"))
    bad = {"m": {"type": "Theme", "state": {"mode": "neon", "accent": "javascript:x"}}}
    assert document_theme(bad) == ("auto", "")
    assert check_accent("RebeccaPurple") == "RebeccaPurple"


def test_an_embedded_bridge_serves_the_page_in_its_theme(bridge: wb.Bridge) -> None:
    from tests.helpers.common import http_get

    bridge.dashboard("dark", wb.Label("x"), theme={"mode": "dark", "accent": "#7c3aed"})
    bridge.dashboard("plain", wb.Label("x"))
    body = http_get(bridge.url + "d/dark").body
    assert 'data-wsbridge-theme="dark" style="--wsbridge-accent: #7c3aed"' in body
    assert "data-wsbridge-theme" not in http_get(bridge.url + "d/plain").body


# -- per-viewer Tabs and Cards
def test_tabs_and_cards_are_per_viewer_unless_shared() -> None:
    a, b = wb.Label("a"), wb.Label("b")
    tabs = wb.Tabs(a, b)
    assert tabs.shared is False and "selected" in tabs.get_state()
    with pytest.raises(traitlets.TraitError, match="per viewer"):
        tabs._apply_client_state("selected", 1)
    assert tabs.selected == 0
    tabs.selected = 1  # Python still moves every page
    shared = wb.Tabs(a, b, shared=True)
    shared._apply_client_state("selected", 1)
    assert shared.selected == 1
    card = wb.Card(a, title="T")
    with pytest.raises(traitlets.TraitError, match="per viewer"):
        card._apply_client_state("collapsed", True)
    wb.Card(a, title="T", shared=True)._apply_client_state("collapsed", True)


def test_ipywidgets_tabs_and_accordions_stay_shared() -> None:
    widgets = pytest.importorskip("ipywidgets")
    from wsbridge.ipy import mirror

    tab = mirror(widgets.Tab([widgets.Label("1"), widgets.Label("2")]))
    assert isinstance(tab, wb.Tabs) and tab.shared is True
    acc = mirror(widgets.Accordion([widgets.Label("1")]))
    assert all(card.shared for card in acc.children)


# -- Grid widths, Table formats, Progress
def test_grid_widths_set_the_columns() -> None:
    g = wb.Grid(wb.Label("a"), wb.Label("b"), widths=[3, 1])
    assert g.columns == 2 and g.widths == [3.0, 1.0] and g.gap == ""
    g.widths = [1, 1, 2]
    assert g.columns == 3
    with pytest.raises(traitlets.TraitError, match="positive"):
        g.widths = [1, 0]


def test_table_formats_are_checked() -> None:
    src = wb.DataSource({"x": np.arange(3.0)})
    assert wb.Table(src, formats={"x": "{:,.2f}"}).formats == {"x": "{:,.2f}"}
    with pytest.raises(traitlets.TraitError, match=r"bad Table format '\{:\.2q\}' for column 'x'"):
        wb.Table(src, formats={"x": "{:.2q}"})


def test_progress_is_out_of_max_100_by_default() -> None:
    assert wb.Progress(0.62).max == 100.0  # 0.62 %: the docstring says so
    assert wb.Progress(0.62, max=1).value == 0.62
    assert "Progress(0.62, max=1)" in (wb.Progress.__doc__ or "")


# -- plots follow the theme
def test_a_plot_carries_its_dark_overrides() -> None:
    pytest.importorskip("bokeh")
    from bokeh.plotting import figure

    from wsbridge.widgets.plot import SURFACE

    src = wb.DataSource({"x": np.arange(3.0), "y": np.zeros(3)})
    fig = figure(title="t", x_axis_label="x")
    fig.line("x", "y", source=src.bokeh)
    plot = wb.Plot(fig)
    names = {name for attrs in plot.dark.values() for name in attrs}
    assert {"background_fill_color", "major_label_text_color", "grid_line_color"} <= names
    assert SURFACE in {v for attrs in plot.dark.values() for v in attrs.values()}
    # the light figure is untouched by computing them
    assert "#161b22" not in str(plot.figure)
    # an explicit colour wins over the theme
    fig.background_fill_color = "#ffeedd"
    plot.refresh()
    assert "background_fill_color" not in plot.dark.get(fig.id, {})
    assert "border_fill_color" in plot.dark.get(fig.id, {})


def test_the_demo_draws_a_sparkline_without_bokeh(monkeypatch: pytest.MonkeyPatch) -> None:
    from wsbridge.demo import demo_plot

    src = wb.DataSource({"t": np.zeros(0), "signal": np.zeros(0)})
    assert type(demo_plot(src)).__name__ == "Plot"
    monkeypatch.setitem(sys.modules, "bokeh", None)  # `import bokeh` raises ImportError
    monkeypatch.setitem(sys.modules, "bokeh.plotting", None)
    monkeypatch.setitem(sys.modules, "bokeh.models", None)
    fallback = demo_plot(src)
    assert isinstance(fallback, wb.Column)
    kinds = [type(c).__name__ for c in fallback.children]
    assert kinds == ["Sparkline", "Markdown"] and "pip install" in fallback.children[1].value
