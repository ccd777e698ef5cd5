"""wsbridge: keep Python objects and browser widgets in step over a WebSocket.

>>> import wsbridge as wb
>>> with wb.Bridge() as bridge:                       # doctest: +SKIP
...     s = wb.Slider(value=1.0, min=0.0, max=10.0, label="f")
...     bridge.dashboard("main", wb.Column(s))
...     print(bridge.url + "d/main")
"""

from __future__ import annotations

from typing import Any

from .bridge import Bridge
from .custom import AnyWidget, Widget
from .dashboard import Dashboard
from .models import Button, Column, Label, Model, Row, Slider, Sparkline
from .plot import Plot
from .protocol import PROTOCOL_VERSION, ProtocolError
from .sources import DataSource
from .table import Table
from .widgets import (
    HTML,
    Card,
    Grid,
    Markdown,
    MultiSelect,
    Number,
    NumberInput,
    Progress,
    RangeSlider,
    Select,
    Tabs,
    TextInput,
    Toggle,
)

__version__ = "0.1.0"


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """Jupyter server extension discovery (the ``wsbridge`` key in jpserver_extensions)."""
    from .jupyter import _jupyter_server_extension_points as points

    return points()


__all__ = [
    "HTML",
    "PROTOCOL_VERSION",
    "AnyWidget",
    "Bridge",
    "Button",
    "Card",
    "Column",
    "Dashboard",
    "DataSource",
    "Grid",
    "Label",
    "Markdown",
    "Model",
    "MultiSelect",
    "Number",
    "NumberInput",
    "Plot",
    "Progress",
    "ProtocolError",
    "RangeSlider",
    "Row",
    "Select",
    "Slider",
    "Sparkline",
    "Table",
    "Tabs",
    "TextInput",
    "Toggle",
    "Widget",
    "__version__",
]
