"""wsbridge: keep Python objects and browser widgets in step over a WebSocket.

>>> import wsbridge as wb
>>> with wb.Bridge() as bridge:                       # doctest: +SKIP
...     s = wb.Slider(value=1.0, min=0.0, max=10.0, label="f")
...     bridge.dashboard("main", wb.Column(s))
...     print(bridge.url + "d/main")
"""

from __future__ import annotations

from .bridge import Bridge
from .dashboard import Dashboard
from .models import Button, Column, Label, Model, Row, Slider, Sparkline
from .protocol import PROTOCOL_VERSION, ProtocolError
from .sources import DataSource

__version__ = "0.1.0"

__all__ = [
    "PROTOCOL_VERSION",
    "Bridge",
    "Button",
    "Column",
    "Dashboard",
    "DataSource",
    "Label",
    "Model",
    "ProtocolError",
    "Row",
    "Slider",
    "Sparkline",
    "__version__",
]
