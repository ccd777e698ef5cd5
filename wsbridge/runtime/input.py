"""Browser input turned into Python: sets validated by traits, events to callbacks.

The embedded producer: the hub hands it a browser's ``set``/``event``/
``custom``; it runs on the callbacks thread, applies the value through the
model's traits (so validation and observers run as in Python code), and
answers through the hub port: the canonical value back to every client, or
a refusal to the sender.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import traitlets

from ..widgets import sync as _sync
from ..widgets.files import FileDownload, FileInput, UploadRefused
from ..widgets.model import Model

if TYPE_CHECKING:
    from .bridge import Bridge
from ..wire.files import Download, Upload
from ..wire.messages import Custom
from ..wire.requests import Event, Set

__all__ = ["EmbeddedProducer"]

log = logging.getLogger("wsbridge.bridge")


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # numpy arrays and friends
        import numpy as np

        try:
            return bool(np.array_equal(a, b))
        except Exception:  # containers holding arrays: not provably the same
            return False


class EmbeddedProducer:
    """Routes a document's browser input to the bridge's Python objects.

    Inputs wait on the callbacks thread in arrival order; those of a session
    that left meanwhile (``on_left``) are skipped, not run: nobody sees
    their effect's answer, and a slow callback must not keep working for a
    departed client.
    """

    def __init__(self, bridge: Bridge):
        self.bridge = bridge
        #: inputs queued on the callbacks thread per session, and the sessions
        #: among them that left; shared by the hub's loop and that thread
        self._queued: Counter[str] = Counter()
        self._left: set[str] = set()
        self._lock = threading.Lock()

    def on_set(self, doc: str, session: str, message: Set) -> None:
        self._queue(self._apply_set, doc, session, message)

    def on_event(self, doc: str, session: str, message: Event) -> None:
        self._queue(self._fire, doc, session, message)

    def on_custom(self, doc: str, session: str, message: Custom) -> None:
        self._queue(self._fire, doc, session, message)

    def on_upload(self, doc: str, session: str, message: Upload) -> None:
        self._queue(self._receive_upload, doc, session, message)

    def on_left(self, doc: str, session: str) -> None:
        """On the hub's loop: ``session`` closed; skip its inputs still queued."""
        with self._lock:
            if self._queued[session] > 0:
                self._left.add(session)

    def _queue(self, fn: Callable[[str, str, Any], None], doc: str, session: str, msg: Any) -> None:
        with self._lock:
            self._queued[session] += 1
        self.bridge._callback(self._handle, fn, doc, session, msg)

    def _handle(
        self, fn: Callable[[str, str, Any], None], doc: str, session: str, msg: Any
    ) -> None:
        with self._lock:
            left = session in self._left
            remaining = self._queued[session] - 1
            if remaining > 0:
                self._queued[session] = remaining
            else:
                self._queued.pop(session, None)
                self._left.discard(session)
        try:
            if not left:
                bridge = self.bridge
                dash = bridge.dashboards.get(doc) or bridge._app_sessions.get(doc)
                token = _sync.SESSION.set((dash, session) if dash is not None else None)
                try:  # wb.session() in the callbacks: this browser's session
                    fn(doc, session, msg)
                finally:
                    _sync.SESSION.reset(token)
        finally:  # the hub counts each session's inputs in flight (its backlog limit)
            self.bridge._threadsafe(self.bridge._input_done, session)

    # -- on the callbacks thread
    def on_closed(self, doc: str) -> None:
        """The hub dropped a per-session app document: free its objects."""
        dash = self.bridge._app_sessions.pop(doc, None)
        if dash is not None:
            dash._release()
        self.bridge._app_closed(doc)

    def _model(self, doc: str, model_id: str) -> Model | None:
        dash = self.bridge.dashboards.get(doc) or self.bridge._app_sessions.get(doc)
        obj = dash.get(model_id) if dash is not None else None
        return obj if isinstance(obj, Model) else None

    def _apply_set(self, doc: str, session: str, message: Set) -> None:
        model = self._model(doc, message.model)
        if model is None:
            return
        names = list(message.state)
        canonical: dict[str, Any] = {}
        for name, value in message.state.items():  # all or nothing (docs/protocol.md "set")
            try:
                canonical[name] = model._client_value(name, value)
            except traitlets.TraitError as exc:
                # logged once, by the hub, when it answers the session
                ref = {"type": "set", "model": model.id, "property": name, "req": message.req}
                self._reject(doc, session, "invalid_value", str(exc), ref, model.id, names)
                return
        token = _sync.ORIGIN.set({"session": session, "req": message.req})
        try:
            for name, value in canonical.items():
                ref = {"type": "set", "model": model.id, "property": name, "req": message.req}
                before = model._client_current(name)
                try:
                    model._client_apply(name, value)
                except Exception as exc:
                    log.exception("a callback raised while setting %s.%s", model.id, name)
                    text = f"{type(exc).__name__}: {exc}"
                    self._reject(doc, session, "callback_error", text, ref, model.id, [name])
                    continue
                if _same(before, model._client_current(name)):
                    # nothing changed, so no patch goes out: tell the sender
                    # the canonical value (it may have sent 11 to a max of 10)
                    self._reply_state(doc, session, model.id, [name])
        finally:
            _sync.ORIGIN.reset(token)

    def _receive_upload(self, doc: str, session: str, message: Upload) -> None:
        """A checked upload to its FileInput (which may still refuse it: ``accept``)."""
        model = self._model(doc, message.model)
        ref = {"type": "upload", "model": message.model, "upload": message.upload}
        if not isinstance(model, FileInput):
            self._reject(doc, session, "unknown_model", "no file input here", ref)
            return
        try:
            model._receive_upload(message.files, message.data)
        except UploadRefused as exc:
            self._reject(doc, session, "invalid_value", str(exc), ref)
        except Exception as exc:
            log.exception("an upload callback of %s raised", model.id)
            self._reject(doc, session, "callback_error", f"{type(exc).__name__}: {exc}", ref)

    def _download(self, doc: str, session: str, model: FileDownload) -> None:
        """A click on a FileDownload: its bytes to the clicking session only."""
        if model.disabled:
            return
        ref = {"type": "event", "model": model.id, "name": "click"}
        try:
            content = model._content()
        except Exception as exc:
            log.exception("the download callback of %s raised", model.id)
            self._reject(doc, session, "callback_error", f"{type(exc).__name__}: {exc}", ref)
            return
        data = np.frombuffer(content, dtype=np.uint8)
        message = Download(
            model=model.id, name=model.filename or "download", mime=model.mime, data=data
        )
        self.bridge._to_hub(lambda hub: hub.download(doc, session, message))

    def _fire(self, doc: str, session: str, message: Event | Custom) -> None:
        model = self._model(doc, message.model)
        if model is None:
            return
        if isinstance(model, FileDownload) and isinstance(message, Event):
            self._download(doc, session, model)
            return
        try:
            if isinstance(message, Event):
                model._fire_event(message.name, message.data)
            else:
                model._fire_msg(message.content, message.buffers)
        except Exception as exc:
            log.exception("a callback of %s raised", model.id)
            ref = {"type": message.type, "model": model.id}
            self._reject(doc, session, "callback_error", f"{type(exc).__name__}: {exc}", ref)

    def _reject(
        self,
        doc: str,
        session: str,
        code: str,
        text: str,
        ref: dict[str, Any],
        model: str | None = None,
        properties: list[str] | None = None,
    ) -> None:
        """Refuse one input: logged once, by the hub, when it answers the session."""
        self.bridge._to_hub(
            lambda hub: hub.reject(doc, session, code, text, ref, model, properties)
        )

    def _reply_state(self, doc: str, session: str, model: str, properties: list[str]) -> None:
        """Send the sender the canonical values (nothing changed, so no patch went out)."""
        self.bridge._to_hub(lambda hub: hub.reply_state(doc, session, model, properties))
