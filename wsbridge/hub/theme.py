"""A document's theme: the rules of its values, and how a page finds it.

A dashboard's theme (``bridge.dashboard(..., theme=...)``, docs/theming.md)
travels as a model of type ``"Theme"`` in the document, with two properties:
``mode`` (``"auto"``: follow the viewer's system, ``"light"``, ``"dark"``)
and ``accent`` (a CSS colour, ``""`` for the stylesheet's own). As a model it
reaches every hub the document does (embedded, a Jupyter server, Redis
followers) with nothing added to the protocol, and a change from Python
reaches every open page.

Here, without traitlets or Tornado: the checks that ``wsbridge.Theme`` uses
to refuse a bad value, and :func:`document_theme`, which the page handler
uses to write the theme into the page it serves (so a dark dashboard is
dark from the first paint). A document comes from a producer the hub need
not trust (a kernel, Redis), so the page re-checks what it writes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "MODES",
    "THEME_TYPE",
    "check_accent",
    "check_mode",
    "document_theme",
]

#: the model type that carries a document's theme
THEME_TYPE = "Theme"

#: ``auto`` follows the viewer's system (``prefers-color-scheme``)
MODES = ("auto", "light", "dark")

_HEX = re.compile(r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")
# CSS colour functions; their arguments are numbers, units, percentages,
# spaces, commas, slashes and the keyword ``none``: nothing that could end
# the declaration (no ``;``, quotes, braces or backslashes)
_FUNCTION = re.compile(
    r"(?:rgba?|hsla?|hwb|lab|lch|oklab|oklch)\(\s*[-+0-9.eE%a-z\s,/]{1,80}\)", re.IGNORECASE
)

#: the CSS named colours (CSS Color 4), transparent excluded (not an accent)
NAMED_COLOURS = frozenset(
    """aliceblue antiquewhite aqua aquamarine azure beige bisque black blanchedalmond blue
    blueviolet brown burlywood cadetblue chartreuse chocolate coral cornflowerblue cornsilk
    crimson cyan darkblue darkcyan darkgoldenrod darkgray darkgreen darkgrey darkkhaki
    darkmagenta darkolivegreen darkorange darkorchid darkred darksalmon darkseagreen
    darkslateblue darkslategray darkslategrey darkturquoise darkviolet deeppink deepskyblue
    dimgray dimgrey dodgerblue firebrick floralwhite forestgreen fuchsia gainsboro ghostwhite
    gold goldenrod gray green greenyellow grey honeydew hotpink indianred indigo ivory khaki
    lavender lavenderblush lawngreen lemonchiffon lightblue lightcoral lightcyan
    lightgoldenrodyellow lightgray lightgreen lightgrey lightpink lightsalmon lightseagreen
    lightskyblue lightslategray lightslategrey lightsteelblue lightyellow lime limegreen linen
    magenta maroon mediumaquamarine mediumblue mediumorchid mediumpurple mediumseagreen
    mediumslateblue mediumspringgreen mediumturquoise mediumvioletred midnightblue mintcream
    mistyrose moccasin navajowhite navy oldlace olive olivedrab orange orangered orchid
    palegoldenrod palegreen paleturquoise palevioletred papayawhip peachpuff peru pink plum
    powderblue purple rebeccapurple red rosybrown royalblue saddlebrown salmon sandybrown
    seagreen seashell sienna silver skyblue slateblue slategray slategrey snow springgreen
    steelblue tan teal thistle tomato turquoise violet wheat white whitesmoke yellow
    yellowgreen""".split()
)


def check_mode(value: Any) -> str:
    """``value`` if it is a theme mode; ``ValueError`` naming the modes otherwise."""
    if isinstance(value, str) and value in MODES:
        return value
    choices = ", ".join(repr(m) for m in MODES)
    raise ValueError(f"theme mode must be one of {choices}, not {value!r}")


def check_accent(value: Any) -> str:
    """``value`` (stripped) if it is a CSS colour an accent can be, or ``""``
    (the stylesheet's accent); ``ValueError`` with examples otherwise.

    Accepted: ``#rgb``, ``#rgba``, ``#rrggbb``, ``#rrggbbaa``, the colour
    functions (``rgb()``, ``hsl()``, ``oklch()``...) and the CSS colour
    names. Strict on purpose: the value is written into the page's style.
    """
    if not isinstance(value, str):
        raise ValueError(f"theme accent must be a CSS colour string, not {type(value).__name__}")
    text = value.strip()
    if (
        text == ""
        or _HEX.fullmatch(text)
        or _FUNCTION.fullmatch(text)
        or text.lower() in NAMED_COLOURS
    ):
        return text
    raise ValueError(
        "theme accent must be a CSS colour such as '#7c3aed', 'rgb(124 58 237)', "
        f"'oklch(0.55 0.2 290)' or 'teal', not {value!r}"
    )


def document_theme(models: Mapping[str, Mapping[str, Any]]) -> tuple[str, str] | None:
    """``(mode, accent)`` of the first ``Theme`` model among a document's
    ``models`` (``DocumentState.models``), or None without one. A value
    that fails the checks counts as the default (``"auto"``, ``""``)."""
    for spec in models.values():
        if spec.get("type") != THEME_TYPE:
            continue
        state = spec.get("state")
        state = state if isinstance(state, Mapping) else {}
        try:
            mode = check_mode(state.get("mode", "auto"))
        except ValueError:
            mode = "auto"
        try:
            accent = check_accent(state.get("accent", ""))
        except ValueError:
            accent = ""
        return mode, accent
    return None
