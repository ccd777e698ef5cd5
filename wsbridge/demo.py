"""The ``wsbridge demo`` dashboard: live signals, a real plot, controls that shape them.

It shows, with nothing to write, what wsbridge is for: a Python thread
produces data at its own pace (``DataSource.stream`` in small binary
chunks, with rollover), every open page draws it as it lands (a Bokeh plot
with axes, a table that follows the stream, big-number indicators), and a
viewer's control reaches Python and changes what is produced, for every
viewer at once. It also shows how many pages are watching and how fast the
updates go. ``wsbridge demo`` serves it at ``/`` and ``d/demo``, with every
control of the widget set at ``d/gallery`` (``wsbridge.gallery``).

The producer is a ``DemoStreamer``: a daemon thread that owns the widgets.
The controls' observers copy their values into plain attributes that the
thread reads (an assignment is atomic), so a browser's ``set`` never waits
for the streaming thread nor the other way round. Time is simulated
(``rate`` samples per simulated second) but paced by the wall clock, so the
plot scrolls in real time, and ``produce`` can also be called directly
(deterministic tests, notebooks).

The plot is a Bokeh figure (``wb.Plot``); Bokeh is one of wsbridge's
dependencies, so ``pip install wsbridge && wsbridge demo`` shows it. Should
it be missing all the same (installed with ``--no-deps``, or too old), the
demo draws a ``Sparkline`` instead and says how to get the real plot.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .widgets.controls import Button, RangeSlider, Select, Slider, Toggle
from .widgets.display import Markdown, Number, Progress, Sparkline
from .widgets.layout import Card, Column, Grid, Row
from .widgets.model import Model
from .widgets.source import DataSource
from .widgets.table import Table

if TYPE_CHECKING:
    from .runtime.bridge import Bridge
    from .widgets.dashboard import Dashboard

__all__ = [
    "COLUMNS",
    "DEMO_NAME",
    "DEMO_TITLE",
    "WAVEFORMS",
    "DemoStreamer",
    "build_demo",
    "demo_plot",
    "wave",
]

#: the demo's document name: served at ``d/demo`` and, as the index, at ``/``
DEMO_NAME = "demo"
DEMO_TITLE = "wsbridge demo"

#: the columns of both sources: time (s), the signal, its smoothed value and
#: the clean quadrature (the waveform a quarter period ahead, no noise)
COLUMNS = ("t", "signal", "smoothed", "quadrature")

#: the waveform choices: label -> name (``wave``)
WAVEFORMS = {"sine": "sine", "square": "square", "sawtooth": "sawtooth", "triangle": "triangle"}

_TWO_PI = 2.0 * math.pi

log = logging.getLogger("wsbridge.demo")


def wave(name: str, phase: np.ndarray) -> np.ndarray:
    """The unit waveform ``name`` (``WAVEFORMS``) at ``phase`` (radians): values in [-1, 1]."""
    out: np.ndarray
    cycle = np.mod(phase / _TWO_PI, 1.0)  # 0..1 along the period
    if name == "square":
        out = np.where(np.sin(phase) >= 0.0, 1.0, -1.0)
    elif name == "sawtooth":
        out = 2.0 * cycle - 1.0
    elif name == "triangle":
        out = 1.0 - 4.0 * np.abs(cycle - 0.5)
    else:
        out = np.sin(phase)
    return out


def _empty() -> dict[str, np.ndarray]:
    return {name: np.empty(0) for name in COLUMNS}


class DemoStreamer:
    """Produces three series into ``source`` (columns ``COLUMNS``) and a row
    per ``readout_interval`` into ``samples`` (the table's).

    ``signal = clip(amplitude * wave(p) + noise * N(0, 1), *clip)`` where the
    phase ``p`` advances by ``2 pi frequency / rate`` per sample. The phase
    is accumulated (not ``2 pi f t``), so moving the frequency slider bends
    the curve smoothly instead of making it jump. ``smoothed`` is an
    exponential moving average of ``signal`` (time constant
    ``smoothing_s``); ``quadrature`` is ``amplitude * wave(p + pi/2)``.

    ``start()`` runs a daemon thread that streams ``rate / chunk_rate``
    samples ``chunk_rate`` times a second while ``running`` is on, keeping
    the last ``rollover`` rows; ``stop()`` ends it (then ``join()``). The
    "Reset" button empties both sources and restarts time and phase at 0.
    The indicators (last value, updates per second, viewers, history
    buffer) are refreshed a few times per (simulated) second: patches are
    cheap, but a number rewritten 25 times a second is unreadable.
    ``count_viewers``, when set (``build_demo`` does), says how many pages
    watch; the thread asks it twice a second.
    """

    def __init__(
        self,
        *,
        rate: float = 100.0,
        chunk_rate: float = 25.0,
        rollover: int = 600,
        readout_interval: float = 0.25,
        table_rollover: int = 200,
        smoothing_s: float = 0.15,
        seed: int | None = None,
    ) -> None:
        if not rate > 0 or not chunk_rate > 0 or chunk_rate > rate:
            raise ValueError("need 0 < chunk_rate <= rate")
        if rollover < 1 or table_rollover < 1:
            raise ValueError("rollover and table_rollover must be >= 1")
        self.rate = float(rate)
        self.chunk_rate = float(chunk_rate)
        self.rollover = int(rollover)
        self.table_rollover = int(table_rollover)
        self.readout_interval = float(readout_interval)
        self._alpha = 1.0 - math.exp(-1.0 / (self.rate * smoothing_s))

        self.source = DataSource(_empty())
        self.samples = DataSource(_empty())

        # controls
        self.waveform = Select(WAVEFORMS, value="sine", label="waveform")
        self.frequency = Slider(1.0, min=0.1, max=5.0, step=0.1, label="frequency (Hz)")
        self.amplitude = Slider(1.0, min=0.0, max=2.0, step=0.05, label="amplitude")
        self.noise = Slider(0.05, min=0.0, max=0.5, step=0.01, label="noise")
        self.clip = RangeSlider((-2.0, 2.0), min=-2.5, max=2.5, step=0.1, label="clip to")
        self.running = Toggle(True, label="streaming")
        self.reset_button = Button("Reset")

        # indicators
        self.last = Number(None, label="last value", format="{:+.3f}")
        self.update_rate = Number(None, label="updates / s", format="{:.0f}")
        self.viewers = Number(None, label="viewers", format="{:.0f}")
        self.history = Progress(0.0, max=float(self.rollover), label="history buffer")
        self.count_viewers: Callable[[], int | None] | None = None

        # what the producing thread reads; written by the controls' observers
        self._wave = str(self.waveform.value)
        self._freq = self.frequency.value
        self._amp = self.amplitude.value
        self._noise = self.noise.value
        self._clip = tuple(self.clip.value)
        self._running = self.running.value
        for control in (self.waveform, self.frequency, self.amplitude, self.noise, self.clip):
            control.observe(self._on_param, names="value")
        self.running.observe(self._on_running, names="value")
        self.reset_button.on_click(lambda _button: self.reset())

        # produce() and reset() run on different threads (the streamer's, the
        # bridge's callbacks thread); this lock keeps a chunk computed before a
        # reset from landing after it.
        self._lock = threading.Lock()
        self._rng = np.random.default_rng(seed)
        self._n = 0  # samples produced since the last reset
        self._phase = 0.0
        self._ema: float | None = None
        self._last_readout = -math.inf
        self._sent: deque[float] = deque()  # wall-clock times of the last second's streams
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
        owner, value = change["owner"], change["new"]
        if owner is self.waveform:
            self._wave = str(value)
        elif owner is self.frequency:
            self._freq = float(value)
        elif owner is self.amplitude:
            self._amp = float(value)
        elif owner is self.noise:
            self._noise = float(value)
        elif owner is self.clip:
            self._clip = (float(value[0]), float(value[1]))

    def _on_running(self, change: dict[str, Any]) -> None:
        running = bool(change["new"])
        if running and not self._running:
            # resume where time stopped: pacing restarts from now
            self._epoch = time.monotonic() - self.t
        self._running = running

    # -- producing
    def produce(self, n: int) -> None:
        """Compute and stream the next ``n`` samples (any thread)."""
        if n <= 0:
            return
        with self._lock:
            kind, freq, amp, noise = self._wave, self._freq, self._amp, self._noise
            lo, hi = self._clip
            steps = np.arange(1, n + 1, dtype=np.float64)
            phase = self._phase + _TWO_PI * freq / self.rate * steps
            t = (self._n + np.arange(n, dtype=np.float64)) / self.rate
            signal = amp * wave(kind, phase)
            if noise > 0:
                signal = signal + noise * self._rng.standard_normal(n)
            signal = np.clip(signal, lo, hi)
            smoothed = np.empty(n)
            ema = float(signal[0]) if self._ema is None else self._ema
            for i in range(n):  # a few samples per chunk: a loop is fine
                ema += self._alpha * (float(signal[i]) - ema)
                smoothed[i] = ema
            self._ema = ema
            quadrature = amp * wave(kind, phase + math.pi / 2)
            self._phase = float(phase[-1] % _TWO_PI)
            self._n += n
            self.source.stream(
                {"t": t, "signal": signal, "smoothed": smoothed, "quadrature": quadrature},
                rollover=self.rollover,
            )
            self._sent.append(time.monotonic())
            if t[-1] - self._last_readout >= self.readout_interval:
                self._last_readout = float(t[-1])
                row = {
                    "t": t[-1:],
                    "signal": signal[-1:],
                    "smoothed": smoothed[-1:],
                    "quadrature": quadrature[-1:],
                }
                self.samples.stream(row, rollover=self.table_rollover)
                self.last.value = float(signal[-1])
                self.history.value = float(min(len(self.source), self.rollover))

    def reset(self) -> None:
        """Empty the sources; time and phase start again at 0 (the Reset button)."""
        with self._lock:
            self._n = 0
            self._phase = 0.0
            self._ema = None
            self._last_readout = -math.inf
            self._epoch = time.monotonic()
            self.source.replace(_empty())
            self.samples.replace(_empty())
            self.last.value = None
            self.history.value = 0.0

    def refresh_stats(self, now: float | None = None) -> None:
        """Update the rate and viewer indicators (the thread does, twice a second)."""
        now = time.monotonic() if now is None else now
        while self._sent and self._sent[0] < now - 1.0:
            self._sent.popleft()
        rate = float(len(self._sent))
        if self.update_rate.value != rate:
            self.update_rate.value = rate
        count = None
        if self.count_viewers is not None:
            try:
                count = self.count_viewers()
            except Exception:  # the bridge stopping: nothing to count
                count = None
        value = None if count is None else float(count)
        if self.viewers.value != value:
            self.viewers.value = value

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
        next_stats = 0.0
        while not self._stopping.wait(period):
            try:
                if self._running:
                    # pace by the wall clock, not by counting ticks: a late tick
                    # produces more samples, so the plot never drifts from real time
                    with self._lock:
                        due = int((time.monotonic() - self._epoch) * self.rate) - self._n
                        if due > self.rate:  # suspended for a while: skip, don't burst
                            self._epoch = time.monotonic() - self._n / self.rate
                            due = int(self.rate / self.chunk_rate)
                    self.produce(due)
                now = time.monotonic()
                if now >= next_stats:
                    next_stats = now + 0.5
                    self.refresh_stats(now)
            except Exception:  # pragma: no cover - keep the demo alive, say why
                log.exception("demo streamer step failed")


def demo_plot(source: DataSource) -> Model:
    """The demo's plot of ``source``: a Bokeh figure with axes and a legend,
    or, without a usable Bokeh, a ``Sparkline`` of the signal and a note."""
    try:
        from bokeh.models import DataRange1d
        from bokeh.plotting import figure

        from .widgets.plot import Plot, require_bokeh

        require_bokeh()
    except ImportError as exc:
        log.warning("the demo draws a sparkline: %s", exc)
        return Column(
            Sparkline(source, x="t", y="signal", height=300),
            Markdown(f"*A plot with axes needs Bokeh:* `pip install 'bokeh>=3.4'` ({exc})"),
        )
    fig = figure(
        height=330,
        sizing_mode="stretch_width",
        x_axis_label="time (s)",
        y_axis_label="value",
        x_range=DataRange1d(follow="end", follow_interval=6.0, range_padding=0.0),
        toolbar_location=None,
        min_border_left=40,
    )
    fig.line("t", "signal", source=source.bokeh, color="#64748b", alpha=0.55, line_width=1.2,
             legend_label="signal")  # fmt: skip
    fig.line("t", "smoothed", source=source.bokeh, color="#2563eb", line_width=2.5,
             legend_label="smoothed")  # fmt: skip
    fig.line("t", "quadrature", source=source.bokeh, color="#f59e0b", line_width=2,
             line_dash="dashed", legend_label="quadrature")  # fmt: skip
    legend = fig.legend[0]
    legend.update(
        orientation="horizontal",
        click_policy="hide",
        location="top_left",
        border_line_color=None,
        background_fill_alpha=0.0,
        padding=0,
        margin=0,
    )
    fig.add_layout(legend, "above")  # a key above the plot, never over the lines
    fig.outline_line_color = None
    return Plot(fig)


ABOUT = """\
A Python thread computes these signals and streams them to every open page,
25 binary chunks a second. Move a control: the change goes to Python, which
reshapes the signal for every viewer at once.

- Open this page in a second window: **viewers** goes to 2.
- **updates / s** counts the chunks Python streamed in the last second.
- The table follows the stream (scroll up and it stays put).

Every control of the widget set is on the gallery page, `d/gallery`.
The code is `wsbridge/demo.py`.
"""


def build_demo(
    bridge: Bridge,
    streamer: DemoStreamer | None = None,
    *,
    start: bool = True,
    theme: Any = None,
) -> Dashboard:
    """Lay the demo out and publish it on ``bridge`` at ``d/demo`` and ``/``.

    ``streamer`` owns the widgets and the data; pass your own to ``stop()``
    it later (``wsbridge demo`` does). Without one, a new streamer is made;
    its daemon thread then lives as long as the process. ``start=False``
    leaves the thread unstarted (call ``streamer.produce(n)`` yourself).
    ``theme``: as ``bridge.dashboard``'s (docs/theming.md).
    """
    s = streamer if streamer is not None else DemoStreamer()
    s.count_viewers = _viewer_counter(bridge)
    table = Table(s.samples, page_size=8, follow=True, formats={"t": "{:.2f}"}, label="samples")
    controls = Card(
        s.waveform,
        s.frequency,
        s.amplitude,
        s.noise,
        s.clip,
        Row(s.running, s.reset_button),
        title="Signal",
    )
    layout = Column(
        Grid(Card(s.last), Card(s.update_rate), Card(s.viewers), Card(s.history), columns=4),
        Grid(Card(demo_plot(s.source), title="Live signals"), controls, widths=[3, 1]),
        Grid(
            Card(table, title="Latest samples"),
            Card(Markdown(ABOUT), title="What you are looking at"),
            widths=[3, 2],
        ),
    )
    dash = bridge.dashboard(DEMO_NAME, layout, title=DEMO_TITLE, theme=theme)
    bridge.index = DEMO_NAME
    s.refresh_stats()
    if start:
        s.start()
    return dash


def _viewer_counter(bridge: Bridge) -> Callable[[], int | None]:
    """How many pages watch the demo: the sessions of its document in the
    bridge's own hub (None when the hub runs in another process)."""

    def count() -> int | None:
        if not bridge.running or bridge.hub is None:
            return None

        def sessions(hub: Any) -> int | None:  # on the hub's loop
            doc = hub.documents.get(DEMO_NAME)
            return None if doc is None else len(doc.sessions)

        result: int | None = bridge.call(sessions, timeout=1.0)
        return result

    return count
