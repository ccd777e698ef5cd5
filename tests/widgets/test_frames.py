"""DataFrames as they are: pandas (index, dates and zones, nullable dtypes,
categoricals), polars and pyarrow tables; packed columns (a validity mask,
ragged rows) through stream, rollover, patch, the hub's replica and the wire."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import wsbridge as wb
from wsbridge import wire as p
from wsbridge.errors import ProtocolError
from wsbridge.hub.state import DocumentState
from wsbridge.wire.packed import Packed


def collect(src: wb.DataSource) -> list[Any]:
    sent: list[Any] = []
    src._listeners.append(lambda obj, msg: sent.append(msg))
    return sent


def frame() -> pd.DataFrame:
    idx = pd.date_range("2024-03-01", periods=4, freq="h", name="when")
    return pd.DataFrame(
        {
            "paris": pd.date_range("2024-03-01 09:00", periods=4, freq="D", tz="Europe/Paris"),
            "n": pd.array([1, None, 3, 4], dtype="Int64"),
            "s": pd.array(["a", None, "c", "d"], dtype="string"),
            "ok": pd.array([True, None, False, True], dtype="boolean"),
            "cat": pd.Categorical(["x", "y", None, "x"]),
            "f": [0.5, np.nan, 2.5, 3.5],
        },
        index=idx,
    )


def test_a_dataframe_keeps_its_index_dates_zones_and_missing_values() -> None:
    src = wb.DataSource(frame())
    assert src.columns == ["when", "paris", "n", "s", "ok", "cat", "f"]
    assert src.meta == {
        "when": {"type": "datetime", "tz": None},
        "paris": {"type": "datetime", "tz": "Europe/Paris"},
    }
    data = src.data
    assert data["when"][1] - data["when"][0] == 3_600_000.0
    # 09:00 in Paris on 1 March 2024 is 08:00 UTC
    assert data["paris"][0] == pd.Timestamp("2024-03-01 08:00", tz="UTC").value / 1e6
    n = data["n"]
    assert isinstance(n, np.ma.MaskedArray) and n.dtype == np.int64
    assert n.mask.tolist() == [False, True, False, False] and n[0] == 1
    assert data["ok"].mask.tolist() == [False, True, False, False]
    assert data["s"] == ["a", None, "c", "d"]
    assert data["cat"] == ["x", "y", None, "x"]
    assert np.isnan(data["f"][1]) and not isinstance(data["f"], np.ma.MaskedArray)


def test_a_column_without_missing_values_has_no_mask() -> None:
    src = wb.DataSource(pd.DataFrame({"n": pd.array([1, 2], dtype="Int64")}))
    spec = src._spec()
    assert type(spec["data"]["n"]) is np.ndarray and spec["data"]["n"].dtype == np.int64
    assert "meta" not in spec


def test_multiindex_levels_become_columns_as_reset_index_names_them() -> None:
    idx = pd.MultiIndex.from_tuples([("a", 1), ("b", 2)], names=["k", None])
    src = wb.DataSource(pd.DataFrame({"v": [1.0, 2.0]}, index=idx))
    assert src.columns == ["k", "level_1", "v"]
    assert wb.DataSource(pd.DataFrame({"v": [1.0]}, index=pd.Index([7]))).columns == ["index", "v"]
    # an unnamed RangeIndex only numbers the rows
    assert wb.DataSource(pd.DataFrame({"v": [1.0]})).columns == ["v"]


def test_streams_and_patches_keep_the_mask_in_step_with_rollover() -> None:
    src = wb.DataSource(pd.DataFrame({"n": pd.array([1, 2], dtype="Int64"), "s": ["a", "b"]}))
    sent = collect(src)
    src.stream(pd.DataFrame({"n": pd.array([None, 4], dtype="Int64"), "s": [None, "d"]}))
    assert type(sent[-1].data["n"]) is Packed
    src.stream({"n": np.array([5]), "s": ["e"]}, rollover=4)
    n = src.data["n"]
    assert n.tolist() == [2, None, 4, 5]
    src.patch({"n": [(0, None), (3, pd.NA), (2, 40)]})
    assert src.data["n"].tolist() == [None, None, 40, None]
    src.patch({"n": [(slice(0, 2), [7, None])]})
    assert src.data["n"].tolist() == [7, None, 40, None]
    assert src.data["s"] == ["b", None, "d", "e"]


def test_the_hub_replica_resyncs_to_the_same_data_and_mask() -> None:
    """What a client gets after reconnecting (a snapshot of the replica),
    encoded and decoded, equals the producer's source, mask included."""
    src = wb.DataSource(frame())
    state = DocumentState("d", "e1")
    state.apply(p.Add(seq=1, sources={src.id: src._spec()}))
    sent = collect(src)
    src.stream(frame().iloc[:2], rollover=5)
    src.patch({"n": [(0, None)], "ok": [(slice(0, 2), [None, True])]})
    src.replace(frame().iloc[1:])
    src.stream(frame().iloc[2:], rollover=4)
    for seq, msg in enumerate(sent, start=2):
        state.apply(p.decode(p.encode(type(msg)(**{**_fields(msg), "seq": seq})).data))
    snap = p.decode(p.encode(state.snapshot()).data)
    assert isinstance(snap, p.Snapshot)
    mirrored = snap.sources[src.id]
    assert mirrored.get("meta") == src.meta
    for name, col in src._store.data.items():
        got = mirrored["data"][name]
        if isinstance(col, np.ndarray):
            np.testing.assert_array_equal(got, col)
        else:
            assert got == col, name
    assert any(type(c) is Packed and c.mask is not None for c in mirrored["data"].values())


def _fields(msg: Any) -> dict[str, Any]:
    return {name: getattr(msg, name) for name in type(msg).__slots__}


def test_polars_and_pyarrow_tables() -> None:
    pf = pl.DataFrame(
        {
            "t": pl.Series([1_700_000_000_000, None], dtype=pl.Datetime("ms", "Asia/Tokyo")),
            "i": [1, None],
            "s": ["x", None],
            "c": pl.Series(["u", "v"], dtype=pl.Categorical),
            "xs": [[1.0, 2.0], [3.0]],
        }
    )
    src = wb.DataSource(pf)
    assert src.meta == {"t": {"type": "datetime", "tz": "Asia/Tokyo"}}
    assert src.data["t"][0] == 1_700_000_000_000.0 and np.isnan(src.data["t"][1])
    assert src.data["i"].tolist() == [1, None]
    assert src.data["s"] == ["x", None] and src.data["c"] == ["u", "v"]
    assert [r.tolist() for r in src.data["xs"]] == [[1.0, 2.0], [3.0]]
    table = pa.table(
        {
            "t": pa.array([0, 1000], pa.timestamp("ms", tz="UTC")),
            "b": pa.array([True, None]),
            "d": pa.array(["p", "q"]).dictionary_encode(),
        }
    )
    src2 = wb.DataSource(table)
    assert src2.meta == {"t": {"type": "datetime", "tz": "UTC"}}
    assert src2.data["b"].tolist() == [True, None] and src2.data["d"] == ["p", "q"]
    src2.stream(table.slice(0, 1))
    assert len(src2) == 3


def test_ragged_rows_stream_roll_over_and_patch() -> None:
    src = wb.DataSource({"xs": [[0, 1, 2], [3, 4]], "ys": [np.arange(3.0), np.arange(2.0)]})
    sent = collect(src)
    assert [r.tolist() for r in src.data["xs"]] == [[0, 1, 2], [3, 4]]
    src.stream({"xs": [[5]], "ys": [[9.0]]}, rollover=2)
    assert [r.tolist() for r in src.data["xs"]] == [[3, 4], [5]]
    src.patch({"ys": [(1, [7.0, 8.0, 9.0])]})
    assert [r.tolist() for r in src.data["ys"]] == [[0.0, 1.0], [7.0, 8.0, 9.0]]
    msg = p.decode(p.encode(sent[0]).data)
    assert isinstance(msg, p.Stream) and msg.data["xs"].rows()[0].tolist() == [5]
    # multi_polygons: polygons of rings of points
    poly = wb.DataSource({"xs": [[[[0, 1, 1], [0.2, 0.5]]], [[[2, 3, 3]]]]})
    assert poly._store.data["xs"].lengths[0].tolist() == [1, 1]
    assert [len(r) for r in poly._store.data["xs"].lengths] == [2, 2, 3]


def test_a_2d_column_takes_rows_given_as_lists() -> None:
    src = wb.DataSource({"xy": np.zeros((2, 2))})
    src.stream({"xy": [[1.0, 2.0]]})
    assert src.data["xy"].shape == (3, 2)
    with pytest.raises(ValueError, match="rows have shape"):
        src.stream({"xy": [[1.0, 2.0, 3.0]]})


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (pd.DataFrame({"p": pd.period_range("2024-01", periods=2, freq="M")}), "period"),
        (pd.DataFrame({"c": [1 + 2j, 3j]}), "cannot travel"),
        ({"o": np.array([{}, []], dtype=object)}, "object dtype"),
        ({"xs": [[1, 2], [[3]]]}, "not a list of numbers"),
        (pl.DataFrame({"st": [{"a": 1}]}), "polars dtype"),
    ],
)
def test_unsupported_columns_are_refused_clearly(data: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        wb.DataSource(data)


def test_a_remote_producers_mask_of_the_wrong_length_is_refused() -> None:
    obj = {"v": 1, "type": "stream", "seq": 1, "source": "s"}
    with pytest.raises(ProtocolError, match="mask has 2 entries for 3 rows") as err:
        p.from_dict({**obj, "data": {"n": {"values": np.arange(3), "mask": np.ones(2, np.uint8)}}})
    assert err.value.code == "bad_message"
    with pytest.raises(ProtocolError, match="add up to"):
        lengths = [np.array([1, 1], np.uint32)]
        p.from_dict({**obj, "data": {"xs": {"values": np.arange(3.0), "lengths": lengths}}})
