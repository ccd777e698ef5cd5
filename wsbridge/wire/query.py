"""A page's URL query, as it may travel: strings only, bounded in count and size.

A dashboard page's address query (``d/main?view=map&year=2024``) reaches
Python twice: in a per-session app's first ``hello`` (``hello.query``, what
the app's factory reads as ``dash.query``) and as a ``set`` of a document's
``Query`` model (``wsbridge.widgets.query``). Both come from a browser, so
both go through :func:`check_query`: a mapping of strings to strings, at most
:data:`QUERY_MAX_PARAMS` parameters, each name 1-:data:`QUERY_MAX_NAME`
characters without control characters, each value at most
:data:`QUERY_MAX_VALUE` characters, at most :data:`QUERY_MAX_TOTAL` in all.
Anything else is refused whole (``invalid_value``), never cut.
"""

from __future__ import annotations

import re
from typing import Any

from .values import InvalidValue, check_value

__all__ = [
    "QUERY_MAX_NAME",
    "QUERY_MAX_PARAMS",
    "QUERY_MAX_TOTAL",
    "QUERY_MAX_VALUE",
    "check_query",
]

#: parameters in one query
QUERY_MAX_PARAMS = 32
#: characters of one parameter's name
QUERY_MAX_NAME = 64
#: characters of one parameter's value
QUERY_MAX_VALUE = 1024
#: characters of every name and value together
QUERY_MAX_TOTAL = 4096

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_query(value: Any, what: str = "query") -> dict[str, str]:
    """``value`` as a plain ``dict`` of strings; else raises ``InvalidValue``.

    The order of the parameters is kept (it is the address's).
    """
    if not isinstance(value, dict):
        raise InvalidValue(f"{what} must be an object of strings")
    if len(value) > QUERY_MAX_PARAMS:
        raise InvalidValue(f"{what} has {len(value)} parameters; at most {QUERY_MAX_PARAMS}")
    total = 0
    out: dict[str, str] = {}
    for name, text in value.items():
        if not isinstance(name, str) or not isinstance(text, str):
            raise InvalidValue(f"{what}: parameter names and values must be strings")
        if not name or len(name) > QUERY_MAX_NAME or _CONTROL.search(name):
            raise InvalidValue(
                f"{what}: a parameter name is 1-{QUERY_MAX_NAME} characters, "
                "without control characters"
            )
        if len(text) > QUERY_MAX_VALUE:
            raise InvalidValue(
                f"{what}[{name!r}] is {len(text)} characters long; at most {QUERY_MAX_VALUE}"
            )
        total += len(name) + len(text)
        out[name] = text
    if total > QUERY_MAX_TOTAL:
        raise InvalidValue(f"{what} is {total} characters long; at most {QUERY_MAX_TOTAL}")
    check_value(out, what)  # no lone surrogates (InvalidValue)
    return out
