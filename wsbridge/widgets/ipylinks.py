"""ipywidgets ``jslink``/``jsdlink`` between mirrors: run by the browser, seen by Python.

An ipywidgets ``Link`` (``DirectionalLink``) does nothing in Python: in
Jupyter the front end copies the value between the two widget models. Once
both ends are mirrored, wsbridge does the same with a :class:`Link` model
in the document (it travels with both ends: ``Model._companions``, so every
dashboard showing one end holds it). The browser (js/src/views/links.js)
copies the value between the two models as it changes, without a round
trip; a value the viewer changed is sent for both ends (the page's echo
rule then keeps its values while the answers arrive), so Python sees both
change exactly as in Jupyter, and only from the page where the change was
made (a change from the hub is copied locally, never sent back: N viewers
do not make N sets). A change made in Python reaches both ends by a
``traitlets`` link between the two ipywidgets (no page can tell which of
its viewers should send it).

Only ends whose mirror carries the trait as is (the same property name on
the mirror: ``value`` of sliders, Play, text, checkboxes, pickers...), and
that a browser may set where the page sends it, are copied in the
browser; any other jslink runs in Python only (the values still follow,
after a round trip). ``link.unlink()`` stops both.
"""

from __future__ import annotations

import sys
import threading
import weakref
from typing import Any

import traitlets
from traitlets import Bool, Instance, Unicode

from .model import Model

__all__ = ["Link", "install", "mirrored_now"]

_ATTR = "_wsbridge_link"
_LOCK = threading.RLock()
_LINKS: weakref.WeakSet[Any] = weakref.WeakSet()
_installed = False


class Link(Model):
    """Copy ``source[source_prop]`` to ``target[target_prop]`` (and back when
    ``bidirectional``) in the browser while ``active``."""

    _type = "Link"
    _client_settable = frozenset()
    source = Instance(Model, allow_none=True).tag(sync=True, ref=True)
    source_prop = Unicode("value").tag(sync=True)
    target = Instance(Model, allow_none=True).tag(sync=True, ref=True)
    target_prop = Unicode("value").tag(sync=True)
    bidirectional = Bool(True).tag(sync=True)
    active = Bool(True).tag(sync=True)


def install() -> None:
    """Track ipywidgets' links: those that exist now, and every new one."""
    global _installed
    with _LOCK:
        if _installed:
            return
        _installed = True
        from ipywidgets.widgets import widget as wmod
        from ipywidgets.widgets import widget_link

        cls = widget_link.Link
        init = cls.__init__

        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            init(self, *args, **kwargs)
            _LINKS.add(self)
            _activate(self)

        cls.__init__ = __init__
        for w in list(getattr(wmod, "_instances", {}).values()):
            if isinstance(w, cls):
                _LINKS.add(w)


def mirrored_now(widget: Any) -> None:
    """``widget`` just got a mirror: links waiting for it become live."""
    if "ipywidgets" not in sys.modules:
        return
    install()
    for link in list(_LINKS):
        ends = (link.source[0] if link.source else None, link.target[0] if link.target else None)
        if widget in ends:
            _activate(link)


def _prop(widget: Any, trait: str, *, sent: bool) -> str | None:
    """The mirror property carrying ``trait`` as is, if any; ``sent``: the
    page sends it too, so a browser must be allowed to set it."""
    mirror = widget.__dict__.get("_wsbridge_mirror")
    if mirror is None:
        return None
    if sent and trait not in mirror.model.settable():
        return None
    for bind in mirror.binds:
        if bind.sources == (trait,) and bind.target == trait and bind.put is not None:
            return trait
    return None


def _activate(link: Any) -> None:
    from .ipywidgets import mirrored

    with _LOCK:
        if link.__dict__.get(_ATTR) is not None or not link.source or not link.target:
            return
        (sw, sn), (tw, tn) = link.source, link.target
        sm, tm = mirrored(sw), mirrored(tw)
        if sm is None or tm is None:
            return
        directional = type(link).__name__ == "DirectionalLink"
        python = (
            traitlets.dlink((sw, sn), (tw, tn))
            if directional
            else traitlets.link((sw, sn), (tw, tn))
        )
        model: Link | None = None
        sp, tp = _prop(sw, sn, sent=not directional), _prop(tw, tn, sent=True)
        if sp is not None and tp is not None:
            model = Link(source=sm, source_prop=sp, target=tm, target_prop=tp)
            model.bidirectional = not directional
        link.__dict__[_ATTR] = (model, python)
        link.observe(_closed, names=["comm"])
    if model is not None:
        for end in (sm, tm):
            end.__dict__.setdefault("_companions", []).append(model)
            for dash in end._dashboards():
                dash.add(model)


def _closed(change: dict[str, Any]) -> None:
    if change["new"] is not None:
        return
    link = change["owner"]
    model, python = link.__dict__.get(_ATTR) or (None, None)
    if python is not None:
        python.unlink()
    if model is not None:
        model.active = False
