"""A real ``jupyter lab`` subprocess for the browser tests, and its REST calls.

Shaped like ``JupyterServer`` in tests/test_jupyter_server.py, for JupyterLab:
its own config, data and runtime dirs (so no user setting, workspace or
kernel of the machine leaks in), a root dir holding copies of the example
notebooks, and nothing that reaches the internet (no news feed, no update
check, no extension manager queries). The wsbridge extension is enabled by
the config JSON the package installs, as for a user after ``pip install``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from .common import REPO

__all__ = ["NOTEBOOKS", "JupyterLab", "execute", "lab_env"]

NOTEBOOKS = REPO / "notebooks"


def lab_env(tmp: Path) -> dict[str, str]:
    """This environment, with Jupyter's config, data and runtime dirs under ``tmp``,
    and this checkout's wsbridge first on the path of the server and its kernels."""
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
        "JUPYTER_CONFIG_DIR": str(tmp / "config"),
        "JUPYTER_DATA_DIR": str(tmp / "data"),
        "IPYTHONDIR": str(tmp / "ipython"),
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p
        ),
    }
    env.pop("JPY_PARENT_PID", None)
    env.pop("WSBRIDGE_MODE", None)
    return env


class JupyterLab:
    """``jupyter lab`` on 127.0.0.1 with a random token, serving copies of ``notebooks``.

    ``base_url``: the server's (``/user/alice/`` as JupyterHub gives a
    single-user server). ``browser_host``: the host name the browser uses,
    which may differ from the ``127.0.0.1`` the kernels see (behind
    JupyterHub's proxy it always does).
    """

    def __init__(self, tmp: Path, base_url: str = "/", browser_host: str = "127.0.0.1") -> None:
        self.token = secrets.token_hex(16)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.base_url = base_url
        #: what the kernels and this process use
        self.url = f"http://127.0.0.1:{self.port}{base_url}"
        #: what the browser uses
        self.browser_url = f"http://{browser_host}:{self.port}{base_url}"
        self.root = tmp / "root"
        self.root.mkdir()
        for nb in sorted(NOTEBOOKS.glob("*.ipynb")):
            shutil.copy(nb, self.root / nb.name)
        self.env = lab_env(tmp)
        args = [
            sys.executable, "-m", "jupyterlab",
            "--no-browser", "--allow-root",
            f"--ServerApp.token={self.token}", f"--ServerApp.port={self.port}",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.base_url={base_url}",
            f"--ServerApp.root_dir={self.root}",
            # offline: no announcements feed, no update check, no PyPI look-ups
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
        ]  # fmt: skip
        self.log = open(tmp / "lab.log", "w")  # closed in stop()
        self.proc = subprocess.Popen(args, env=self.env, stdout=self.log, stderr=self.log)

    def request(self, path: str, method: str = "GET") -> Any:
        req = urllib.request.Request(
            self.url + path, method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(req, timeout=20) as response:
            raw = response.read()
            return json.loads(raw) if raw else None

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited: {self.logs()}")
            try:
                self.request("api/status")
                return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(f"jupyter lab not ready: {self.logs()}")

    def lab_url(self, notebook: str, workspace: str) -> str:
        """The notebook opened in JupyterLab, in a workspace of its own, logged in by token."""
        name = urllib.parse.quote(notebook)
        return f"{self.browser_url}lab/workspaces/{workspace}/tree/{name}?token={self.token}"

    def start_kernel(self, timeout: float = 60.0) -> tuple[str, Any]:
        """A kernel started through the REST API (as JupyterLab does), and a
        jupyter_client client on its connection file."""
        from jupyter_client import BlockingKernelClient

        req = urllib.request.Request(
            self.url + "api/kernels",
            data=json.dumps({"name": "python3"}).encode(),
            method="POST",
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=20) as response:
            kid = str(json.loads(response.read())["id"])
        client = BlockingKernelClient()
        client.load_connection_file(
            str(Path(self.env["JUPYTER_RUNTIME_DIR"], f"kernel-{kid}.json"))
        )
        client.start_channels()
        # a kernel this process did not start may not have beaten its heartbeat
        # yet on a loaded machine: wait_for_ready then calls it dead, so retry
        deadline = time.monotonic() + timeout
        while True:
            try:
                client.wait_for_ready(timeout=max(1.0, deadline - time.monotonic()))
                return kid, client
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def shutdown_kernel(self, kid: str) -> None:
        try:
            self.request(f"api/kernels/{kid}", "DELETE")
        except OSError:
            pass

    def shutdown_sessions(self) -> None:
        """Shut down every notebook's kernel (each test starts its own)."""
        for session in self.request("api/sessions"):
            try:
                self.request(f"api/sessions/{session['id']}", "DELETE")
            except OSError:
                pass

    def logs(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text()[-4000:]

    def stop(self) -> None:
        try:
            self.shutdown_sessions()
        except OSError:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()


def execute(client: Any, code: str, timeout: float = 30.0) -> tuple[str, str]:
    """Run ``code`` in a kernel: its (stdout, stderr); an error fails the test."""
    out: list[str] = []
    err: list[str] = []
    errors: list[str] = []

    def hook(msg: dict[str, Any]) -> None:
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            (out if content["name"] == "stdout" else err).append(content["text"])
        elif kind == "error":
            errors.append("\n".join(content["traceback"]))

    reply = client.execute_interactive(code, timeout=timeout, output_hook=hook)
    assert not errors and reply["content"]["status"] == "ok", "\n".join(errors)
    return "".join(out), "".join(err)
