"""``wsbridge.ipy``: ipywidgets mirroring, under the name users already import.

The implementation lives in :mod:`wsbridge.widgets.ipywidgets`; this module
re-exports its public names so ``wsbridge.ipy.mirror`` keeps working.
"""

from __future__ import annotations

from .widgets.ipywidgets import is_ipywidget, mirror, mirrored, supported

__all__ = ["is_ipywidget", "mirror", "mirrored", "supported"]
