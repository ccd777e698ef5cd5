"""``Plot`` and ``DataSource.bokeh`` without a browser: the state a Plot
sends, ids tying Bokeh sources to wsbridge sources, shared sources, the
BokehJS route, and a clear error when Bokeh is missing."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import urllib.request
from typing import Any

import numpy as np
import pytest

import wsbridge as wb
from tests.helpers.common import http_get
from wsbridge.server.pages import bokeh_static_dir

pytest.importorskip("bokeh")
import bokeh
from bokeh.layouts import column
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure


def cds_json(item: dict[str, Any], cds_id: str) -> dict[str, Any]:
    """The full JSON object of model ``cds_id`` in a Plot's figure."""
    stack: list[Any] = [item["doc"]]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("id") == cds_id and node.get("type") == "object":
                return node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    raise AssertionError(f"{cds_id} not in the figure")


def test_bokeh_source_has_the_columns_and_initial_data_and_is_cached() -> None:
    x = np.arange(4.0)
    src = wb.DataSource({"x": x, "y": np.ones(4), "name": list("abcd")})
    cds = src.bokeh
    assert isinstance(cds, ColumnDataSource)
    assert src.bokeh is cds
    assert sorted(cds.data) == ["name", "x", "y"]
    assert list(cds.data["x"]) == list(x)
    assert cds.data["name"] == list("abcd")
    # its own arrays: writing the Bokeh source never reaches ours
    assert not np.shares_memory(cds.data["x"], src.data["x"])
    assert wb.DataSource({"x": [1.0]}).bokeh is not cds


def test_plot_state_carries_the_figure_without_the_tied_data() -> None:
    src = wb.DataSource({"x": np.arange(1000.0), "y": np.zeros(1000)})
    static = ColumnDataSource({"a": [1, 2], "b": [3, 4]})
    fig = figure(title="t")
    fig.line("x", "y", source=src.bokeh)
    fig.scatter("a", "b", source=static)
    plot = wb.Plot(fig)
    spec = plot._spec()
    assert spec["type"] == "Plot"
    assert spec["settable"] == [] and spec["events"] == []
    state = spec["state"]
    assert state["source_ids"] == {src.bokeh.id: src.id}
    assert state["sources"] == [src.id]
    assert state["bokeh_version"] == bokeh.__version__
    assert state["figure"]["root_id"] == fig.id
    tied = cds_json(state["figure"], src.bokeh.id)
    assert tied["attributes"]["data"] == {"type": "map", "entries": [["x", []], ["y", []]]}
    # a plain ColumnDataSource keeps its data: it is static
    untied = cds_json(state["figure"], static.id)
    assert untied["attributes"]["data"]["entries"][0][0] == "a"
    # 1000 float rows would be ~10 kB base64; the figure does not carry them
    assert len(json.dumps(state["figure"])) < 10_000
    assert list(plot.references()) == [src]


def test_several_plots_share_a_source() -> None:
    src = wb.DataSource({"x": np.arange(3.0), "y": np.zeros(3)})
    f1, f2 = figure(), figure()
    f1.line("x", "y", source=src.bokeh)
    f2.scatter("x", "y", source=src.bokeh)
    p1, p2, both = wb.Plot(f1), wb.Plot(f2), wb.Plot(column(f1, f2))
    for p in (p1, p2, both):
        assert p.source_ids == {src.bokeh.id: src.id}
        assert p.sources == [src]
    dash = wb.Dashboard("d", wb.Column(p1, p2, both))
    spec = dash._full_spec()
    assert list(spec.sources) == [src.id]  # one source, once
    assert {p1.id, p2.id, both.id} <= set(spec.models)


def test_a_plot_of_two_sources_and_refresh() -> None:
    a = wb.DataSource({"x": [0.0], "y": [1.0]})
    b = wb.DataSource({"x": [0.0], "y": [2.0]})
    fig = figure(title="one")
    fig.line("x", "y", source=a.bokeh)
    plot = wb.Plot(fig)
    changes: list[str] = []
    plot.observe(lambda c: changes.append(c["name"]), names=["figure", "sources", "source_ids"])
    fig.line("x", "y", source=b.bokeh)
    fig.title.text = "two"
    plot.refresh()
    assert set(plot.source_ids.values()) == {a.id, b.id}
    assert plot.sources == [a, b] or plot.sources == [b, a]
    assert changes.index("sources") < changes.index("figure")
    assert "two" in json.dumps(plot.figure)
    other = figure()
    plot.fig = other
    assert plot.fig is other and plot.sources == [] and plot.figure["root_id"] == other.id


def test_plot_refuses_what_is_not_a_bokeh_model() -> None:
    with pytest.raises(TypeError, match="Bokeh figure"):
        wb.Plot("not a figure")


def test_bokeh_missing_gives_a_clear_import_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "bokeh", None)  # `import bokeh` now raises ImportError
    src = wb.DataSource({"x": [1.0]})
    with pytest.raises(ImportError, match=r"pip install 'wsbridge\[plot\]'"):
        _ = src.bokeh
    with pytest.raises(ImportError, match="need Bokeh"):
        wb.Plot(object())


def test_import_wsbridge_works_without_bokeh() -> None:
    code = textwrap.dedent(
        """
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == "bokeh" or name.startswith("bokeh."):
                    raise ImportError("no bokeh here")
        sys.meta_path.insert(0, Block())
        import wsbridge as wb
        from wsbridge.server.pages import BOKEH_DIR
        assert wb.Plot and not (BOKEH_DIR / "bokeh.min.js").exists()
        try:
            wb.DataSource({"x": [1.0]}).bokeh
        except ImportError as exc:
            print("ok:", exc)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert "ok:" in out.stdout and "wsbridge[plot]" in out.stdout


def test_the_hub_serves_bokehjs_from_the_installed_package(bridge: wb.Bridge) -> None:
    static = bokeh_static_dir()
    assert static is not None
    with urllib.request.urlopen(bridge.url + "static/bokeh/bokeh.min.js", timeout=10) as resp:
        body = resp.read()
        assert resp.headers["Content-Type"].startswith("text/javascript")
    assert body == (static / "bokeh.min.js").read_bytes()
    assert bokeh.__version__.encode() in body
    # the client's own modules are still served beside it
    with urllib.request.urlopen(bridge.url + "static/views/plot.js", timeout=10) as resp:
        assert b"PLOT_VIEWS" in resp.read()
    assert http_get(bridge.url + "static/bokeh/../../plot.py").status in (403, 404)


def test_bundles_follow_what_the_figure_uses() -> None:
    from bokeh.models import DataTable, Slider

    plain = figure()
    plain.line([0, 1], [1, 0])
    assert wb.Plot(plain).bundles == []
    gl = figure(output_backend="webgl")
    gl.line([0, 1], [1, 0])
    assert wb.Plot(gl).bundles == ["bokeh-gl"]
    table = DataTable(source=ColumnDataSource({"a": [1]}))
    assert wb.Plot(column(plain, Slider(start=0, end=1, value=0), table)).bundles == [
        "bokeh-widgets",
        "bokeh-tables",
    ]
