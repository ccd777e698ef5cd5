"""The ``wsbridge demo`` dashboard: a live signal, sliders that shape it.

It shows, with nothing to install or write, what wsbridge is for: a Python
thread produces data at its own pace (``DataSource.stream`` in small binary
chunks, with rollover), browsers draw it as it lands, and a browser's slider
or button reaches Python and changes what is produced, for every viewer at
once.

The producer is a ``DemoStreamer``: a daemon thread that owns the widgets.
The sliders' observers copy their values into plain attributes that the
thread reads (a float assignment is atomic), so a browser's ``set`` never
waits for the streaming thread nor the other way round. Time is simulated
(``rate`` samples per simulated second) but paced by the wall clock, so the
plot scrolls in real time, and ``produce`` can also be called directly
(deterministic tests, notebooks).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from .widgets.controls import Button, Slider
from .widgets.display import Label, Sparkline
from .widgets.layout import Column, Row
from .widgets.source import DataSource

if TYPE_CHECKING:
    from .runtime.bridge import Bridge
    from .widgets.dashboard import Dashboard

__all__ = [
    "DEMO_NAME",
    "DEMO_TITLE",
    "DemoStreamer",
    "build_demo",
]

#: the demo's document name: served at ``d/demo`` and, as the index, at ``/``
DEMO_NAME = "demo"
DEMO_TITLE = "wsbridge demo"

_TWO_PI = 2.0 * math.pi

log = logging.getLogger("wsbridge.demo")


class DemoStreamer:
    """Produces a noisy sum of sines into ``source`` (columns ``t``, ``y``).

    ``y = amplitude * (sin(p) + 0.3 * sin(3 p)) + noise * N(0, 1)`` where the
    phase ``p`` advances by ``2 pi frequency / rate`` per sample. The phase
    is accumulated (not ``2 pi f t``), so moving the frequency slider bends
    the curve smoothly instead of making it jump.

    ``start()`` runs a daemon thread that streams ``rate / chunk_rate``
    samples ``chunk_rate`` times a second, keeping the last ``rollover``
    rows; ``stop()`` ends it (then ``join()``). The "Reset" button empties
    the source and restarts time and phase at 0. ``readout`` shows the
    latest time and value a few times per (simulated) second: patches are
    cheap, but a label rewritten 25 times a second is unreadable.
    """

    def __init__(
        self,
        *,
        rate: float = 100.0,
        chunk_rate: float = 25.0,
        rollover: int = 600,
        readout_interval: float = 0.25,
        seed: int | None = None,
    ) -> None:
        if not rate > 0 or not chunk_rate > 0 or chunk_rate > rate:
            raise ValueError("need 0 < chunk_rate <= rate")
        if rollover < 1:
            raise ValueError("rollover must be >= 1")
        self.rate = float(rate)
        self.chunk_rate = float(chunk_rate)
        self.rollover = int(rollover)
        self.readout_interval = float(readout_interval)

        self.source = DataSource({"t": np.empty(0), "y": np.empty(0)})
        self.frequency = Slider(1.0, min=0.1, max=5.0, step=0.1, label="frequency (Hz)")
        self.amplitude = Slider(1.0, min=0.0, max=2.0, step=0.05, label="amplitude")
        self.noise = Slider(0.05, min=0.0, max=0.5, step=0.01, label="noise")
        self.reset_button = Button("Reset")
        self.readout = Label("t = 0.0 s, last y = +0.00")
        self.plot = Sparkline(self.source, x="t", y="y", height=160)

        # what the producing thread reads; written by the sliders' observers
        self._freq = self.frequency.value
        self._amp = self.amplitude.value
        self._noise = self.noise.value
        self.frequency.observe(self._on_param, names="value")
        self.amplitude.observe(self._on_param, names="value")
        self.noise.observe(self._on_param, names="value")
        self.reset_button.on_click(lambda _button: self.reset())

        # produce() and reset() run on different threads (the streamer's, the
        # bridge's callbacks thread); this lock keeps a chunk computed before a
        # reset from landing after it.
        self._lock = threading.Lock()
        self._rng = np.random.default_rng(seed)
        self._n = 0  # samples produced since the last reset
        self._phase = 0.0
        self._last_readout = -math.inf
        self._epoch = time.monotonic()  # wall-clock time of t = 0 (pacing)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        state = "running" if self.is_alive() else "stopped"
        return f"<DemoStreamer {state}, t={self.t:.2f} s, {len(self.source)} rows>"

    @property
    def t(self) -> float:
        """Simulated time of the next sample, in seconds since the last reset."""
        return self._n / self.rate

    def _on_param(self, change: dict[str, Any]) -> None:
        value = float(change["new"])
        owner = change["owner"]
        if owner is self.frequency:
            self._freq = value
        elif owner is self.amplitude:
            self._amp = value
        elif owner is self.noise:
            self._noise = value

    # -- producing
    def produce(self, n: int) -> None:
        """Compute and stream the next ``n`` samples (any thread)."""
        if n <= 0:
            return
        with self._lock:
            freq, amp, noise = self._freq, self._amp, self._noise
            steps = np.arange(1, n + 1, dtype=np.float64)
            phase = self._phase + _TWO_PI * freq / self.rate * steps
            t = (self._n + np.arange(n, dtype=np.float64)) / self.rate
            y = amp * (np.sin(phase) + 0.3 * np.sin(3.0 * phase))
            if noise > 0:
                y = y + noise * self._rng.standard_normal(n)
            self._phase = float(phase[-1] % _TWO_PI)
            self._n += n
            self.source.stream({"t": t, "y": y}, rollover=self.rollover)
            if t[-1] - self._last_readout >= self.readout_interval:
                self._last_readout = float(t[-1])
                self.readout.value = f"t = {t[-1]:.1f} s, last y = {y[-1]:+.2f}"

    def reset(self) -> None:
        """Empty the source; time and phase start again at 0 (the Reset button)."""
        with self._lock:
            self._n = 0
            self._phase = 0.0
            self._last_readout = -math.inf
            self._epoch = time.monotonic()
            self.source.replace({"t": np.empty(0), "y": np.empty(0)})
            self.readout.value = "t = 0.0 s, last y = +0.00"

    # -- the thread
    def start(self) -> DemoStreamer:
        """Start streaming on a daemon thread (idempotent); returns self."""
        if self._thread is None:
            self._epoch = time.monotonic() - self.t
            self._thread = threading.Thread(target=self._run, name="wsbridge-demo", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the thread to end after its current chunk (see ``join``)."""
        self._stopping.set()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread to end (after ``stop``); a no-op if never started."""
        if self._thread is not None:
            self._thread.join(timeout)

    def is_alive(self) -> bool:
        """Whether the streaming thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        period = 1.0 / self.chunk_rate
        while not self._stopping.wait(period):
            # pace by the wall clock, not by counting ticks: a late tick
            # produces more samples, so the plot never drifts from real time
            with self._lock:
                due = int((time.monotonic() - self._epoch) * self.rate) - self._n
                if due > self.rate:  # suspended for a while: skip, don't burst
                    self._epoch = time.monotonic() - self._n / self.rate
                    due = int(self.rate / self.chunk_rate)
            try:
                self.produce(due)
            except Exception:  # pragma: no cover - keep the demo alive, say why
                log.exception("demo streamer step failed")


def build_demo(
    bridge: Bridge,
    streamer: DemoStreamer | None = None,
    *,
    start: bool = True,
) -> Dashboard:
    """Lay the demo out and publish it on ``bridge`` at ``d/demo`` and ``/``.

    ``streamer`` owns the widgets and the data; pass your own to ``stop()``
    it later (``wsbridge demo`` does). Without one, a new streamer is made;
    its daemon thread then lives as long as the process. ``start=False``
    leaves the thread unstarted (call ``streamer.produce(n)`` yourself).
    """
    s = streamer if streamer is not None else DemoStreamer()
    layout = Column(
        s.plot,
        Row(s.frequency, s.amplitude, s.noise),
        Row(s.reset_button, s.readout),
    )
    dash = bridge.dashboard(DEMO_NAME, layout, title=DEMO_TITLE)
    bridge.index = DEMO_NAME
    if start:
        s.start()
    return dash
