"""Calls from any thread onto the hub's event loop, in order, cheaply.

``Bridge`` runs the hub on its own thread; every producer change
(``src.stream()``, a trait set) reaches it through one ``Handoff``. This
is the producer's hot path: ``src.stream()`` should only enqueue
(benchmarks/README.md: a 50 us median), so both halves are built for that.

- **One wake-up per burst.** A call is a ``deque.append``; only the call
  that finds no drain scheduled wakes the loop. ``loop.call_soon_threadsafe``
  per call wrote to the loop's self-pipe every time (profiled: 40 % of
  ``src.stream()``), and every queued callback sat ahead of the writers.
- **A wake-up that keeps the GIL** (``Waker``). Any syscall made from Python
  drops the GIL, including the self-pipe write of ``call_soon_threadsafe``.
  The byte it writes wakes the hub thread, which takes the free GIL while
  the producer is still in the kernel and keeps it through a whole drain
  (encode, replica, fan-out) until its own first syscall: measured, 10-17 us
  of each ``src.stream()`` of 10,000 float64 on a 2-core machine. ``Waker``
  writes to its own pipe through a ``ctypes.PyDLL`` ``write`` (PyDLL keeps
  the GIL across the call), so the producer returns first and the hub runs
  when the producer next blocks or its switch interval ends. Where that is
  not available (no libc ``write``, a loop without ``add_reader`` such as
  Windows' proactor) it falls back to ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ctypes
import logging
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = [
    "DRAIN_BUDGET",
    "Batch",
    "Handoff",
    "Waker",
    "Worker",
]

log = logging.getLogger("wsbridge.bridge")

#: one hand-off drain runs at most this long (s) before it lets the loop run
#: writers and network I/O, then continues (the rest stays queued, in order).
#: Why CPython's default GIL switch interval: letting the loop run means a
#: ``select`` that hands the GIL to a busy producer thread for up to that
#: long, so a shorter turn only halves the hub's share of the GIL.
DRAIN_BUDGET = 0.005


def _gil_held_write() -> Callable[[int, bytes, int], int] | None:
    """libc ``write`` called with the GIL held, or None where there is none."""
    if os.name != "posix":
        return None
    try:
        fn = ctypes.PyDLL(None).write
    except (OSError, AttributeError):  # pragma: no cover - no libc symbols in the binary
        return None
    fn.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t)
    fn.restype = ctypes.c_ssize_t
    return fn


class Waker:
    """Run ``callback`` on ``loop`` soon, from any thread, without dropping the GIL.

    Create it on the loop's thread (it registers a reader). ``wake()`` may be
    called from anywhere, any number of times; several wake-ups before the
    loop runs give one or more callbacks, never none. ``gil_held`` says
    whether the GIL-keeping path is in use (else ``call_soon_threadsafe``).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
        self.loop = loop
        self.callback = callback
        self._fds: tuple[int, int] | None = None
        self._write = _gil_held_write()
        if self._write is not None:
            r, w = os.pipe()
            os.set_blocking(r, False)
            os.set_blocking(w, False)  # a full pipe means wake-ups are pending: fine
            try:
                loop.add_reader(r, self._readable)
            except NotImplementedError:  # pragma: no cover - proactor loops
                os.close(r)
                os.close(w)
                self._write = None
            else:
                self._fds = (r, w)

    @property
    def gil_held(self) -> bool:
        return self._fds is not None

    def wake(self) -> None:
        fds, write = self._fds, self._write
        if fds is not None and write is not None:
            write(fds[1], b"\0", 1)  # -1/EAGAIN: the pipe is full of wake-ups already
        else:
            try:
                self.loop.call_soon_threadsafe(self.callback)
            except RuntimeError:  # the loop closed under us: the bridge is stopping
                pass

    def _readable(self) -> None:
        assert self._fds is not None
        try:
            os.read(self._fds[0], 4096)
        except BlockingIOError:  # pragma: no cover - spurious readiness
            pass
        self.callback()

    def close(self) -> None:
        """Unregister and close the pipe (on the loop's thread)."""
        fds, self._fds = self._fds, None
        if fds is not None:
            self.loop.remove_reader(fds[0])
            os.close(fds[0])
            os.close(fds[1])


def _yield_gil() -> None:
    """Let a thread waiting for the GIL (the loop's) take it now."""
    time.sleep(0)


class Batch:
    """Items that reach the loop as one call: added to while still queued.

    ``Handoff.batch`` adds to the batch at the tail of the queue instead of
    queueing a new call, until the loop takes it (``take``). The lock makes "not
    taken yet, so add" one step: without it an item added just after the
    loop took the list would be lost.
    """

    __slots__ = ("items", "key", "lock", "size", "taken")

    def __init__(self, key: Any, item: Any, size: int) -> None:
        self.key = key
        self.items = [item]
        self.size = size
        self.taken = False
        self.lock = threading.Lock()

    def add(self, item: Any, size: int) -> bool:
        with self.lock:
            if self.taken:
                return False
            self.items.append(item)
            self.size += size
            return True

    def take(self) -> list[Any]:
        """The items (on the loop); nothing can be added afterwards."""
        with self.lock:
            self.taken = True
            return self.items


class Handoff:
    """Calls from any thread onto one event loop, in order, woken once per burst.

    A drain runs for at most ``DRAIN_BUDGET`` seconds and then re-schedules
    itself behind what became ready meanwhile (writers), so a long burst
    interleaves with the writes instead of starving them.

    Lock-free under the GIL: ``scheduled`` stays set while a drain runs (so
    calls made meanwhile do not wake the loop) and is cleared only when the
    deque is empty, then the deque is checked once more: a call either saw
    the flag set before that clear (and the re-check finds its item) or
    clear (and wakes the loop itself). A race can only add an empty drain,
    never strand an item. Create it on the loop's thread; ``close()`` there.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.calls: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self.scheduled = False
        self.waker = Waker(loop, self.drain)

    def __call__(self, fn: Callable[..., Any], *args: Any) -> None:
        self.calls.append((fn, args))
        if not self.scheduled:
            self.scheduled = True
            self.waker.wake()

    def batch(
        self, fn: Callable[[Batch], Any], key: Any, item: Any, size: int, max_size: int
    ) -> None:
        """Queue ``fn(Batch)`` holding ``item``, or add ``item`` to the batch
        of ``fn`` at the tail of the queue when it has the same ``key``, the
        loop has not taken it yet and it stays within ``max_size``.

        Only the tail: an item never overtakes a call queued before it, so
        the order of everything handed off is kept. The tail is ``fn``'s
        when it compares equal (a bound method of the same object does).

        When that batch is full and still untaken, the loop is a whole batch
        behind: the caller then yields the GIL once (``_yield_gil``) after
        queueing. Else a producer in a tight loop keeps the GIL until the
        interpreter's switch interval (5 ms) forces it out, and the loop,
        waiting for it, publishes and writes once per interval
        (docs/performance.md#yielding-the-gil-one-batch-ahead). A caller
        that never fills a batch (the hub keeps up) never yields.
        """
        calls = self.calls
        # Checked first: raising IndexError on the usual empty queue cost
        # ~1 us a call; the try below only covers the loop emptying it now.
        if calls:
            try:
                last_fn, last_args = calls[-1]
            except IndexError:  # emptied by the loop just now
                pass
            else:
                if last_fn == fn:
                    last: Batch = last_args[0]
                    if last.key == key:
                        if last.size + size <= max_size and last.add(item, size):
                            return
                        if not last.taken:  # full, and the loop has not even started on it
                            self(fn, Batch(key, item, size))
                            _yield_gil()
                            return
        self(fn, Batch(key, item, size))

    def drain(self) -> None:
        calls = self.calls
        deadline = time.perf_counter() + DRAIN_BUDGET
        while True:
            while calls:
                fn, args = calls.popleft()
                try:
                    fn(*args)
                except Exception:  # one bad call must not strand the rest
                    log.exception("hub call %s failed", getattr(fn, "__name__", fn))
                if time.perf_counter() >= deadline and calls:
                    self.loop.call_soon(self.drain)  # behind the writers woken so far
                    return  # still scheduled: callers need not wake the loop
            # Calls made while this drain ran found it scheduled and did not
            # wake the loop; clear the flag, then look once more for a call
            # appended just before that.
            self.scheduled = False
            if not calls:
                return
            self.scheduled = True

    def close(self) -> None:
        self.waker.close()


class Worker:
    """One thread that runs calls in order: the bridge's callbacks thread.

    The other direction of a browser ``set``'s round trip (hub loop → here →
    traits and observers → back through ``Handoff``). Why not a
    ``ThreadPoolExecutor(max_workers=1)``: its ``submit`` builds a
    ``Future`` (a ``Condition`` and its lock) and a work item on the hub's
    loop, and its worker settles that future after each call, before it
    blocks and frees the GIL for the hub to send the echo; measured,
    50-100 us of each round trip on a 2-core machine. Here ``call`` is one
    ``SimpleQueue.put`` and the worker goes straight back to ``get``.
    ``submit`` still gives a future, for the rare caller that needs one.
    """

    def __init__(self, name: str) -> None:
        self._queue: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...]] | None] = (
            queue.SimpleQueue()
        )
        self._closed = False
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the worker, after every call queued before;
        an exception is logged. Raises ``RuntimeError`` once shut down."""
        if self._closed:
            raise RuntimeError("the worker is shut down")
        self._queue.put((fn, args))

    def submit(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future[Any]:
        """Like ``call``, with a future for the result or the exception."""
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args))
            except BaseException as exc:
                future.set_exception(exc)

        self.call(run)
        return future

    def shutdown(self) -> None:
        """Stop after the current call; queued calls are dropped (not waited for)."""
        self._closed = True
        self._queue.put(None)

    def _run(self) -> None:
        get = self._queue.get
        while True:
            item = get()
            if item is None or self._closed:
                return
            fn, args = item
            try:
                fn(*args)
            except Exception:  # one failing call must not stop the thread
                log.exception("callback %s failed", getattr(fn, "__name__", fn))
