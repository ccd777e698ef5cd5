"""``Table``: a live, virtually scrolled data table of a :class:`DataSource`.

Why virtual scrolling: a browser lays out a 100,000-row ``<table>`` in
seconds and re-lays it out on every stream. The view (js/src/views/table.js)
keeps a native ``<table>`` (screen readers and tests see real rows and
header cells, with ``aria-rowcount``/``aria-rowindex`` giving the true
size) but only creates the rows in view plus a small margin, between two
spacer rows that give the scroll bar its full height. Streams, patches and
replaces of the source redraw that window at most once per animation frame.

Nothing of the table's data is in the model: the rows are the source's, so
several tables (and plots) may show one source, and a stream is sent once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import traitlets
from traitlets import Bool, Dict, Instance, Int, List, Unicode, validate

from .model import Model
from .source import DataSource

__all__ = [
    "Table",
]


class Table(Model):
    """A data table of ``source``; browsers see a scrollable ``<table>``.

    - ``columns``: the column names shown, in order (``None``: every column
      of the source, following replaces that change them);
    - ``page_size``: rows visible at once (the height of the scroll area);
    - ``datetime_columns``: float64 columns of milliseconds since the Unix
      epoch (how ``datetime64`` columns travel) to show as UTC date-times;
    - ``follow``: when scrolled to the bottom, stay there as rows stream in
      (a live log);
    - ``formats``: column name -> a Python format string for its numbers,
      as :class:`~wsbridge.Number`'s ``format`` (``{"price": "{:,.2f}",
      "share": "{:.1%}"}``).

    Numbers are right-aligned with tabular figures. Without a format, a
    float column shows one number of decimals for all its rows, so the
    decimal points line up: as many as its values need (steps of 0.5: one;
    whole numbers: none), at most about 4 significant digits of its largest
    value but never fewer than 2 (``0.05184``, ``0.899``, ``1,234.57``);
    thousands grouped; scientific notation when the largest is below 1e-4
    or from 1e15. Integer columns show every digit, ungrouped (ids and
    years read right); int64 keeps its exact value (BigInt in the browser).
    ``NaN`` shows as ``NaN``.
    """

    _type = "Table"
    _client_settable = frozenset()

    source = Instance(DataSource).tag(sync=True, ref=True)
    columns = List(Unicode(), default_value=None, allow_none=True).tag(sync=True)
    page_size = Int(20).tag(sync=True)
    datetime_columns = List(Unicode()).tag(sync=True)
    follow = Bool(False).tag(sync=True)
    label = Unicode("").tag(sync=True)
    formats = Dict(key_trait=Unicode(), value_trait=Unicode()).tag(sync=True)

    def __init__(
        self,
        source: DataSource,
        columns: Sequence[str] | None = None,
        page_size: int = 20,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            source=source,
            columns=list(columns) if columns is not None else None,
            page_size=page_size,
            **kwargs,
        )

    @validate("page_size")
    def _positive_page(self, proposal: Any) -> int:
        value = int(proposal["value"])
        if not 1 <= value <= 1000:
            raise traitlets.TraitError(f"Table page_size must be within 1..1000, not {value}")
        return value

    @validate("formats")
    def _check_formats(self, proposal: Any) -> dict[str, str]:
        out = {}
        for name, fmt in dict(proposal["value"]).items():
            try:
                str(fmt).format(1.5, value=1.5)
            except (ValueError, IndexError, KeyError) as exc:
                raise traitlets.TraitError(
                    f"bad Table format {fmt!r} for column {name!r}: {exc}"
                ) from exc
            out[str(name)] = str(fmt)
        return out

    @property
    def shown_columns(self) -> list[str]:
        """The names the browser shows now (``columns``, else the source's)."""
        return list(self.columns) if self.columns is not None else self.source.columns
