"""Patch ``ipywidgets.Output`` as soon as ipywidgets is imported (stdlib only).

wsbridge captures what ``with out:`` prints (widgets/ipycapture.py). The
class must be patched before the first capture, which ``interact`` makes
while it builds its widget, before anything is mirrored; so ``import
wsbridge`` calls :func:`install`, which patches at once when ipywidgets is
loaded already, else when its ``widget_output`` module is. This module
imports nothing else, so ``import wsbridge`` stays light.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

__all__ = ["install"]

_MODULE = "ipywidgets.widgets.widget_output"


def _patch(module: ModuleType) -> None:
    from .ipycapture import patch_output

    patch_output(module.Output)


class _Finder(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader of ipywidgets' output module."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != _MODULE:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)  # once, and so the search below skips us
        spec = importlib.util.find_spec(fullname)
        loader: Any = spec.loader if spec is not None else None
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module

        def run(module: ModuleType) -> None:
            exec_module(module)
            _patch(module)

        loader.exec_module = run
        return spec


def install() -> None:
    """Patch ``ipywidgets.Output`` now, or when it is imported."""
    module = sys.modules.get(_MODULE)
    if module is not None and hasattr(module, "Output"):
        _patch(module)
    elif not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
