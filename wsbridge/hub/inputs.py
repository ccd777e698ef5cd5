"""What an ``event`` may carry: the rule the hub applies before input reaches Python.

A model declares the events a browser may fire (``events`` in its spec) and,
among them, those whose ``data`` reaches the callbacks (``event_data``; a
``Button`` click has none). Any other event must carry ``data: null``; a
declared one a JSON object, in a frame of at most ``max_event_bytes``
(checked by the hub, which knows the frame). The hub checks this before
anything is queued, and the Redis publisher checks it again where the input
is applied (scaleout.publisher), with this one function.
"""

from __future__ import annotations

from typing import Any

from ..wire.requests import Event

__all__ = ["event_refusal"]


def event_refusal(spec: dict[str, Any], event: Event) -> str | None:
    """Why ``event`` may not reach the producer of a model with ``spec``, or None."""
    if event.name not in spec.get("events", ()):
        return f"{spec.get('type')} has no event {event.name[:64]!r}"
    if event.data is None:
        return None
    if event.name not in spec.get("event_data", ()):
        return f"{spec.get('type')}.{event.name} carries no data"
    if not isinstance(event.data, dict):
        return f"the data of {spec.get('type')}.{event.name} must be an object"
    return None
