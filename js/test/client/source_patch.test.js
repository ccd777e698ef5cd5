// Source patches are applied exactly: the golden frames of tests/wire/
// (source_patch_*, written by the Python encoder) carry each patched number
// as a 0-d array of its column's dtype (docs/protocol.md "source_patch"),
// and a live client must hold what a reload shows: ±Infinity, 2**53 + 1,
// int64 max and uint64 max included.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { DocumentState } from "../../src/client/state.js";
import { decode, shapeOf, tagArray } from "../../src/wire/codec.js";
import { toBokehPatches } from "../../src/views/plotfeed.js";

const WIRE = new URL("../../../tests/wire/", import.meta.url);
const manifest = JSON.parse(readFileSync(new URL("manifest.json", WIRE), "utf8"));

/** @param {string} name a manifest entry's name; its frame, decoded */
function fixture(name) {
  const entry = manifest.find((/** @type {any} */ e) => e.name === name);
  assert.ok(entry, `no fixture ${name}`);
  const bytes = readFileSync(new URL(entry.file, WIRE));
  const buf = new ArrayBuffer(bytes.length);
  new Uint8Array(buf).set(bytes);
  return decode(buf);
}

/** A replica holding source s5 (the fixtures' source) of zeros, at seq 52. */
function replica() {
  const st = new DocumentState();
  st.apply({ v: 1, type: "welcome", doc: "d", epoch: "e", seq: 52, session: "c1", resumed: false, title: "", limits: {} });
  st.apply({
    v: 1, type: "snapshot", doc: "d", epoch: "e", seq: 52, title: "", root: null, models: {},
    sources: { s5: { data: { f: new Float64Array(2), i: new BigInt64Array(2), u: new BigUint64Array(2) } } },
  });
  return st;
}

const CASES = [
  ["source_patch_inf", "f", 0, Infinity],
  ["source_patch_minus_inf", "f", 1, -Infinity],
  ["source_patch_int64_2p53p1", "i", 0, 2n ** 53n + 1n],
  ["source_patch_int64_max", "i", 1, 2n ** 63n - 1n],
  ["source_patch_uint64_max", "u", 0, 2n ** 64n - 1n],
];

for (const [name, col, row, expect] of CASES) {
  test(`${name}: the patched element is exact and the column keeps its dtype`, () => {
    const msg = fixture(name);
    const value = msg.patches[col][0][1];
    assert.deepEqual(shapeOf(value), [], "a 0-d array on the wire");
    const st = replica();
    assert.equal(st.apply(msg), "applied");
    const column = st.source("s5").column(col);
    assert.equal(column[row], expect);
    assert.equal(column[1 - row], col === "f" ? 0 : 0n, "the other row is untouched");
    const before = { f: Float64Array, i: BigInt64Array, u: BigUint64Array }[col];
    assert.ok(column instanceof before, `${col} is still a ${before.name}`);
  });
}

test("a 0-d array patched into a row of a 2-D column fills the row, as numpy broadcasts it", () => {
  const st = replica();
  st.apply({
    v: 1, type: "source_replace", seq: 53, source: "s5",
    data: { xy: tagArray(new Int32Array([1, 2, 3, 4]), { shape: [2, 2] }) },
  });
  st.apply({ v: 1, type: "source_patch", seq: 54, source: "s5", patches: { xy: [[1, tagArray(new Int32Array([9]), { shape: [] })]] } });
  assert.deepEqual(Array.from(st.source("s5").column("xy")), [1, 2, 9, 9]);
});

test("a JSON number from an older hub is still applied", () => {
  const st = replica();
  st.apply({ v: 1, type: "source_patch", seq: 53, source: "s5", patches: { f: [[0, null], [1, 2.5]], i: [[0, 7]] } });
  const f = st.source("s5").column("f");
  assert.ok(Number.isNaN(f[0]) && f[1] === 2.5);
  assert.equal(st.source("s5").column("i")[0], 7n);
});

test("toBokehPatches takes the element of a 0-d array", () => {
  const out = toBokehPatches(fixture("source_patch_inf").patches, { f: new Float64Array(2) });
  assert.deepEqual(out, { f: [[0, Infinity]] });
  const big = toBokehPatches(fixture("source_patch_int64_max").patches, { i: new Float64Array(2) });
  assert.deepEqual(big, { i: [[1, 2 ** 63]] });
});
