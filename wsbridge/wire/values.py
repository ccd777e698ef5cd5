"""What a value may be on the wire: encodable, and decoded back as itself.

One check, used wherever a value crosses into the document: by every
message's constructor (so the decoder refuses an inbound frame that breaks
it, and the hub never applies a producer message that does), by
``ColumnStore`` for string columns, and by ``Model`` when Python sets a
synced trait. docs/protocol.md "Values" states the rules:

- integers within int64/uint64 (what the codec writes as JSON numbers);
- floats; NaN and ±Infinity travel as ``null`` (docs/protocol.md "Text frames");
- strings of valid Unicode (no lone surrogates) and object keys that are strings;
- at most :data:`MAX_DEPTH` lists/objects nested in one value;
- arrays of a wire dtype (their elements are never walked: an array of any
  size costs one dtype lookup).

Why: a value the hub applied but cannot encode (a 70-bit integer, a
300-level object past the encoder's recursion limit) breaks every later
snapshot of its document, so no viewer could join it again.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ProtocolError
from .chunks import Chunks

__all__ = [
    "INT_MAX",
    "INT_MIN",
    "MAX_DEPTH",
    "InvalidValue",
    "check_strings",
    "check_value",
    "wire_dtype",
]

#: lists/objects nested in one value, at most. The encoder's own limit is 254
#: levels for a whole message; a snapshot wraps a property value in 4 (and a
#: producer envelope in 1 more), so this leaves room and is far beyond what a
#: widget's state needs.
MAX_DEPTH = 64
#: the integers a JSON number may carry on the wire (int64 and uint64)
INT_MIN = -(2**63)
INT_MAX = 2**64 - 1

#: the wire dtypes (``codec.DTYPES``) as numpy spells them, either byte order;
#: kept here so this module does not import the codec
_WIRE_NAMES = "bool int8 uint8 int16 uint16 int32 uint32 int64 uint64 float32 float64"
_WIRE_DTYPES = frozenset(
    dtype.str
    for name in _WIRE_NAMES.split()
    for dtype in (np.dtype(name).newbyteorder("<"), np.dtype(name).newbyteorder(">"))
)
#: numpy scalars that become a JSON number or boolean (``item()`` is a Python one)
_SCALAR_KINDS = frozenset("biuf")


class InvalidValue(ProtocolError):
    """A value that cannot travel (code ``invalid_value``; ``properties`` is
    set when a ``set`` was refused)."""

    def __init__(self, message: str, ref: dict[str, Any] | None = None) -> None:
        super().__init__("invalid_value", message, ref)


def wire_dtype(dtype: np.dtype[Any]) -> bool:
    """Can an array of ``dtype`` travel (``codec.to_wire_array`` converts it)?"""
    return dtype.str in _WIRE_DTYPES or dtype.kind in "Mm"


def check_value(value: Any, what: str, depth: int = MAX_DEPTH) -> None:
    """Raise :class:`InvalidValue` unless ``value`` travels and comes back as itself.

    ``depth`` is how many lists/objects may nest in it (the caller gives more
    room for a wrapper it adds, such as a model spec around its state).
    Fast on what a widget's state holds: exact types first, scalars inside
    containers without a call.
    """
    kind = type(value)
    if kind is float or kind is bool or value is None:
        return
    if kind is int:
        if not INT_MIN <= value <= INT_MAX:
            raise InvalidValue(f"{what}: integer {_short(value)} is outside int64/uint64")
        return
    if kind is str:
        if not value.isascii():
            _check_text(value, what)
        return
    if kind is dict or kind is list or kind is tuple:
        _walk(value, what, depth)
        return
    _check_other(value, what, depth)


def _walk(value: Any, what: str, room: int) -> None:
    """A container: ``room`` more levels may open here (this one included)."""
    if room < 1:
        raise InvalidValue(f"{what}: nested deeper than {MAX_DEPTH} lists/objects")
    if isinstance(value, dict):
        for key, item in value.items():
            if type(key) is not str:
                if not isinstance(key, str):
                    raise InvalidValue(f"{what}: object key {_short(key)} is not a string")
            if not key.isascii():
                _check_text(key, what)
            kind = type(item)
            if kind is float or kind is bool or item is None or (kind is str and item.isascii()):
                continue
            if kind is int and INT_MIN <= item <= INT_MAX:
                continue
            check_value(item, what, room - 1)
        return
    if len(value) > 16 and _flat(value, what):
        return
    for item in value:
        kind = type(item)
        if kind is float or kind is bool or item is None or (kind is str and item.isascii()):
            continue
        if kind is int and INT_MIN <= item <= INT_MAX:
            continue
        if kind is list or kind is dict:
            _walk(item, what, room - 1)
            continue
        check_value(item, what, room - 1)


def _flat(items: list[Any] | tuple[Any, ...], what: str) -> bool:
    """A long list of JSON scalars (a browser may send megabytes of them),
    checked in C-speed passes; False when it holds anything else."""
    kinds = set(map(type, items))
    if not kinds <= _SCALARS:
        return False
    if int in kinds:
        ints = items if len(kinds) == 1 else [v for v in items if type(v) is int]
        low, high = min(ints), max(ints)
        if low < INT_MIN or high > INT_MAX:
            bad = low if low < INT_MIN else high
            raise InvalidValue(f"{what}: integer {_short(bad)} is outside int64/uint64")
    if str in kinds:
        text = "".join([v for v in items if type(v) is str])
        if not text.isascii():
            _check_text(text, what)
    return True


_SCALARS = frozenset((int, float, bool, str, type(None)))


def _check_other(value: Any, what: str, room: int) -> None:
    """Anything but the exact JSON types: arrays, numpy scalars, subclasses."""
    if isinstance(value, np.ndarray) or type(value) is Chunks:
        if not wire_dtype(value.dtype):
            raise InvalidValue(f"{what}: arrays of {value.dtype} cannot travel")
        return
    if isinstance(value, np.generic):
        if value.dtype.kind not in _SCALAR_KINDS or value.dtype.itemsize > 8:
            raise InvalidValue(f"{what}: a numpy {value.dtype} cannot travel")
        check_value(value.item(), what, room)
        return
    if isinstance(value, bool | float):
        return
    if isinstance(value, int):  # IntEnum and friends travel as their number
        check_value(int(value), what, room)
        return
    if isinstance(value, str):
        _check_text(value, what)
        return
    if isinstance(value, dict | list | tuple):
        _walk(value, what, room)
        return
    raise InvalidValue(f"{what}: a {type(value).__name__} cannot travel")


def _check_text(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidValue(f"{what}: text with a lone surrogate is not valid Unicode") from None


def check_strings(values: list[Any], what: str) -> None:
    """A list column: strings (valid Unicode) and nulls only (docs/protocol.md "Values").

    Two C-speed passes rather than a Python loop per item: the set of item
    types, then one UTF-8 encode of all the text.
    """
    kinds = set(map(type, values))
    if not kinds <= _STRING_ITEMS:
        bad = sorted({type(v).__name__ for v in values if not (v is None or isinstance(v, str))})
        if bad:
            raise InvalidValue(f"{what}: a list column holds strings or null, not {', '.join(bad)}")
    if kinds - {type(None)}:
        text = "".join([v for v in values if v is not None])
        if not text.isascii():
            _check_text(text, what)


_STRING_ITEMS = frozenset((str, type(None)))


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
