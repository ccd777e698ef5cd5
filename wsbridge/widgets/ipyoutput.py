"""ipywidgets ``Output`` shown by wsbridge: capturing into it, and its native model.

In a Jupyter kernel, ``with out:`` only tags the messages the kernel sends
(``msg_id``) and the *front end* collects them into ``out.outputs``. With no
front end (a plain script, or a kernel whose Output is shown by wsbridge)
nobody would. So, for an Output that wsbridge shows (mirrored), and for
every Output outside a kernel, wsbridge plays the front end's part in
Python:

- ``with out:`` (``@out.capture()``, ``out.clear_output()``) pushes a
  *capture* on the current thread's stack; while it is on top, that
  thread's ``sys.stdout``/``sys.stderr`` writes, ``display(...)`` and
  ``clear_output(wait=...)`` go to ``out.outputs`` as the nbformat dicts a
  front end would make (consecutive stream text merged, images as base64
  strings), and other threads are untouched. An exception inside the block
  is shown in the Output as a traceback and suppressed, as in a kernel.
- Outside IPython, ``display`` and ``clear_output`` only print; called in
  a capturing thread they see a small stand-in shell (and only they:
  ``get_ipython()`` is still ``None``) whose formatter is IPython's own
  ``DisplayFormatter``, so rich output (Markdown, HTML, DataFrames, images,
  matplotlib figures) is captured as in Jupyter, and ``plt.show()`` shows
  the open figures as ``%matplotlib inline`` does. Other threads see
  IPython unchanged.

The :class:`Output` model shows ``outputs`` to browsers (js/src/views/output.js):
stream and plain text as text, Markdown through the client's sanitising
renderer, HTML through its sanitiser, images as bytes (binary frames, no
base64). What travels is bounded (:data:`MAX_OUTPUTS`, :data:`MAX_TEXT`,
:data:`MAX_IMAGE_BYTES`, :data:`MAX_BYTES`; docs/security.md), and so is
what a capture keeps in ``out.outputs``.

The capture lives in :mod:`.ipycapture`; the class is patched when
ipywidgets is imported (:mod:`.ipyhook`), so ``interact``'s first call,
made before its Output is mirrored, is captured too.
"""

from __future__ import annotations

import base64
import logging
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from traitlets import List

from .ipymap import Bind, Built
from .model import Model

__all__ = [
    "BUILDERS",
    "MAX_BYTES",
    "MAX_IMAGE_BYTES",
    "MAX_OUTPUTS",
    "MAX_TEXT",
    "Output",
    "wire_outputs",
]

log = logging.getLogger(__name__)

#: outputs shown (and kept by a capture) per Output; the oldest go first
MAX_OUTPUTS = 100
#: characters of one text output (a stream keeps its end, others their start)
MAX_TEXT = 100_000
#: bytes of one image; a larger one is shown as a note
MAX_IMAGE_BYTES = 2 * 1024 * 1024
#: bytes shown per Output in all (text and images); the oldest outputs go first
MAX_BYTES = 8 * 1024 * 1024

_IMAGES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07")


# ---------------------------------------------------------------------------
# the native model


class Output(Model):
    """An output area: ``outputs`` is a list of items, each a dict with
    ``kind`` (``stream``, ``text``, ``markdown``, ``html``, ``image``,
    ``error``, ``note``, ``widget``) and ``text``, or for an image
    ``mime``, ``data`` (bytes) and ``width``/``height`` (pixels or
    ``None``), or for a widget ``model`` (the mirror of a displayed
    ipywidget, travelling as its id); a stream item also has ``name``
    (``stdout``/``stderr``). Python only."""

    _type = "Output"
    _client_settable = frozenset()
    # ref: the widgets displayed in it join the document with it
    outputs: List[Any] = List().tag(sync=True, ref=True)

    def references(self) -> Iterator[Model | Any]:
        yield from super().references()
        for item in self.outputs:
            if isinstance(item, dict) and isinstance(item.get("model"), Model):
                yield item["model"]


# ---------------------------------------------------------------------------
# nbformat outputs -> what travels


def _clean(text: Any) -> str:
    """Stream text as a terminal would show it: ANSI codes dropped, a line
    rewritten after a carriage return shows its last version."""
    if isinstance(text, list):
        text = "".join(str(t) for t in text)
    text = _ANSI.sub("", str(text or ""))
    if "\r" in text:
        lines = text.replace("\r\n", "\n").split("\n")
        text = "\n".join(line.rsplit("\r", 1)[-1] for line in lines)
    return str(text)


def _clip(text: str, *, tail: bool) -> str:
    if len(text) <= MAX_TEXT:
        return text
    return "\u2026" + text[-MAX_TEXT:] if tail else text[:MAX_TEXT] + "\u2026"


def _pixels(value: Any) -> int | None:
    try:
        out = int(value)
    except (TypeError, ValueError):
        return None
    return out if 0 < out <= 10_000 else None


def _image(mime: str, data: Any, meta: Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(data, str):
        raw = data.encode() if mime == "image/svg+xml" else base64.b64decode(data)
    else:
        raw = bytes(data)
    if len(raw) > MAX_IMAGE_BYTES:
        return {"kind": "note", "text": f"[{mime} of {len(raw):,} bytes not shown]"}
    own = meta.get(mime)
    size: Mapping[str, Any] = own if isinstance(own, Mapping) else meta
    return {
        "kind": "image",
        "mime": mime,
        "data": raw,
        "width": _pixels(size.get("width")),
        "height": _pixels(size.get("height")),
    }


def _item(output: Mapping[str, Any]) -> dict[str, Any] | None:
    kind = output.get("output_type")
    if kind == "stream":
        name = "stderr" if output.get("name") == "stderr" else "stdout"
        return {"kind": "stream", "name": name, "text": _clean(output.get("text"))}
    if kind == "error":
        lines = output.get("traceback") or [f"{output.get('ename')}: {output.get('evalue')}"]
        return {"kind": "error", "text": _clip(_clean("\n".join(map(str, lines))), tail=True)}
    if kind not in ("display_data", "execute_result", "update_display_data"):
        return None
    data = output.get("data") or {}
    meta = output.get("metadata") or {}
    view = data.get(_WIDGET)
    widget = _widget(view.get("model_id")) if isinstance(view, Mapping) else None
    if widget is not None:
        from .ipywidgets import mirror

        return {"kind": "widget", "model": mirror(widget)}
    if "text/html" in data:
        return {"kind": "html", "text": _clip(_clean(data["text/html"]), tail=False)}
    if "text/markdown" in data:
        return {"kind": "markdown", "text": _clip(_clean(data["text/markdown"]), tail=False)}
    for mime in _IMAGES:
        if mime in data:
            try:
                return _image(mime, data[mime], meta)
            except (ValueError, TypeError):
                return {"kind": "note", "text": f"[{mime} that is not valid data]"}
    if "text/plain" in data:
        return {"kind": "text", "text": _clip(_clean(data["text/plain"]), tail=False)}
    return {"kind": "note", "text": f"[{', '.join(sorted(map(str, data))) or 'empty'} output]"}


_WIDGET = "application/vnd.jupyter.widget-view+json"


def _widget(model_id: Any) -> Any:
    """The live ipywidget of a widget view's ``model_id``, if any."""
    module = sys.modules.get("ipywidgets.widgets.widget")
    instances = getattr(module, "_instances", None) or {}
    return instances.get(model_id) if isinstance(model_id, str) else None


def _size(item: Mapping[str, Any]) -> int:
    return len(item.get("data") or b"") + len(item.get("text") or "")


def wire_outputs(
    outputs: tuple[Mapping[str, Any], ...],
    convert: Callable[[Mapping[str, Any]], dict[str, Any] | None] = _item,
) -> list[dict[str, Any]]:
    """``out.outputs`` as the :class:`Output` model's items, bounded."""
    items: list[dict[str, Any]] = []
    for output in outputs:
        item = convert(output)
        if item is None:
            continue
        last = items[-1] if items else None
        if item["kind"] == "stream" and last and last["kind"] == "stream":
            if last["name"] == item["name"]:
                items[-1] = {**last, "text": _clip(last["text"] + item["text"], tail=True)}
                continue
        if item["kind"] == "stream":
            item = {**item, "text": _clip(item["text"], tail=True)}
        items.append(item)
    dropped = max(0, len(items) - MAX_OUTPUTS)
    items = items[dropped:]
    total = sum(map(_size, items))
    while items and total > MAX_BYTES:
        total -= _size(items.pop(0))
        dropped += 1
    if dropped:
        items.insert(0, {"kind": "note", "text": f"[{dropped} earlier outputs not shown]"})
    return items


def _output(widget: Any) -> Built:
    cache: dict[int, tuple[Mapping[str, Any], dict[str, Any] | None]] = {}

    def convert(output: Mapping[str, Any]) -> dict[str, Any] | None:
        hit = cache.get(id(output))
        if hit is not None and hit[0] is output:
            return hit[1]
        item = _item(output)
        cache[id(output)] = (output, item)
        return item

    def get(w: Any) -> list[dict[str, Any]]:
        items = wire_outputs(tuple(w.outputs), convert)
        live = {id(o) for o in w.outputs}
        for key in [k for k in cache if k not in live]:
            del cache[key]  # decoded images of outputs that are gone
        return items

    from .ipystyle import styled

    return styled(Output)(), [Bind("outputs", ("outputs",), get)]


BUILDERS: dict[str, Callable[[Any], Built]] = {"Output": _output}
