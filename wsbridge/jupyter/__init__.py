"""wsbridge inside Jupyter: the server extension (the hub) and its entry points.

``pip install wsbridge`` enables the extension through
``etc/jupyter/jupyter_server_config.d/wsbridge.json``; the hub is then served
at ``<base_url>wsbridge/`` behind Jupyter's own authentication, and kernels
started by that server publish to it (``wsbridge.runtime.remote``). See docs/jupyter.md.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "_jupyter_server_extension_points",
]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """Jupyter's discovery hook; imports jupyter_server only when asked."""
    from .extension import WsbridgeApp

    return [{"module": "wsbridge.jupyter.extension", "app": WsbridgeApp}]
