"""``Theme``: a dashboard's light/dark mode and accent colour (docs/theming.md).

``bridge.dashboard(name, root, theme=...)`` (and ``bridge.app``) take:

- ``"auto"`` (what a dashboard without a theme does): light or dark as the
  viewer's system says (``prefers-color-scheme``), each viewer their own;
- ``"light"`` or ``"dark"``: that, for every viewer;
- a dict ``{"mode": "dark", "accent": "#7c3aed"}`` (either key may be
  left out): the mode, and the colour of sliders, selected tabs, focus
  rings and progress bars;
- a ``wb.Theme(mode=..., accent=...)``: the same, as an object that stays
  live (``dash.theme.mode = "dark"`` switches every open page).

A bad value raises a ``ValueError`` (a ``TypeError`` for a value of the
wrong kind) that names what is accepted. The theme travels as a model of
type ``"Theme"`` outside the layout; the page applies it to ``<html>``
(``data-wsbridge-theme`` and the ``--wsbridge-accent`` custom property), and
the server writes it into the page it serves, so there is no flash of the
wrong colours on load.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import traitlets
from traitlets import Unicode, validate

from ..hub.theme import MODES, THEME_TYPE, check_accent, check_mode
from .model import Model

__all__ = [
    "Theme",
]

_KEYS = ("mode", "accent")


class Theme(Model):
    """A dashboard's theme: ``mode`` (``"auto"``, ``"light"``, ``"dark"``)
    and ``accent`` (a CSS colour; ``""``: the stylesheet's blue).

    Give it to ``bridge.dashboard(..., theme=...)`` or ``bridge.app``; a
    string or a dict there makes one (:meth:`coerce`). Set its traits later
    and every open page follows.
    """

    _type = THEME_TYPE
    _client_settable = frozenset()

    mode = Unicode("auto").tag(sync=True)
    accent = Unicode("").tag(sync=True)

    def __init__(self, mode: str = "auto", accent: str = "", **kwargs: Any) -> None:
        super().__init__(mode=mode, accent=accent, **kwargs)

    @validate("mode")
    def _check_mode(self, proposal: Any) -> str:
        try:
            return check_mode(proposal["value"])
        except ValueError as exc:
            raise traitlets.TraitError(str(exc)) from None

    @validate("accent")
    def _check_accent(self, proposal: Any) -> str:
        try:
            return check_accent(proposal["value"])
        except ValueError as exc:
            raise traitlets.TraitError(str(exc)) from None

    @classmethod
    def coerce(cls, value: Any) -> Theme | None:
        """The ``Theme`` a ``theme=`` argument stands for (None for None).

        ``ValueError`` for a bad mode, accent or key; ``TypeError`` for a
        value that is neither a string, a dict nor a ``Theme``.
        """
        if value is None or isinstance(value, Theme):
            return value
        if isinstance(value, str):
            return cls(mode=check_mode(value))
        if isinstance(value, Mapping):
            unknown = [k for k in value if k not in _KEYS]
            if unknown:
                raise ValueError(
                    f"a theme dict has the keys 'mode' and 'accent', not {unknown[0]!r}"
                )
            mode = check_mode(value.get("mode", "auto"))
            accent = check_accent(value.get("accent", ""))
            return cls(mode=mode, accent=accent)
        modes = ", ".join(repr(m) for m in MODES)
        raise TypeError(
            f"theme must be one of {modes}, a dict like {{'mode': 'dark', 'accent': '#7c3aed'}} "
            f"or a wsbridge.Theme, not {type(value).__name__}"
        )
