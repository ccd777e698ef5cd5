"""``wsbridge demo`` / ``wsbridge serve``: real processes, sockets and signals.

Each CLI test starts ``python -m wsbridge ...`` as a subprocess on a free
port, reads the URL it prints, then talks to it as a browser would: plain
HTTP for the page and the client module, a real WebSocket speaking the
protocol (``wsbridge.protocol``) for the live part. The demo's producer is
also tested in-process, without sockets.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import re
import signal
import textwrap
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tornado.httpclient
import tornado.netutil
import tornado.websocket

import wsbridge as wb
from tests.helpers.cli import TIMEOUT, Cli
from tests.helpers.common import http_get, port_of, run, wait_until
from wsbridge import cli
from wsbridge.demo import DEMO_NAME, DEMO_TITLE, DemoStreamer, build_demo
from wsbridge.wire.codec import decode, encode
from wsbridge.wire.messages import Error, Message, Patch, Snapshot, SourceReplace, Stream, Welcome
from wsbridge.wire.requests import Event, Hello, Set


def local(url: str) -> str:
    """The same server at 127.0.0.1 (``--host 0.0.0.0`` prints the hostname)."""
    return re.sub(r"^http://[^/]+:(\d+)/", r"http://127.0.0.1:\1/", url)


# -- a protocol client on a real WebSocket
class WsClient:
    def __init__(self, conn: tornado.websocket.WebSocketClientConnection) -> None:
        self.conn = conn

    @classmethod
    async def connect(cls, base: str, browser: bool = False) -> WsClient:
        """Connect; ``browser`` sends the page's own Origin, as a browser would."""
        page = local(base).split("?")[0]
        headers = {"Origin": page.rstrip("/")} if browser else {}
        request = tornado.httpclient.HTTPRequest(
            page.replace("http://", "ws://") + "ws", headers=headers, connect_timeout=TIMEOUT
        )
        return cls(await tornado.websocket.websocket_connect(request))

    async def send(self, message: Message) -> None:
        frame = encode(message)
        await self.conn.write_message(frame.data, binary=frame.binary)

    async def recv(self, timeout: float = TIMEOUT) -> Message | None:
        """The next message, or None once the server closed the connection."""
        data = await asyncio.wait_for(self.conn.read_message(), timeout)
        return None if data is None else decode(data)

    async def recv_until(
        self, pred: Callable[[Message], bool], timeout: float = TIMEOUT
    ) -> tuple[Message, list[Message]]:
        """Read until ``pred`` holds; return that message and all read before it."""
        seen: list[Message] = []
        deadline = time.monotonic() + timeout
        while True:
            msg = await self.recv(max(0.01, deadline - time.monotonic()))
            assert msg is not None, f"closed before the expected message; got {seen[-5:]}"
            if pred(msg):
                return msg, seen
            seen.append(msg)

    async def close(self) -> None:
        """Close, and wait for the server's side of the close (while the demo
        streams, its answer can come after ``asyncio.run`` ended, leaving the
        socket open)."""
        closed = self.conn.close_code is not None  # by the server: nothing more will come
        self.conn.close()
        deadline = time.monotonic() + TIMEOUT
        while not closed and time.monotonic() < deadline:
            closed = await self.recv(TIMEOUT) is None

    async def hello(self, doc: str, token: str | None = None) -> tuple[Welcome, Snapshot]:
        await self.send(Hello(doc=doc, token=token))
        welcome = await self.recv()
        assert isinstance(welcome, Welcome), welcome
        snapshot = await self.recv()
        assert isinstance(snapshot, Snapshot), snapshot
        return welcome, snapshot


def models_of(snapshot: Snapshot, type_: str) -> dict[str, dict[str, Any]]:
    return {mid: m for mid, m in snapshot.models.items() if m["type"] == type_}


def slider_id(snapshot: Snapshot, label: str) -> str:
    ids = [mid for mid, m in models_of(snapshot, "Slider").items() if m["state"]["label"] == label]
    assert len(ids) == 1, snapshot.models
    return ids[0]


def port_is_free(port: int) -> bool:
    try:
        socks = tornado.netutil.bind_sockets(port, "127.0.0.1")
    except OSError:
        return False
    for s in socks:
        s.close()
    return True


# -- wsbridge demo
def test_demo_prints_url_and_serves_page_and_client(start_cli: Callable[..., Cli]) -> None:
    demo = start_cli("demo", "--port", "0")
    m = demo.read_until(re.compile(r"^Serving the wsbridge demo at (http://127\.0\.0\.1:\d+/)$"))
    url = m.group(1)
    status, _, body = http_get(url)
    assert status == 200
    assert f"<title>{DEMO_TITLE}</title>" in body
    assert "static/wsbridge.js" in body
    status, headers, body = http_get(url + "static/wsbridge.js")
    assert status == 200
    assert "javascript" in headers["Content-Type"]
    assert "export" in body
    assert http_get(url + "d/demo")[0] == 200
    assert http_get(url + "d/nothing")[0] == 404


def test_demo_streams_live_and_echoes_slider_sets(start_cli: Callable[..., Cli]) -> None:
    url = start_cli("demo", "--port", "0").url()

    async def scenario() -> None:
        c = await WsClient.connect(url)
        welcome, snap = await c.hello(DEMO_NAME)
        assert welcome.doc == DEMO_NAME and welcome.title == DEMO_TITLE
        assert snap.seq == welcome.seq and snap.title == DEMO_TITLE
        assert snap.root in snap.models
        assert len(models_of(snap, "Plot")) == 1 and len(models_of(snap, "Table")) == 1
        assert {m["state"]["label"] for m in models_of(snap, "Slider").values()} == {
            "frequency (Hz)",
            "amplitude",
            "noise",
        }
        assert [m["state"]["label"] for m in models_of(snap, "Button").values()] == ["Reset"]
        assert {m["state"]["label"] for m in models_of(snap, "Number").values()} == {
            "last value",
            "updates / s",
            "viewers",
        }
        (plot,) = models_of(snap, "Plot").values()
        (source_id,) = plot["state"]["sources"]
        assert set(snap.sources[source_id]["data"]) == {"t", "signal", "smoothed", "quadrature"}

        # live: every sequenced message follows the last by exactly 1, and
        # the streamed time keeps increasing, chunk after chunk
        seq, last_t, streams = snap.seq, -1.0, 0
        while streams < 8:
            msg = await c.recv()
            assert msg is not None and msg.seq == seq + 1, (msg, seq)  # type: ignore[attr-defined]
            seq += 1
            if isinstance(msg, Stream) and msg.source == source_id:  # not the table's
                assert msg.rollover == 600
                t, y = msg.data["t"], msg.data["signal"]
                assert t.dtype == np.float64 and len(t) == len(y) >= 1
                assert t[0] > last_t and np.all(np.diff(t) > 0)
                last_t = float(t[-1])
                streams += 1

        # a browser moves the frequency slider: the canonical value comes
        # back to it as a patch naming its request
        freq = slider_id(snap, "frequency (Hz)")
        await c.send(Set(model=freq, state={"value": 2.5}, req=1))
        patch, _ = await c.recv_until(lambda m: isinstance(m, Patch) and m.model == freq)
        assert isinstance(patch, Patch)
        assert patch.state == {"value": 2.5}
        assert patch.origin == {"session": welcome.session, "req": 1}
        # out of range: clamped by the producer, the clamped value echoed
        await c.send(Set(model=freq, state={"value": 99.0}, req=2))
        patch, _ = await c.recv_until(lambda m: isinstance(m, Patch) and m.model == freq)
        assert isinstance(patch, Patch) and patch.state == {"value": 5.0}

        # the sliders drive the signal: amplitude and noise 0 -> y == 0 from
        # the next chunk on (one chunk computed before the change may pass)
        amp, noise = slider_id(snap, "amplitude"), slider_id(snap, "noise")
        await c.send(Set(model=amp, state={"value": 0.0}, req=3))
        await c.send(Set(model=noise, state={"value": 0.0}, req=4))
        await c.recv_until(lambda m: isinstance(m, Patch) and m.model == noise)
        flat = 0
        for _ in range(40):
            msg, _ = await c.recv_until(lambda m: isinstance(m, Stream) and m.source == source_id)
            assert isinstance(msg, Stream)
            if np.all(msg.data["signal"] == 0.0):
                flat += 1
            else:
                assert flat == 0, "a non-zero chunk after zero ones"
            if flat == 3:
                break
        assert flat == 3
        await c.close()

    run(scenario())


def test_demo_reset_button_restarts_time(start_cli: Callable[..., Cli]) -> None:
    url = start_cli("demo", "--port", "0").url()

    async def scenario() -> None:
        c = await WsClient.connect(url)
        _, snap = await c.hello(DEMO_NAME)
        (button,) = models_of(snap, "Button")
        (plot,) = models_of(snap, "Plot").values()
        (source_id,) = plot["state"]["sources"]
        # let time run past 0.5 s, so a restart at 0 is unmistakable
        await c.recv_until(lambda m: isinstance(m, Stream) and m.data["t"][-1] > 0.5)
        await c.send(Event(model=button, name="click"))
        replaced, _ = await c.recv_until(
            lambda m: isinstance(m, SourceReplace) and m.source == source_id
        )
        assert isinstance(replaced, SourceReplace)
        assert {k: len(v) for k, v in replaced.data.items()} == {
            "t": 0,
            "signal": 0,
            "smoothed": 0,
            "quadrature": 0,
        }
        stream, _ = await c.recv_until(lambda m: isinstance(m, Stream) and m.source == source_id)
        assert isinstance(stream, Stream) and stream.data["t"][0] == 0.0
        await c.close()

    run(scenario())


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_demo_stops_cleanly_on_signal(start_cli: Callable[..., Cli], sig: signal.Signals) -> None:
    demo = start_cli("demo", "--port", "0")
    url = demo.url()
    port = port_of(url)

    async def scenario() -> None:
        c = await WsClient.connect(url)
        await c.hello(DEMO_NAME)
        demo.proc.send_signal(sig)
        # viewers are told the hub is going away (1001), not cut off
        deadline = time.monotonic() + TIMEOUT
        while await c.recv(max(0.01, deadline - time.monotonic())) is not None:
            pass
        assert c.conn.close_code == 1001
        await c.close()  # closed by the server; tornado still wants it closed here

    run(scenario())
    code, _, err = demo.wait(timeout=5.0)
    assert code == 0, err
    assert "Traceback" not in err
    assert port_is_free(port)


def test_demo_beyond_loopback_requires_a_generated_token(start_cli: Callable[..., Cli]) -> None:
    demo = start_cli("demo", "--host", "0.0.0.0", "--port", "0")
    url = local(demo.url())
    token = re.search(r"\?token=([\w-]+)$", url)
    assert token, url
    base = url.split("?")[0]
    assert http_get(base)[0] == 403
    assert http_get(base + "d/demo")[0] == 403
    # the page keeps the token in this hub's cookie and drops it from the URL
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(url, timeout=TIMEOUT) as resp:
        assert resp.status == 200 and DEMO_TITLE in resp.read().decode()
        assert resp.url == base
    assert [c.name for c in jar] == [f"wsbridge_token_{port_of(base)}"]

    async def scenario() -> None:
        # not a browser (no Origin) and no token: refused at the handshake
        with pytest.raises(tornado.httpclient.HTTPClientError, match="403"):
            await WsClient.connect(base)
        # a browser page without the token: refused at hello
        c = await WsClient.connect(base, browser=True)
        await c.send(Hello(doc=DEMO_NAME))
        err = await c.recv()
        assert isinstance(err, Error) and err.code == "unauthorized"
        assert await c.recv() is None
        assert c.conn.close_code == 1008
        await c.close()
        ok = await WsClient.connect(base, browser=True)
        welcome, _ = await ok.hello(DEMO_NAME, token=token.group(1))
        assert welcome.doc == DEMO_NAME
        await ok.close()

    run(scenario())


def test_demo_explicit_token_and_busy_port(start_cli: Callable[..., Cli]) -> None:
    demo = start_cli("demo", "--port", "0", "--token", "s3cret")
    url = demo.url()
    assert url.endswith("/?token=s3cret")
    assert http_get(url.split("?")[0])[0] == 403
    # a second server on the same port: a clear error, exit 1
    code, out, err = start_cli("demo", "--port", str(port_of(url))).wait()
    assert code == 1 and "Serving" not in out
    assert f"cannot listen on 127.0.0.1:{port_of(url)}" in err


# -- wsbridge serve
APP = """
import wsbridge as wb

speed = wb.Slider(2.0, min=0.0, max=10.0, step=0.5, label="speed")
bridge.dashboard("app", wb.Column(speed, wb.Label("hello")), title="My app")
assert __name__ == "__wsbridge__"

def main(bridge):
    bridge.dashboard("second", wb.Column(wb.Label("from main")))

if __name__ == "__main__":
    raise SystemExit("standalone mode must not run under wsbridge serve")
"""


def test_serve_runs_the_app_and_serves_its_dashboards(
    start_cli: Callable[..., Cli], tmp_path: Path
) -> None:
    app = tmp_path / "app.py"
    app.write_text(textwrap.dedent(APP))
    serve = start_cli("serve", str(app), "--port", "0")
    base = serve.read_until(re.compile(r"^Serving \S*app\.py at (http://\S+)$")).group(1)
    page = serve.read_until(re.compile(r"^  app: (http://\S+)$")).group(1)
    assert page == base + "d/app"
    assert serve.read_until(re.compile(r"^  second: (http://\S+)$")).group(1) == base + "d/second"
    status, _, body = http_get(page)
    assert status == 200 and "<title>My app</title>" in body
    status, _, body = http_get(base)  # the index lists the dashboards
    assert status == 200 and 'href="d/app"' in body and 'href="d/second"' in body

    async def scenario() -> None:
        c = await WsClient.connect(base)
        welcome, snap = await c.hello("app")
        speed = slider_id(snap, "speed")
        assert snap.models[speed]["state"]["value"] == 2.0
        await c.send(Set(model=speed, state={"value": 7.5}, req=1))
        patch, _ = await c.recv_until(lambda m: isinstance(m, Patch))
        assert isinstance(patch, Patch) and patch.model == speed
        assert patch.state == {"value": 7.5}
        assert patch.origin == {"session": welcome.session, "req": 1}
        await c.close()

    run(scenario())
    serve.proc.send_signal(signal.SIGINT)
    code, _, err = serve.wait(timeout=5.0)
    assert code == 0, err


def test_serve_imports_modules_next_to_the_app(
    start_cli: Callable[..., Cli], tmp_path: Path
) -> None:
    (tmp_path / "helper_mod.py").write_text("TITLE = 'from helper'\n")
    app = tmp_path / "app.py"
    app.write_text(
        "import wsbridge as wb\nfrom helper_mod import TITLE\n"
        "bridge.dashboard('h', wb.Label(TITLE), title=TITLE)\n"
    )
    serve = start_cli("serve", str(app), "--port", "0", cwd=Path("/"))
    page = serve.read_until(re.compile(r"^  h: (http://\S+)$")).group(1)
    assert "<title>from helper</title>" in http_get(page).body


def test_serve_app_that_raises_exits_1(start_cli: Callable[..., Cli], tmp_path: Path) -> None:
    app = tmp_path / "broken_app.py"
    app.write_text("import wsbridge as wb\n\nx = 1\nraise RuntimeError('no data file here')\n")
    code, out, err = start_cli("serve", str(app), "--port", "0").wait()
    assert code == 1
    assert "Serving" not in out
    assert "broken_app.py raised RuntimeError: no data file here" in err
    assert f'File "{app}", line 4' in err  # where, in the user's script
    assert "runpy" not in err  # not our machinery


def test_serve_syntax_error_and_missing_file(start_cli: Callable[..., Cli], tmp_path: Path) -> None:
    app = tmp_path / "bad.py"
    app.write_text("def f(:\n")
    code, _, err = start_cli("serve", str(app), "--port", "0").wait()
    assert code == 1 and "SyntaxError" in err and "bad.py" in err
    code, _, err = start_cli("serve", str(tmp_path / "missing.py")).wait()
    assert code == 1 and "no such file" in err


def test_serve_beyond_loopback_prints_token_urls(
    start_cli: Callable[..., Cli], tmp_path: Path
) -> None:
    app = tmp_path / "app.py"
    app.write_text("import wsbridge as wb\nbridge.dashboard('app', wb.Slider(1.0))\n")
    serve = start_cli("serve", str(app), "--host", "0.0.0.0", "--port", "0", "--allow-origin", "x")
    page = local(serve.read_until(re.compile(r"^  app: (http://\S+)$")).group(1))
    assert re.search(r"/d/app\?token=[\w-]{16,}$", page)
    assert http_get(page.split("?")[0])[0] == 403
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    with opener.open(page, timeout=TIMEOUT) as resp:  # the cookie, then the clean URL
        assert resp.status == 200 and resp.url == page.split("?")[0]


def test_cli_usage_errors() -> None:
    assert cli.main([]) == 0  # lists the commands (tests/test_cli_usage.py)
    with pytest.raises(SystemExit) as exc:
        cli.main(["hub"])  # a later issue: not a command yet
    assert exc.value.code == 2
    assert cli.main(["serve", "/nonexistent/app.py"]) == 1
    assert cli.main(["demo", "--port", "70000"]) == 1


# -- the demo's producer, in-process
def test_build_demo_publishes_at_index_and_streams(bridge: wb.Bridge) -> None:
    streamer = DemoStreamer(seed=1)
    try:
        dash = build_demo(bridge, streamer)
        assert bridge.index == DEMO_NAME
        assert bridge.dashboards[DEMO_NAME] is dash and dash.title == DEMO_TITLE
        for member in (
            streamer.source,
            streamer.samples,
            streamer.frequency,
            streamer.clip,
            streamer.last,
            streamer.viewers,
        ):
            assert dash.get(member.id) is member
        assert streamer.is_alive()
        wait_until(lambda: len(streamer.source) >= 30, timeout=5.0)
        t = streamer.source.data["t"]
        assert np.all(np.diff(t) > 0)
        wait_until(lambda: streamer.update_rate.value and streamer.update_rate.value > 5)
        assert streamer.viewers.value == 0.0  # nobody looking yet
        assert streamer.last.value is not None and len(streamer.samples) >= 1
        # the hub got the same rows the producer holds
        bridge.flush()
        doc = bridge.call(lambda hub: hub.documents[DEMO_NAME].seq)
        assert doc > 0
    finally:
        streamer.stop()
        streamer.join(5.0)
    assert not streamer.is_alive()


def test_demo_sliders_change_the_signal() -> None:
    s = DemoStreamer(seed=0)
    s.noise.value = 0.0
    s.produce(400)  # 4 s at 1 Hz: whole periods
    y = s.source.data["signal"][-400:]
    assert float(np.max(np.abs(y))) == pytest.approx(1.0, abs=1e-3)  # a sine

    s.amplitude.value = 0.5
    s.produce(400)
    assert np.max(np.abs(s.source.data["signal"][-400:])) == pytest.approx(0.5, abs=1e-3)
    quad = s.source.data["quadrature"][-400:]
    assert np.max(np.abs(quad)) == pytest.approx(0.5, abs=1e-3)

    def crossings(v: np.ndarray) -> int:
        return int(np.count_nonzero(np.diff(np.signbit(v))))

    base = crossings(s.source.data["signal"][-400:])
    s.frequency.value = 3.0
    s.produce(400)
    assert crossings(s.source.data["signal"][-400:]) == pytest.approx(3 * base, abs=2)

    s.waveform.value = "square"
    s.produce(400)
    assert set(np.round(s.source.data["signal"][-400:], 6)) == {-0.5, 0.5}
    s.clip.value = (-0.25, 0.3)  # the two-thumb slider clips the signal
    s.produce(400)
    assert set(np.round(s.source.data["signal"][-400:], 6)) == {-0.25, 0.3}
    smoothed = s.source.data["smoothed"][-400:]
    assert -0.25 <= smoothed.min() and smoothed.max() <= 0.3  # an average of the signal

    s.clip.value = (-2.0, 2.0)
    s.waveform.value = "sine"
    s.noise.value = 0.2
    s.amplitude.value = 0.0
    s.produce(400)
    assert np.std(s.source.data["signal"][-400:]) == pytest.approx(0.2, rel=0.2)
    assert len(s.source) == 600  # rollover


def test_demo_waveforms_are_unit_waves() -> None:
    from wsbridge.demo import WAVEFORMS, wave

    phase = np.linspace(0.0, 4 * np.pi, 801)
    for name in WAVEFORMS.values():
        w = wave(name, phase)
        assert w.min() == pytest.approx(-1.0, abs=0.02) and w.max() == pytest.approx(1.0, abs=0.02)


def test_demo_reset_pause_and_indicators() -> None:
    s = DemoStreamer(rate=100.0, seed=0)
    for _ in range(6):
        s.produce(25)
    assert s.t == pytest.approx(1.5)
    assert s.last.value is not None and s.history.value == 150.0
    assert len(s.samples) >= 5  # a table row per readout interval (0.25 s)
    s.count_viewers = lambda: 2
    s.refresh_stats()
    assert s.viewers.value == 2.0 and s.update_rate.value == 6.0  # streams in the last second
    s.reset_button._fire_event("click", None)  # what a browser click runs
    assert len(s.source) == 0 and len(s.samples) == 0 and s.t == 0.0
    assert s.last.value is None and s.history.value == 0.0
    s.produce(5)
    assert s.source.data["t"].tolist() == [0.0, 0.01, 0.02, 0.03, 0.04]
    s.running.value = False  # the thread produces nothing while paused
    assert s._running is False
    with pytest.raises(ValueError):
        DemoStreamer(rate=10.0, chunk_rate=20.0)


# -- wsbridge hub --redis / wsbridge serve --redis
def test_hub_serves_what_serve_publishes_to_redis(
    start_cli: Callable[..., Cli], tmp_path: Path, redis_server: Any
) -> None:
    """``serve --redis`` publishes, ``hub --redis`` serves it; the password is never printed."""
    from tests.helpers.redisserver import RedisServer

    secured = RedisServer(password="pa55-word").start()
    try:
        app = tmp_path / "app.py"
        app.write_text("import wsbridge as wb\nbridge.dashboard('board', wb.Slider(4.0))\n")
        producer = start_cli("serve", str(app), "--port", "0", "--redis", secured.url)
        producer.url()
        hub = start_cli("hub", "--redis", secured.url, "--port", "0")
        base = hub.url()
        assert "pa55-word" not in " ".join(hub.lines) and "redis://:***@" in hub.lines[0]
        # the index lists the producer's dashboard
        wait_until(
            lambda: "d/board" in http_get(base).body,
            timeout=TIMEOUT,
            what="the hub listing the dashboard",
        )
        status, _, body = http_get(base + "d/board")
        assert status == 200 and "static/wsbridge.js" in body
        health = http_get(base + "healthz")
        assert health.status == 200 and health.json()["backplane"]["status"] == "ok"
        secured.stop()  # Redis gone: the hub says so, with the password redacted
        wait_until(
            lambda: http_get(base + "healthz").status == 503,
            timeout=TIMEOUT,
            what="healthz reporting the backplane down",
        )
        hub.proc.send_signal(signal.SIGTERM)
        code, out, err = hub.wait()
        assert code == 0
        assert "pa55-word" not in out + err and "lost the backplane at redis://:***@" in err
    finally:
        secured.stop()


def test_hub_requires_redis_and_serve_reports_a_bad_one(
    start_cli: Callable[..., Cli], tmp_path: Path
) -> None:
    code, _, err = start_cli("hub").wait()
    assert code == 2 and "--redis" in err
    app = tmp_path / "app.py"
    app.write_text("bridge.dashboard('x')\n")
    dead = "redis://:topsecret@127.0.0.1:1/0"  # nothing listens on port 1
    code, _, err = start_cli("serve", str(app), "--port", "0", "--redis", dead).wait(timeout=30)
    assert code == 1 and "cannot reach the backplane at redis://:***@127.0.0.1:1/0" in err
    assert "topsecret" not in err
