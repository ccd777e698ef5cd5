"""Shared helpers: child processes, percentiles, RSS, result rows.

Every server under test (raw Tornado, wsbridge's embedded hub, Bokeh) runs
in its own spawned process (``child``), and so do the many-client sets
(``_clients.hold_clients``); the measuring client runs on the main process's
loop, so it never shares a GIL with what it measures, and each side of every
comparison gets the same treatment.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import socket
import statistics
from collections.abc import Callable, Iterator
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web

WS_OPTIONS = {"max_message_size": 1 << 30}


def nodelay(conn: Any) -> None:
    """TCP_NODELAY on a Tornado websocket client connection."""
    with contextlib.suppress(AttributeError, OSError):
        conn.protocol.stream.set_nodelay(True)


def raise_nofile(want: int) -> int:
    """Raise the soft open-files limit towards ``want``; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def rss_bytes(pid: int | None = None, field: str = "VmRSS") -> int:
    """Resident memory of a process (``VmRSS``, or ``VmHWM`` for the peak)."""
    with open(f"/proc/{pid or os.getpid()}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc status")  # pragma: no cover


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..100) of ``values`` (inclusive method)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[max(0, min(98, int(q) - 1))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def row(
    bench: str,
    case: str,
    unit: str,
    wsbridge: float | None,
    raw: float | None,
    *,
    higher_is_better: bool,
    target: float | None = None,
    others: dict[str, float | None] | None = None,
    notes: str = "",
    extra: dict[str, Any] | None = None,
    baseline: str = "raw tornado",
) -> dict[str, Any]:
    """One result line: wsbridge vs raw Tornado, with a ratio and its target.

    ``ratio`` is always wsbridge / raw. With ``higher_is_better`` (throughput)
    the target is a floor (ratio >= target), else a ceiling (ratio <= target).
    A row with no raw baseline compares ``wsbridge`` to ``target`` itself.
    """
    wsbridge = float(wsbridge) if wsbridge is not None else None
    raw = float(raw) if raw is not None else None
    ratio = wsbridge / raw if wsbridge is not None and raw else None
    ok = None
    if target is not None:
        subject = ratio if raw is not None else wsbridge
        if subject is not None:
            ok = bool(subject >= target if higher_is_better else subject <= target)
    return {
        "bench": bench,
        "case": case,
        "unit": unit,
        "wsbridge": wsbridge,
        "baseline": raw,
        "baseline_is": baseline,
        "ratio": ratio,
        "target": target,
        "target_is": ("ratio" if raw is not None else "value")
        + (" >= " if higher_is_better else " <= "),
        "pass": ok,
        "others": others or {},
        "notes": notes,
        **({"extra": extra} if extra else {}),
    }


@contextlib.contextmanager
def quiet_logs() -> Iterator[None]:
    """Silence wsbridge/tornado warnings during a benchmark (e.g. drops, 4001)."""
    import logging

    names = ["wsbridge", "tornado", "bokeh", "asyncio"]
    saved = {n: logging.getLogger(n).level for n in names}
    for n in names:
        logging.getLogger(n).setLevel(logging.ERROR)
    try:
        yield
    finally:
        for n, level in saved.items():
            logging.getLogger(n).setLevel(level)


@contextlib.contextmanager
def child(target: Callable[..., None], *args: Any) -> Iterator[tuple[Any, Any, Any]]:
    """Run ``target(ready, go, *args)`` in a fresh (spawned) process.

    The target puts what the parent needs (a port, a URL) on ``ready`` and
    may wait for the ``go`` event. Yields ``(info, go, process)``; the process
    is terminated on exit. Servers run in their own process so that the
    measuring client never shares a GIL with them.
    """
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    ready, go = ctx.Queue(), ctx.Event()
    proc = ctx.Process(target=target, args=(ready, go, *args), daemon=True)
    proc.start()
    proc.queue = ready  # type: ignore[attr-defined]  # later reports from the child
    try:
        info = None
        for _ in range(120):  # a child that died must not leave us waiting
            with contextlib.suppress(Exception):
                info = ready.get(timeout=0.5)
                break
            if not proc.is_alive():
                raise RuntimeError(f"{target.__name__} exited with {proc.exitcode}")
        if info is None:
            raise TimeoutError(f"{target.__name__} never became ready")
        yield info, go, proc
    finally:
        proc.terminate()
        proc.join(5)
        if proc.is_alive():  # pragma: no cover
            proc.kill()
            proc.join(5)


def serve_forever(
    app: tornado.web.Application,
    ready: Any,
    extra: Any = None,
    loop: asyncio.AbstractEventLoop | None = None,
) -> None:
    """In a child process: serve ``app`` on 127.0.0.1, put ``(port, extra)`` on ``ready``."""
    loop = loop or asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets(sockets)
    ready.put((sockets[0].getsockname()[1], extra))
    loop.run_forever()


def mp_context() -> Any:
    """The multiprocessing context every child uses (spawn: no inherited threads)."""
    import multiprocessing

    return multiprocessing.get_context("spawn")
