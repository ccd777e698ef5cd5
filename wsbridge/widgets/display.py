"""Display widgets: labels, text, Markdown, HTML, numbers, progress, sparklines."""

from __future__ import annotations

from typing import Any

import traitlets
from traitlets import (
    Float,
    Instance,
    Int,
    List,
    Tuple,
    Unicode,
    validate,
)

from .controls import _finite
from .model import Model
from .source import DataSource

__all__ = [
    "HTML",
    "Label",
    "Markdown",
    "Number",
    "Progress",
    "Sparkline",
]


class Label(Model):
    """Text, always rendered as text (never HTML)."""

    _type = "Label"
    _client_settable = frozenset()
    value = Unicode("").tag(sync=True)

    def __init__(self, value: str = "", **kwargs: Any) -> None:
        super().__init__(value=value, **kwargs)


class Sparkline(Model):
    """A light canvas line chart of two columns of a ``DataSource``.

    For real plots use Bokeh figures (the widget set); this one needs nothing
    but the bundled client and follows streams as they land.
    """

    _type = "Sparkline"
    _client_settable = frozenset()
    source = Instance(DataSource).tag(sync=True, ref=True)
    x = Unicode("x").tag(sync=True)
    y = Unicode("y").tag(sync=True)
    height = Int(120).tag(sync=True)
    color = Unicode("#1f77b4").tag(sync=True)

    def __init__(self, source: DataSource, **kwargs: Any) -> None:
        super().__init__(source=source, **kwargs)


class Markdown(Model):
    """Markdown, rendered and sanitised in the browser.

    The client's own renderer (js/src/views/markdown.js) builds DOM nodes for a
    safe subset: headings, paragraphs, emphasis, inline and fenced code,
    lists, block quotes, rules and links whose ``href`` is http(s), mailto
    or relative. Everything else, raw HTML included, shows as text: no
    script, no event-handler attribute, no ``javascript:`` URL can come
    out of it.
    """

    _type = "Markdown"
    _client_settable = frozenset()
    value = Unicode("").tag(sync=True)

    def __init__(self, value: str = "", **kwargs: Any) -> None:
        super().__init__(value=value, **kwargs)


class HTML(Model):
    """RAW, UNSAFE HTML: ``value`` is assigned to the element's ``innerHTML``.

    Nothing is sanitised. Only pass markup you wrote yourself; never text
    that came from a user, a file or the network (that is cross-site
    scripting waiting to happen). For text use :class:`~wsbridge.Label`;
    for formatted text :class:`Markdown`.
    """

    _type = "HTML"
    _client_settable = frozenset()
    value = Unicode("").tag(sync=True)

    def __init__(self, value: str = "", **kwargs: Any) -> None:
        super().__init__(value=value, **kwargs)


class Number(Model):
    """A big-number indicator: ``label`` over ``value`` formatted by ``format``.

    ``format`` is a Python format string with one replacement field,
    ``{}``, ``{0}`` or ``{value}``, whose spec the client implements for
    the common cases: fill/align/width, sign, ``,`` and ``_`` grouping,
    precision and the types ``f``, ``%``, ``e``, ``g``, ``d`` (e.g.
    ``"{:,.2f} €"``, ``"{:.1%}"``). ``colors`` is a list of
    ``(threshold, css colour)``: the value takes the colour of the first
    threshold (in increasing order) that it does not exceed, and the last
    colour above them all; ``default_color`` without thresholds. ``None``
    shows a dash.
    """

    _type = "Number"
    _client_settable = frozenset()

    value = Float(None, allow_none=True).tag(sync=True)
    label = Unicode("").tag(sync=True)
    format = Unicode("{:,.2f}").tag(sync=True)
    colors = List(Tuple(Float(), Unicode())).tag(sync=True)
    default_color = Unicode("").tag(sync=True)

    def __init__(self, value: float | None = None, **kwargs: Any) -> None:
        super().__init__(value=value, **kwargs)

    @validate("format")
    def _check_format(self, proposal: Any) -> str:
        fmt = str(proposal["value"])
        try:
            fmt.format(1.5, value=1.5)
        except (ValueError, IndexError, KeyError) as exc:
            raise traitlets.TraitError(f"bad Number format {fmt!r}: {exc}") from exc
        return fmt

    @validate("colors")
    def _sorted_colors(self, proposal: Any) -> list[tuple[float, str]]:
        pairs = [(_finite(t, "a Number threshold"), str(c)) for t, c in proposal["value"]]
        return sorted(pairs, key=lambda pair: pair[0])

    @property
    def text(self) -> str:
        """The value formatted in Python (what the browser shows, for the
        format features it implements)."""
        if self.value is None:
            return "\u2013"  # an en dash, as the client shows
        return self.format.format(self.value, value=self.value)

    def color(self) -> str:
        """The colour for the current value (mirrors the client)."""
        if not self.colors or self.value is None:
            return str(self.default_color)
        for threshold, colour in self.colors:
            if self.value <= threshold:
                return str(colour)
        return str(self.colors[-1][1])


class Progress(Model):
    """A labelled ``<progress>`` bar of ``value`` out of ``max``, with its percentage.

    ``max`` defaults to 100, as in ipywidgets' ``FloatProgress`` and Panel's
    ``Progress``: ``Progress(62)`` is 62 % done. For a fraction, say so:
    ``Progress(0.62, max=1)`` (also 62 %); ``Progress(0.62)`` is 0.62 out of
    100 and reads "0.6%". The readout shows whole percents from 10 % to
    99 %, one decimal outside them ("0.6%", "99.5%": never a rounded "100%"
    before the end), "<0.1%" for a sliver. ``value`` is clamped to
    ``[0, max]``; ``None`` makes the bar indeterminate (busy, no readout).
    """

    _type = "Progress"
    _client_settable = frozenset()

    value = Float(None, allow_none=True).tag(sync=True)
    max = Float(100.0).tag(sync=True)
    label = Unicode("").tag(sync=True)

    def __init__(self, value: float | None = None, **kwargs: Any) -> None:
        super().__init__(value=value, **kwargs)

    @validate("value")
    def _clamp(self, proposal: Any) -> float | None:
        value = proposal["value"]
        if value is None:
            return None
        return min(max(_finite(value, "Progress value"), 0.0), self.max)

    @validate("max")
    def _positive_max(self, proposal: Any) -> float:
        out = _finite(proposal["value"], "Progress max")
        if out <= 0:
            raise traitlets.TraitError("Progress max must be > 0")
        return out
