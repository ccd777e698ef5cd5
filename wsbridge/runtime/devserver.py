"""``wsbridge serve app.py --dev``: run the app file again on every save.

The file, and every module it imports from its own folder, are watched by
polling their modification times (no dependency, a few ``stat`` calls every
quarter second). On a change the app's modules are forgotten (so the next
run imports them afresh) and the file runs again with the same ``bridge``,
as it did at start-up (``__name__ == "__wsbridge__"``, ``main(bridge)`` if
it defines one).

A run is all or nothing. While it runs, ``bridge.dashboard`` and
``bridge.app`` only stage what they are given (``Bridge._stage``), and the
app sessions open in browsers are rebuilt by the new factories; only when
all of it succeeded does the bridge serve the new version
(``Bridge._replace_documents``): each dashboard is published again under
its name, so every open page, still connected, gets the new document as a
new epoch's snapshot (no reload); dashboards the new version no longer
makes are removed. A run that raises (a syntax error, an exception) changes
nothing that is served: the previous good version keeps serving, the
traceback is printed in the terminal and shown in every page as an overlay
(the hub's ``dev`` message, ``Hub.set_dev``) until a run succeeds. A
factory that raises when a new page opens is shown the same way.

Threads the app starts are not stopped by a reload: a module-level
``teardown(bridge)`` in the app file is called when its version is replaced
(after the next good run) and when the server stops.

Only ``--dev`` turns this on: no other hub ever sends a traceback
(docs/security.md "Development mode").
"""

from __future__ import annotations

import os
import runpy
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any, TextIO

from ..widgets.dashboard import Dashboard
from .apps import AppHosting, Factory

if TYPE_CHECKING:
    from .bridge import Bridge

__all__ = ["POLL_INTERVAL", "TRACEBACK_MAX", "DevServer"]

#: seconds between two looks at the watched files' modification times
POLL_INTERVAL = 0.25
#: characters of a traceback shown in the pages (its end: the innermost frames)
TRACEBACK_MAX = 20_000
#: how long the files must stay unchanged before a run (an editor saving in steps)
SETTLE = 0.1

_WSBRIDGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: a file's identity for "has it changed": (mtime in ns, size, inode); None: missing
Stamp = tuple[int, int, int] | None


class _Stage:
    """What one run of the app file registers (``Staging``)."""

    def __init__(self) -> None:
        self.dashboards: dict[str, Dashboard] = {}
        self.apps: dict[str, tuple[Factory, str, bool]] = {}
        #: names in the order they were registered -> listed in the navigation bar
        self.pages: dict[str, bool] = {}

    def dashboard(self, dash: Dashboard) -> None:
        old = self.dashboards.get(dash.name)
        if old is not None:
            old._release()
        self.dashboards[dash.name] = dash
        self.pages[dash.name] = dash.nav

    def app(self, name: str, factory: Factory, title: str, nav: bool) -> None:
        self.apps[name] = (factory, title, nav)
        self.pages[name] = nav

    def discard(self) -> None:
        for dash in self.dashboards.values():
            dash._release()


def _stamp(path: str) -> Stamp:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class DevServer:
    """Runs ``script`` with ``bridge`` and again whenever its files change.

    ``run()`` runs it once (True when it succeeded); ``serve(stop)`` watches
    and re-runs until ``stop`` is set or the bridge stops; ``close()`` calls
    the serving version's ``teardown``. Everything runs on the caller's
    thread (the command's main thread), except ``_app_error``.
    """

    def __init__(
        self, script: str, bridge: Bridge, out: TextIO | None = None, prog: str = "wsbridge"
    ) -> None:
        self.script = os.path.abspath(script)
        self.folder = os.path.dirname(self.script)
        self.bridge = bridge
        self.out = out if out is not None else sys.stderr
        self.prog = prog
        #: the serving version's globals (None before the first good run)
        self.namespace: dict[str, Any] | None = None
        #: the error the pages show, if any: {"title", "text"}
        self.error: dict[str, str] | None = None
        #: good runs so far
        self.runs = 0
        self._stamps: dict[str, Stamp] = {}
        self._lock = threading.Lock()
        bridge._on_app_error = self._app_error
        self._show(None)  # development mode on: every page hears of errors, or of none

    # -- running
    def run(self) -> bool:
        """Run the app file; serve what it made only if the whole run succeeded."""
        bridge = self.bridge
        files = self._watched()
        self._stamps = {path: _stamp(path) for path in files}
        self._forget_modules()
        stage = _Stage()
        bridge._stage = stage
        try:
            namespace = self._execute()
            sessions = self._rebuild_sessions(stage)
        except (Exception, SystemExit) as exc:
            bridge._stage = None
            stage.discard()
            self._fail(exc, [*self._module_files(), *self._files_of(exc)])
            return False
        finally:
            bridge._stage = None
        old, self.namespace = self.namespace, namespace
        bridge._replace_documents(stage.dashboards, stage.apps, sessions, stage.pages)
        self._teardown(old)
        self.runs += 1
        self._watch_more(self._module_files())
        if self.error is not None or self.runs > 1:
            names = ", ".join(stage.pages) or "nothing"
            self._say(f"{os.path.basename(self.script)} ran again; serving {names}")
        self._show(None)
        return True

    def _execute(self) -> dict[str, Any]:
        """The app file as ``wsbridge serve`` runs it (``cli._run_app``): the
        ``bridge`` global, ``__name__ == "__wsbridge__"``, its folder first on
        ``sys.path``, ``sys.argv == [app]``, then its ``main(bridge)``."""
        saved_argv, saved_path = sys.argv[:], sys.path[:]
        sys.argv = [self.script]
        sys.path.insert(0, self.folder)
        try:
            namespace = runpy.run_path(
                self.script, init_globals={"bridge": self.bridge}, run_name="__wsbridge__"
            )
            entry: Callable[..., Any] | None = namespace.get("main")
            if callable(entry):
                entry(self.bridge)
            return namespace
        finally:
            sys.argv = saved_argv
            sys.path[:] = saved_path

    def _rebuild_sessions(self, stage: _Stage) -> dict[str, Dashboard]:
        """The app sessions open in browsers, built again by the new factories
        (same names and queries, so their pages stay connected); a factory
        that raises fails the run."""
        built: dict[str, Dashboard] = {}
        try:
            for name, old in list(self.bridge._app_sessions.items()):
                entry = stage.apps.get(name.partition("~")[0])
                if entry is None:  # the app is gone: its sessions close
                    continue
                factory, title, _ = entry
                query = old._query.to_dict() if old._query is not None else old._initial_query
                app = name.partition("~")[0]
                built[name] = AppHosting._build_app(
                    app, factory, name, title, dict(query), self.bridge._app_themes.get(app)
                )
        except BaseException:
            for dash in built.values():
                dash._release()
            raise
        return built

    def _teardown(self, namespace: dict[str, Any] | None) -> None:
        if namespace is None:
            return
        fn = namespace.get("teardown")
        if not callable(fn):
            return
        try:
            fn(self.bridge)
        except Exception as exc:
            self._say(f"teardown raised {type(exc).__name__}: {exc}")

    def close(self) -> None:
        """The server stops: the serving version's ``teardown(bridge)``."""
        old, self.namespace = self.namespace, None
        self._teardown(old)

    # -- errors
    def _fail(self, exc: BaseException, files: Iterable[str]) -> None:
        self._watch_more(files)
        title, text = self._describe(exc)
        self._say(title)
        print(text, file=self.out, end="" if text.endswith("\n") else "\n", flush=True)
        if self.namespace is not None:
            self._say("still serving the last version that ran; waiting for a change")
        else:
            self._say("waiting for a change")
        self._show({"title": title, "text": text})

    def _app_error(self, app: str, exc: BaseException) -> None:
        """A factory raised as a page opened (on the callbacks thread)."""
        title, text = self._describe(exc, f"app {app!r}")
        with self._lock:
            self._say(title)
            print(text, file=self.out, end="" if text.endswith("\n") else "\n", flush=True)
        self._show({"title": title, "text": text})

    def _describe(self, exc: BaseException, what: str | None = None) -> tuple[str, str]:
        """A one-line summary and the traceback from the app's first frame on."""
        where = what or os.path.basename(self.script)
        if isinstance(exc, SystemExit):
            return f"{where} called sys.exit({exc.code!r})", "SystemExit\n"
        first = str(exc).splitlines()[0] if str(exc) else ""
        title = f"{where} raised {type(exc).__name__}" + (f": {first}" if first else "")
        tb: TracebackType | None = exc.__traceback__
        while tb is not None and not self._ours(tb.tb_frame.f_code.co_filename):
            tb = tb.tb_next
        text = "".join(traceback.format_exception(type(exc), exc, tb))
        if len(text) > TRACEBACK_MAX:
            text = "…" + text[-TRACEBACK_MAX:]
        return title[:500], text

    def _show(self, error: dict[str, str] | None) -> None:
        """Tell every page (``Hub.set_dev``), in order with the publications."""
        self.error = error
        self.bridge._threadsafe(self._set_dev, error)

    def _set_dev(self, error: dict[str, str] | None) -> None:
        hub = self.bridge.hub
        if hub is not None:
            hub.set_dev(error)

    def _say(self, text: str) -> None:
        print(f"{self.prog}: {text}", file=self.out, flush=True)

    # -- watching
    def serve(self, stop: threading.Event, interval: float = POLL_INTERVAL) -> None:
        """Run again whenever a watched file changes, until ``stop`` or the bridge stops."""
        while not stop.is_set() and self.bridge.running:
            time.sleep(interval)
            if self.changed():
                self._settle(stop)
                if not stop.is_set():
                    self.run()

    def changed(self) -> bool:
        """Has a watched file changed (or appeared, or gone) since the last run?"""
        return any(_stamp(path) != stamp for path, stamp in list(self._stamps.items()))

    def _settle(self, stop: threading.Event) -> None:
        """Wait until the files stay unchanged for ``SETTLE`` s (at most 1 s):
        an editor may truncate, then write, or write a copy and rename it."""
        deadline = time.monotonic() + 1.0
        last = {path: _stamp(path) for path in self._stamps}
        while time.monotonic() < deadline and not stop.is_set():
            time.sleep(SETTLE)
            now = {path: _stamp(path) for path in self._stamps}
            if now == last:
                return
            last = now

    def _ours(self, path: str) -> bool:
        """Is ``path`` one of the app's own files (in its folder, not wsbridge,
        not an installed package)?"""
        path = os.path.abspath(path)
        if not path.startswith(self.folder + os.sep):
            return False
        if path.startswith(_WSBRIDGE_DIR + os.sep):
            return False
        parts = path.split(os.sep)
        return "site-packages" not in parts and "dist-packages" not in parts

    def _app_modules(self) -> list[tuple[str, ModuleType]]:
        found = []
        for name, module in list(sys.modules.items()):
            path = getattr(module, "__file__", None)
            if isinstance(path, str) and self._ours(path):
                found.append((name, module))
        return found

    def _module_files(self) -> list[str]:
        return [os.path.abspath(str(m.__file__)) for _, m in self._app_modules()]

    def _forget_modules(self) -> None:
        """The app's own modules leave ``sys.modules``: the run imports them afresh."""
        for name, _ in self._app_modules():
            sys.modules.pop(name, None)

    def _watched(self) -> list[str]:
        return sorted({self.script, *self._stamps, *self._module_files()})

    def _watch_more(self, files: Iterable[str]) -> None:
        for path in files:
            path = os.path.abspath(path)
            if path not in self._stamps and (path == self.script or self._ours(path)):
                self._stamps[path] = _stamp(path)

    def _files_of(self, exc: BaseException) -> list[str]:
        """The app's files an error points at (a module whose syntax error kept
        it out of ``sys.modules`` must still be watched)."""
        files = []
        if isinstance(exc, SyntaxError) and exc.filename:
            files.append(exc.filename)
        tb = exc.__traceback__
        while tb is not None:
            files.append(tb.tb_frame.f_code.co_filename)
            tb = tb.tb_next
        return [f for f in files if os.path.isfile(f)]
