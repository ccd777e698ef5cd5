"""Tables as users have them (pandas, polars, pyarrow) as wire columns.

``to_columns(data)`` turns whatever ``DataSource`` is given into columns in
wire form (``hub.columns``: arrays, lists of strings, ``Packed`` columns
with a validity mask or ragged rows) and their metadata (docs/protocol.md
"Column metadata"):

- a pandas ``DataFrame`` keeps its index: it becomes columns named as
  ``df.reset_index()`` names them (``index.name``, else ``"index"``; one
  per level of a ``MultiIndex``), unless it is an unnamed ``RangeIndex``,
  which only numbers the rows;
- dates (``datetime64``, tz-aware, pyarrow/polars timestamps and dates)
  become float64 milliseconds since the epoch (UTC), with
  ``{"type": "datetime", "tz": <zone or None>}`` in the metadata, so views
  show them as dates in their zone;
- missing values of nullable columns (pandas ``Int64``, ``Float64``,
  ``boolean``, polars and Arrow nulls, ``None``/``NaN`` among numbers)
  travel as a mask, only when there are any; strings with missing values
  are lists holding ``None``;
- categoricals travel as their labels;
- lists of numbers per row (Arrow/polars list columns) are ragged columns.

pandas, polars and pyarrow are never imported here: an object is
recognised by the module of its type, so its library is already loaded.
A plain dict of numpy arrays (``src.stream``'s hot path) is recognised
first and costs one type check per column.
"""

from __future__ import annotations

import datetime as _dt
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..hub.columns import DATETIME, Column, normalize_columns
from ..wire.codec import to_wire_array
from ..wire.packed import MASK_DTYPE, Packed, ragged_rows

__all__ = [
    "patch_value",
    "to_columns",
    "tz_name",
]

_FOREIGN = ("pandas", "polars", "pyarrow")


def _library(obj: Any) -> str | None:
    """ "pandas", "polars" or "pyarrow" when ``obj`` is one of theirs."""
    module = type(obj).__module__
    root = module.partition(".")[0]
    return root if root in _FOREIGN else None


def to_columns(data: Any, meta: dict[str, Any] | None = None) -> dict[str, Column]:
    """``data`` as wire columns (see the module's doc); the metadata of the
    columns that need some goes into ``meta`` when it is given.

    ``data`` is a mapping of name to array/list/Series, a pandas
    ``DataFrame``/``Series``/``Index``, a polars ``DataFrame``/``Series``
    or a pyarrow ``Table``/``RecordBatch``. Raises ``ValueError`` naming
    the column that cannot travel.
    """
    if type(data) is dict:
        for value in data.values():
            if type(value) is not np.ndarray and _library(value) is not None:
                break
        else:  # the common case (``src.stream``'s hot path): arrays and lists only
            return normalize_columns(data, meta)
    found: dict[str, Any] = {} if meta is None else meta
    lib = _library(data)
    if lib == "pandas":
        cols = _pandas(data, found)
    elif lib == "polars":
        cols = _polars(data, found)
    elif lib == "pyarrow":
        cols = _arrow_table(data, found)
    elif isinstance(data, Mapping):
        cols = _mapping(data, found)
    else:
        raise ValueError(
            "columns must be a mapping of name to array, a pandas or polars DataFrame "
            f"or a pyarrow Table, not {type(data).__name__}"
        )
    return normalize_columns(cols, found)


def _mapping(data: Mapping[Any, Any], meta: dict[str, Any]) -> dict[Any, Any]:
    """A mapping whose values may be Series, Index or Arrow arrays."""
    out: dict[Any, Any] = {}
    for name, value in data.items():
        lib = _library(value) if type(value) is not np.ndarray else None
        if lib is None:
            out[name] = value
        elif lib == "pandas":
            out[name] = _pandas_values(str(name), value, meta)
        elif lib == "polars":
            out[name] = _polars_series(str(name), value, meta)
        else:
            out[name] = _arrow_column(str(name), value, meta)
    return out


def _name(label: Any) -> str:
    """A column label as a name: a tuple (MultiIndex columns) joined with
    "_", as Bokeh's ColumnDataSource does."""
    if isinstance(label, tuple):
        return "_".join(str(part) for part in label)
    return str(label)


# --------------------------------------------------------------------------
# pandas


def _pandas(data: Any, meta: dict[str, Any]) -> dict[str, Any]:
    pd = sys.modules["pandas"]
    if isinstance(data, pd.Series):
        data = data.to_frame(name=data.name if data.name is not None else "value")
    elif isinstance(data, pd.Index):
        data = pd.DataFrame(index=data)
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"a pandas {type(data).__name__} is not a table of columns")
    index = data.index
    if not (isinstance(index, pd.RangeIndex) and index.name is None):
        try:
            data = data.reset_index()
        except ValueError as exc:  # a level's name is a column's too
            raise ValueError(f"the DataFrame's index cannot become a column: {exc}") from None
    out: dict[str, Any] = {}
    for i, label in enumerate(data.columns):
        name = _name(label)
        if name in out:
            raise ValueError(f"two columns are named {name!r}")
        out[name] = _pandas_values(name, data.iloc[:, i], meta)
    return out


def _pandas_values(name: str, values: Any, meta: dict[str, Any]) -> Column:
    """One pandas Series or Index as a column."""
    pd = sys.modules["pandas"]
    if isinstance(values, pd.Index):
        values = pd.Series(values, copy=False)
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        labels = values.cat.categories.take(np.maximum(codes, 0))
        return _with_missing(_pandas_values(name, labels, meta), codes < 0)
    if isinstance(dtype, pd.DatetimeTZDtype):
        meta[name] = {"type": "datetime", "tz": tz_name(dtype.tz)}
        utc = values.dt.tz_convert("UTC").dt.tz_localize(None)
        return to_wire_array(utc.to_numpy(dtype="datetime64[ns]"))
    if isinstance(dtype, pd.ArrowDtype):
        return _arrow_column(name, values.array.__arrow_array__(), meta)
    if isinstance(dtype, pd.SparseDtype):
        return _pandas_values(name, values.sparse.to_dense(), meta)
    if isinstance(dtype, np.dtype):
        if dtype.kind == "M":
            meta[name] = dict(DATETIME)
        # object columns (strings, numbers, None/NaN) are sorted out by hub.columns
        return values.to_numpy()
    if isinstance(dtype, pd.StringDtype):
        return values.to_numpy(dtype=object, na_value=None).tolist()
    if dtype.kind in "biuf":  # Int64, Float64, boolean...: nullable, masked
        numpy_dtype = np.dtype(dtype.numpy_dtype)
        filler = np.nan if numpy_dtype.kind == "f" else 0
        gone = values.isna().to_numpy(dtype=bool)
        arr = values.to_numpy(dtype=numpy_dtype, na_value=filler)
        return _with_missing(arr, gone)
    raise ValueError(
        f"column {name!r} has dtype {dtype}, which cannot travel: numbers, booleans, "
        "dates, strings and categoricals can"
    )


def _with_missing(col: Any, gone: np.ndarray[Any, Any]) -> Column:
    """``col`` (an array or a list) with the rows where ``gone`` is True missing."""
    if not gone.any():
        return col
    if isinstance(col, list):
        return [None if g else v for v, g in zip(col, gone.tolist(), strict=True)]
    if type(col) is Packed:
        mask = (col.mask if col.mask is not None else np.ones(len(col), MASK_DTYPE)).copy()
        mask[gone] = 0
        return Packed(col.values, mask, col.lengths)
    return np.ma.MaskedArray(col, mask=gone)  # hub.columns makes it a packed column


def tz_name(tz: Any) -> str:
    """A time zone as a name a browser knows: an IANA name ("Europe/Paris"),
    "UTC", or a fixed offset ("+05:30")."""
    if tz is None:
        return "UTC"
    if isinstance(tz, str):
        return "UTC" if tz.upper() in ("UTC", "Z", "ETC/UTC", "GMT") else tz
    for attr in ("key", "zone"):  # zoneinfo, pytz
        value = getattr(tz, attr, None)
        if isinstance(value, str) and value:
            return tz_name(value)
    filename = getattr(tz, "_filename", None)  # dateutil
    if isinstance(filename, str) and "zoneinfo/" in filename:
        return filename.split("zoneinfo/", 1)[1]
    if tz is _dt.timezone.utc:
        return "UTC"
    offset = tz.utcoffset(None) if hasattr(tz, "utcoffset") else None
    if isinstance(offset, _dt.timedelta):
        minutes = int(offset.total_seconds() // 60)
        if minutes == 0:
            return "UTC"
        sign = "+" if minutes >= 0 else "-"
        return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return str(tz)


# --------------------------------------------------------------------------
# polars


def _polars(data: Any, meta: dict[str, Any]) -> dict[str, Any]:
    pl = sys.modules["polars"]
    if isinstance(data, pl.Series):
        return {data.name or "value": _polars_series(data.name or "value", data, meta)}
    if isinstance(data, pl.LazyFrame):
        data = data.collect()
    if not isinstance(data, pl.DataFrame):
        raise ValueError(f"a polars {type(data).__name__} is not a table of columns")
    return {s.name: _polars_series(s.name, s, meta) for s in data.get_columns()}


def _polars_series(name: str, s: Any, meta: dict[str, Any]) -> Column:
    pl = sys.modules["polars"]
    dtype = s.dtype
    if isinstance(dtype, (pl.Categorical, pl.Enum)):
        s, dtype = s.cast(pl.String), pl.String
    if dtype == pl.Date:
        s, dtype = s.cast(pl.Datetime("ms")), pl.Datetime("ms")
    if isinstance(dtype, pl.Datetime):
        zone = dtype.time_zone
        meta[name] = {"type": "datetime", "tz": tz_name(zone) if zone else None}
        micros = s.dt.epoch("us")
    elif isinstance(dtype, pl.Duration):
        micros = s.dt.total_microseconds()
    else:
        micros = None
    if micros is not None:  # milliseconds as float64, NaN for null (as datetime64's NaT)
        return (micros.cast(pl.Float64) / 1000.0).fill_null(float("nan")).to_numpy()
    if dtype in (pl.String, pl.Utf8) or dtype == pl.Null:
        return s.to_list()
    if isinstance(dtype, (pl.List, pl.Array)):
        return ragged_rows(s.to_list(), f"column {name[:64]!r}")
    if dtype.is_numeric() or dtype == pl.Boolean:
        if isinstance(dtype, pl.Decimal):
            s = s.cast(pl.Float64)
        if not s.null_count():
            return s.to_numpy()
        gone = s.is_null().to_numpy()
        filler: Any = float("nan") if s.dtype.is_float() else (False if dtype == pl.Boolean else 0)
        return _with_missing(s.fill_null(filler).to_numpy(), gone)
    raise ValueError(
        f"column {name!r} has polars dtype {dtype}, which cannot travel: numbers, booleans, "
        "dates, strings, categoricals and lists of numbers can"
    )


# --------------------------------------------------------------------------
# pyarrow


def _arrow_table(data: Any, meta: dict[str, Any]) -> dict[str, Any]:
    pa = sys.modules["pyarrow"]
    if isinstance(data, (pa.Array, pa.ChunkedArray)):
        return {"value": _arrow_column("value", data, meta)}
    if not isinstance(data, (pa.Table, pa.RecordBatch)):
        raise ValueError(f"a pyarrow {type(data).__name__} is not a table of columns")
    return {
        name: _arrow_column(name, col, meta)
        for name, col in zip(data.column_names, data.columns, strict=True)
    }


def _arrow_column(name: str, arr: Any, meta: dict[str, Any]) -> Column:
    pa = sys.modules["pyarrow"]
    types = pa.types
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    typ = arr.type
    if types.is_dictionary(typ):
        return _arrow_column(name, arr.dictionary_decode(), meta)
    if types.is_timestamp(typ) or types.is_date(typ):
        tz = getattr(typ, "tz", None)
        meta[name] = {"type": "datetime", "tz": tz_name(tz) if tz else None}
        return to_wire_array(arr.to_numpy(zero_copy_only=False))
    if types.is_duration(typ):
        return to_wire_array(arr.to_numpy(zero_copy_only=False))
    if types.is_string(typ) or types.is_large_string(typ) or types.is_null(typ):
        return arr.to_pylist()
    if types.is_list(typ) or types.is_large_list(typ) or types.is_fixed_size_list(typ):
        return ragged_rows(arr.to_pylist(), f"column {name[:64]!r}")
    if types.is_decimal(typ):
        arr = arr.cast(pa.float64())
        typ = arr.type
    if types.is_integer(typ) or types.is_floating(typ) or types.is_boolean(typ):
        if not arr.null_count:
            return arr.to_numpy(zero_copy_only=False)
        gone = arr.is_null().to_numpy(zero_copy_only=False)
        filler: Any = 0
        if types.is_floating(typ):
            filler = float("nan")
        elif types.is_boolean(typ):
            filler = False
        return _with_missing(arr.fill_null(filler).to_numpy(zero_copy_only=False), gone)
    raise ValueError(
        f"column {name!r} has Arrow type {typ}, which cannot travel: numbers, booleans, "
        "dates, strings, dictionaries and lists of numbers can"
    )


# --------------------------------------------------------------------------
# patches


def patch_value(value: Any) -> Any:
    """A value given to ``DataSource.patch`` as the store takes it: pandas'
    ``NA`` and ``NaT`` as None (missing), a tz-aware pandas ``Timestamp``
    as a UTC ``datetime64``, a Series or array of them likewise."""
    lib = _library(value)
    if lib is None:
        return value
    name = type(value).__name__
    if name in ("NAType", "NaTType"):
        return None
    if name == "Timestamp":
        if value.tzinfo is not None:
            value = value.tz_convert("UTC").tz_localize(None)
        return value.to_datetime64()
    if lib == "pandas":
        meta: dict[str, Any] = {}
        return _pandas_values("value", value, meta)
    if lib == "polars":
        return _polars_series("value", value, {})
    return _arrow_column("value", value, {})
