"""The example notebooks run top to bottom under nbclient, each bounded in time.

The kernel nbclient starts has no Jupyter server as its parent (its
``JPY_PARENT_PID`` is this pytest process), so
``wb.Bridge()`` in it is an embedded hub: the notebooks must work there as
they do under a server (tests/jupyter/test_jupyter_server.py covers that side).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.helpers.common import REPO, require

NOTEBOOKS = REPO / "notebooks"


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "name",
    [
        "01-quickstart.ipynb",
        "02-streaming.ipynb",
        "03-ipywidgets-dashboard.ipynb",
        "04-custom-widget.ipynb",
    ],
)
def test_notebook_runs_top_to_bottom(name: str, tmp_path: Path) -> None:
    try:
        import nbformat
        from nbclient import NotebookClient
    except ImportError:  # pragma: no cover - the test extra
        require(False, "nbclient and nbformat", 'pip install -e ".[test]"')
        raise
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(
        nb,
        timeout=30,  # per cell
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    started = time.monotonic()
    client.execute()
    assert time.monotonic() - started < 45
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    shown = [o for o in outputs if o.output_type == "execute_result"]
    html = [o["data"]["text/html"] for o in shown if "text/html" in o.get("data", {})]
    assert any("<iframe" in h for h in html), "a dashboard displays inline"
    plain = [o["data"].get("text/plain") for o in shown]
    if name.startswith("01"):
        assert "(3.0, '3.0')" in plain
    if name.startswith("03"):  # the mirror followed Python; a browser drag reached Python
        assert "'sine at level 7 (armed)'" in plain
        assert "(4, 'sine at level 4 (armed)')" in plain
    if name.startswith("04"):  # the value a page sees; a custom message each way
        assert "41" in plain
        assert "([{'clicked': 3}], [{'reset': True}, {'thanks': {'clicked': 3}}])" in plain
