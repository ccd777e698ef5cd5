"""ipywidgets Output in a real ipykernel: an Output wsbridge shows captures in
Python (nothing reaches the cell), one it does not show keeps ipywidgets'
own behaviour (its output goes to the kernel's iopub for a front end)."""

from __future__ import annotations

import os
import textwrap
from typing import Any

import pytest

from tests.helpers.common import REPO

jupyter_client = pytest.importorskip("jupyter_client")
pytest.importorskip("ipywidgets")

CODE = textwrap.dedent(
    """
    import ipywidgets as W
    from IPython.display import Markdown, display
    import wsbridge
    from wsbridge.ipy import mirror

    shown, plain = W.Output(), W.Output()
    mirror(shown)
    with shown:
        print("captured in python")
        display(Markdown("**rich**"))
        1 / 0
    with plain:
        print("for the front end")
    print("RESULT", [o["output_type"] for o in shown.outputs], len(plain.outputs),
          mirror(shown).outputs[1]["kind"])
    """
)


def test_an_output_in_a_kernel() -> None:
    km = jupyter_client.KernelManager(kernel_name="python3")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    km.start_kernel(env=env)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        seen: list[dict[str, Any]] = []
        reply = kc.execute_interactive(CODE, timeout=60, output_hook=seen.append)
        assert reply["content"]["status"] == "ok", reply["content"]
        streams = [m["content"]["text"] for m in seen if m["msg_type"] == "stream"]
        text = "".join(streams)
        assert "RESULT ['stream', 'display_data', 'error'] 0 markdown" in text
        assert "for the front end" in text  # ipywidgets' way: the kernel sends it
        assert "captured in python" not in text  # captured: nothing reached the cell
        assert not [m for m in seen if m["msg_type"] in ("display_data", "error")]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
