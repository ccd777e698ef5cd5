"""The sans-I/O codec: golden frames, round trips, layout rules, refusals."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.wire.generate import describe as _meaning  # the manifest's own description
from wsbridge import wire as p

WIRE = Path(__file__).parent
MANIFEST = json.loads((WIRE / "manifest.json").read_text())


def _frame(case: dict[str, Any]) -> str | bytes:
    data = (WIRE / case["file"]).read_bytes()
    return data if case["binary"] else data.decode()


@pytest.mark.parametrize("case", [c for c in MANIFEST if "message" in c], ids=lambda c: c["name"])
def test_golden_frames_decode_to_their_meaning(case: dict[str, Any]) -> None:
    message = p.decode(_frame(case))
    assert _meaning(message.to_dict()) == case["message"]


@pytest.mark.parametrize("case", [c for c in MANIFEST if "message" in c], ids=lambda c: c["name"])
def test_encoder_reproduces_golden_bytes(case: dict[str, Any]) -> None:
    frame = p.encode(p.decode(_frame(case)))
    assert frame.binary == case["binary"]
    assert frame.data == (WIRE / case["file"]).read_bytes()


@pytest.mark.parametrize("case", [c for c in MANIFEST if "error" in c], ids=lambda c: c["name"])
def test_invalid_golden_frames_are_refused(case: dict[str, Any]) -> None:
    with pytest.raises(p.ProtocolError) as info:
        p.decode(_frame(case))
    assert info.value.code == case["error"]


def test_binary_layout_is_aligned_and_zero_copy() -> None:
    x = np.linspace(0, 1, 1001)
    y = np.arange(7, dtype=np.int16)
    frame = p.encode(p.Stream(seq=3, source="s", data={"x": x, "y": y}))
    assert frame.binary
    (hlen,) = struct.unpack_from("<I", frame.data)
    header = json.loads(frame.data[4 : 4 + hlen])
    offsets = [b["offset"] for b in header["$buffers"]]
    assert all(o % 8 == 0 for o in offsets)
    assert offsets[0] == (4 + hlen + 7) & ~7
    assert len(frame.data) % 8 == 0
    assert frame.data[4 + hlen : offsets[0]] == bytes(offsets[0] - 4 - hlen)
    decoded = p.decode(frame.data)
    assert isinstance(decoded, p.Stream)
    dx = decoded.data["x"]
    np.testing.assert_array_equal(dx, x)
    np.testing.assert_array_equal(decoded.data["y"], y)
    # a view on the frame, not a copy, and read-only
    assert dx.base is not None and not dx.flags.writeable
    assert np.shares_memory(dx, np.frombuffer(frame.data, dtype=np.uint8))


def test_special_floats_and_big_endian_survive() -> None:
    vals = np.array([np.nan, np.inf, -np.inf, -0.0, 5e-324], dtype=">f8")
    out = p.decode(p.encode(p.Stream(seq=1, source="s", data={"v": vals})).data)
    assert isinstance(out, p.Stream)
    got = out.data["v"]
    assert got.dtype == np.dtype("<f8")
    assert np.isnan(got[0]) and got[1] == np.inf and got[2] == -np.inf
    assert np.signbit(got[3]) and got[4] == 5e-324


def test_datetimes_travel_as_float64_milliseconds() -> None:
    t = np.array(["2024-01-01T00:00:00", "NaT"], dtype="datetime64[s]")
    wire = p.to_wire_array(t)
    assert wire.dtype == np.float64
    assert wire[0] == 1704067200000.0 and np.isnan(wire[1])


@pytest.mark.parametrize(
    "bad", [np.array(["a"], dtype=object), np.array([1 + 2j]), np.array([1.0], dtype=np.float16)]
)
def test_dtypes_outside_the_allow_list_are_refused(bad: np.ndarray) -> None:
    with pytest.raises(ValueError):
        p.encode(p.Stream(seq=1, source="s", data={"v": bad}))


def test_arrays_nested_anywhere_round_trip() -> None:
    msg = p.Custom(
        model="m",
        content={"deep": [1, {"a": np.arange(3, dtype=np.uint32)}]},
        buffers=[np.zeros(5, dtype=np.uint8)],
        seq=4,
    )
    out = p.decode(p.encode(msg).data)
    assert isinstance(out, p.Custom)
    np.testing.assert_array_equal(out.content["deep"][1]["a"], [0, 1, 2])
    assert out.buffers[0].tobytes() == bytes(5)


def test_messages_validate_themselves() -> None:
    with pytest.raises(p.ProtocolError):
        p.Set(model="", state={"value": 1})
    with pytest.raises(p.ProtocolError):
        p.Set(model="m", state={})
    with pytest.raises(p.ProtocolError):
        p.Patch(seq=-1, model="m", state={})
    with pytest.raises(p.ProtocolError):
        p.SourcePatch(
            seq=1, source="s", patches={"x": [[{"start": 0, "stop": 4, "step": 2}, [1.0]]]}
        )


@pytest.mark.parametrize(
    ("text", "code", "close"),
    [
        ('{"type":"hello","doc":"x"}', "bad_message", None),
        ('{"v":true,"type":"hello","doc":"x"}', "bad_version", 1002),
        ('{"v":1,"type":"hello","doc":""}', "bad_message", None),
        ('{"v":1,"type":"set","model":"m","state":{"a":1},"req":-3}', "bad_message", None),
        ('{"v":1,"type":7}', "bad_message", None),
        ("1e999", "bad_json", None),
        ('{"v":1,"type":"hello","doc":"x","seq":true,"epoch":"e"}', "bad_message", None),
    ],
)
def test_text_refusals(text: str, code: str, close: int | None) -> None:
    with pytest.raises(p.ProtocolError) as info:
        p.decode(text)
    assert info.value.code == code
    assert info.value.close_code == close


def test_buffer_paths_cannot_overwrite_values() -> None:
    header = {
        "v": 1,
        "type": "set",
        "model": "m",
        "state": {"value": 1},
        "req": 1,
        "$buffers": [
            {"path": ["state", "value"], "dtype": "uint8", "shape": [1], "offset": 0, "length": 1}
        ],
    }
    for _ in range(2):
        head = json.dumps(header).encode()
        start = (4 + len(head) + 7) & ~7
        header["$buffers"][0]["offset"] = start  # type: ignore[index]
    head = json.dumps(header).encode()
    frame = struct.pack("<I", len(head)) + head
    frame += bytes(start - len(frame)) + b"\x01" + bytes(7)
    with pytest.raises(p.ProtocolError) as info:
        p.decode(frame)
    assert info.value.code == "bad_frame"


def test_huge_declared_shape_is_refused_without_allocating() -> None:
    header = {
        "v": 1,
        "type": "stream",
        "seq": 1,
        "source": "s",
        "data": {"x": None},
        "$buffers": [
            {
                "path": ["data", "x"],
                "dtype": "float64",
                "shape": [2**40],
                "offset": 16,
                "length": 2**43,
            }
        ],
    }
    head = json.dumps(header).encode()
    frame = struct.pack("<I", len(head)) + head + bytes(16)
    with pytest.raises(p.ProtocolError) as info:
        p.decode(frame)
    assert info.value.code == "bad_frame"


# -- fuzzing: whatever arrives, the decoder answers ProtocolError or a message
# (10,000 cases in every run: 5,000 random frames and 5,000 mutated golden ones)


_VALID = [(WIRE / c["file"]).read_bytes() for c in MANIFEST if "message" in c]


def _decode_any(data: bytes, as_text: bool) -> None:
    try:
        if as_text:
            p.decode(data.decode("utf-8", "replace"))
        else:
            p.decode(data)
    except p.ProtocolError:
        pass


@settings(max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=512), st.booleans())
def test_random_frames_never_raise_anything_else(data: bytes, as_text: bool) -> None:
    _decode_any(data, as_text)


@settings(max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(_VALID),
    st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1, max_size=8),
    st.integers(0, 64),
)
def test_mutated_valid_frames_never_raise_anything_else(
    frame: bytes, flips: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(frame)
    for pos, byte in flips:
        data[pos % len(data)] = byte
    if cut:
        del data[-min(cut, len(data) - 1) :]
    _decode_any(bytes(data), as_text=frame[:1] == b"{")


def test_immutable_arrays_are_referenced_not_copied_and_the_bytes_are_the_same() -> None:
    n = p.MIN_REFERENCED_BYTES // 8
    frozen = np.frombuffer(np.arange(n, dtype=np.float64).tobytes(), dtype=np.float64)
    small = np.frombuffer(np.arange(5.0).tobytes(), dtype=np.float64)  # under the floor
    writable = np.arange(n, dtype=np.float64)
    readonly_view = writable.view()
    readonly_view.flags.writeable = False  # its owner may still change it
    message = p.Stream(seq=3, source="s", data={"y": frozen}, rollover=9)
    frame = p.encode(message)
    assert frame.binary and frame._data is None and len(frame.parts) == 2
    assert np.shares_memory(np.frombuffer(frame.parts[1], dtype=np.float64), frozen)
    joined = p.encode(p.Stream(seq=3, source="s", data={"y": writable}, rollover=9))
    assert frame.size == joined.size == len(joined.data) and frame.data == joined.data
    assert frame == joined and frame.parts == (frame.data,)  # joined once, on first use
    for arr in (writable, readonly_view, small):
        assert p.encode(p.Stream(seq=3, source="s", data={"y": arr}))._data is not None
    decoded = p.decode(joined.data)
    assert isinstance(decoded, p.Stream)
    np.testing.assert_array_equal(decoded.data["y"], frozen)
