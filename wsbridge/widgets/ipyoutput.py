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

The classes are patched when ipywidgets is imported (:mod:`.ipyhook`), so
``interact``'s first call, made before its Output is mirrored, is captured
too.
"""

from __future__ import annotations

import base64
import logging
import re
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
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
    "patch_output",
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
#: seconds between two updates of an Output by a thread that keeps printing
FLUSH_INTERVAL = 0.05

_IMAGES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07")
_CLEAR_WAIT = "_wsbridge_clear_wait"  # an Output whose next output clears it first
_LOCK = threading.RLock()  # every capture's read-modify-write of ``outputs``


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


# ---------------------------------------------------------------------------
# capturing: a per-thread stack of the Outputs being written to


class _Frame:
    """One ``with out:`` of one thread. Printed text is buffered and reaches
    ``out.outputs`` at most every :data:`FLUSH_INTERVAL` seconds (a timer
    flushes what a quiet thread left), at once before a display or a clear,
    and when the block ends: a print loop costs a few updates a second, not
    one (with the whole stream's text) per line."""

    __slots__ = ("captured", "last", "lock", "pending", "timer", "widget")

    def __init__(self, widget: Any, captured: bool) -> None:
        self.widget = widget
        self.captured = captured
        self.pending: list[tuple[str, str]] = []  # (stream, text) not yet in outputs
        self.lock = threading.RLock()  # the owner thread and the flush timer
        self.last = 0.0
        self.timer: threading.Timer | None = None

    def write(self, name: str, text: str) -> None:
        with self.lock:
            self.pending.append((name, text))
            if self.timer is not None:
                return
            wait = self.last + FLUSH_INTERVAL - time.monotonic()
            if wait <= 0 and ("\n" in text or "\r" in text):
                self.flush()
            else:
                self.timer = threading.Timer(max(wait, 0.0) or FLUSH_INTERVAL, self.flush)
                self.timer.daemon = True
                self.timer.start()

    def flush(self) -> None:
        with self.lock:
            if self.timer is not None and self.timer is not threading.current_thread():
                self.timer.cancel()
            self.timer = None
            self.last = time.monotonic()
            while self.pending:
                name = self.pending[0][0]
                chunk = []
                while self.pending and self.pending[0][0] == name:
                    chunk.append(self.pending.pop(0)[1])
                text = "".join(chunk)
                if text:
                    append(self.widget, {"output_type": "stream", "name": name, "text": text})


_tls = threading.local()
_active = 0  # capture frames open, all threads (the stream proxies are installed while > 0)


def _stack() -> list[_Frame]:
    stack: list[_Frame] | None = getattr(_tls, "stack", None)
    if stack is None:
        stack = _tls.stack = []
    return stack


def _current() -> _Frame | None:
    """The capture this thread writes to now, if any."""
    stack: list[_Frame] | None = getattr(_tls, "stack", None)
    if stack and stack[-1].captured:
        return stack[-1]
    return None


def append(widget: Any, output: dict[str, Any]) -> None:
    """Add one nbformat output to ``widget.outputs`` as a front end would:
    a pending ``clear_output(wait=True)`` clears first, stream text merges
    with the stream before it, and at most :data:`MAX_OUTPUTS` are kept."""
    with _LOCK:
        outputs = () if widget.__dict__.pop(_CLEAR_WAIT, False) else tuple(widget.outputs)
        last = outputs[-1] if outputs else None
        if (
            output.get("output_type") == "stream"
            and last is not None
            and last.get("output_type") == "stream"
            and last.get("name") == output.get("name")
        ):
            text = str(last.get("text", "")) + str(output.get("text", ""))
            if len(text) > MAX_TEXT:
                text = text[-MAX_TEXT:]
            outputs = (*outputs[:-1], {**last, "text": text})
        else:
            outputs = (*outputs, output)
        widget.outputs = outputs[-MAX_OUTPUTS:]


def clear(widget: Any, wait: bool) -> None:
    with _LOCK:
        if wait:
            widget.__dict__[_CLEAR_WAIT] = True
        else:
            widget.__dict__.pop(_CLEAR_WAIT, None)
            widget.outputs = ()


class _Stream:
    """``sys.stdout``/``sys.stderr`` while some thread captures: a capturing
    thread's writes go to its Output, every other thread's to the stream."""

    def __init__(self, name: str, inner: Any) -> None:
        self._name = name
        self._inner = inner

    def write(self, text: str) -> int:
        frame = _current()
        if frame is None:
            return int(self._inner.write(text))
        frame.write(self._name, str(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        frame = _current()
        if frame is None:
            self._inner.flush()
        else:
            frame.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _install_streams() -> None:
    for name in ("stdout", "stderr"):
        current = getattr(sys, name)
        if not isinstance(current, _Stream):
            setattr(sys, name, _Stream(name, current))


def _remove_streams() -> None:
    for name in ("stdout", "stderr"):
        current = getattr(sys, name)
        if isinstance(current, _Stream):  # else someone replaced it since: leave theirs
            setattr(sys, name, current._inner)


def _open(widget: Any) -> _Frame:
    """Start capturing this thread's output into ``widget`` (``with out:``)."""
    global _active
    frame = _Frame(widget, True)
    with _LOCK:
        _active += 1
        if _active == 1:
            _install_streams()
        _patch_display()
    _stack().append(frame)
    return frame


def _close(frame: _Frame) -> None:
    global _active
    try:
        frame.flush()
    finally:
        stack = _stack()
        if frame in stack:
            stack.remove(frame)
        with _LOCK:
            _active -= 1
            if _active == 0:
                _remove_streams()


@contextmanager
def capturing(widget: Any) -> Iterator[None]:
    """Capture this thread's output into ``widget`` (what ``with out:`` does)."""
    frame = _open(widget)
    try:
        yield
    finally:
        _close(frame)


# ---------------------------------------------------------------------------
# display() and clear_output(): IPython's publisher, or a stand-in outside IPython


def _publish(data: Mapping[str, Any], metadata: Any = None, **_: Any) -> None:
    frame = _current()
    assert frame is not None
    frame.flush()  # what was printed before comes before
    output = {"output_type": "display_data", "data": dict(data), "metadata": dict(metadata or {})}
    append(frame.widget, output)


def _clear_output(wait: bool = False) -> None:
    frame = _current()
    assert frame is not None
    frame.flush()
    clear(frame.widget, wait)


class _Publisher:
    publish = staticmethod(_publish)
    clear_output = staticmethod(_clear_output)


class _Shell:
    """What ``display``/``clear_output`` need of a shell, outside IPython."""

    def __init__(self) -> None:
        from IPython.core.formatters import DisplayFormatter

        self.display_formatter = DisplayFormatter()
        self.display_pub = _Publisher()
        # a matplotlib figure displays as a PNG, as under ``%matplotlib inline``
        png = self.display_formatter.formatters["image/png"]
        png.for_type_by_name("matplotlib.figure", "Figure", _figure_png)


def _figure_png(figure: Any) -> bytes:
    from IPython.core.pylabtools import print_figure

    return bytes(print_figure(figure, "png", bbox_inches="tight"))  # type: ignore[no-untyped-call]


_shell: _Shell | None = None


def _real_shell() -> Any:
    """IPython's running shell (a kernel's, a terminal's), or ``None``."""
    mod = sys.modules.get("IPython.core.interactiveshell")
    cls = getattr(mod, "InteractiveShell", None)
    return None if cls is None else getattr(cls, "_instance", None)


def _formatter() -> Any:
    global _shell
    real = _real_shell()
    if real is not None:
        return real.display_formatter
    with _LOCK:
        if _shell is None:
            _shell = _Shell()
        return _shell.display_formatter


def _patch_pyplot() -> None:
    """``plt.show()`` in a capturing thread displays the open figures into
    the Output and closes them, as ``%matplotlib inline`` does in Jupyter."""
    pyplot: Any = sys.modules.get("matplotlib.pyplot")
    if pyplot is None or getattr(pyplot.show, "_wsbridge", False):
        return
    show = pyplot.show

    def _show(*args: Any, **kwargs: Any) -> Any:
        if _current() is None:
            return show(*args, **kwargs)
        from IPython.display import display

        for number in pyplot.get_fignums():
            figure = pyplot.figure(number)
            display(figure)  # type: ignore[no-untyped-call]
            pyplot.close(figure)
        return None

    _show._wsbridge = True  # type: ignore[attr-defined]
    pyplot.show = _show


def _patch_display() -> None:
    """Route display/clear_output of capturing threads (under ``_LOCK``)."""
    global _shell
    from IPython.core.interactiveshell import InteractiveShell

    _patch_pyplot()
    real = _real_shell()
    if real is not None:  # a kernel or a terminal: wrap its publisher once
        pub = real.display_pub
        if not getattr(pub, "_wsbridge_wrapped", False):
            _wrap_publisher(pub)
        return
    if "_wsbridge_patched" in InteractiveShell.__dict__:
        return
    if _shell is None:
        _shell = _Shell()
    initialized = InteractiveShell.initialized.__func__  # type: ignore[attr-defined]
    instance = InteractiveShell.instance.__func__  # type: ignore[attr-defined]

    def _stand_in(cls: Any) -> bool:
        """Only ``display``/``clear_output`` in a capturing thread see the
        stand-in; ``get_ipython()`` and everyone else see no shell, as before."""
        if cls is not InteractiveShell or _current() is None or _real_shell() is not None:
            return False
        caller = sys._getframe(2).f_globals.get("__name__")
        return caller == "IPython.core.display_functions"

    def _initialized(cls: Any) -> bool:
        return True if _stand_in(cls) else bool(initialized(cls))

    def _instance(cls: Any, *args: Any, **kwargs: Any) -> Any:
        return _shell if _stand_in(cls) else instance(cls, *args, **kwargs)

    InteractiveShell.initialized = classmethod(_initialized)  # type: ignore[method-assign,assignment]
    InteractiveShell.instance = classmethod(_instance)  # type: ignore[method-assign,assignment]
    InteractiveShell._wsbridge_patched = True  # type: ignore[attr-defined]


def _wrap_publisher(pub: Any) -> None:
    publish, clear_output = pub.publish, pub.clear_output

    def _pub(data: Any, metadata: Any = None, *args: Any, **kwargs: Any) -> Any:
        if _current() is None:
            return publish(data, metadata, *args, **kwargs)
        return _publish(data, metadata)

    def _clear(wait: bool = False) -> Any:
        if _current() is None:
            return clear_output(wait)
        return _clear_output(wait)

    pub.publish = _pub
    pub.clear_output = _clear
    pub._wsbridge_wrapped = True


# ---------------------------------------------------------------------------
# ipywidgets.Output, patched


def _captures(widget: Any) -> bool:
    """Capture in Python when wsbridge shows this Output, or when no kernel
    (no front end) would collect its output."""
    from .ipywidgets import mirrored

    if mirrored(widget) is not None:
        return True
    real = _real_shell()
    return real is None or getattr(real, "kernel", None) is None


def patch_output(cls: Any) -> None:
    """Make ``cls`` (``ipywidgets.Output``) capture as the module docstring says."""
    if cls.__dict__.get("_wsbridge_patched"):
        return
    enter, exit_ = cls.__enter__, cls.__exit__

    def __enter__(self: Any) -> None:
        if _captures(self):
            _open(self)
        else:
            _stack().append(_Frame(self, False))
            enter(self)

    def __exit__(self: Any, etype: Any, evalue: Any, tb: Any) -> Any:
        stack = _stack()
        frame = next((f for f in reversed(stack) if f.widget is self), None)
        if frame is None or not frame.captured:
            if frame is not None:
                stack.remove(frame)
            return exit_(self, etype, evalue, tb)
        suppress = etype is not None and issubclass(etype, Exception)
        if suppress:
            frame.flush()
            error = {
                "output_type": "error",
                "ename": etype.__name__,
                "evalue": str(evalue),
                "traceback": ["".join(traceback.format_exception(etype, evalue, tb))],
            }
            append(self, error)
        _close(frame)
        return suppress

    def append_display_data(self: Any, display_object: Any) -> None:
        data, metadata = _formatter().format(display_object)
        append(self, {"output_type": "display_data", "data": data, "metadata": metadata})

    cls.__enter__ = __enter__
    cls.__exit__ = __exit__
    cls.append_display_data = append_display_data
    cls._wsbridge_patched = True
