"""Small field validators for messages; each raises ``ProtocolError("bad_message")``."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ProtocolError
from .chunks import Chunks

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
    _check_state(sources, f"{what}.sources")
    for sid, spec in sources.items():
        _check_id(sid, f"{what} source id")
        if not isinstance(spec, dict):
            raise ProtocolError("bad_message", f"{what}.sources[{sid!r}] must be an object")
        _check_columns(spec.get("data"), f"{what}.sources[{sid!r}].data")


def _check_columns(data: Any, what: str) -> None:
    _check_state(data, what)
    for name, col in data.items():
        if not isinstance(col, (np.ndarray, list, Chunks)):
            raise ProtocolError("bad_message", f"{what}[{name!r}] must be an array or a list")
