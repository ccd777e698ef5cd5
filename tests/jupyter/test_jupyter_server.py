"""The whole chain: a real ``jupyter server``, a kernel it started, real Chromium.

The kernel is started through the server's REST API (as JupyterLab does)
and driven with jupyter_client over its connection file; ``wb.Bridge()``
inside it must find the server and publish there. Chromium logs in with
the server's token and talks to the hub under ``<base_url>wsbridge/``.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.common import REPO, free_port, require, run
from tests.helpers.pyenvs import ipykernel6_python, kernel_version, make_prefix

pytestmark = pytest.mark.timeout(60)

BASE_URL = "/jp%40x/"  # a non-root base_url that needs escaping


def jupyter_env(tmp: Path) -> dict[str, str]:
    """This environment, with Jupyter's config, data and runtime dirs under ``tmp``.

    (Jupyter also reads config below ``sys.prefix`` and system-wide: a test
    that writes config there runs in a venv of its own, ``make_prefix``.)
    """
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
        "JUPYTER_CONFIG_DIR": str(tmp / "config"),
        "JUPYTER_DATA_DIR": str(tmp / "data"),
        "IPYTHONDIR": str(tmp / "ipython"),
        "PYTHONUNBUFFERED": "1",
        # this checkout's wsbridge in the server and in every kernel, whatever
        # environment the kernel's python is (an ipykernel 6 venv, say)
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p
        ),
    }
    env.pop("JPY_PARENT_PID", None)
    return env


class JupyterServer:
    """A ``jupyter server`` subprocess on 127.0.0.1 with a known token."""

    def __init__(
        self,
        tmp: Path,
        extension: bool = True,
        python: Path | str = sys.executable,
        env: dict[str, str] | None = None,
    ) -> None:
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}{BASE_URL}"
        self.env = env if env is not None else jupyter_env(tmp)
        self.runtime = Path(self.env["JUPYTER_RUNTIME_DIR"])
        self.data = Path(self.env["JUPYTER_DATA_DIR"])
        args = [
            str(python), "-m", "jupyter_server",
            "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
            f"--ServerApp.token={self.token}", f"--ServerApp.base_url={BASE_URL}",
            f"--ServerApp.root_dir={tmp}",
        ]  # fmt: skip
        if not extension:  # else enabled by the config JSON the package ships (shared-data)
            args.append("--ServerApp.jpserver_extensions={'wsbridge': False}")
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.append("--allow-root")
        self.log = open(tmp / "server.log", "w")  # closed in stop()
        self.proc = subprocess.Popen(args, env=self.env, stdout=self.log, stderr=self.log)
        self.kernels: list[str] = []

    def request(self, path: str, method: str = "GET", body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=20) as response:
            raw = response.read()
            return json.loads(raw) if raw else None

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter server exited: {self.logs()}")
            try:
                self.request("api/status")
                return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(f"jupyter server not ready: {self.logs()}")

    def request_text(self, path: str) -> str:
        req = urllib.request.Request(
            self.url + path, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(req, timeout=20) as response:
            return str(response.read().decode())

    def wait_document(self, name: str, timeout: float = 10.0, present: bool = True) -> None:
        """Until the hub holds ``name`` (or no longer does, ``present=False``)."""
        deadline = time.monotonic() + timeout
        while (name in self.request("wsbridge/healthz")["documents"]) != present:
            if time.monotonic() > deadline:
                raise TimeoutError(f"document {name!r} never {'reached' if present else 'left'}")
            time.sleep(0.02)

    def logs(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text()[-4000:]

    def add_kernelspec(self, name: str, python: Path | str) -> str:
        """A kernelspec ``name`` running ipykernel with ``python`` (this server only)."""
        spec = self.data / "kernels" / name
        spec.mkdir(parents=True, exist_ok=True)
        argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        kernel = {"argv": argv, "display_name": name, "language": "python"}
        (spec / "kernel.json").write_text(json.dumps(kernel))
        return name

    def start_kernel(self, name: str = "python3", ipykernel: str | None = None) -> Any:
        """A kernel started through the REST API, and a jupyter_client client for it.

        ``ipykernel``: the major version the kernel must run (``"6"``), checked
        inside it, so a test can never pass on another version by mistake.
        """
        from jupyter_client import BlockingKernelClient

        kid = self.request("api/kernels", "POST", {"name": name})["id"]
        self.kernels.append(kid)
        client = BlockingKernelClient()
        client.load_connection_file(str(self.runtime / f"kernel-{kid}.json"))
        client.start_channels()
        self.wait_kernel(kid, client)
        if ipykernel is not None:
            version = run_cell(client, "import ipykernel; print(ipykernel.__version__)").strip()
            assert version.split(".")[0] == ipykernel, f"kernel {name} runs ipykernel {version}"
        return kid, client

    def wait_kernel(self, kid: str, client: Any, timeout: float = 40.0) -> None:
        """Until the kernel answers ``kernel_info``.

        jupyter_client's ``wait_for_ready`` judges a kernel it did not start by
        its heartbeat, which may not have beaten yet on a loaded machine: it
        then reports a live kernel as dead, so retry it within the deadline.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                client.wait_for_ready(timeout=max(1.0, deadline - time.monotonic()))
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        for kid in self.kernels:
            try:
                self.request(f"api/kernels/{kid}", "DELETE")
            except OSError:
                pass
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()


def run_cell(client: Any, code: str, timeout: float = 20.0) -> str:
    """Execute ``code`` in the kernel; return its stdout (errors fail the test)."""
    out: list[str] = []
    errors: list[str] = []

    def hook(msg: dict[str, Any]) -> None:
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out.append(content["text"])
        elif kind == "error":
            errors.append("\n".join(content["traceback"]))

    reply = client.execute_interactive(code, timeout=timeout, output_hook=hook)
    assert not errors and reply["content"]["status"] == "ok", "\n".join(errors)
    return "".join(out)


def poll_cell(client: Any, code: str, expected: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while (got := run_cell(client, code).strip()) != expected:
        if time.monotonic() > deadline:
            raise AssertionError(f"{code!r} printed {got!r}, never {expected!r}")
        time.sleep(0.05)


def require_jupyter() -> None:
    for module in ("jupyter_server", "ipykernel", "jupyter_client"):
        try:
            __import__(module)
        except ImportError:
            require(False, module, 'pip install -e ".[test]"')


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """One server for the module (each test uses its own kernel and document names)."""
    require_jupyter()
    server = JupyterServer(tmp_path_factory.mktemp("jupyter"))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def ipykernel6_env() -> Path:
    """The python of a venv with ipykernel 6 (tests/helpers/pyenvs.py: built once, cached)."""
    require_jupyter()
    try:
        return ipykernel6_python()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        require(False, f"a venv with ipykernel 6 ({exc})", 'PyPI access: pip install "ipykernel<7"')
        raise


@pytest.fixture(
    params=[
        pytest.param("7", id="ipykernel7"),
        # building the cached venv (once, ~15 s) counts against the first test's timeout
        pytest.param("6", id="ipykernel6", marks=pytest.mark.timeout(300)),
    ]
)
def kernelspec(request: pytest.FixtureRequest, jupyter: JupyterServer) -> tuple[str, str]:
    """``(kernelspec, ipykernel major)``: the test runs on ipykernel 7 and on 6."""
    major: str = request.param
    if major == "6":
        python: Path | str = request.getfixturevalue("ipykernel6_env")
    else:  # this environment's own ipykernel, the newest the project supports
        python = sys.executable
        installed = kernel_version(python)
        assert installed.split(".")[0] == major, f"this environment has ipykernel {installed}"
    return jupyter.add_kernelspec(f"ipykernel{major}", python), major


PUBLISH = """
import wsbridge as wb
bridge = wb.Bridge().start()
slider = wb.Slider(1.0, min=0.0, max=10.0, step=0.5, label="f")
seen = []
slider.observe(lambda ch: seen.append(ch["new"]), names="value")
dash = bridge.dashboard("{doc}", wb.Column(slider), title="From a kernel")
print(bridge.hub_kind, bridge.url, slider.id)
"""


#: what a notebook cell does with the Python client (top-level await, as
#: IPython allows): no token given, the server's is found
CLIENT_IN_KERNEL = """
import asyncio
from wsbridge.client import Client
async with await Client.connect(bridge.url, "{doc}") as c:
    await c.set(slider.id, value=4.0)
    for _ in range(200):  # the set goes to the server's hub and back to this kernel
        if slider.value == 4.0:
            break
        await asyncio.sleep(0.05)
    await c.wait_for(lambda c: c.model(slider.id)["value"] == 4.0, timeout=10)
print(c.model(slider.id)["value"], slider.value)
slider.value = 1.0
"""


def test_the_shipped_config_enables_the_extension(jupyter: JupyterServer) -> None:
    # The server got no jpserver_extensions flag and a config dir of its own:
    # the JSON the package installs into sys.prefix (hatch shared-data) enabled it.
    # (`jupyter server extension disable wsbridge` edits that installed file, so
    # it runs in a venv of its own: test_extension_disable_and_enable_...)
    shipped = Path(sys.prefix, "etc/jupyter/jupyter_server_config.d/wsbridge.json")
    assert json.loads(shipped.read_text()) == {
        "ServerApp": {"jpserver_extensions": {"wsbridge": True}}
    }
    assert jupyter.request("wsbridge/healthz")["status"] == "ok"
    listed = subprocess.run(
        [sys.executable, "-m", "jupyter", "server", "extension", "list"],
        env=jupyter.env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    lines = (listed.stdout + listed.stderr).splitlines()
    assert any("wsbridge " in ln and "enabled" in ln for ln in lines), lines
    assert any("wsbridge 0" in ln and "OK" in ln for ln in lines), lines


@pytest.mark.slow
def test_kernel_publishes_and_chromium_moves_the_slider_through_the_server(
    jupyter: JupyterServer, chromium: Any, kernelspec: tuple[str, str]
) -> None:
    spec, major = kernelspec
    doc = f"main{major}"
    kid, kernel = jupyter.start_kernel(spec, ipykernel=major)
    try:
        kind, url, sid = run_cell(kernel, PUBLISH.format(doc=doc)).split()
        assert kind == "jupyter" and url == jupyter.url + "wsbridge/"
        # how the hub will know this kernel's documents when it is shut down
        named = (
            "from wsbridge.jupyter.discovery import current_kernel_id; print(current_kernel_id())"
        )
        assert run_cell(kernel, named).strip() == kid
        shown = run_cell(kernel, "print(dash._repr_html_())")
        assert f'src="{BASE_URL}wsbridge/d/{doc}"' in shown  # a path: right behind any proxy
        jupyter.wait_document(doc)
        # the Python client in the kernel reaches the server's hub with the
        # kernel's own credentials, as the kernel's Bridge does (no 403)
        assert run_cell(kernel, CLIENT_IN_KERNEL.format(doc=doc)).split() == ["4.0", "4.0"]
        context = chromium.new_context()
        page = context.new_page()
        js_errors: list[str] = []
        page.on("pageerror", lambda exc: js_errors.append(str(exc)))
        try:
            # the token logs the browser in (Jupyter sets its cookie); then the
            # page's WebSocket is authenticated by that cookie, same origin
            page.goto(f"{url}d/{doc}?token={jupyter.token}")
            page.wait_for_function("() => window.wsbridgeClient && window.wsbridgeClient.seq >= 0")
            rng = page.locator(f'[data-wsbridge-model="{sid}"] input[type=range]')
            rng.evaluate(
                """el => { el.value = "6.5";
                     el.dispatchEvent(new Event('input', {bubbles: true}));
                     el.dispatchEvent(new Event('change', {bubbles: true})); }"""
            )
            poll_cell(kernel, "print(slider.value)", "6.5")
            assert "6.5" in run_cell(kernel, "print(seen)")
            run_cell(kernel, "slider.value = 2.0")  # the kernel moves it; the page follows
            page.wait_for_function(
                f"""() => document.querySelector('[data-wsbridge-model="{sid}"] input[type=range]')
                            .value === "2" """
            )
            # kernel restart: the page says the producer is gone, then recovers
            jupyter.request(f"api/kernels/{kid}/restart", "POST", {})
            status = page.locator("#wsbridge-status")
            page.wait_for_function(
                "() => document.getElementById('wsbridge-status').dataset.wsbridgeStatus"
                " === 'stale'",
                timeout=15000,
            )
            assert "has stopped" in status.inner_text()
            jupyter.wait_kernel(kid, kernel)
            # the kernel still exists: its document stays (stale), however long
            # the restart takes; the hub checks every 0.5 s, so wait for a few
            time.sleep(1.5)
            assert doc in jupyter.request("wsbridge/healthz")["documents"]
            assert status.get_attribute("data-wsbridge-status") == "stale"
            _, _, new_sid = run_cell(kernel, PUBLISH.format(doc=doc)).split()
            page.wait_for_function(
                "() => document.getElementById('wsbridge-status').dataset.wsbridgeStatus"
                " === 'connected'",
                timeout=15000,
            )
            page.locator(f'[data-wsbridge-model="{new_sid}"] input[type=range]').wait_for()
            assert not status.is_visible()
            # the kernel is shut down: its document leaves the hub, the index,
            # and the open page says it was removed
            jupyter.request(f"api/kernels/{kid}", "DELETE")
            jupyter.wait_document(doc, present=False)
            assert f'href="d/{doc}"' not in jupyter.request_text("wsbridge/")
            page.wait_for_function(
                "() => document.getElementById('wsbridge-status').dataset.wsbridgeStatus"
                " === 'closed'",
                timeout=15000,
            )
            assert "document removed" in status.inner_text()
            assert not js_errors
        finally:
            context.close()
    finally:
        kernel.stop_channels()


BUSY_SETUP = """
import time
import numpy as np
clicked = []
button = wb.Button(label="go")
button.on_click(lambda b: clicked.append(time.monotonic()))
src = wb.DataSource({{"t": np.zeros(0)}})
bridge.dashboard("{doc}", wb.Column(button, wb.Sparkline(src, x="t", y="t")))
print(button.id, src.id)
"""

BUSY_CELL = """
t0 = time.monotonic()
while time.monotonic() - t0 < 3.0:  # a cell that never yields to the kernel's loop
    src.stream({"t": np.array([time.monotonic()])})
    time.sleep(0.02)
"""


def in_thread(fn: Any) -> Any:
    """``run(fn())`` on a thread of its own (Playwright owns this one's loop)."""
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(run, fn(), 40).result()


@pytest.mark.slow
def test_a_busy_cell_still_streams_and_fires_browser_callbacks(
    jupyter: JupyterServer, kernelspec: tuple[str, str]
) -> None:
    from wsbridge.client import Client
    from wsbridge.wire.messages import Stream

    spec, major = kernelspec
    _, kernel = jupyter.start_kernel(spec, ipykernel=major)
    try:
        doc = f"busy{major}"
        run_cell(kernel, PUBLISH.format(doc=f"{doc}-main"))
        button, src = run_cell(kernel, BUSY_SETUP.format(doc=doc)).split()
        jupyter.wait_document(doc)
        arrivals: list[float] = []

        async def browse() -> float:
            auth = {"Authorization": f"token {jupyter.token}"}
            client = await Client.connect(jupyter.url + "wsbridge/", doc, headers=auth)
            async with client:
                client.on_message(
                    lambda m: arrivals.append(time.monotonic()) if isinstance(m, Stream) else None
                )
                kernel.execute(BUSY_CELL)  # not awaited: the cell runs for 3 s
                await client.wait_for(lambda c: len(c.source(src)["t"]) >= 20, timeout=10)
                clicked_at = time.monotonic()
                await client.event(button, "click")
                await client.wait_for(lambda c: len(c.source(src)["t"]) >= 120, timeout=10)
                return clicked_at

        clicked_at = in_thread(browse)
        reply = kernel.get_shell_msg(timeout=20)  # the busy cell's end
        while reply["msg_type"] != "execute_reply":
            reply = kernel.get_shell_msg(timeout=20)
        fired = float(run_cell(kernel, "print(clicked[0])"))
        assert fired - clicked_at < 0.2, f"the click took {fired - clicked_at:.3f} s"
        gaps = [b - a for a, b in itertools.pairwise(arrivals)]
        assert len(arrivals) >= 100 and max(gaps) < 0.5, (len(arrivals), max(gaps))
    finally:
        kernel.stop_channels()


def test_discovery_matches_the_parent_pid_and_probes_the_extension(
    jupyter: JupyterServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``Bridge()`` does in a kernel, in-process: the runtime files of
    ``list_running_servers`` name servers; ours is the one whose pid is our
    ``JPY_PARENT_PID``, and it counts only if its ``wsbridge/healthz`` answers
    (404 for a server without the extension: stay embedded)."""
    import wsbridge as wb
    from wsbridge.jupyter.discovery import find_jupyter_server

    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setenv("JPY_PARENT_PID", str(os.getpid()))  # a live pid, as a server's is

    def runtime_file(url: str, token: str) -> None:
        info = {
            "pid": os.getpid(),
            "url": url,
            "token": token,
            "base_url": BASE_URL,
            "hostname": "127.0.0.1",
            "port": jupyter.port,
            "secure": False,
            "root_dir": str(tmp_path),
            "password": False,
            "sock": "",
            "version": "2",
        }
        (tmp_path / f"jpserver-{os.getpid()}.json").write_text(json.dumps(info))

    runtime_file(jupyter.url, jupyter.token)  # a server with the extension
    found = find_jupyter_server()
    assert found is not None and found.hub_url == jupyter.url + "wsbridge/"
    assert found.base_url == BASE_URL and found.token == jupyter.token
    runtime_file(jupyter.url, "wrong-token")  # refused (403): not usable
    assert find_jupyter_server() is None
    with wb.Bridge(port=0) as plain:  # a server without /wsbridge/ (404)
        runtime_file(plain.url, "")
        assert find_jupyter_server() is None
        assert type(wb.Bridge()) is wb.Bridge  # so Bridge() stays embedded
    monkeypatch.setenv("WSBRIDGE_MODE", "embedded")
    runtime_file(jupyter.url, jupyter.token)
    assert find_jupyter_server() is None


def extension_list(python: Path, env: dict[str, str]) -> dict[str, str]:
    """``jupyter server extension list``: {config dir: its lines about wsbridge}."""
    listed = subprocess.run(
        [str(python), "-m", "jupyter_server", "extension", "list"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stdout + listed.stderr
    found: dict[str, str] = {}
    where = ""
    for line in (listed.stdout + listed.stderr).splitlines():
        if line.startswith("Config dir: "):
            where = line.removeprefix("Config dir: ").strip()
        elif line.strip().startswith("wsbridge "):
            found[where] = found.get(where, "") + line
    return found


def extension_toggle(python: Path, env: dict[str, str], action: str) -> None:
    done = subprocess.run(
        [str(python), "-m", "jupyter_server", "extension", action, "wsbridge"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "Validation failed" not in output, output


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_extension_disable_and_enable_in_an_environment_of_its_own(tmp_path: Path) -> None:
    """``jupyter server extension disable wsbridge`` edits the config JSON that
    ``pip install`` put under ``sys.prefix`` (it writes nowhere else by
    default; ``--user`` refuses an extension not enabled in the user dir). So
    the test installs wsbridge with pip into a venv of its own, a prefix it
    may change, and runs Jupyter from that venv."""
    require_jupyter()
    try:
        import hatchling  # noqa: F401  (pip builds the wheel without an isolated env)
    except ImportError:
        require(False, "hatchling", 'pip install -e ".[test]"')
    prefix = tmp_path / "env"
    python = make_prefix(prefix, pip=False)
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--ignore-installed", "--prefix", str(prefix), str(REPO)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr
    shipped = prefix / "etc/jupyter/jupyter_server_config.d/wsbridge.json"
    config_dir = str(prefix / "etc/jupyter")
    env = {**jupyter_env(tmp_path), "PYTHONNOUSERSITE": "1"}  # no ~/.local config either

    assert "enabled" in extension_list(python, env)[config_dir]
    extension_toggle(python, env, "disable")
    assert json.loads(shipped.read_text())["ServerApp"]["jpserver_extensions"] == {
        "wsbridge": False
    }
    assert "disabled" in extension_list(python, env)[config_dir]

    server = JupyterServer(tmp_path, python=python, env=env)
    try:
        server.wait_ready()
        with pytest.raises(urllib.error.HTTPError) as info:
            server.request("wsbridge/healthz")
        info.value.close()  # the error holds the connection
        assert info.value.code == 404  # nothing mounted under wsbridge/
        _, kernel = server.start_kernel()
        try:
            out = run_cell(kernel, FALLBACK).split()
        finally:
            kernel.stop_channels()
        # the kernel found its server, whose probe said 404: an embedded hub
        assert out[0] == "1" and out[1] == "embedded", out
        assert out[2].startswith("http://127.0.0.1:") and f":{server.port}/" not in out[2]
    finally:
        server.stop()

    extension_toggle(python, env, "enable")  # and a new server mounts it again
    (tmp_path / "again").mkdir()
    server = JupyterServer(tmp_path / "again", python=python, env=env)
    try:
        server.wait_ready()
        assert server.request("wsbridge/healthz")["status"] == "ok"
    finally:
        server.stop()


FALLBACK = """
import os
import wsbridge as wb
from jupyter_server.serverapp import list_running_servers
mine = [s for s in list_running_servers() if str(s["pid"]) == os.environ["JPY_PARENT_PID"]]
with wb.Bridge() as b:
    print(len(mine), b.hub_kind, b.url)
"""
