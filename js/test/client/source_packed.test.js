// Packed columns in the client's Source (docs/protocol.md "Packed columns"):
// the golden frames of tests/wire/ (stream_masked, stream_ragged,
// source_patch_missing, source_replace_meta, written by the Python encoder)
// applied to a replica keep the mask and the ragged rows in step through
// streams, rollover and patches, as the hub's replica does; and Bokeh gets
// NaN / null where a value is missing and one array per ragged row.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { DocumentState } from "../../src/client/state.js";
import { decode, tagArray } from "../../src/wire/codec.js";
import { toBokehColumn, toBokehData, toBokehPatches } from "../../src/views/plotfeed.js";
import { formatCell, formatDatetime } from "../../src/views/table.js";

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

/** A replica at seq `seq` holding `sources` (id -> data). */
function replica(seq, sources) {
  const st = new DocumentState();
  st.apply({ v: 1, type: "welcome", doc: "d", epoch: "e", seq, session: "c1", resumed: false, title: "", limits: {} });
  st.apply({ v: 1, type: "snapshot", doc: "d", epoch: "e", seq, title: "", root: null, models: {}, sources });
  return st;
}

test("a masked stream makes a plain column masked; rollover and patches keep the mask in step", () => {
  const st = replica(55, {
    s7: { data: { n: new BigInt64Array([9n]), ok: tagArray(Uint8Array.from([1]), { dtype: "bool" }), s: ["z"] } },
    s8: { data: { xs: new Float64Array(0), poly: new Float64Array(0) } },
  });
  st.apply(fixture("stream_masked")); // n: [1, -, 3], ok: [true, false, -], rollover 10
  const src = st.source("s7");
  assert.equal(src.length, 4);
  assert.deepEqual(Array.from(src.mask("n")), [1, 1, 0, 1]);
  assert.deepEqual(Array.from(src.column("n")), [9n, 1n, 0n, 3n]);
  assert.deepEqual(Array.from(src.mask("ok")), [1, 1, 1, 0]);
  assert.equal(src.mask("s"), null);
  assert.deepEqual(src.column("s"), ["z", "a", null, "c"]);
  // the Bokeh side: NaN for a missing number, null for a missing boolean
  const bokeh = toBokehData(src.wireData);
  assert.deepEqual(Array.from(bokeh.n), [9, 1, NaN, 3]);
  assert.deepEqual(bokeh.ok, [1, 1, 0, null]);
  // the table: an empty cell where the mask says so
  assert.equal(formatCell(null), "");
  st.apply(fixture("stream_ragged")); // seq 57, source s8 (empty columns take the ragged form)
  const rag = st.source("s8");
  assert.equal(rag.length, 2);
  assert.deepEqual(rag.column("xs").map((/** @type {any} */ r) => Array.from(r)), [[0, 1, 2], [3, 4]]);
  assert.deepEqual(
    rag.column("poly").map((/** @type {any} */ row) => row.map((/** @type {any} */ poly) => poly.map((/** @type {any} */ ring) => Array.from(ring)))),
    [[[[0, 1, 2], [3, 4]]], [[[5, 6]]]],
  );
  st.apply(fixture("source_replace_meta")); // seq 58: s9 unknown here, nothing happens
  st.apply(fixture("source_patch_missing")); // seq 59: n[0] missing, n[1] = 7; xs unknown in s7
  assert.deepEqual(Array.from(src.mask("n")), [0, 1, 0, 1]);
  assert.equal(src.column("n")[1], 7n);
});

test("ragged rows: stream, rollover and a patched row, and what BokehJS gets", () => {
  const st = replica(56, { s8: { data: { xs: new Float64Array(0), poly: new Float64Array(0) } } });
  st.apply(fixture("stream_ragged"));
  const src = st.source("s8");
  const patch = fixture("source_patch_missing");
  // the fixture patches source s7; aim its ragged row at s8 instead
  st.apply({ ...patch, seq: 58, source: "s8", patches: { xs: patch.patches.xs } });
  assert.deepEqual(src.column("xs").map((/** @type {any} */ r) => Array.from(r)), [[5, 6], [3, 4]]);
  const poly = { values: new Float64Array([1, 2, 3]), lengths: [[1], [1], [3]].map((c) => Uint32Array.from(c)) };
  src._stream({ xs: { values: new Float64Array([7]), lengths: [Uint32Array.from([1])] }, poly }, 2);
  assert.deepEqual(src.column("xs").map((/** @type {any} */ r) => Array.from(r)), [[3, 4], [7]]);
  assert.deepEqual(src.column("poly").length, 2);
  const rows = toBokehColumn(src.wireData.xs);
  assert.ok(rows.every((/** @type {any} */ r) => r instanceof Float64Array));
  // a 2-D column becomes one array per row (MultiLine.xs of equal lengths)
  const decoded = fixture("stream_2d");
  assert.deepEqual(toBokehColumn(decoded.data.img).map((/** @type {any} */ r) => Array.from(r)), [[0, 1, 2], [3, 4, 5]]);
  const bp = toBokehPatches({ xs: [[0, { values: new Float64Array([1, 2]), lengths: [Uint32Array.from([2])] }]] }, { xs: rows });
  assert.deepEqual(Array.from(bp.xs[0][1]), [1, 2]);
});

test("a source's column metadata arrives with a replace; dates show in their zone", () => {
  const st = replica(57, { s9: { data: { t: new Float64Array(0), v: new Float64Array(0) } } });
  st.apply(fixture("source_replace_meta"));
  const src = st.source("s9");
  assert.deepEqual(src.meta, { t: { type: "datetime", tz: "Europe/Paris" } });
  assert.equal(formatDatetime(src.column("t")[1], src.meta.t.tz), "1970-01-02 01:00:00+01:00");
  assert.equal(formatCell(src.column("t")[0], { datetime: true, tz: "Europe/Paris" }), "1970-01-01 01:00:00+01:00");
  assert.equal(formatDatetime(Date.UTC(2024, 6, 1, 12), "Europe/Paris"), "2024-07-01 14:00:00+02:00");
  assert.equal(formatDatetime(0, "+05:30"), "1970-01-01 05:30:00+05:30");
  assert.equal(formatDatetime(NaN, "UTC"), "NaT");
});
