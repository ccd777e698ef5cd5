"""DataSource and ColumnStore: validation, stream with rollover, patch, replace."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import wsbridge as wb
from wsbridge import wire as p
from wsbridge.hub.columns import ColumnStore
from wsbridge.widgets.frames import to_columns


def collect(src: wb.DataSource) -> list[Any]:
    sent: list[Any] = []
    src._listeners.append(lambda obj, msg: sent.append(msg))
    return sent


@pytest.mark.parametrize(
    "dtype",
    [
        "float32",
        "float64",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "bool",
    ],
)
def test_every_numeric_dtype_is_kept(dtype: str) -> None:
    src = wb.DataSource({"v": np.arange(4).astype(dtype)})
    assert src.data["v"].dtype == np.dtype(dtype)
    src.stream({"v": np.ones(2, dtype=dtype)})
    assert len(src) == 6 and src.data["v"].dtype == np.dtype(dtype)


def test_stream_rollover_keeps_the_last_rows_and_sends_only_new_ones() -> None:
    src = wb.DataSource({"x": np.arange(3.0), "name": ["a", "b", "c"]})
    sent = collect(src)
    for i in range(10):
        src.stream({"x": np.array([10.0 + i, 20.0 + i]), "name": ["p", "q"]}, rollover=5)
    np.testing.assert_array_equal(src.data["x"], [27.0, 18.0, 28.0, 19.0, 29.0])
    assert src.data["name"] == ["q", "p", "q", "p", "q"]
    assert len(sent) == 10 and all(isinstance(m, p.Stream) for m in sent)
    assert sent[-1].rollover == 5 and len(sent[-1].data["x"]) == 2


def test_stream_copies_the_callers_array() -> None:
    src = wb.DataSource({"x": np.zeros(1)})
    sent = collect(src)
    mine = np.array([1.0, 2.0])
    src.stream({"x": mine})
    mine[:] = -1
    np.testing.assert_array_equal(src.data["x"], [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(sent[0].data["x"], [1.0, 2.0])


@pytest.mark.parametrize(
    ("cols", "match"),
    [
        ({"x": np.zeros(2)}, "missing"),
        ({"x": np.zeros(2), "y": np.zeros(2), "z": np.zeros(2)}, "unknown"),
        ({"x": np.zeros(2), "y": np.zeros(3)}, "different lengths"),
        ({"x": ["a", "b"], "y": np.zeros(2)}, "holds numbers"),
        ({"x": np.zeros(2), "y": np.array([1 + 1j, 2j])}, "cannot travel"),
        ({"x": np.zeros(2, dtype=np.float64), "y": np.zeros(2, dtype=np.float64)}, None),
    ],
)
def test_stream_validation_raises_before_anything_is_sent(
    cols: dict[str, Any], match: str | None
) -> None:
    src = wb.DataSource({"x": np.zeros(1), "y": np.zeros(1, dtype=np.int32)})
    sent = collect(src)
    if match is None:
        with pytest.raises(ValueError, match="cannot take"):  # float into an int32 column
            src.stream(cols)
    else:
        with pytest.raises(ValueError, match=match):
            src.stream(cols)
    assert sent == [] and len(src) == 1


def test_patch_index_and_slice() -> None:
    src = wb.DataSource({"y": np.arange(6.0), "s": list("abcdef")})
    sent = collect(src)
    src.patch({"y": [(0, 9.5), (slice(1, 6, 2), [7.0, 8.0, 9.0]), (-1, -1.0)], "s": [(2, "Z")]})
    np.testing.assert_array_equal(src.data["y"], [9.5, 7.0, 2.0, 8.0, 4.0, -1.0])
    assert src.data["s"][2] == "Z"
    msg = sent[0]
    assert isinstance(msg, p.SourcePatch)
    assert msg.patches["y"][1][0] == {"start": 1, "stop": 6, "step": 2}
    assert msg.patches["y"][2][0] == 5  # negative index resolved
    with pytest.raises(ValueError, match="out of range"):
        src.patch({"y": [(6, 1.0)]})
    with pytest.raises(ValueError, match="unknown column"):
        src.patch({"nope": [(0, 1.0)]})
    with pytest.raises(ValueError, match="slice of 2"):
        src.patch({"y": [(slice(0, 2), [1.0])]})
    with pytest.raises(ValueError, match="positive step"):
        src.patch({"y": [(slice(None, None, -1), np.zeros(6))]})
    assert len(sent) == 1


def test_replace_changes_columns() -> None:
    src = wb.DataSource({"x": np.zeros(3)})
    sent = collect(src)
    src.replace({"a": np.arange(2), "b": ["u", "v"]})
    assert src.columns == ["a", "b"] and len(src) == 2
    assert isinstance(sent[0], p.SourceReplace)


def test_datetimes_become_milliseconds_and_nan_inf_are_kept() -> None:
    t = np.array(["1970-01-01T00:00:01", "NaT"], dtype="datetime64[ms]")
    src = wb.DataSource({"t": t, "v": np.array([np.nan, np.inf])})
    assert src.data["t"][0] == 1000.0 and np.isnan(src.data["t"][1])
    assert np.isnan(src.data["v"][0]) and np.isinf(src.data["v"][1])


def test_pandas_dataframe_and_series() -> None:
    df = pd.DataFrame({"a": [1.0, 2.0], "when": pd.to_datetime(["2020-01-01", "2020-01-02"])})
    src = wb.DataSource(df)
    assert src.columns == ["a", "when"]
    assert src.data["when"][1] - src.data["when"][0] == 86_400_000.0
    src.stream(pd.DataFrame({"a": [3.0], "when": pd.to_datetime(["2020-01-03"])}))
    assert len(src) == 3
    assert to_columns(pd.Series([1, 2], name="n"))["n"].tolist() == [1, 2]


def test_object_columns_are_refused() -> None:
    with pytest.raises(ValueError, match="object dtype"):
        wb.DataSource({"o": np.array([{}, []], dtype=object)})
    with pytest.raises(ValueError, match="mixes"):
        wb.DataSource({"o": ["a", 1]})


def test_column_store_streams_in_chunks_and_concatenates_lazily() -> None:
    store = ColumnStore({"x": np.arange(3.0)})
    for i in range(100):
        store.stream({"x": np.array([float(i)])}, rollover=50)
    assert len(store._cols["x"].chunks) > 1  # nothing concatenated yet
    data = store.data["x"]
    assert len(store._cols["x"].chunks) == 1
    np.testing.assert_array_equal(data, np.arange(50.0, 100.0))
    assert not data.flags.writeable


def test_the_unchecked_stream_message_equals_a_checked_one() -> None:
    """DataSource.stream builds its message without Stream's checks (hot path);
    it must stay the message Stream(...) would build, field for field."""
    import dataclasses

    from wsbridge.widgets.source import _stream
    from wsbridge.wire.messages import Stream

    data = {"y": np.arange(3.0), "s": ["a", "b", "c"]}
    fast = _stream("s1", data, 10)
    assert fast == Stream(seq=0, source="s1", data=data, rollover=10)
    assert [f.name for f in dataclasses.fields(Stream)] == [
        "seq",
        "source",
        "data",
        "rollover",
        "first",
    ]
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.seq = 3  # type: ignore[misc]
