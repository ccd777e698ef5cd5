"""Which layer may import which (like Bokeh's tests/codebase).

Every module under ``wsbridge/`` is parsed with ``ast``; every import counts,
wherever it is: at the top, inside a function, under ``if TYPE_CHECKING:``,
in a ``try``; relative imports are resolved, ``from wsbridge import Name``
is followed through the lazy ``_EXPORTS`` map to the module that defines
``Name``, and ``importlib.import_module("...")`` with a literal name counts
too. The rules:

- ``wsbridge/wire/``: the standard library, numpy, orjson, ``wsbridge.wire``
  and ``wsbridge.errors``, nothing else (the sans-I/O codec a client in any
  environment can use);
- ``wsbridge/hub/``: no Tornado, traitlets, Redis, Jupyter, ipywidgets,
  anywidget or Bokeh, and none of the layers above it (widgets, server,
  runtime, scaleout, jupyter, client, cli, demo, ipy);
- ``wsbridge/widgets/``: no Tornado, nothing of the runtime or the server;
- ``wsbridge/scaleout/``: nothing of the server;
- ``wsbridge/errors.py``: nothing of wsbridge.

A failure lists every offending import as ``file:line``. Two subprocess
checks back this up at run time: the sans-I/O layers and ``import wsbridge``
load neither Tornado nor traitlets.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import wsbridge

PACKAGE = Path(wsbridge.__file__).resolve().parent
STDLIB = frozenset(sys.stdlib_module_names) | {"__future__"}


@dataclass(frozen=True)
class Import:
    path: Path  # the importing file
    line: int
    name: str  # the absolute dotted name imported

    @property
    def top(self) -> str:
        return self.name.split(".")[0]

    def __str__(self) -> str:
        return f"{self.path.relative_to(PACKAGE.parent)}:{self.line} imports {self.name}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _lazy_target(package: str, name: str) -> str:
    """``from wsbridge import Name``: the module ``Name`` really comes from."""
    if package == "wsbridge" and name in wsbridge._EXPORTS:
        return wsbridge._EXPORTS[name]
    return f"{package}.{name}"


def imports_of(path: Path, source: str | None = None) -> Iterator[Import]:
    """Every import in ``path`` (or in ``source``, read as if it were that file)."""
    text = path.read_text() if source is None else source
    tree = ast.parse(text, filename=str(path))
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(path, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                if node.level - 1 >= len(parts):
                    raise AssertionError(f"{path}:{node.lineno}: a relative import above wsbridge")
                base = ".".join(parts[: len(parts) - (node.level - 1)])
                origin = f"{base}.{node.module}" if node.module else base
            else:
                origin = node.module or ""
            if node.module:
                yield Import(path, node.lineno, origin)
            for alias in node.names:  # a name may be a submodule, or a lazy export
                if alias.name != "*":
                    yield Import(path, node.lineno, _lazy_target(origin, alias.name))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, (ast.Attribute, ast.Name))
            and (getattr(node.func, "attr", None) or getattr(node.func, "id", None))
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and not node.args[0].value.startswith(".")
        ):
            yield Import(path, node.lineno, node.args[0].value)


def files_under(relative: str) -> list[Path]:
    target = PACKAGE / relative
    return [target] if target.suffix == ".py" else sorted(target.rglob("*.py"))


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@dataclass(frozen=True)
class Rule:
    where: str  # a folder or a file under wsbridge/
    why: str
    #: if set, only these may be imported (top-level names, or wsbridge.* prefixes)
    only: tuple[str, ...] | None = None
    #: top-level packages, or dotted prefixes, that must not be imported
    never: tuple[str, ...] = ()

    def allows(self, name: str) -> bool:
        if any(within(name, bad) for bad in self.never):
            return False
        if self.only is None:
            return True
        if name.split(".")[0] in STDLIB:
            return True
        return any(within(name, ok) for ok in self.only)

    def violations(self) -> list[Import]:
        bad = [
            imp for path in files_under(self.where) for imp in imports_of(path)
            if not self.allows(imp.name)
        ]  # fmt: skip
        # ``from x import y`` is reported once, as x, when x itself is refused
        return [
            imp for imp in bad
            if not any(
                o.path == imp.path and o.line == imp.line and within(imp.name, o.name)
                and o.name != imp.name
                for o in bad
            )
        ]  # fmt: skip


#: the layers above the hub (demo and ipy: top-level modules built on widgets/runtime)
UPPER_LAYERS = tuple(
    f"wsbridge.{name}"
    for name in (
        "widgets",
        "server",
        "runtime",
        "scaleout",
        "jupyter",
        "client",
        "cli",
        "demo",
        "ipy",
    )
)

RULES = [
    Rule(
        "wire",
        "the sans-I/O codec: stdlib, numpy, orjson, wsbridge.wire, wsbridge.errors only",
        only=("numpy", "orjson", "wsbridge.wire", "wsbridge.errors"),
    ),
    Rule(
        "hub",
        "the sans-I/O hub: no I/O framework, no widget toolkit, no layer above it",
        never=(
            "tornado",
            "traitlets",
            "redis",
            "jupyter_server",
            "jupyter_client",
            "ipywidgets",
            "anywidget",
            "bokeh",
            *UPPER_LAYERS,
        ),
    ),
    Rule(
        "widgets",
        "widgets are models: no Tornado, nothing of the runtime or the server",
        never=("tornado", "wsbridge.runtime", "wsbridge.server"),
    ),
    Rule(
        "scaleout", "the Redis backplane never reaches into the server", never=("wsbridge.server",)
    ),
    Rule(
        "errors.py",
        "every layer may raise these: errors.py imports no wsbridge",
        never=("wsbridge",),
    ),
]


def test_every_rule_covers_files() -> None:
    for rule in RULES:
        assert files_under(rule.where), f"no module under wsbridge/{rule.where}"
        assert all(p.exists() for p in files_under(rule.where))


def test_the_import_scanner_sees_every_kind_of_import() -> None:
    """Functions, TYPE_CHECKING, relative and lazy imports are all found."""
    fake = PACKAGE / "hub" / "state.py"  # names resolve as if the code were there
    code = (
        "from typing import TYPE_CHECKING\n"
        "from ..wire import codec\n"
        "from . import session\n"
        "from .. import Slider\n"
        "if TYPE_CHECKING:\n"
        "    import tornado.web\n"
        "def f():\n"
        "    from ..widgets.model import Model\n"
        "    importlib.import_module('redis')\n"
    )
    found = {i.name for i in imports_of(fake, code)}
    assert {
        "typing",
        "wsbridge.wire",
        "wsbridge.wire.codec",
        "wsbridge.hub.session",
        "wsbridge.widgets.controls",
        "tornado.web",
        "wsbridge.widgets.model",
        "redis",
    } <= found


@pytest.mark.parametrize("rule", RULES, ids=[r.where for r in RULES])
def test_layer_imports(rule: Rule) -> None:
    bad = rule.violations()
    if bad:
        listing = "\n".join(f"  {v}" for v in bad)
        pytest.fail(f"wsbridge/{rule.where}: {rule.why}; {len(bad)} violation(s):\n{listing}")


def _loaded_after(code: str) -> list[str]:
    """The Tornado and traitlets modules a fresh interpreter holds after ``code``."""
    probe = (
        f"{code}\nimport sys\n"
        "print('\\n'.join(sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('tornado', 'traitlets'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        # the wsbridge under test, whatever the install points at
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(PACKAGE.parent), os.environ.get("PYTHONPATH")) if p
            ),
        },
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_the_sans_io_layers_load_no_tornado_and_no_traitlets() -> None:
    loaded = _loaded_after("import wsbridge, wsbridge.wire, wsbridge.hub")
    assert not loaded, f"import wsbridge, wsbridge.wire, wsbridge.hub loaded {loaded}"


def test_every_wire_and_hub_module_loads_no_tornado_and_no_traitlets() -> None:
    names = [module_name(p) for where in ("wire", "hub") for p in files_under(where)]
    loaded = _loaded_after("\n".join(f"import {n}" for n in names))
    assert not loaded, f"importing every wire/ and hub/ module loaded {loaded}"


def test_import_wsbridge_alone_loads_no_tornado() -> None:
    loaded = _loaded_after("import wsbridge")
    assert not [m for m in loaded if m.split(".")[0] == "tornado"], loaded
