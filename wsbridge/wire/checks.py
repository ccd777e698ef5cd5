"""Small field validators for messages.

Each raises ``ProtocolError("bad_message")`` for a message of the wrong
shape, or ``InvalidValue`` (``invalid_value``) for a value that cannot
travel (``values.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ProtocolError
from .chunks import Chunks
from .packed import Packed
from .values import MAX_DEPTH, InvalidValue, check_strings, check_value, wire_dtype

__all__: list[str] = []


def _req(d: dict[str, Any], key: str, kind: type | tuple[type, ...], what: str) -> Any:
    if key not in d:
        raise ProtocolError("bad_message", f"{what} needs {key!r}")
    value = d[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise ProtocolError("bad_message", f"{what}.{key} has the wrong type")
    return value


def _opt(d: dict[str, Any], key: str, kind: type | tuple[type, ...], what: str) -> Any:
    value = d.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise ProtocolError("bad_message", f"{what}.{key} has the wrong type")
    return value


def _check_id(value: Any, what: str) -> None:
    if not isinstance(value, str) or not value or len(value) > 256:
        raise ProtocolError("bad_message", f"{what} must be a non-empty string")


def _check_seq(value: Any, what: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProtocolError("bad_message", f"{what} must be a non-negative integer")


def _check_state(value: Any, what: str) -> None:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ProtocolError("bad_message", f"{what} must be an object")


def _check_values(state: dict[str, Any], what: str) -> None:
    """Every property value of a state travels (``values.check_value``)."""
    for key, value in state.items():
        kind = type(value)
        if kind is float or kind is bool or value is None or (kind is str and value.isascii()):
            continue  # the common scalars, without a call
        check_value(value, f"{what}[{key[:64]!r}]")


def _check_set_values(model: str, state: dict[str, Any], req: Any) -> None:
    """A ``set``'s values; a refusal names the property and every one to restore."""
    for key, value in state.items():
        kind = type(value)
        if kind is float or kind is bool or value is None or (kind is str and value.isascii()):
            continue  # the common scalars, without a call
        try:
            check_value(value, f"set.state[{key[:64]!r}]")
        except InvalidValue as exc:
            exc.ref = {"type": "set", "model": model, "property": key[:64], "req": req}
            exc.properties = list(state)
            raise


def _check_first(first: Any, seq: int, what: str) -> None:
    if first is not None:
        _check_seq(first, f"{what}.first")
        if first > seq:
            raise ProtocolError("bad_message", f"{what}.first must not exceed its seq")


def _check_specs(models: Any, sources: Any, what: str) -> None:
    _check_state(models, f"{what}.models")
    for mid, spec in models.items():
        _check_id(mid, f"{what} model id")
        if not isinstance(spec, dict):
            raise ProtocolError("bad_message", f"{what}.models[{mid!r}] must be an object")
        _check_id(spec.get("type"), f"{what}.models[{mid!r}].type")
        _check_state(spec.get("state"), f"{what}.models[{mid!r}].state")
        # the whole spec: it is kept and sent as it is (the spec and its state wrap the values)
        check_value(spec, f"{what}.models[{mid[:64]!r}]", MAX_DEPTH + 2)
    _check_state(sources, f"{what}.sources")
    for sid, spec in sources.items():
        _check_id(sid, f"{what} source id")
        if not isinstance(spec, dict):
            raise ProtocolError("bad_message", f"{what}.sources[{sid!r}] must be an object")
        _check_columns(spec.get("data"), f"{what}.sources[{sid!r}].data")
        _check_meta(spec.get("meta"), spec["data"], f"{what}.sources[{sid!r}].meta")


def _check_columns(data: Any, what: str) -> None:
    _check_state(data, what)
    for name, col in data.items():
        if type(col) is list:
            check_strings(col, f"{what}[{name[:64]!r}]")
        elif isinstance(col, (np.ndarray, Chunks)):
            if not col.shape:
                raise ProtocolError("bad_message", f"{what}[{name[:64]!r}] must have rows")
            if not wire_dtype(col.dtype):
                raise InvalidValue(f"{what}[{name[:64]!r}]: arrays of {col.dtype} cannot travel")
        elif type(col) is Packed:
            col.check(f"{what}[{name[:64]!r}]")
        else:
            raise ProtocolError(
                "bad_message", f"{what}[{name[:64]!r}] must be an array, a list or a packed column"
            )


def _check_meta(meta: Any, data: dict[str, Any], what: str) -> None:
    """A source's column metadata (docs/protocol.md "Column metadata"): an
    object naming columns of ``data``, each entry an object with a string
    ``type``."""
    if meta is None:
        return
    _check_state(meta, what)
    for name, entry in meta.items():
        if name not in data:
            raise ProtocolError("bad_message", f"{what} names {name[:64]!r}, not a column")
        if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
            raise ProtocolError(
                "bad_message", f"{what}[{name[:64]!r}] must be an object with a type"
            )
        tz = entry.get("tz")
        if tz is not None and not isinstance(tz, str):
            raise ProtocolError("bad_message", f"{what}[{name[:64]!r}].tz must be a string or null")
    check_value(meta, what)


def _columns_from_wire(data: Any, what: str) -> Any:
    """Decoded columns with each packed column's object made a ``Packed``
    (checked); anything else is left for the message's own checks."""
    if not isinstance(data, dict):
        return data
    out = None
    for name, col in data.items():
        if type(col) is dict:
            if out is None:
                out = dict(data)
            out[name] = Packed.from_wire(col, f"{what}[{str(name)[:64]!r}]")
    return data if out is None else out


def _sources_from_wire(sources: Any, what: str) -> Any:
    """The ``sources`` of a snapshot or an add, as decoded, with packed columns made ``Packed``."""
    if not isinstance(sources, dict):
        return sources
    out = {}
    for sid, spec in sources.items():
        if isinstance(spec, dict) and isinstance(spec.get("data"), dict):
            spec = {**spec, "data": _columns_from_wire(spec["data"], f"{what}[{sid!r}].data")}
        out[sid] = spec
    return out


def _patches_from_wire(patches: Any) -> Any:
    """A decoded ``source_patch``'s patches with packed values made ``Packed``."""
    if not isinstance(patches, dict):
        return patches
    out = None
    for name, items in patches.items():
        if not isinstance(items, list) or not any(
            isinstance(i, list) and len(i) == 2 and type(i[1]) is dict for i in items
        ):
            continue
        if out is None:
            out = dict(patches)
        what = f"source_patch.patches[{str(name)[:64]!r}]"
        out[name] = [
            [i[0], Packed.from_wire(i[1], what)]
            if isinstance(i, list) and len(i) == 2 and type(i[1]) is dict
            else i
            for i in items
        ]
    return patches if out is None else out
