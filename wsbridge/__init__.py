"""wsbridge: keep Python objects and browser widgets in step over a WebSocket.

>>> import wsbridge as wb
>>> with wb.Bridge() as bridge:                       # doctest: +SKIP
...     s = wb.Slider(value=1.0, min=0.0, max=10.0, label="f")
...     bridge.dashboard("main", wb.Column(s))
...     print(bridge.url + "d/main")

Imports are lazy (PEP 562): ``import wsbridge.wire`` or ``wsbridge.hub``
loads no Tornado and no traitlets; ``wb.Bridge`` loads the runtime the first
time it is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> the module that defines it
_EXPORTS: dict[str, str] = {
    "PROTOCOL_VERSION": "wsbridge.wire.codec",
    "ProtocolError": "wsbridge.errors",
    "WsbridgeError": "wsbridge.errors",
    "ConnectionFailed": "wsbridge.errors",
    "StateError": "wsbridge.errors",
    "Bridge": "wsbridge.runtime.bridge",
    "AnyWidget": "wsbridge.widgets.anywidget",
    "Widget": "wsbridge.widgets.anywidget",
    "Button": "wsbridge.widgets.controls",
    "MultiSelect": "wsbridge.widgets.controls",
    "NumberInput": "wsbridge.widgets.controls",
    "RangeSlider": "wsbridge.widgets.controls",
    "Select": "wsbridge.widgets.controls",
    "Slider": "wsbridge.widgets.controls",
    "TextInput": "wsbridge.widgets.controls",
    "Toggle": "wsbridge.widgets.controls",
    "Dashboard": "wsbridge.widgets.dashboard",
    "FileDownload": "wsbridge.widgets.files",
    "FileInput": "wsbridge.widgets.files",
    "UploadedFile": "wsbridge.widgets.files",
    "HTML": "wsbridge.widgets.display",
    "Label": "wsbridge.widgets.display",
    "Markdown": "wsbridge.widgets.display",
    "Number": "wsbridge.widgets.display",
    "Progress": "wsbridge.widgets.display",
    "Sparkline": "wsbridge.widgets.display",
    "Card": "wsbridge.widgets.layout",
    "Column": "wsbridge.widgets.layout",
    "Grid": "wsbridge.widgets.layout",
    "Row": "wsbridge.widgets.layout",
    "Tabs": "wsbridge.widgets.layout",
    "Model": "wsbridge.widgets.model",
    "Image": "wsbridge.widgets.media",
    "Matplotlib": "wsbridge.widgets.media",
    "Plot": "wsbridge.widgets.plot",
    "Query": "wsbridge.widgets.query",
    "Session": "wsbridge.widgets.session",
    "session": "wsbridge.widgets.session",
    "PlotlyPlot": "wsbridge.widgets.plotly",
    "DataSource": "wsbridge.widgets.source",
    "Table": "wsbridge.widgets.table",
    "Theme": "wsbridge.widgets.theme",
}

__all__ = [
    "HTML",
    "PROTOCOL_VERSION",
    "AnyWidget",
    "Bridge",
    "Button",
    "Card",
    "Column",
    "ConnectionFailed",
    "Dashboard",
    "DataSource",
    "FileDownload",
    "FileInput",
    "Grid",
    "Image",
    "Label",
    "Markdown",
    "Matplotlib",
    "Model",
    "MultiSelect",
    "Number",
    "NumberInput",
    "Plot",
    "PlotlyPlot",
    "Progress",
    "ProtocolError",
    "Query",
    "RangeSlider",
    "Row",
    "Select",
    "Session",
    "Slider",
    "Sparkline",
    "StateError",
    "Table",
    "Tabs",
    "TextInput",
    "Theme",
    "Toggle",
    "UploadedFile",
    "Widget",
    "WsbridgeError",
    "__version__",
    "session",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'wsbridge' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


def _install_ipywidgets_hook() -> None:
    """ipywidgets' Output captures in Python from its first use (widgets/ipyhook.py)."""
    from .widgets import ipyhook

    ipyhook.install()


_install_ipywidgets_hook()


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """Jupyter server extension discovery (the ``wsbridge`` key in jpserver_extensions)."""
    from .jupyter import _jupyter_server_extension_points as points

    return points()


if TYPE_CHECKING:  # what a type checker and an IDE see
    from .errors import ConnectionFailed, ProtocolError, StateError, WsbridgeError
    from .runtime.bridge import Bridge
    from .widgets.anywidget import AnyWidget, Widget
    from .widgets.controls import (
        Button,
        MultiSelect,
        NumberInput,
        RangeSlider,
        Select,
        Slider,
        TextInput,
        Toggle,
    )
    from .widgets.dashboard import Dashboard
    from .widgets.display import HTML, Label, Markdown, Number, Progress, Sparkline
    from .widgets.files import FileDownload, FileInput, UploadedFile
    from .widgets.layout import Card, Column, Grid, Row, Tabs
    from .widgets.media import Image, Matplotlib
    from .widgets.model import Model
    from .widgets.plot import Plot
    from .widgets.plotly import PlotlyPlot
    from .widgets.query import Query
    from .widgets.session import Session, session
    from .widgets.source import DataSource
    from .widgets.table import Table
    from .widgets.theme import Theme
    from .wire.codec import PROTOCOL_VERSION
