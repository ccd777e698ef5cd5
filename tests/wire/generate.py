"""Write the golden wire fixtures read by tests/wire/test_protocol.py and js/test.

Run ``python tests/wire/generate.py`` after a deliberate protocol change; the
frames are committed so that the Python and JavaScript codecs are held to the
same bytes (docs/protocol.md).

``manifest.json`` lists every case: ``file`` (the raw frame), ``binary`` (the
opcode kind) and either ``message`` (the decoded meaning, arrays written as
``{"$array": {"dtype", "shape", "values"}}`` with NaN/Infinity as strings and
64-bit integers as decimal strings) or ``error`` (the error code a decoder
must raise).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np

from wsbridge import wire as p
from wsbridge.wire import files
from wsbridge.wire.packed import Packed

HERE = Path(__file__).parent


def describe(value: Any) -> Any:
    if isinstance(value, Packed):  # a packed column: its parts as the wire has them
        return describe(value.to_wire())
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            values = [
                "NaN"
                if np.isnan(v)
                else ("Infinity" if v > 0 else "-Infinity")
                if np.isinf(v)
                else float(v)
                for v in value.ravel()
            ]
        elif value.dtype.itemsize == 8:
            values = [str(int(v)) for v in value.ravel()]
        elif value.dtype.kind == "b":
            values = [int(v) for v in value.ravel()]
        else:
            values = [int(v) for v in value.ravel()]
        name = "bool" if value.dtype.kind == "b" else value.dtype.name
        return {"$array": {"dtype": name, "shape": list(value.shape), "values": values}}
    if isinstance(value, dict):
        return {k: describe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [describe(v) for v in value]
    return value


def valid_cases() -> list[tuple[str, p.Message]]:
    f64 = np.array([0.0, -1.5, np.nan, np.inf, -np.inf, 1e300])
    return [
        ("hello_first", p.Hello(doc="main")),
        ("hello_resume", p.Hello(doc="main", token="t0k", epoch="e1", seq=41)),
        (
            "welcome",
            p.Welcome(
                doc="main",
                epoch="e1",
                seq=42,
                session="c1",
                resumed=False,
                title="Main",
                limits={"max_message_size": 16777216},
            ),
        ),
        (
            "snapshot",
            p.Snapshot(
                doc="main",
                epoch="e1",
                seq=42,
                title="Main",
                root="m1",
                models={
                    "m1": {
                        "type": "Column",
                        "state": {"children": ["m2"]},
                        "settable": [],
                        "events": [],
                    },
                    "m2": {
                        "type": "Slider",
                        "state": {
                            "value": 1.0,
                            "min": 0.0,
                            "max": 10.0,
                            "step": 0.5,
                            "label": "f",
                            "disabled": False,
                        },
                        "settable": ["value"],
                        "events": [],
                    },
                    "m3": {
                        "type": "Button",
                        "state": {"label": "go", "disabled": False},
                        "settable": [],
                        "events": ["click"],
                    },
                },
                sources={"s1": {"data": {"x": np.arange(4.0), "name": ["a", "b", "c", "d"]}}},
            ),
        ),
        (
            "add",
            p.Add(
                seq=43,
                models={"m3": {"type": "Label", "state": {"value": "<b>not html</b>"}}},
                sources={},
            ),
        ),
        ("patch", p.Patch(seq=44, model="m2", state={"value": 2.5})),
        (
            "patch_origin",
            p.Patch(seq=45, model="m2", state={"value": 3.0}, origin={"session": "c1", "req": 7}),
        ),
        ("patch_reply", p.Patch(seq=45, model="m2", state={"value": 3.0}, reply=True)),
        (
            "stream_float64",
            p.Stream(
                seq=46,
                source="s1",
                data={"x": f64, "y": np.arange(6, dtype=np.float32)},
                rollover=500,
            ),
        ),
        (
            "stream_ints",
            p.Stream(
                seq=47,
                source="s2",
                data={
                    "i8": np.array([-128, 127, 0], dtype=np.int8),
                    "u8": np.array([0, 255, 1], dtype=np.uint8),
                    "i16": np.array([-32768, 32767, 0], dtype=np.int16),
                    "u16": np.array([0, 65535, 1], dtype=np.uint16),
                    "i32": np.array([-(2**31), 2**31 - 1, 0], dtype=np.int32),
                    "u32": np.array([0, 2**32 - 1, 1], dtype=np.uint32),
                    "i64": np.array([-(2**63), 2**63 - 1, 0], dtype=np.int64),
                    "u64": np.array([0, 2**64 - 1, 1], dtype=np.uint64),
                    "b": np.array([True, False, True]),
                },
            ),
        ),
        (
            "stream_coalesced",
            p.Stream(seq=60, source="s1", data={"x": np.arange(3.0)}, rollover=3, first=57),
        ),
        ("patch_coalesced", p.Patch(seq=61, model="m2", state={"value": 1.5}, first=58)),
        (
            "stream_2d",
            p.Stream(seq=48, source="s3", data={"img": np.arange(6, dtype=np.int16).reshape(2, 3)}),
        ),
        ("stream_strings", p.Stream(seq=49, source="s4", data={"name": ["é", "☃", ""]})),
        (
            "source_patch",
            p.SourcePatch(
                seq=50,
                source="s1",
                patches={
                    "x": [
                        [0, np.array(9.5)],
                        [{"start": 1, "stop": 4, "step": 2}, np.array([7.0, 8.0])],
                    ],
                    "name": [[2, "q"]],
                },
            ),
        ),
        # patched numbers are 0-d arrays of the column's dtype: exact where a
        # JSON number is not (docs/protocol.md "source_patch")
        *[
            (f"source_patch_{name}", p.SourcePatch(seq=53, source="s5", patches={col: [[row, v]]}))
            for name, col, row, v in (
                ("inf", "f", 0, np.array(np.inf)),
                ("minus_inf", "f", 1, np.array(-np.inf)),
                ("int64_2p53p1", "i", 0, np.array(2**53 + 1, dtype=np.int64)),
                ("int64_max", "i", 1, np.array(2**63 - 1, dtype=np.int64)),
                ("uint64_max", "u", 0, np.array(2**64 - 1, dtype=np.uint64)),
            )
        ],
        (
            "source_replace",
            p.SourceReplace(seq=51, source="s1", data={"x": np.array([1.0]), "name": ["z"]}),
        ),
        # zero-size arrays of any shape: a buffer of length 0 (an empty 2-D column)
        (
            "source_replace_empty_2d",
            p.SourceReplace(
                seq=54,
                source="s6",
                data={"xy": np.zeros((0, 2)), "rgb": np.zeros((0, 2, 3), dtype=np.uint8)},
            ),
        ),
        ("stream_empty_2d", p.Stream(seq=55, source="s6", data={"xy": np.zeros((0, 2))})),
        # packed columns (docs/protocol.md "Packed columns"): a validity mask,
        # ragged rows, and a source's column metadata
        (
            "stream_masked",
            p.Stream(
                seq=56,
                source="s7",
                data={
                    "n": Packed(np.array([1, 0, 3], dtype=np.int64), np.array([1, 0, 1], np.uint8)),
                    "ok": Packed(np.array([True, False, False]), np.array([1, 1, 0], np.uint8)),
                    "s": ["a", None, "c"],
                },
                rollover=10,
            ),
        ),
        (
            "stream_ragged",
            p.Stream(
                seq=57,
                source="s8",
                data={
                    "xs": Packed(
                        np.array([0.0, 1.0, 2.0, 3.0, 4.0]), None, [np.array([3, 2], np.uint32)]
                    ),
                    "poly": Packed(
                        np.arange(7, dtype=np.float64),
                        None,
                        [
                            np.array([1, 1], np.uint32),
                            np.array([2, 1], np.uint32),
                            np.array([3, 2, 2], np.uint32),
                        ],
                    ),
                },
            ),
        ),
        (
            "source_replace_meta",
            p.SourceReplace(
                seq=58,
                source="s9",
                data={"t": np.array([0.0, 86_400_000.0]), "v": np.array([1.5, np.nan])},
                meta={"t": {"type": "datetime", "tz": "Europe/Paris"}},
            ),
        ),
        (
            "source_patch_missing",
            p.SourcePatch(
                seq=59,
                source="s7",
                patches={
                    "n": [
                        [0, Packed(np.zeros(1, np.int64), np.zeros(1, np.uint8))],
                        [1, np.array(7, dtype=np.int64)],
                    ],
                    "xs": [[0, Packed(np.array([5.0, 6.0]), None, [np.array([2], np.uint32)])]],
                },
            ),
        ),
        (
            "custom_server",
            p.Custom(
                model="m9",
                content={"kind": "reset"},
                buffers=[np.arange(3, dtype=np.uint8)],
                seq=52,
            ),
        ),
        (
            "error",
            p.Error(
                code="invalid_value",
                message="bad value",
                seq=52,
                ref={"type": "set", "model": "m2", "property": "value", "req": 8},
            ),
        ),
        ("set", p.Set(model="m2", state={"value": 4.5}, req=9)),
        ("event", p.Event(model="m5", name="click")),
        ("custom_client", p.Custom(model="m9", content={"at": [3, 4]})),
        ("ack", p.Ack(seq=52)),
        (
            "notify",
            p.Notify(text="saved <b>", level="success", duration=4.0, time=1.7e12, seq=53),
        ),
        ("notify_session", p.Notify(text="only you", level="error", duration=None, time=1.0)),
        ("dev_error", p.Dev(error={"title": "app.py raised X", "text": "Traceback ...\nX"})),
        ("dev_clear", p.Dev(error=None)),
        ("hello_query", p.Hello(doc="solo~k", key="kk", query={"view": "map", "year": "2024"})),
        (
            "upload_start",
            files.UploadStart(
                model="m4",
                upload=1,
                files=[
                    {"name": "a.csv", "type": "text/csv", "size": 3, "last_modified": 1.5e12},
                    {"name": "b", "type": "", "size": 0, "last_modified": None},
                ],
            ),
        ),
        (
            "upload_chunk",
            files.UploadChunk(upload=1, offset=0, data=np.frombuffer(b"a,b", np.uint8)),
        ),
        ("upload_ack", files.UploadAck(upload=1, received=3)),
        ("upload_done", files.UploadDone(upload=1)),
        (
            "download",
            files.Download(
                model="m7", name="r.txt", mime="text/plain", data=np.frombuffer(b"hi\n", np.uint8)
            ),
        ),
    ]


def binary(header: dict[str, Any], body: bytes, offset: int | None = None) -> bytes:
    """A hand-made binary frame; ``offset`` None puts the buffer right after the header."""
    while True:
        head = json.dumps(header).encode()
        start = (4 + len(head) + 7) & ~7
        if offset is not None or header["$buffers"][0]["offset"] == start:
            break
        header["$buffers"][0]["offset"] = start
    frame = struct.pack("<I", len(head)) + head
    return frame + bytes(start - len(frame)) + body


def invalid_cases() -> list[tuple[str, bool, bytes, str]]:
    def stream(**entry: Any) -> dict[str, Any]:
        buf = {"path": ["data", "x"], "dtype": "float64", "shape": [1], "offset": 0, "length": 8}
        buf.update(entry)
        return {
            "v": 1,
            "type": "stream",
            "seq": 1,
            "source": "s",
            "data": {"x": None},
            "$buffers": [buf],
        }

    return [
        ("bad_json", False, b'{"v":1,"type":', "bad_json"),
        ("not_object", False, b"[1,2]", "bad_json"),
        ("wrong_version", False, b'{"v":2,"type":"hello","doc":"main"}', "bad_version"),
        ("unknown_type", False, b'{"v":1,"type":"teleport"}', "unknown_type"),
        ("missing_field", False, b'{"v":1,"type":"set","state":{"value":1}}', "bad_message"),
        ("bad_field_type", False, b'{"v":1,"type":"set","model":"m2","state":[1]}', "bad_message"),
        (
            "first_after_seq",
            False,
            b'{"v":1,"type":"patch","seq":3,"model":"m","state":{},"first":4}',
            "bad_message",
        ),
        ("notify_level", False, b'{"v":1,"type":"notify","text":"a","level":"x"}', "bad_message"),
        (
            "hello_query",
            False,
            b'{"v":1,"type":"hello","doc":"d","query":{"a":1}}',
            "invalid_value",
        ),
        ("short_binary", True, b"\x01\x00", "bad_frame"),
        ("header_too_long", True, struct.pack("<I", 1000) + b'{"v":1}', "bad_frame"),
        ("misaligned_buffer", True, binary(stream(offset=4), bytes(16), offset=4), "bad_frame"),
        (
            "buffer_out_of_bounds",
            True,
            binary(stream(offset=1 << 20), bytes(8), offset=1 << 20),
            "bad_frame",
        ),
        ("bad_dtype", True, binary(stream(dtype="object"), bytes(8)), "bad_frame"),
        ("shape_mismatch", True, binary(stream(shape=[2]), bytes(8)), "bad_frame"),
        ("bad_path", True, binary(stream(path=["nowhere", "x"]), bytes(8)), "bad_frame"),
        ("valid_handmade", True, binary(stream(), bytes(8)), ""),
        # a packed column whose parts do not fit: a bad_message, as any bad field
        ("mask_length", True, packed({"mask": ("uint8", [2])}), "bad_message"),
        ("mask_dtype", True, packed({"mask": ("float64", [3])}), "bad_message"),
        ("ragged_lengths", True, packed({"lengths": ("uint32", [1])}, ragged=True), "bad_message"),
    ]


def packed(parts: dict[str, tuple[str, list[int]]], ragged: bool = False) -> bytes:
    """A stream whose column ``n`` is a packed column of 3 int64 values and
    the given extra parts (dtype, shape), zero-filled."""
    sizes = {"uint8": 1, "uint32": 4, "float64": 8, "int64": 8}
    entries = [("values", "int64", [3])] + [(k, d, sh) for k, (d, sh) in parts.items()]
    col: dict[str, Any] = {}
    bufs = []
    body = b""
    for key, dtype, shape in entries:
        length = sizes[dtype] * int(np.prod(shape))
        path: list[Any] = ["data", "n", key]
        if key == "lengths":
            col["lengths"] = [None]
            path.append(0)
        else:
            col[key] = None
        bufs.append({"path": path, "dtype": dtype, "shape": shape, "offset": 0, "length": length})
        body += bytes(length) + bytes(-length & 7)
    header = {"v": 1, "type": "stream", "seq": 1, "source": "s", "data": {"n": col}}
    header["$buffers"] = bufs
    while True:  # lay the buffers out after the header, as the encoder does
        head = json.dumps(header).encode()
        start = (4 + len(head) + 7) & ~7
        at = start
        moved = False
        for entry in bufs:
            if entry["offset"] != at:
                entry["offset"], moved = at, True
            at += entry["length"] + (-entry["length"] & 7)
        if not moved:
            break
    frame = struct.pack("<I", len(head)) + head
    return frame + bytes(start - len(frame)) + body


def main() -> None:
    manifest = []
    for name, msg in valid_cases():
        frame = p.encode(msg)
        fname = f"{name}.{'bin' if frame.binary else 'json'}"
        (HERE / fname).write_bytes(frame.data)
        decoded = msg.to_dict()
        manifest.append(
            {"name": name, "file": fname, "binary": frame.binary, "message": describe(decoded)}
        )
    for name, is_bin, data, code in invalid_cases():
        if not code:  # the hand-made frame builder itself must produce a valid frame
            p.decode(data)
            continue
        fname = f"invalid_{name}.{'bin' if is_bin else 'json'}"
        (HERE / fname).write_bytes(data)
        manifest.append({"name": f"invalid_{name}", "file": fname, "binary": is_bin, "error": code})
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    framing()


def framing() -> None:
    """``framing.bin``: a streaming-HTTP response (docs/protocol.md "Streaming
    HTTP") of golden frames; ``framing.json`` what it holds, and byte strings
    a parser must refuse (with the close code and HTTP status)."""
    from wsbridge.wire import framing as f

    frames: list[dict[str, Any]] = [
        {"kind": f.OPEN, "json": {"stream": "s" * 43, "keepalive": 20.0}},
        {"kind": f.TEXT, "file": "welcome.json"},
        {"kind": f.BINARY, "file": "stream_float64.bin"},
        {"kind": f.KEEPALIVE},
        {"kind": f.BINARY, "file": "snapshot.bin"},
        {"kind": f.CLOSE, "code": 4001, "reason": "slow consumer"},
    ]
    stream = b""
    for entry in frames:
        if "json" in entry:
            payload = f.open_payload(entry["json"]["stream"], entry["json"]["keepalive"])
        elif "file" in entry:
            payload = (HERE / entry["file"]).read_bytes()
        elif "code" in entry:
            payload = f.close_payload(entry["code"], entry["reason"])
        else:
            payload = b""
        stream += f.encode_frame(entry["kind"], payload)
    (HERE / "framing.bin").write_bytes(stream)
    invalid = [
        ("unknown_kind", f.encode_frame(7, b"{}"), 1024, 1002, 400),
        ("too_long", f.frame_header(f.TEXT, 1025), 1024, 1009, 413),
        ("truncated", f.encode_frame(f.TEXT, b'{"v": 1}')[:-1], 1024, 1002, 400),
        ("truncated_header", f.frame_header(f.BINARY, 8)[:3], 1024, 1002, 400),
    ]
    described = {
        "file": "framing.bin",
        "frames": frames,
        "invalid": [
            {"name": n, "hex": b.hex(), "max_payload": m, "close": c, "status": s}
            for n, b, m, c, s in invalid
        ],
    }
    (HERE / "framing.json").write_text(json.dumps(described, indent=1) + "\n")


if __name__ == "__main__":
    main()
