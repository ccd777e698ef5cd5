// The JavaScript codec against the golden frames of tests/wire/ (written by
// the Python encoder, tests/wire/generate.py) and docs/protocol.md.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  decode,
  encode,
  ProtocolError,
  dtypeOf,
  shapeOf,
  tagArray,
  hello,
  set,
  event,
  custom,
  ack,
  validate,
  sliceLength,
} from "../../src/wire/codec.js";

const WIRE = new URL("../../../tests/wire/", import.meta.url);
const manifest = JSON.parse(readFileSync(new URL("manifest.json", WIRE), "utf8"));

/** The frame as a browser delivers it: a string, or an ArrayBuffer of its own. */
function load(entry) {
  const bytes = readFileSync(new URL(entry.file, WIRE));
  if (!entry.binary) return bytes.toString("utf8");
  const buf = new ArrayBuffer(bytes.length);
  new Uint8Array(buf).set(bytes);
  return buf;
}

/** The manifest's notation for a decoded message (tests/wire/generate.py `describe`). */
function describe(value) {
  if (ArrayBuffer.isView(value)) {
    const dtype = dtypeOf(value);
    const values = Array.from(value, (v) => {
      if (typeof v === "bigint") return v.toString();
      if (dtype.startsWith("float")) {
        if (Number.isNaN(v)) return "NaN";
        if (v === Infinity) return "Infinity";
        if (v === -Infinity) return "-Infinity";
      }
      return v;
    });
    return { $array: { dtype, shape: shapeOf(value), values } };
  }
  if (Array.isArray(value)) return value.map(describe);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, describe(v)]));
  }
  return value;
}

function expectCode(fn, code) {
  assert.throws(fn, (err) => {
    assert.ok(err instanceof ProtocolError, `expected ProtocolError, got ${err}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

const valid = manifest.filter((e) => !e.error);
const invalid = manifest.filter((e) => e.error);

test("the manifest has valid and invalid cases", () => {
  assert.ok(valid.length >= 20, `only ${valid.length} valid cases`);
  assert.ok(invalid.length >= 10, `only ${invalid.length} invalid cases`);
});

for (const entry of valid) {
  test(`decode ${entry.name}`, () => {
    const msg = decode(load(entry));
    assert.deepEqual(describe(msg), entry.message);
  });

  test(`round trip ${entry.name}`, () => {
    const frame = encode(decode(load(entry)));
    assert.equal(typeof frame !== "string", entry.binary, "text/binary kind of the re-encoded frame");
    assert.deepEqual(describe(decode(frame)), entry.message);
  });
}

for (const entry of invalid) {
  test(`reject ${entry.name} with ${entry.error}`, () => {
    expectCode(() => decode(load(entry)), entry.error);
  });
}

test("arrays are views on the frame's ArrayBuffer, not copies", () => {
  const entry = manifest.find((e) => e.name === "stream_float64");
  const frame = load(entry);
  const msg = decode(frame);
  const x = msg.data.x;
  assert.ok(x instanceof Float64Array);
  assert.equal(x.buffer, frame, "x views the frame itself");
  assert.equal(x.byteOffset % 8, 0);
  new Float64Array(frame, x.byteOffset, 1)[0] = 42;
  assert.equal(x[0], 42, "writing the frame shows through the view");
  assert.ok(msg.data.y instanceof Float32Array);
});

test("every dtype maps to its typed array", () => {
  const msg = decode(load(manifest.find((e) => e.name === "stream_ints")));
  const expect = {
    i8: Int8Array, u8: Uint8Array, i16: Int16Array, u16: Uint16Array, i32: Int32Array,
    u32: Uint32Array, i64: BigInt64Array, u64: BigUint64Array, b: Uint8Array,
  };
  for (const [name, Ctor] of Object.entries(expect)) {
    assert.ok(msg.data[name] instanceof Ctor, `${name} is a ${Ctor.name}`);
  }
  assert.equal(dtypeOf(msg.data.b), "bool");
  assert.equal(dtypeOf(msg.data.u8), "uint8");
  assert.equal(msg.data.i64[0], -(2n ** 63n));
  assert.equal(msg.data.u64[1], 2n ** 64n - 1n);
});

test("a 2-D array is one flat C-ordered array with its shape on the side", () => {
  const msg = decode(load(manifest.find((e) => e.name === "stream_2d")));
  const img = msg.data.img;
  assert.ok(img instanceof Int16Array);
  assert.equal(img.length, 6);
  assert.deepEqual(shapeOf(img), [2, 3]);
  assert.deepEqual(Array.from(img), [0, 1, 2, 3, 4, 5]);
  assert.equal(Object.keys(img).length, 6, "no expando properties on the typed array");
});

test("a Uint8Array input at an unaligned offset is decoded (one copy)", () => {
  const entry = manifest.find((e) => e.name === "snapshot");
  const bytes = new Uint8Array(load(entry));
  const big = new Uint8Array(bytes.length + 3);
  big.set(bytes, 3);
  const msg = decode(big.subarray(3));
  assert.deepEqual(describe(msg), entry.message);
  const aligned = new Uint8Array(bytes.length + 8);
  aligned.set(bytes, 8);
  const msg2 = decode(aligned.subarray(8));
  assert.equal(msg2.sources.s1.data.x.buffer, aligned.buffer, "aligned input is viewed in place");
});

test("encode lays out a binary frame exactly as protocol.md says", () => {
  const x = new Float64Array([0, 1]);
  const y = new Int32Array([5, 6]);
  const frame = encode({ v: 1, type: "stream", seq: 7, source: "s1", data: { x, y }, rollover: null });
  assert.ok(frame instanceof ArrayBuffer);
  const dv = new DataView(frame);
  const hlen = dv.getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(frame, 4, hlen)));
  assert.deepEqual(header.data, { x: null, y: null });
  const [bx, by] = header.$buffers;
  assert.deepEqual(Object.keys(bx), ["path", "dtype", "shape", "offset", "length"]);
  assert.deepEqual(bx.path, ["data", "x"]);
  assert.equal(bx.dtype, "float64");
  assert.equal(bx.offset, (4 + hlen + 7) & ~7, "first buffer right after the padded header");
  assert.equal(bx.length, 16);
  assert.equal(by.offset, bx.offset + 16);
  assert.equal(by.dtype, "int32");
  assert.equal(by.length, 8);
  assert.equal(frame.byteLength, by.offset + 8, "last buffer padded to 8");
  for (let i = 4 + hlen; i < bx.offset; i++) assert.equal(dv.getUint8(i), 0, "zero padding");
  assert.equal(dv.getFloat64(bx.offset + 8, true), 1);
  assert.equal(dv.getInt32(by.offset + 4, true), 6);
  // odd lengths get zero padding too
  const f2 = encode({ v: 1, type: "custom", model: "m", content: null, buffers: [new Uint8Array([1, 2, 3]), new Uint8Array([9])] });
  const h2 = JSON.parse(new TextDecoder().decode(new Uint8Array(f2, 4, new DataView(f2).getUint32(0, true))));
  assert.equal(h2.$buffers[1].offset, h2.$buffers[0].offset + 8);
  assert.deepEqual(Array.from(new Uint8Array(f2, h2.$buffers[0].offset, 8)), [1, 2, 3, 0, 0, 0, 0, 0]);
  assert.equal(f2.byteLength % 8, 0);
});

test("encode keeps NaN/Infinity in arrays and nulls them as JSON scalars", () => {
  const values = new Float64Array([NaN, Infinity, -Infinity, -0]);
  const msg = decode(encode({ v: 1, type: "stream", seq: 1, source: "s", data: { x: values }, rollover: null }));
  assert.ok(Number.isNaN(msg.data.x[0]));
  assert.equal(msg.data.x[1], Infinity);
  assert.equal(msg.data.x[2], -Infinity);
  assert.ok(Object.is(msg.data.x[3], -0));
  const text = encode({ v: 1, type: "set", model: "m", state: { value: NaN }, req: 1 });
  assert.equal(typeof text, "string");
  assert.deepEqual(decode(text).state, { value: null });
});

test("encode keeps tagged dtype and shape, and subarray views copy only their bytes", () => {
  const flags = tagArray(new Uint8Array([1, 0, 1, 1]), { dtype: "bool", shape: [2, 2] });
  const big = new Float32Array([9, 1, 2, 3, 9]);
  const frame = encode({ v: 1, type: "custom", model: "m", content: null, buffers: [flags, big.subarray(1, 4)] });
  const msg = decode(frame);
  assert.equal(dtypeOf(msg.buffers[0]), "bool");
  assert.deepEqual(shapeOf(msg.buffers[0]), [2, 2]);
  assert.deepEqual(Array.from(msg.buffers[1]), [1, 2, 3]);
  assert.throws(() => tagArray(new Float64Array(3), { shape: [2, 2] }), RangeError);
  assert.throws(() => tagArray(new Float64Array(3), { dtype: "bool" }), TypeError);
});

test("ArrayBuffer and DataView values travel as uint8", () => {
  const ab = new Uint8Array([7, 8]).buffer;
  const msg = decode(encode(custom("m9", { k: 1 }, [ab, new DataView(new Uint8Array([1, 2, 3]).buffer, 1)])));
  assert.deepEqual(Array.from(msg.buffers[0]), [7, 8]);
  assert.deepEqual(Array.from(msg.buffers[1]), [2, 3]);
  assert.equal(dtypeOf(msg.buffers[1]), "uint8");
});

test("BigInt scalars become JSON numbers when exact", () => {
  assert.equal(JSON.parse(encode({ v: 1, type: "ack", seq: 5n })).seq, 5);
  assert.throws(() => encode({ v: 1, type: "ack", seq: 2n ** 60n }), RangeError);
});

test("builders produce validated canonical messages", () => {
  assert.deepEqual(hello({ doc: "main" }), { v: 1, type: "hello", doc: "main" });
  assert.deepEqual(hello({ doc: "main", token: "t", epoch: "e", seq: 3 }), {
    v: 1, type: "hello", doc: "main", token: "t", epoch: "e", seq: 3,
  });
  assert.deepEqual(hello({ doc: "app~x1", key: "k9" }), { v: 1, type: "hello", doc: "app~x1", key: "k9" });
  expectCode(() => hello({ doc: "main", key: /** @type {any} */ (7) }), "bad_message");
  assert.deepEqual(set("m2", { value: 4.5 }, 9), { v: 1, type: "set", model: "m2", state: { value: 4.5 }, req: 9 });
  assert.deepEqual(event("m5", "click"), { v: 1, type: "event", model: "m5", name: "click", data: null });
  assert.deepEqual(ack(52), { v: 1, type: "ack", seq: 52 });
  expectCode(() => set("m2", {}, 1), "bad_message");
  expectCode(() => set("", { a: 1 }, 1), "bad_message");
  expectCode(() => set("m", { a: 1 }, -1), "bad_message");
  expectCode(() => hello({ doc: "" }), "bad_message");
  expectCode(() => ack(1.5), "bad_message");
  expectCode(() => event("m", ""), "bad_message");
  // the golden client frames are what the builders make
  for (const [name, built] of [
    ["hello_first", hello({ doc: "main" })],
    ["hello_resume", hello({ doc: "main", token: "t0k", epoch: "e1", seq: 41 })],
    ["set", set("m2", { value: 4.5 }, 9)],
    ["event", event("m5", "click")],
    ["custom_client", custom("m9", { at: [3, 4] })],
    ["ack", ack(52)],
  ]) {
    assert.deepEqual(built, manifest.find((e) => e.name === name).message, name);
  }
});

test("validation mirrors the Python decoder", () => {
  const bad = [
    [{ type: "ack", seq: 1 }, "bad_message"],
    [{ v: 1, seq: 1 }, "bad_message"],
    [{ v: true, type: "ack", seq: 1 }, "bad_version"],
    [{ v: "1", type: "ack", seq: 1 }, "bad_version"],
    [{ v: 1, type: "toString" }, "unknown_type"],
    [{ v: 1, type: "__proto__" }, "unknown_type"],
    [{ v: 1, type: "ack", seq: -1 }, "bad_message"],
    [{ v: 1, type: "ack", seq: true }, "bad_message"],
    [{ v: 1, type: "welcome", doc: "d", epoch: "e", seq: 1, session: "c", resumed: 1 }, "bad_message"],
    [{ v: 1, type: "snapshot", doc: "d", epoch: "e", seq: 1, models: { m: { type: "", state: {} } }, sources: {} }, "bad_message"],
    [{ v: 1, type: "snapshot", doc: "d", epoch: "e", seq: 1, models: {}, sources: { s: { data: { x: 3 } } } }, "bad_message"],
    [{ v: 1, type: "patch", seq: 1, model: "m", state: {}, origin: { session: "c" } }, "bad_message"],
    [{ v: 1, type: "patch", seq: 1, model: "m", state: {}, reply: "yes" }, "bad_message"],
    [{ v: 1, type: "stream", seq: 1, source: "s", data: { x: [1] }, rollover: -1 }, "bad_message"],
    [{ v: 1, type: "source_patch", seq: 1, source: "s", patches: { x: [[0]] } }, "bad_message"],
    [{ v: 1, type: "source_patch", seq: 1, source: "s", patches: { x: [[{ start: 0, stop: 4, step: 0 }, [1]]] } }, "bad_message"],
    [{ v: 1, type: "source_patch", seq: 1, source: "s", patches: { x: [[{ start: 0, stop: 4, step: 2 }, [1]]] } }, "bad_message"],
    [{ v: 1, type: "source_patch", seq: 1, source: "s", patches: { x: [[-1, 2]] } }, "bad_message"],
    [{ v: 1, type: "custom", model: "m", buffers: [null] }, "bad_message"],
    [{ v: 1, type: "error", code: "x" }, "bad_message"],
  ];
  for (const [obj, code] of bad) expectCode(() => decode(JSON.stringify(obj)), code);
  const ok = validate({ v: 1, type: "source_patch", seq: 1, source: "s", patches: { x: [[{ start: 1, stop: 4, step: 2 }, [1, 2]]] } });
  assert.equal(ok.patches.x[0][1].length, 2);
  assert.equal(sliceLength(1, 4, 2), 2);
  assert.equal(sliceLength(5, 2, 1), 0);
  assert.equal(sliceLength(0, 10, 3), 4);
  // canonical defaults, as Python's to_dict writes them
  assert.deepEqual(decode('{"v":1,"type":"add","seq":3}'), { v: 1, type: "add", seq: 3, models: {}, sources: {} });
  assert.deepEqual(decode('{"v":1,"type":"error","code":"x","message":"m","extra":1}'), {
    v: 1, type: "error", seq: 0, code: "x", message: "m",
  });
});

test("binary layout errors are bad_frame, bad headers bad_json", () => {
  const good = new Uint8Array(encode({ v: 1, type: "custom", model: "m", content: null, buffers: [new Float64Array([1])] }));
  const hlen = new DataView(good.buffer).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(good.subarray(4, 4 + hlen)));
  const rebuild = (mutate, extra = 0) => {
    const h = structuredClone(header);
    mutate(h);
    const text = new TextEncoder().encode(JSON.stringify(h));
    const start = (4 + text.length + 7) & ~7;
    const out = new Uint8Array(start + 8 + extra);
    new DataView(out.buffer).setUint32(0, text.length, true);
    out.set(text, 4);
    return out.buffer;
  };
  const fixOffset = (h) => {
    const text = JSON.stringify(h);
    h.$buffers[0].offset = (4 + text.length + 7) & ~7;
  };
  // a correct rebuild decodes
  const okFrame = rebuild((h) => {
    fixOffset(h);
    fixOffset(h);
  });
  assert.equal(decode(okFrame).buffers[0].length, 1);
  expectCode(() => decode(rebuild((h) => { h.$buffers = {}; })), "bad_frame");
  expectCode(() => decode(rebuild((h) => { h.$buffers = [3]; })), "bad_frame");
  expectCode(() => decode(rebuild((h) => { fixOffset(h); h.$buffers[0].length = -8; })), "bad_frame");
  expectCode(() => decode(rebuild((h) => { fixOffset(h); h.$buffers[0].shape = [1.5]; })), "bad_frame");
  expectCode(() => decode(rebuild((h) => { fixOffset(h); h.$buffers[0].path = []; })), "bad_frame");
  expectCode(() => decode(rebuild((h) => { fixOffset(h); h.$buffers[0].path = ["buffers", 1]; })), "bad_frame");
  expectCode(() => decode(rebuild((h) => { fixOffset(h); h.$buffers[0].path = ["model"]; })), "bad_frame");
  expectCode(() => decode(rebuild((h) => { h.$buffers[0].offset = 0; })), "bad_frame");
  // inside the frame, after the header, but not a multiple of 8
  expectCode(() => decode(rebuild((h) => { fixOffset(h); fixOffset(h); h.$buffers[0].offset += 4; }, 8)), "bad_frame");
  // a dtype outside the allow-list
  expectCode(() => decode(rebuild((h) => { fixOffset(h); fixOffset(h); h.$buffers[0].dtype = "complex128"; })), "bad_frame");
  // two buffers at the same offset overlap
  expectCode(() => decode(rebuild((h) => {
    h.buffers = [null, null];
    h.$buffers.push({ ...h.$buffers[0], path: ["buffers", 1] });
    fixOffset(h);
    h.$buffers[1].offset = h.$buffers[0].offset;
  })), "bad_frame");
  const zero = new Uint8Array(8);
  expectCode(() => decode(zero.buffer), "bad_frame");
  const notUtf8 = new Uint8Array([2, 0, 0, 0, 0xff, 0xfe, 0, 0]);
  expectCode(() => decode(notUtf8.buffer), "bad_json");
  const arrHeader = new Uint8Array([2, 0, 0, 0, 0x5b, 0x5d, 0, 0]);
  expectCode(() => decode(arrHeader.buffer), "bad_json");
  assert.throws(() => decode(42), TypeError);
});

test("a __proto__ key in a header stays a plain key", () => {
  const text = '{"v":1,"type":"custom","model":"m","content":{"__proto__":null},"buffers":[]}';
  const encoded = new TextEncoder().encode(text);
  // put a buffer at content.__proto__
  const h = JSON.parse(text);
  h.$buffers = [{ path: ["content", "__proto__"], dtype: "uint8", shape: [1], offset: 0, length: 1 }];
  let json = JSON.stringify(h);
  h.$buffers[0].offset = (4 + json.length + 7) & ~7;
  json = JSON.stringify(h);
  h.$buffers[0].offset = (4 + json.length + 7) & ~7;
  json = JSON.stringify(h);
  const bytes = new TextEncoder().encode(json);
  const out = new Uint8Array(h.$buffers[0].offset + 8);
  new DataView(out.buffer).setUint32(0, bytes.length, true);
  out.set(bytes, 4);
  out[h.$buffers[0].offset] = 5;
  const msg = decode(out.buffer);
  assert.ok(Object.hasOwn(msg.content, "__proto__"));
  assert.equal(Object.getPrototypeOf(msg.content), Object.prototype);
  assert.equal(msg.content.__proto__[0], 5);
  assert.ok(encoded.length > 0);
});
