"""The public names: what ``wsbridge``, its modules and the README promise exists.

``wsbridge/__init__.py`` is lazy (PEP 562): a name in ``__all__`` that its
``_EXPORTS`` map gets wrong fails only when someone uses it, so every one is
resolved here. Every module says what it is (a docstring) and what it
offers (``__all__``, every name of which exists).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from types import ModuleType

import pytest

import wsbridge
from tests.helpers.common import REPO, require


def all_module_names() -> list[str]:
    names = ["wsbridge"]
    for info in pkgutil.walk_packages(wsbridge.__path__, "wsbridge."):
        names.append(info.name)
    return sorted(names)


MODULES = all_module_names()


def test_the_package_tree_was_found() -> None:
    for name in ("wsbridge.wire.codec", "wsbridge.hub.hub", "wsbridge.server.app",
                 "wsbridge.runtime.bridge", "wsbridge.widgets.model", "wsbridge.scaleout.keys",
                 "wsbridge.jupyter.extension", "wsbridge.client", "wsbridge.errors"):  # fmt: skip
        assert name in MODULES


@pytest.mark.parametrize("name", sorted(wsbridge.__all__))
def test_every_name_in_all_resolves(name: str) -> None:
    assert getattr(wsbridge, name) is not None
    assert name in dir(wsbridge)


def test_the_lazy_map_and_all_agree() -> None:
    exported = set(wsbridge._EXPORTS)
    assert exported <= set(wsbridge.__all__), "in _EXPORTS but not in __all__"
    assert set(wsbridge.__all__) - exported <= {"__version__"}, "in __all__ but not lazy"
    assert len(wsbridge.__all__) == len(set(wsbridge.__all__)), "a name twice in __all__"


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        wsbridge.no_such_thing  # noqa: B018
    assert not hasattr(wsbridge, "no_such_thing")


def readme_names() -> list[str]:
    """Every ``wb.Name`` the README uses (classes and functions: capitalised)."""
    text = (REPO / "README.md").read_text()
    return sorted(set(re.findall(r"\bwb\.([A-Z]\w*)", text)))


def test_the_readme_names_exist() -> None:
    names = readme_names()
    for expected in ("Bridge", "Slider", "DataSource", "Column", "Plot", "AnyWidget", "Table"):
        assert expected in names  # the scan itself works
    missing = [n for n in names if not hasattr(wsbridge, n)]
    assert not missing, f"README.md uses wb.{', wb.'.join(missing)}, which wsbridge lacks"


def test_the_other_public_entry_points() -> None:
    from wsbridge.client import Client
    from wsbridge.ipy import mirror

    assert callable(mirror) and isinstance(Client, type)
    assert wsbridge.Widget is wsbridge.AnyWidget  # the README's alias
    assert isinstance(wsbridge.__version__, str)


def test_one_error_hierarchy() -> None:
    from wsbridge import errors

    for name in (
        "ProtocolError",
        "LocalProtocolError",
        "RemoteProtocolError",
        "StateError",
        "ConnectionFailed",
    ):
        cls = getattr(errors, name)
        assert issubclass(cls, errors.WsbridgeError), name
    assert issubclass(errors.LocalProtocolError, errors.ProtocolError)
    assert issubclass(errors.RemoteProtocolError, errors.ProtocolError)
    for name in ("WsbridgeError", "ProtocolError", "StateError", "ConnectionFailed"):
        assert getattr(wsbridge, name) is getattr(errors, name)


def _module(name: str) -> ModuleType:
    """Import ``name``; a missing optional dependency (a test extra) fails in CI only."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if (exc.name or "wsbridge").split(".")[0] == "wsbridge":
            raise
        require(False, f"{exc.name} (imported by {name})", 'pip install -e ".[test]"')
        raise


@pytest.mark.parametrize("name", MODULES)
def test_every_module_has_a_docstring_and_an_all_that_exists(name: str) -> None:
    module = _module(name)
    assert (module.__doc__ or "").strip(), f"{name} has no module docstring"
    assert hasattr(module, "__all__"), f"{name} has no __all__"
    public = module.__all__
    assert isinstance(public, (list, tuple)), f"{name}.__all__ is a {type(public).__name__}"
    missing = [n for n in public if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what it lacks: {missing}"
    assert len(public) == len(set(public)), f"{name}.__all__ names something twice"
