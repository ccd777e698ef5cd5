"""Capturing into ipywidgets ``Output`` in Python, per thread, with or without a kernel.

What ``with out:`` does once :func:`patch_output` patched the class (the
whole story is in :mod:`.ipyoutput`): a per-thread stack of captures; while
a capture is on top of a thread's stack, that thread's
``sys.stdout``/``sys.stderr`` writes (through a proxy installed while any
thread captures), ``display(...)`` and ``clear_output(...)`` go to
``out.outputs`` as a front end would put them there. ``display`` reaches
us through IPython's display publisher: the running shell's (wrapped), or
outside IPython a stand-in that only ``display``/``clear_output`` see.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from .ipyoutput import MAX_OUTPUTS, MAX_TEXT

__all__ = ["FLUSH_INTERVAL", "append", "capturing", "clear", "patch_output"]

#: seconds between two updates of an Output by a thread that keeps printing
FLUSH_INTERVAL = 0.05

_CLEAR_WAIT = "_wsbridge_clear_wait"  # an Output whose next output clears it first
_LOCK = threading.RLock()  # every capture's read-modify-write of ``outputs``


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
