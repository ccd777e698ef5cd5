"""Extra Python environments for the Jupyter tests, made once and cached.

wsbridge supports ipykernel 6 and 7; the test environment installs one of
them (the newest), so an ipykernel 6 kernel needs an environment of its
own: a venv with ``--system-site-packages`` (so it sees this environment's
wsbridge, jupyter_client, numpy, ...) plus ``pip install "ipykernel<7"``,
which shadows the system ipykernel because a venv's own site-packages come
first on ``sys.path``.

It is cached under ``<repo>/.cache/`` (git-ignored), keyed by the Python
version, built in a scratch directory and renamed into place under a file
lock, so parallel or interrupted runs never see half a venv. Building it
needs PyPI (about 15 s once); in CI (``CI=true``) a failure to build fails
the test, locally it skips it (``tests.helpers.common.require``).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.helpers.common import REPO

__all__ = ["CACHE", "ipykernel6_python", "kernel_version", "make_prefix"]

CACHE = Path(os.environ.get("WSBRIDGE_TEST_CACHE", REPO / ".cache"))


def _run(args: list[str], timeout: float = 300.0) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return done.stdout


def kernel_version(python: Path | str) -> str:
    """``ipykernel.__version__`` as ``python`` imports it (from that environment)."""
    code = "import ipykernel; print(ipykernel.__version__)"
    return _run([str(python), "-c", code], timeout=60).strip()


def make_prefix(path: Path, pip: bool = True) -> Path:
    """A venv at ``path`` that sees this environment's packages; returns its python.

    ``sys.prefix`` inside it is ``path``: a sandbox for anything an install
    (or ``jupyter server extension enable``) writes under the prefix.
    """
    args = [sys.executable, "-m", "venv", "--system-site-packages"]
    if not pip:
        args.append("--without-pip")
    _run([*args, str(path)])
    return path / "bin" / "python"


def ipykernel6_python() -> Path:
    """The python of a cached venv whose ``import ipykernel`` is ipykernel 6.

    Raises ``RuntimeError`` (with pip's output) when it cannot be built.
    """
    tag = f"py{sys.version_info[0]}.{sys.version_info[1]}"
    target = CACHE / f"ipykernel6-{tag}"
    python = target / "bin" / "python"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"ipykernel6-{tag}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder at a time; the others wait
        if python.exists():
            try:
                if kernel_version(python).startswith("6."):
                    return python
            except RuntimeError:
                pass  # broken (the base Python moved?): build it again
            shutil.rmtree(target)
        scratch = Path(tempfile.mkdtemp(prefix=f"ipykernel6-{tag}.", dir=CACHE))
        try:
            # a venv records its own path in its scripts: build it at the final path
            # name inside scratch, then move the whole scratch dir into place
            built = scratch / "env"
            py = make_prefix(built)
            _run([str(py), "-m", "pip", "install", "-q", "ipykernel>=6,<7"], timeout=600)
            version = kernel_version(py)
            if not version.startswith("6."):
                raise RuntimeError(f"the ipykernel 6 venv imports ipykernel {version}")
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        shutil.rmtree(target, ignore_errors=True)
        built.rename(target)
        shutil.rmtree(scratch, ignore_errors=True)
    # the venv's pyvenv.cfg and interpreter symlink do not depend on its path,
    # but its pip script's shebang does: only `python -m pip` is used above
    if not kernel_version(python).startswith("6."):
        raise RuntimeError("the ipykernel 6 venv does not import ipykernel 6 after the move")
    return python
