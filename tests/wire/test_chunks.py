"""wsbridge.chunks: immutable arrays and runs of them, and how they travel."""

from __future__ import annotations

import numpy as np
import pytest

from wsbridge import wire as p
from wsbridge.hub.coalesce import coalesce, message_size
from wsbridge.hub.columns import ColumnStore, _frozen_copy
from wsbridge.wire import chunks
from wsbridge.wire.chunks import Chunks, immutable, join_arrays


def frozen(start: float, n: int) -> np.ndarray:
    """A column as ``DataSource.stream`` keeps it: a read-only view of bytes."""
    return _frozen_copy(np.arange(float(start), start + n))


@pytest.fixture
def any_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs of a few rows kept apart, to test the logic on small arrays."""
    monkeypatch.setattr(chunks, "MIN_PIECE_BYTES", 0)
    monkeypatch.setattr(chunks, "MIN_REFERENCED_BYTES", 0)


def _same(got: list[np.ndarray], expect: list[np.ndarray]) -> bool:
    return len(got) == len(expect) and all(g is e for g, e in zip(got, expect, strict=True))


def test_immutable_means_read_only_and_backed_by_bytes() -> None:
    x = frozen(0, 4)
    assert immutable(x) and immutable(x[1:])  # a view of it too
    writeable = np.arange(4.0)
    assert not immutable(writeable)
    view = writeable.view()
    view.flags.writeable = False
    assert not immutable(view)  # read-only, but its base may still change


def test_of_keeps_frozen_arrays_apart_and_flattens_runs(any_size: None) -> None:
    a, b, c = frozen(0, 3), frozen(3, 2), frozen(5, 4)
    ab = Chunks.of([a, b])
    assert isinstance(ab, Chunks) and _same(ab.arrays, [a, b])
    abc = Chunks.of([ab, frozen(5, 0), c])  # a run of a run: one level; empties skipped
    assert isinstance(abc, Chunks) and _same(abc.arrays, [a, b, c])
    assert (len(abc), abc.shape, abc.dtype, abc.nbytes) == (9, (9,), np.float64, 72)
    np.testing.assert_array_equal(abc.join(), np.arange(9.0))
    assert Chunks.of([a]) is a and Chunks.of([frozen(0, 0), a]) is a
    assert "3 arrays, 9 rows" in repr(abc)


@pytest.mark.parametrize(
    "other",
    [np.arange(3.0, 5.0), _frozen_copy(np.arange(3, 5)), frozen(3, 4)[::2]],
    ids=["writeable", "other dtype", "not contiguous"],
)
def test_of_joins_what_cannot_stay_apart(other: np.ndarray, any_size: None) -> None:
    a = frozen(0, 3)
    joined = Chunks.of([a, other])
    assert isinstance(joined, np.ndarray)
    np.testing.assert_array_equal(joined, np.concatenate([a, other]))


def test_join_arrays_is_one_read_only_copy_nobody_can_change() -> None:
    a, b = np.arange(3.0), np.arange(3.0, 5.0)
    joined = join_arrays([a, b])
    a[0] = 99.0  # the sources changing afterwards changes nothing
    np.testing.assert_array_equal(joined, np.arange(5.0))
    assert immutable(joined)


@pytest.mark.parametrize(
    ("rows", "expect"), [(9, 9), (20, 9), (6, 6), (5, 5), (4, 4), (1, 1), (0, 0)]
)
def test_last_drops_whole_arrays_and_slices_the_first_kept(rows: int, expect: int) -> None:
    a, b, c = frozen(0, 3), frozen(3, 2), frozen(5, 4)
    run = Chunks([a, b, c])
    cut = run.last(rows)
    assert len(cut) == expect
    if expect:
        np.testing.assert_array_equal(
            np.concatenate(getattr(cut, "arrays", [cut])), np.arange(9.0 - expect, 9.0)
        )
    if rows >= 9:
        assert cut is run
    if rows == 4:  # exactly the last array: no run left, no copy either
        assert cut is c
    if rows == 6:  # the first array dropped whole
        assert isinstance(cut, Chunks) and _same(cut.arrays, [b, c])
    if rows == 5:  # the first dropped, the second sliced: a view, still immutable
        assert isinstance(cut, Chunks) and cut.arrays[1] is c and immutable(cut.arrays[0])


def _stream(x: object, y: object, **kw: object) -> p.Stream:
    return p.Stream(seq=7, source="s", data={"x": x, "y": y}, **kw)  # type: ignore[arg-type]


def test_a_chunks_column_encodes_to_the_bytes_of_the_joined_one() -> None:
    """The wire never shows the difference (docs/protocol.md "Binary frames")."""
    n = p.MIN_REFERENCED_BYTES // 8  # every run large enough to be referenced
    xs = [frozen(i * n, n) for i in range(3)]
    ys = [frozen(-i * n, n) for i in range(3)]
    chunked = _stream(Chunks(xs), Chunks(ys), rollover=10 * n, first=5)
    joined = _stream(join_arrays(xs), join_arrays(ys), rollover=10 * n, first=5)
    frame = p.encode(chunked)
    # the frame references the producer's arrays instead of copying them:
    # the prefix, then each array as it is
    assert len(frame.parts) == 7
    for part, arr in zip(frame.parts[1:], xs + ys, strict=True):
        assert np.shares_memory(np.frombuffer(part, np.uint8), arr)
    assert frame.data == p.encode(joined).data
    back = p.decode(frame.data)
    assert isinstance(back, p.Stream) and back.first == 5
    np.testing.assert_array_equal(back.data["x"], np.arange(3.0 * n))


def test_small_arrays_are_joined_once_not_kept_apart() -> None:
    """A frame would not reference them: kept apart, the replica would hold
    them besides the frame's joined copy."""
    piece = chunks.MIN_PIECE_BYTES // 8
    small = [frozen(i * 100, 100) for i in range(3)]  # 800 B each
    assert isinstance(Chunks.of(small), np.ndarray)
    few = [frozen(i * piece, piece) for i in range(3)]  # 48 KB in all: under the floor
    assert isinstance(Chunks.of(few), np.ndarray)
    enough = [frozen(i * piece, piece) for i in range(16)]  # 16 KB each, 256 KB in all
    run = Chunks.of(enough)
    assert isinstance(run, Chunks) and len(p.encode(_stream(run, run)).parts) == 33
    joined = Chunks.of([*enough, frozen(0, 100)])  # one small array: all joined
    assert isinstance(joined, np.ndarray) and len(joined) == 16 * piece + 100


def test_a_small_chunks_column_is_joined_into_the_frame() -> None:
    xs = [frozen(0, 5), frozen(5, 3)]  # odd sizes: the buffer is padded after the run
    chunked = _stream(Chunks(xs), Chunks([frozen(0, 4), frozen(4, 4)]))
    frame = p.encode(chunked)
    assert len(frame.parts) == 1
    assert frame.data == p.encode(_stream(np.arange(8.0), np.arange(8.0))).data


def test_coalesce_of_frozen_streams_keeps_their_arrays_and_cuts_to_the_rollover(
    any_size: None,
) -> None:
    run = [_stream(frozen(i * 10, 10), frozen(i * 10, 10), rollover=25) for i in range(4)]
    merged = coalesce(run, first=1)
    x = merged.data["x"]  # type: ignore[attr-defined]
    assert isinstance(x, Chunks) and len(x) == 25
    assert _same(x.arrays[1:], [m.data["x"] for m in run[2:]])  # the same objects, no copies
    np.testing.assert_array_equal(x.join(), np.arange(15.0, 40.0))
    assert message_size(merged) == 256 + 2 * 25 * 8
    again = coalesce([merged, run[0]], first=1)  # a run of a merged message: flattened
    assert isinstance(again.data["x"], Chunks) and len(again.data["x"].arrays) == 3  # type: ignore[attr-defined]


def test_a_store_appends_a_run_as_it_is_and_checks_it_when_untrusted() -> None:
    store = ColumnStore({"x": frozen(0, 2)})
    a, b = frozen(2, 3), frozen(5, 3)
    store.stream({"x": Chunks([a, b])}, rollover=7)
    assert store.length == 7
    np.testing.assert_array_equal(store.data["x"], np.arange(1.0, 8.0))
    checked = store.check_stream({"x": Chunks([frozen(8, 1), frozen(9, 1)])})
    np.testing.assert_array_equal(checked["x"], [8.0, 9.0])
    ints = ColumnStore({"n": _frozen_copy(np.arange(2))})
    with pytest.raises(ValueError, match="cannot take"):
        ints.check_stream({"n": Chunks([a, b])})  # float64 rows into an int64 column
