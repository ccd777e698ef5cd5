"""Extra Python environments for the Jupyter tests, made once and cached.

wsbridge supports ipykernel 6 and 7; the test environment installs one of
them (the newest), so an ipykernel 6 kernel needs an environment of its
own: a venv that sees this environment's packages (wsbridge,
jupyter_client, numpy, ...) plus ``pip install "ipykernel<7"``, which
shadows this environment's ipykernel because a venv's own site-packages
come first on ``sys.path``.

"Sees this environment's packages" is a ``.pth`` file in the new venv's
site-packages listing this interpreter's site-packages directories and the
paths its own ``.pth`` files add (editable installs), not
``--system-site-packages``: run from inside a venv, ``sys.executable -m
venv`` makes a venv of the *base* interpreter, and that flag would show
the base interpreter's packages instead of this venv's.

It is cached under ``<repo>/.cache/`` (git-ignored), keyed by the Python
version and the directories it points at, built in a scratch directory and
renamed into place under a file lock, so parallel or interrupted runs never
see half a venv. Building it needs PyPI (about 15 s once); in CI
(``CI=true``) a failure to build fails the test, locally it skips it
(``tests.helpers.common.require``).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import site
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.helpers.common import REPO

__all__ = ["CACHE", "ipykernel6_python", "kernel_version", "make_prefix", "parent_paths"]

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


#: the .pth file that makes a venv see this environment's packages
PTH_NAME = "_wsbridge_tests_parent.pth"


def parent_paths() -> list[str]:
    """Where this interpreter imports installed packages from, in its order.

    Its site-packages directories (``site.getsitepackages()``, and the user
    site when it is enabled), then every directory their ``.pth`` files add
    (an editable install's source tree, say): a directory listed in a
    ``.pth`` file is added to ``sys.path`` but its own ``.pth`` files are
    not read, so those must be listed too.
    """
    dirs = list(site.getsitepackages())
    if site.ENABLE_USER_SITE and os.path.isdir(site.getusersitepackages()):
        dirs.append(site.getusersitepackages())
    found = list(dirs)
    for d in dirs:
        for pth in sorted(Path(d).glob("*.pth")):
            for line in pth.read_text(errors="replace").splitlines():
                line = line.strip()
                if not line or line.startswith(("#", "import ", "import\t")):
                    continue  # import lines run code (hooks); only paths are listed
                entry = os.path.join(d, line)
                if os.path.isdir(entry) and entry not in found:
                    found.append(entry)
    return found


def site_packages(prefix: Path) -> Path:
    """The site-packages directory of the venv at ``prefix``."""
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    return prefix / "lib" / version / "site-packages"


def make_prefix(path: Path, pip: bool = True) -> Path:
    """A venv at ``path`` that sees this environment's packages; returns its python.

    ``sys.prefix`` inside it is ``path``: a sandbox for anything an install
    (or ``jupyter server extension enable``) writes under the prefix. What
    is installed into it shadows this environment's copy.
    """
    args = [sys.executable, "-m", "venv"]
    if not pip:
        args.append("--without-pip")
    _run([*args, str(path)])
    packages = site_packages(path)
    if not packages.is_dir():  # pragma: no cover - a platform with another layout
        raise RuntimeError(f"no site-packages at {packages}")
    (packages / PTH_NAME).write_text("".join(f"{p}\n" for p in parent_paths()))
    return path / "bin" / "python"


def ipykernel6_python() -> Path:
    """The python of a cached venv whose ``import ipykernel`` is ipykernel 6.

    Raises ``RuntimeError`` (with pip's output) when it cannot be built.
    """
    # one per environment it points at: switching venvs never reuses another's
    digest = hashlib.sha256("\n".join(parent_paths()).encode()).hexdigest()[:10]
    tag = f"py{sys.version_info[0]}.{sys.version_info[1]}-{digest}"
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
