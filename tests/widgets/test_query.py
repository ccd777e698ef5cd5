"""``dash.query``: the ``Query`` model as a dict, its bounds, and the wire check."""

from __future__ import annotations

import pytest
import traitlets

import wsbridge as wb
from wsbridge.wire.query import (
    QUERY_MAX_NAME,
    QUERY_MAX_PARAMS,
    QUERY_MAX_TOTAL,
    QUERY_MAX_VALUE,
    check_query,
)
from wsbridge.wire.requests import Hello
from wsbridge.wire.values import InvalidValue


def test_query_is_a_dict_of_strings_and_each_change_is_one_new_value() -> None:
    q = wb.Query({"view": "map"})
    changes: list[tuple[dict[str, str], dict[str, str]]] = []
    q.observe(lambda ch: changes.append((ch["old"], ch["new"])), names="value")
    assert q["view"] == "map" and q.get("year") is None and q.get("year", "2024") == "2024"
    assert "view" in q and len(q) == 1 and list(q) == ["view"] and q == {"view": "map"}
    q["year"] = "2024"
    q.update({"view": "table"}, page="2")
    del q["page"]
    with pytest.raises(KeyError):
        del q["page"]
    assert dict(q.items()) == {"view": "table", "year": "2024"} == q.to_dict()
    assert changes[0] == ({"view": "map"}, {"view": "map", "year": "2024"})
    assert len(changes) == 3
    q.clear()
    assert q.to_dict() == {} and repr(q) == "Query({})"


@pytest.mark.parametrize(
    "value",
    [
        {"a": 1},
        {1: "a"},
        {"": "x"},
        {"a\nb": "x"},
        {"n" * (QUERY_MAX_NAME + 1): "x"},
        {"v": "x" * (QUERY_MAX_VALUE + 1)},
        {f"p{i}": "x" for i in range(QUERY_MAX_PARAMS + 1)},
        {f"p{i}": "x" * 1000 for i in range(5)},  # past QUERY_MAX_TOTAL
        {"v": "\ud800"},
        ["a", "b"],
    ],
)
def test_values_past_the_bounds_are_refused_whole(value: object) -> None:
    with pytest.raises(InvalidValue):
        check_query(value)
    q = wb.Query({"keep": "me"})
    with pytest.raises(traitlets.TraitError):
        q.value = value  # type: ignore[assignment]
    assert q.to_dict() == {"keep": "me"}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        with pytest.raises(InvalidValue):
            Hello(doc="main", query=value)  # type: ignore[arg-type]


def test_the_bounds_themselves_are_accepted() -> None:
    most = {f"p{i:02d}": "x" * 100 for i in range(QUERY_MAX_PARAMS)}
    assert sum(len(k) + len(v) for k, v in most.items()) <= QUERY_MAX_TOTAL
    assert check_query(most) == most
    assert check_query({"n" * QUERY_MAX_NAME: "é" * QUERY_MAX_VALUE})


def test_dash_query_is_made_on_first_use_and_joins_the_document() -> None:
    dash = wb.Dashboard("main", wb.Column())
    before = set(dash.members)
    q = dash.query
    assert dash.query is q and set(dash.members) - before == {q.id}
    assert q._spec()["settable"] == ["value"]
    app_dash = wb.Dashboard("app~x")
    app_dash._initial_query = {"view": "map"}
    assert app_dash.query.to_dict() == {"view": "map"}
