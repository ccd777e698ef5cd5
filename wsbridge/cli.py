"""The ``wsbridge`` command: ``wsbridge demo``, ``wsbridge serve app.py`` and
``wsbridge hub --redis URL``.

Each starts an embedded ``Bridge`` (the hub and Tornado on their own thread),
print where to point a browser, and then park the main thread until Ctrl-C
(SIGINT) or SIGTERM. The main thread only waits: all the work happens on the
bridge's threads, so the signal handlers just set a flag and the main thread
does the orderly shutdown (streamer, then bridge: every viewer gets a 1001
"going away" close, so its client reconnects later instead of reporting an
error) and returns 0.

The URLs are printed with ``flush=True`` on stdout (scripts and tests read
them from a pipe); everything else (warnings, errors) goes to stderr.
"""

from __future__ import annotations

import argparse
import logging
import os
import runpy
import secrets
import signal
import sys
import threading
import time
import traceback
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any

from . import __version__
from .runtime.bridge import Bridge, is_loopback

__all__ = [
    "DEFAULT_PORT",
    "REDIS_ENV",
    "TOKEN_ENV",
    "build_parser",
    "main",
]

DEFAULT_PORT = 8765

#: environment variables read when the option is not given (docs/deploy.md
#: "Secrets"): unlike arguments, they are not shown by ``ps``
TOKEN_ENV = "WSBRIDGE_TOKEN"
REDIS_ENV = "WSBRIDGE_REDIS_URL"

_PROG = "wsbridge"


def _with_token(url: str, token: str | None) -> str:
    """``url`` with ``?token=…``: the page handler turns it into a cookie."""
    if token is None:
        return url
    return f"{url}?{urllib.parse.urlencode({'token': token})}"


def _error(message: str) -> None:
    print(f"{_PROG}: error: {message}", file=sys.stderr, flush=True)


# -- argument parsing
def _add_server_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"TCP port (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; anything else requires a token, "
        "one is generated when --token is not given)",
    )
    token = p.add_mutually_exclusive_group()
    token.add_argument(
        "--token",
        default=None,
        help="require this token from browsers (printed in the URL as ?token=...); "
        f"visible to 'ps': prefer --token-file or ${TOKEN_ENV}",
    )
    token.add_argument(
        "--token-file",
        metavar="PATH",
        default=None,
        help=f"read the token from this file (default: ${TOKEN_ENV} when set)",
    )
    p.add_argument(
        "--allow-origin",
        dest="allow_origins",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="also accept WebSockets from this Origin (exact, or an fnmatch pattern such as "
        "'https://*.example.org'); repeatable",
    )
    p.add_argument(
        "--allow-host",
        dest="allow_hosts",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer requests for this host name (the Host a proxy forwards, a DNS "
        "alias; exact or an fnmatch pattern; '*' for any name); repeatable. By default "
        "only loopback names and addresses, the --host address and, beyond loopback, "
        "this machine's name are served (DNS rebinding; docs/security.md)",
    )
    p.add_argument(
        "--peer",
        dest="peers",
        action="append",
        default=[],
        metavar="URL",
        help="another hub serving the same documents (http(s)://host:port/); pages fail "
        "over to it when this one is unreachable; repeatable (docs/deploy.md)",
    )


def _add_global_options(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument(
        "--log-level",
        default=default,
        choices=["debug", "info", "warning", "error"],
        help="logging level (default warning)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``wsbridge`` argument parser (also what ``--help`` documents)."""
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description="Keep Python objects and browser widgets in step over a WebSocket.",
        epilog="Start with: wsbridge demo (then open the URL it prints). "
        "'wsbridge COMMAND --help' tells more about each command.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_global_options(parser, default="warning")
    # the same options after the subcommand; SUPPRESS keeps a value given before it
    common = argparse.ArgumentParser(add_help=False)
    _add_global_options(common, default=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="serve a live demo dashboard at /",
        description=(
            "Serve a live dashboard at /: streaming signals in a plot, a table and "
            "indicators, and controls that change them; every control at /d/gallery."
        ),
    )
    _add_server_options(demo)
    browser = demo.add_mutually_exclusive_group()
    browser.add_argument("--open", action="store_true", help="open it in a web browser")
    browser.add_argument(
        "--no-browser",
        dest="open",
        action="store_false",
        help="do not open a web browser (the default)",
    )
    demo.add_argument(
        "--theme",
        choices=["auto", "light", "dark"],
        default="auto",
        help="light, dark, or auto: each viewer's system setting (the default)",
    )
    demo.add_argument(
        "--accent",
        metavar="COLOUR",
        default="",
        help="the accent colour, a CSS colour such as '#7c3aed' (docs/theming.md)",
    )
    demo.set_defaults(func=_cmd_demo)

    serve = sub.add_parser(
        "serve",
        parents=[common],
        help="run a Python script that builds dashboards, and serve them",
        description=(
            "Run APP (a Python file) with a started Bridge in its global 'bridge'; if it "
            "defines main(bridge), that is called afterwards. Then serve until Ctrl-C."
        ),
    )
    serve.add_argument("app", help="the Python file to run")
    _add_server_options(serve)
    serve.add_argument("--open", action="store_true", help="open the first dashboard in a browser")
    serve.add_argument(
        "--dev",
        action="store_true",
        help="development mode: run APP again whenever it (or a module it imports from its "
        "folder) is saved; open pages get the new version without a reload, and an error "
        "is shown in them with its traceback (this machine only: docs/security.md)",
    )
    redis = serve.add_mutually_exclusive_group()
    redis.add_argument(
        "--redis",
        metavar="URL",
        default=None,
        help="also publish the dashboards to this Redis backplane (redis:// or rediss://), "
        "so 'wsbridge hub' processes serve them too (docs/deploy.md); a password in it is "
        "visible to 'ps': prefer --redis-file",
    )
    redis.add_argument(
        "--redis-file",
        metavar="PATH",
        default=None,
        help="read that Redis URL from this file",
    )
    serve.set_defaults(func=_cmd_serve)

    hub = sub.add_parser(
        "hub",
        parents=[common],
        help="serve the documents of a Redis backplane (run as many as you need)",
        description=(
            "A hub process holding no document of its own: it serves every document "
            "producers publish to the Redis backplane at URL. Any number of hubs can "
            "serve the same documents, behind a load balancer (docs/deploy.md)."
        ),
    )
    redis = hub.add_mutually_exclusive_group()
    redis.add_argument(
        "--redis",
        metavar="URL",
        default=None,
        help="the backplane: redis://[:password@]host:port/db, or rediss:// for TLS; a "
        f"password in it is visible to 'ps': prefer --redis-file or ${REDIS_ENV}",
    )
    redis.add_argument(
        "--redis-file",
        metavar="PATH",
        default=None,
        help=f"read the backplane's URL from this file (default: ${REDIS_ENV} when set; "
        "one of the three is required)",
    )
    hub.add_argument(
        "--prefix",
        default="wsbridge:",
        help="key prefix in Redis, shared with the producers (default wsbridge:)",
    )
    _add_server_options(hub)
    hub.set_defaults(func=_cmd_hub)
    return parser


# -- running until a signal
@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT and SIGTERM set ``stop`` instead of killing the process.

    Only possible on the main thread (elsewhere Python refuses handlers;
    then the caller must set ``stop`` itself). A second Ctrl-C during the
    shutdown gets Python's default behaviour (KeyboardInterrupt), so a
    stuck shutdown can still be interrupted.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        # Event.set takes the event's lock; the main thread never holds it
        # (it polls is_set(), see _wait), so this cannot deadlock.
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    names = ["SIGINT", "SIGTERM"]
    previous: dict[int, Any] = {}
    for name in names:
        signum = getattr(signal, name, None)
        if signum is not None:
            previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _wait(stop: threading.Event, bridge: Bridge) -> None:
    """Until a signal, or until the bridge stops (an app may stop it itself)."""
    # Polling is_set() (not stop.wait()) keeps the main thread off the
    # event's internal, non-reentrant lock, which the signal handler takes.
    while not stop.is_set() and bridge.running:
        time.sleep(0.1)


class _SecretMissing(Exception):
    """A secret's file could not be read, or a required one was not given."""


def _secret(given: str | None, path: str | None, env: str | None) -> str | None:
    """A secret from its option, else its file, else the environment variable ``env``.

    Files and the environment keep it off the command line, which ``ps``
    shows to every user of the machine. Surrounding whitespace (a trailing
    newline) is dropped.
    """
    if given is not None:
        return given
    if path is not None:
        try:
            with open(path, encoding="utf-8") as f:
                value = f.read().strip()
        except OSError as exc:
            raise _SecretMissing(f"cannot read {path}: {exc.strerror or exc}") from None
        if not value:
            raise _SecretMissing(f"{path} is empty")
        return value
    value = os.environ.get(env, "").strip() if env is not None else ""
    return value or None


def _resolve_secrets(args: argparse.Namespace) -> None:
    """Fill ``args.token`` and ``args.redis`` from their files or the environment."""
    args.token = _secret(args.token, args.token_file, TOKEN_ENV)
    if args.func is _cmd_hub:
        args.redis = _secret(args.redis, args.redis_file, REDIS_ENV)
    elif hasattr(args, "redis"):
        args.redis = _secret(args.redis, args.redis_file, None)


def _start_bridge(args: argparse.Namespace) -> tuple[Bridge, str | None] | None:
    """A started bridge from the common options, or None (error printed)."""
    try:
        _resolve_secrets(args)
    except _SecretMissing as exc:
        _error(str(exc))
        return None
    token: str | None = args.token
    if token is None and not is_loopback(args.host):
        token = secrets.token_urlsafe(16)
        print(
            f"{_PROG}: listening on {args.host}, beyond this machine: browsers need the "
            "token in the URL below",
            file=sys.stderr,
            flush=True,
        )
    if not 0 <= args.port <= 65535:
        _error(f"--port must be between 0 and 65535, not {args.port}")
        return None
    backplane: dict[str, Any] = {}
    redis_url = getattr(args, "redis", None)
    if redis_url is not None:
        from .scaleout.keys import BackplaneConfig

        config = BackplaneConfig(redis_url, prefix=getattr(args, "prefix", "wsbridge:"))
        backplane = {"follow" if args.func is _cmd_hub else "backplane": config}
    try:
        bridge = Bridge(
            host=args.host,
            port=args.port,
            token=token,
            allow_origins=args.allow_origins,
            allow_hosts=args.allow_hosts,
            peers=args.peers,
            **backplane,
        )
        bridge.start()
    except OSError as exc:
        cause = exc.__cause__ if isinstance(exc.__cause__, OSError) else exc
        _error(
            f"cannot listen on {args.host}:{args.port}: {cause.strerror or cause} "
            "(choose another --port, or --port 0 for a free one)"
        )
        return None
    except (ValueError, ConnectionError) as exc:
        _error(str(exc))
        return None
    except TimeoutError:
        from .scaleout.keys import redact_url

        _error(f"the Redis backplane at {redact_url(redis_url or '')} did not answer")
        return None
    return bridge, token


def _cmd_hub(args: argparse.Namespace, stop: threading.Event) -> int:
    from .scaleout.keys import redact_url

    started = _start_bridge(args)
    if started is None:
        return 1
    bridge, token = started
    try:
        where = _with_token(bridge.url, token)
        print(f"Serving the documents of {redact_url(args.redis)} at {where}", flush=True)
        print("Press Ctrl-C to stop.", file=sys.stderr, flush=True)
        _wait(stop, bridge)
    finally:
        bridge.stop()
    return 0


def _open_browser(url: str) -> None:
    import webbrowser

    try:
        webbrowser.open(url)
    except Exception as exc:  # no display, no browser: the URL is printed anyway
        print(f"{_PROG}: could not open a browser: {exc}", file=sys.stderr, flush=True)


# -- commands
def _cmd_demo(args: argparse.Namespace, stop: threading.Event) -> int:
    from .demo import DemoStreamer, build_demo
    from .gallery import GALLERY_NAME, build_gallery
    from .widgets.theme import Theme

    try:
        theme = Theme.coerce({"mode": args.theme, "accent": args.accent})
    except ValueError as exc:
        _error(str(exc))
        return 1
    started = _start_bridge(args)
    if started is None:
        return 1
    bridge, token = started
    streamer = DemoStreamer()
    try:
        build_demo(bridge, streamer, theme=theme)
        build_gallery(bridge, theme=theme)
        url = _with_token(bridge.url, token)
        print(f"Serving the wsbridge demo at {url}", flush=True)
        gallery = _with_token(f"{bridge.url}d/{GALLERY_NAME}", token)
        print(f"Every control: {gallery}", file=sys.stderr, flush=True)
        print("Press Ctrl-C to stop.", file=sys.stderr, flush=True)
        if args.open:
            _open_browser(url)
        _wait(stop, bridge)
    finally:
        streamer.stop()
        streamer.join(5.0)
        bridge.stop()
    return 0


def _script_traceback(exc: BaseException, script: str) -> str:
    """The traceback from the script's first frame on (not runpy's nor ours)."""
    tb = exc.__traceback__
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) != script:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def _run_app(script: str, bridge: Bridge) -> None:
    """Run the app file as a script with ``bridge`` injected, then its ``main``.

    It runs as ``__name__ == "__wsbridge__"`` rather than ``"__main__"``, so
    an app may keep a standalone ``if __name__ == "__main__":`` block (that
    makes its own bridge) without it firing here. Like ``python app.py``,
    the app's directory comes first on ``sys.path`` (for its own modules)
    and ``sys.argv`` is ``[app]``.
    """
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    sys.argv = [script]
    sys.path.insert(0, os.path.dirname(script))
    try:
        namespace = runpy.run_path(script, init_globals={"bridge": bridge}, run_name="__wsbridge__")
        entry: Callable[..., Any] | None = namespace.get("main")
        if callable(entry):
            entry(bridge)
    finally:
        sys.argv = saved_argv
        sys.path[:] = saved_path


def _cmd_serve(args: argparse.Namespace, stop: threading.Event) -> int:
    script = os.path.abspath(args.app)
    if not os.path.isfile(script):
        _error(f"no such file: {args.app}")
        return 1
    started = _start_bridge(args)
    if started is None:
        return 1
    bridge, token = started
    if args.dev:
        return _serve_dev(args, script, bridge, token, stop)
    try:
        try:
            _run_app(script, bridge)
        except SystemExit as exc:  # the app chose to quit before serving
            code = exc.code
            if code is None or code == 0:
                return 0
            if not isinstance(code, int):
                print(code, file=sys.stderr, flush=True)
                return 1
            return code
        except Exception as exc:
            _error(f"{args.app} raised {type(exc).__name__}: {exc}")
            print(_script_traceback(exc, script), file=sys.stderr, end="", flush=True)
            return 1
        base = bridge.url
        print(f"Serving {args.app} at {_with_token(base, token)}", flush=True)
        names = sorted(bridge.dashboards)
        for name in names:
            page = _with_token(f"{base}d/{urllib.parse.quote(name)}", token)
            print(f"  {name}: {page}", flush=True)
        if not names:
            print(
                f"{_PROG}: {args.app} registered no dashboard; call "
                "bridge.dashboard(name, root) in it",
                file=sys.stderr,
                flush=True,
            )
        print("Press Ctrl-C to stop.", file=sys.stderr, flush=True)
        if args.open:
            first = f"{base}d/{urllib.parse.quote(names[0])}" if names else base
            _open_browser(_with_token(first, token))
        _wait(stop, bridge)
    finally:
        bridge.stop()
    return 0


def _serve_dev(
    args: argparse.Namespace, script: str, bridge: Bridge, token: str | None, stop: threading.Event
) -> int:
    """``serve --dev``: run the app, then again on every save, until Ctrl-C
    (``runtime/devserver.py``). A run that fails keeps the server up (the
    previous version serving, the error shown in the pages and here)."""
    from .runtime.devserver import DevServer

    if not is_loopback(args.host):
        print(
            f"{_PROG}: --dev shows your app's tracebacks (source lines, file paths) to every "
            "viewer; use it on a machine and network you trust",
            file=sys.stderr,
            flush=True,
        )
    dev = DevServer(script, bridge, prog=_PROG)
    try:
        dev.run()
        base = bridge.url
        print(f"Serving {args.app} at {_with_token(base, token)} (reloads on save)", flush=True)
        for name in bridge.dashboards:
            page = _with_token(f"{base}d/{urllib.parse.quote(name)}", token)
            print(f"  {name}: {page}", flush=True)
        print("Press Ctrl-C to stop.", file=sys.stderr, flush=True)
        if args.open:
            names = list(bridge.dashboards)
            first = f"{base}d/{urllib.parse.quote(names[0])}" if names else base
            _open_browser(_with_token(first, token))
        dev.serve(stop)
    finally:
        dev.close()
        bridge.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``wsbridge`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # `wsbridge` alone: what it can do
        parser.print_help()
        return 0
    if (
        args.func is _cmd_hub
        and args.redis is None
        and args.redis_file is None
        and not os.environ.get(REDIS_ENV, "").strip()
    ):
        parser.error(f"'hub' needs --redis URL, --redis-file PATH or ${REDIS_ENV}")
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    stop = threading.Event()
    func: Callable[[argparse.Namespace, threading.Event], int] = args.func
    with _stop_on_signals(stop):
        try:
            return func(args, stop)
        except KeyboardInterrupt:  # a second Ctrl-C while shutting down
            return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
