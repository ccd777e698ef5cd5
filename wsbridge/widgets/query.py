"""``dash.query``: a document's URL query, bookmarkable, as a dict-like synced model.

What it is depends on the document, because a shared dashboard has many
viewers with different addresses and a per-session app has one
(docs/daily-use.md "URL query"):

- in a **shared dashboard** it is shared state, like a slider: every
  viewer's address shows it (the page writes it with
  ``history.replaceState``), a value set from Python reaches every viewer's
  address, and a viewer who opens a bookmarked address with a query sets it
  for everyone (a page opened without a query changes nothing: its address
  takes the dashboard's query instead);
- in a **per-session app** (``bridge.app``) it is that page's own query: the
  factory finds the page's address query in ``dash.query`` before it builds
  anything, and what the app sets there shows in that page's address only.

Values from a browser are untrusted: strings only, bounded in count and size
(``wire.query.check_query``); a page's query past the bounds is refused
whole (``invalid_value``) and the page's address is set back to the
document's query. Values set from Python go through the same check
(``TraitError``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import traitlets
from traitlets import Dict, validate

from ..wire.query import check_query
from ..wire.values import InvalidValue
from . import sync as _sync
from .model import Model

__all__ = ["Query"]


class Query(Model):
    """The URL query of a document's pages: a mapping of strings to strings.

    Use it as a dict (``query["view"]``, ``query.get("view", "table")``,
    ``query["view"] = "map"``, ``del query["view"]``, ``query.update(...)``,
    ``"view" in query``); ``query.observe(cb, names="value")`` hears every
    change, a viewer's included. Each change assigns a new ``value`` dict,
    so observers see ``old`` and ``new``. A document has at most one (its
    ``dash.query``); the page finds it by its type and has no view of it.
    """

    _type = "Query"
    _client_settable = frozenset({"value"})

    value = Dict(default_value={}).tag(sync=True)

    def __init__(self, value: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(value=dict(value or {}), **kwargs)

    @validate("value")
    def _check(self, proposal: Any) -> dict[str, str]:
        try:
            return check_query(proposal.value, "query")
        except InvalidValue as exc:
            raise traitlets.TraitError(exc.message) from None

    # -- the mapping
    def __getitem__(self, name: str) -> str:
        return self.value[name]  # type: ignore[no-any-return]

    def __setitem__(self, name: str, text: str) -> None:
        with _sync.LOCK:  # read, change, assign: no other thread's change in between
            self.value = {**self.value, name: text}

    def __delitem__(self, name: str) -> None:
        with _sync.LOCK:
            if name not in self.value:
                raise KeyError(name)
            self.value = {k: v for k, v in self.value.items() if k != name}

    def __iter__(self) -> Iterator[str]:
        return iter(dict(self.value))

    def __len__(self) -> int:
        return len(self.value)

    def __contains__(self, name: object) -> bool:
        return name in self.value

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Query):
            return self is other
        if isinstance(other, Mapping):
            return dict(self.value) == dict(other)
        return NotImplemented

    __hash__ = Model.__hash__

    def get(self, name: str, default: Any = None) -> Any:
        return self.value.get(name, default)

    def keys(self) -> Any:
        return dict(self.value).keys()

    def values(self) -> Any:
        return dict(self.value).values()

    def items(self) -> Any:
        return dict(self.value).items()

    def update(self, other: Mapping[str, str] = (), /, **more: str) -> None:  # type: ignore[assignment]
        """Set several parameters at once (one change, one patch)."""
        with _sync.LOCK:
            self.value = {**self.value, **dict(other), **more}

    def clear(self) -> None:
        self.value = {}

    def to_dict(self) -> dict[str, str]:
        """A plain copy."""
        return dict(self.value)

    def __repr__(self) -> str:
        return f"Query({dict(self.value)!r})"
