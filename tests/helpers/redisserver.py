"""A real ``redis-server`` on a free loopback port, for the backplane tests.

Started with no persistence (``--save "" --appendonly no``), stopped after;
``restart()`` keeps the port, so clients see Redis go away and come back
empty, as after a crash.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time

from tests.helpers.common import free_port

__all__ = ["RedisServer"]


class RedisServer:
    def __init__(self, password: str | None = None, tls: bool = False) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise FileNotFoundError("redis-server")
        self.exe = exe
        self.port = free_port()
        self.password = password
        self.dir = tempfile.mkdtemp(prefix="wsbridge-redis-")
        self.proc: subprocess.Popen[bytes] | None = None
        self.tls = tls
        if tls:  # a self-signed certificate for 127.0.0.1, trusted by the URL
            self.cert, self.key = f"{self.dir}/cert.pem", f"{self.dir}/key.pem"
            args = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
            args += ["-keyout", self.key, "-out", self.cert, "-subj", "/CN=127.0.0.1"]
            args += ["-addext", "subjectAltName=IP:127.0.0.1"]
            subprocess.run(args, check=True, capture_output=True)

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        if self.tls:
            query = f"?ssl_cert_reqs=required&ssl_ca_certs={self.cert}"
            return f"rediss://{auth}127.0.0.1:{self.port}/0{query}"
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        args = [self.exe, "--bind", "127.0.0.1"]
        if self.tls:
            args += ["--port", "0", "--tls-port", str(self.port), "--tls-auth-clients", "no"]
            args += ["--tls-cert-file", self.cert, "--tls-key-file", self.key]
            args += ["--tls-ca-cert-file", self.cert]
        else:
            args += ["--port", str(self.port)]
        args += ["--save", "", "--appendonly", "no", "--dir", self.dir]
        if self.password:
            args += ["--requirepass", self.password]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()
