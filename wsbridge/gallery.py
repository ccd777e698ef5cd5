"""The gallery: every control and indicator of the widget set on one page.

``wsbridge demo`` serves it at ``d/gallery``; docs/screenshot.py takes its
pictures (light, dark, desktop and phone widths) and the look tests in
tests/browser/test_look_browser.py measure it: controls line up, numbers
are formatted, the theme applies. Nothing here streams; it is a still life
you can play with (every control is live, as everywhere).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

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
from .widgets.display import Label, Markdown, Number, Progress, Sparkline
from .widgets.layout import Card, Column, Grid, Row, Tabs
from .widgets.source import DataSource
from .widgets.table import Table

if TYPE_CHECKING:
    from .runtime.bridge import Bridge
    from .widgets.dashboard import Dashboard

__all__ = [
    "GALLERY_NAME",
    "GALLERY_TITLE",
    "Gallery",
    "build_gallery",
]

GALLERY_NAME = "gallery"
GALLERY_TITLE = "wsbridge gallery"

NOTES = """\
**Markdown**, rendered and sanitised in the browser: *emphasis*, `code`,
[links](https://github.com), lists and code blocks.

1. Tabs and folded cards are **per viewer**: yours alone.
2. `wb.Tabs(..., shared=True)` makes one tab for everyone.

```python
bridge.dashboard("main", root, theme={"mode": "dark", "accent": "#7c3aed"})
```
"""


class Gallery:
    """The gallery's widgets, by name (tests reach them here), and its layout."""

    def __init__(self) -> None:
        rng = np.random.default_rng(7)
        n = 40
        t = np.linspace(0.0, 6.0, 240)
        self.wave = DataSource({"t": t, "y": np.sin(t * 2.1) + 0.25 * np.sin(t * 9.0)})
        self.data = DataSource(
            {
                "id": np.arange(1, n + 1, dtype=np.int64),
                "name": [f"sensor-{i:02d}" for i in range(1, n + 1)],
                "ratio": rng.random(n) * 0.09,
                "reading": rng.normal(50.0, 30.0, n),
                "total": rng.random(n) * 2e6,
                "ok": rng.random(n) > 0.2,
            }
        )

        # indicators
        self.throughput = Number(1234.5678, label="throughput (rows/s)", format="{:,.1f}")
        self.errors = Number(
            0.0123,
            label="error rate",
            format="{:.2%}",
            colors=[(0.01, "#16a34a"), (0.05, "#d97706"), (1.0, "#dc2626")],
        )
        self.upload = Progress(62, label="Progress(62)")
        self.busy = Progress(None, label="None: busy")
        self.fraction = Progress(0.62, max=1, label="0.62, max=1")
        self.small = Progress(0.62, label="Progress(0.62)")

        # inputs
        self.slider = Slider(2.5, min=0, max=10, step=0.5, label="frequency (Hz)")
        self.range = RangeSlider((20, 75), min=0, max=100, step=1, label="band (%)")
        self.number_input = NumberInput(3.14, min=0, max=10, step=0.01, label="threshold")
        self.text = TextInput("run 42", label="run name", placeholder="a name")
        self.notes = TextInput("", rows=3, label="notes", placeholder="anything worth keeping")
        self.select = Select(["sine", "square", "sawtooth"], value="sine", label="waveform")
        self.multi = MultiSelect(
            ["temperature", "pressure", "humidity", "wind"],
            value=["pressure", "wind"],
            size=4,
            label="channels",
        )
        self.live = Toggle(True, label="live updates")
        self.log = Toggle(False, label="log scale")
        self.run = Button("Run")
        self.reset = Button("Reset")
        self.disabled = Button("Disabled", disabled=True)

        # layout
        self.markdown = Markdown(NOTES)
        self.table = Table(self.data, page_size=8, label="sensors")
        self.sparkline = Sparkline(self.wave, x="t", y="y", height=90)
        self.label = Label("A Label: plain text, never HTML.")
        self.tabs = Tabs(
            self.markdown,
            Column(self.sparkline, self.label),
            titles=["Notes", "Sparkline"],
        )
        self.folded = Card(
            Markdown("Folded and unfolded **per viewer** (`shared=False`, the default)."),
            title="A collapsible card",
            collapsible=True,
        )

        self.root = Column(
            Grid(
                Card(self.throughput),
                Card(self.errors),
                Card(Column(self.upload, self.busy)),
                Card(Column(self.fraction, self.small)),
                columns=4,
            ),
            Grid(
                Card(
                    self.slider,
                    self.range,
                    Row(self.number_input, self.text),
                    self.notes,
                    title="Inputs",
                ),
                Card(
                    self.select,
                    self.multi,
                    Row(self.live, self.log),
                    Row(self.run, self.reset, self.disabled),
                    title="Choices and actions",
                ),
                columns=2,
            ),
            Grid(
                Card(self.tabs, title="Tabs"),
                Column(
                    self.folded,
                    Card(
                        Row(
                            Number(42, label="a Number", format="{:.0f}"),
                            Progress(30, label="a Progress"),
                            Button("Go"),
                        ),
                        title="A Row: labels on one line",
                    ),
                ),
                widths=[3, 2],
            ),
            Card(self.table, title="Table: numbers by dtype, right-aligned"),
        )


def build_gallery(
    bridge: Bridge, name: str = GALLERY_NAME, theme: Any = None
) -> tuple[Dashboard, Gallery]:
    """Publish the gallery on ``bridge`` at ``d/<name>``; returns the
    dashboard and the ``Gallery`` (its widgets)."""
    gallery = Gallery()
    dash = bridge.dashboard(name, gallery.root, title=GALLERY_TITLE, theme=theme)
    return dash, gallery
