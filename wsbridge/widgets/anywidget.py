"""Custom widgets in the anywidget convention: a Python class plus an ES module.

An anywidget written for Jupyter renders in a wsbridge dashboard unchanged::

    class Counter(wb.AnyWidget):
        _esm = '''
        function render({ model, el }) { ... model.on("change:value", ...) ... }
        export default { render };
        '''
        _css = "button { padding: 5px; }"
        value = traitlets.Int(0).tag(sync=True)

Only the base class differs (``wb.AnyWidget`` instead of
``anywidget.AnyWidget``; ``wb.Widget`` is the same class under a shorter
name).

Why the module travels *in the model state* (``_esm``) rather than from a
URL: the browser then imports it from a ``blob:`` URL made of that text, so
it never touches the network, works identically behind the embedded hub, a
Jupyter server or a scaled hub (which only relay state), and a reconnecting
browser always gets the module that matches the state it is shown. The
client caches the loaded module per module text, so a hundred instances of
one class import it once.

Following anywidget, every synced trait that is not a reference is
browser-settable (the module calls ``model.set(...); model.save_changes()``);
the traits still validate whatever a browser sends. ``_esm``, ``_css`` and
``_anywidget_id`` are not traits and can never be set by a browser.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, ClassVar

from ..wire.messages import Patch
from . import sync as _sync
from .model import Model

__all__ = [
    "AnyWidget",
    "Widget",
]

#: a string naming a file is read as one only with one of these suffixes,
#: so a one-line module like ``export default {}`` is never mistaken for a path
_FILE_SUFFIXES = (".js", ".mjs", ".cjs", ".css")


def _is_file_contents(value: Any) -> bool:
    """anywidget's ``FileContents``/``VirtualFileContents`` (text that may change)."""
    cls = type(value)
    return cls.__module__.startswith("anywidget") and cls.__name__ in (
        "FileContents",
        "VirtualFileContents",
    )


def _read_asset(value: str | os.PathLike[str] | None, what: str) -> str:
    """``value`` as text: a ``Path`` (or a path-like string) is read from disk.

    Read when the widget is created, not imported, so editing the file and
    creating a new instance picks up the change (anywidget reloads files too).
    """
    if value is None:
        return ""
    if _is_file_contents(value):
        return str(value)  # anywidget's FileContents: the file's current text
    if isinstance(value, os.PathLike):
        return Path(value).read_text(encoding="utf-8")
    if not isinstance(value, str):
        kind = type(value).__name__
        raise TypeError(f"{what} must be a str, a pathlib.Path or a FileContents, not {kind}")
    if "\n" not in value and value.strip().endswith(_FILE_SUFFIXES):
        path = Path(value.strip())
        if path.is_file():
            return path.read_text(encoding="utf-8")
    return value


class AnyWidget(Model):
    """A widget defined by an anywidget-style ES module (``_esm``) and CSS (``_css``).

    Subclass it, set ``_esm`` (module text or a ``pathlib.Path``) and
    optionally ``_css``, and declare traits with ``.tag(sync=True)``. Both
    may also be given per instance: ``AnyWidget(_esm=..., _css=..., **traits)``.

    The module's default export is ``{render, initialize}`` (or a function
    returning it; named ``render``/``initialize`` exports work too).
    ``render({model, el})`` runs per view, ``initialize({model})`` once per
    model per page; a function either returns is called when the view (for
    ``initialize``: the model's last view) is removed. ``model`` is
    anywidget's model API: ``get``, ``set``, ``save_changes``,
    ``on("change:x")``, ``off``, ``send(content, callbacks, buffers)`` and
    ``on("msg:custom", (content, buffers) => ...)`` with ``DataView``
    buffers. Python answers with :meth:`send` and listens with
    :meth:`on_msg` (buffers arrive as numpy arrays).

    ``_css`` is injected into the page once per widget class (a ``<style>``
    keyed by the class's qualified name) and replaced, not duplicated, by
    later instances.
    """

    _type = "AnyWidget"
    #: the ES module: JavaScript text, a path to a .js/.mjs file, or anywidget's
    #: ``FileContents`` (followed when the file changes)
    _esm: ClassVar[Any] = ""
    #: optional CSS: text, a path to a .css file, or a ``FileContents``
    _css: ClassVar[Any] = None

    def __init__(self, **kwargs: Any) -> None:
        #: the instance brought its own module or CSS: its style is not the class's
        self._own_assets = "_esm" in kwargs or "_css" in kwargs
        esm = kwargs.pop("_esm", type(self)._esm)
        css = kwargs.pop("_css", type(self)._css)
        self._esm_text = _read_asset(esm, "_esm")
        self._css_text = _read_asset(css, "_css")
        if not self._esm_text.strip():
            raise ValueError(f"{type(self).__name__} needs an ES module in _esm")
        super().__init__(**kwargs)
        # a FileContents that changes on disk reloads the module in every page
        # (a bound method: psygnal holds it weakly, so the widget can go)
        if _is_file_contents(esm):
            esm.changed.connect(self._esm_changed)
        if _is_file_contents(css):
            css.changed.connect(self._css_changed)

    def _esm_changed(self, text: str) -> None:
        self._esm_text = str(text)
        self._asset_patch("_esm", self._esm_text)

    def _css_changed(self, text: str) -> None:
        self._css_text = str(text)
        self._asset_patch("_css", self._css_text)

    def _asset_patch(self, name: str, text: str) -> None:
        with _sync.LOCK:
            if self._listeners:
                message = Patch(seq=0, model=self.id, state={name: text}, origin=None)
                for listener in list(self._listeners):
                    listener(self, message)

    @property
    def _anywidget_id(self) -> str:
        """Which class the CSS belongs to: one ``<style>`` per class in a page."""
        cls = type(self)
        if cls is AnyWidget or self._own_assets:  # ad hoc: a key per module and CSS text
            digest = hashlib.sha1((self._esm_text + "\0" + self._css_text).encode()).hexdigest()
            return f"wsbridge.AnyWidget.{digest[:12]}"
        return f"{cls.__module__}.{cls.__qualname__}"

    def get_state(self) -> dict[str, Any]:
        """The synced traits plus ``_esm``, ``_css`` and ``_anywidget_id``."""
        state = super().get_state()
        state["_esm"] = self._esm_text
        state["_css"] = self._css_text
        state["_anywidget_id"] = self._anywidget_id
        return state


#: the same class under a shorter name ("a ``Widget`` subclass with ``_esm``")
Widget = AnyWidget
