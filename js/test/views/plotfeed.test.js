// The pure parts of the Plot view (plotfeed.js): column conversion, patch
// conversion, stream merging, filling a figure's JSON, and the Feed that
// keeps BokehJS sources in step. BokehJS itself runs in Chromium
// (tests/test_plot_browser.py); here a small fake stands in for its
// ColumnDataSource with the same stream/patch semantics.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Feed, MAX_OPS, dataLength, fillFigure, mergeOps, toBokehColumn, toBokehData, toBokehPatches } from "../../src/views/plotfeed.js";
import { Source } from "../../src/client/source.js";

/** A ColumnDataSource with BokehJS's stream/patch semantics (plain arrays). */
class FakeCDS {
  constructor() {
    /** @type {Record<string, any>} */
    this.data = {};
    this.calls = [];
  }
  stream(data, rollover) {
    this.calls.push(["stream", rollover]);
    for (const [k, v] of Object.entries(data)) {
      let col = [...(this.data[k] ?? []), ...v];
      if (rollover !== undefined && col.length > rollover) col = col.slice(-rollover);
      this.data[k] = col;
    }
  }
  patch(patches) {
    this.calls.push(["patch"]);
    for (const [k, items] of Object.entries(patches)) {
      const col = this.data[k];
      for (const [index, value] of items) {
        if (typeof index === "number") col[index] = value;
        else for (let i = index.start, j = 0; i < index.stop; i += index.step, j++) col[i] = value[j];
      }
    }
  }
}

test("toBokehColumn: own copies; 64-bit integers become float64; strings stay arrays", () => {
  const f = new Float64Array([1, 2, 3]);
  const c = toBokehColumn(f);
  assert.ok(c instanceof Float64Array);
  assert.notEqual(c, f);
  c[0] = 99;
  assert.equal(f[0], 1); // BokehJS writes in place: never into the source's array
  const b = toBokehColumn(new BigInt64Array([1n, -2n]));
  assert.ok(b instanceof Float64Array);
  assert.deepEqual(Array.from(b), [1, -2]);
  const s = ["a", null];
  assert.deepEqual(toBokehColumn(s), ["a", null]);
  assert.notEqual(toBokehColumn(s), s);
  assert.deepEqual(toBokehColumn(undefined), []);
  assert.deepEqual(Object.keys(toBokehData({ x: f, n: s })), ["x", "n"]);
});

test("toBokehPatches: null is NaN in float columns, slices keep their shape, BigInts are numbers", () => {
  const cols = { y: new Float64Array(6), n: ["a", "b"], i: new Float64Array(3) };
  const out = toBokehPatches(
    {
      y: [[0, null], [{ start: 2, stop: 6, step: 2 }, new Float64Array([7, 8])]],
      n: [[1, null]],
      i: [[2, 5n]],
      missing: [[0, 1]],
    },
    cols,
  );
  assert.ok(Number.isNaN(out.y[0][1]));
  assert.deepEqual(out.y[1][0], { start: 2, stop: 6, step: 2 });
  assert.deepEqual(Array.from(out.y[1][1]), [7, 8]);
  assert.deepEqual(out.n, [[1, null]]);
  assert.deepEqual(out.i, [[2, 5]]);
  assert.equal(out.missing, undefined);
});

test("mergeOps: consecutive streams of one rollover merge; patches and other rollovers keep order", () => {
  const s = (x, r) => ({ kind: "stream", data: { x: new Float64Array(x) }, rollover: r });
  const p = { kind: "patch", patches: { x: [[0, 1]] } };
  const out = mergeOps([s([1], 5), s([2, 3], 5), s([4], null), p, s([5], 5), s([6], 5)]);
  assert.deepEqual(
    out.map((o) => (o.kind === "stream" ? [o.rollover, Array.from(o.data.x)] : "patch")),
    [[5, [1, 2, 3]], [null, [4]], "patch", [5, [5, 6]]],
  );
  assert.ok(out[0].data.x instanceof Float64Array);
  const strings = mergeOps([{ kind: "stream", data: { n: ["a"] }, rollover: null }, { kind: "stream", data: { n: ["b"] }, rollover: null }]);
  assert.deepEqual(strings[0].data.n, ["a", "b"]);
  assert.deepEqual(mergeOps([]), []);
});

test("fillFigure: tied ColumnDataSources get the source's data, others are untouched", () => {
  const doc = {
    roots: [
      {
        type: "object",
        name: "Figure",
        id: "p1",
        attributes: {
          renderers: [
            { type: "object", name: "GlyphRenderer", id: "p2", attributes: { data_source: { type: "object", name: "ColumnDataSource", id: "p3", attributes: { data: { type: "map", entries: [["x", []]] } } } } },
            { type: "object", name: "GlyphRenderer", id: "p4", attributes: { data_source: { id: "p3" } } },
            { type: "object", name: "ColumnDataSource", id: "p9", attributes: { data: { type: "map", entries: [["z", [1]]] } } },
          ],
        },
      },
    ],
  };
  const x = new Float64Array([1, 2]);
  const filled = fillFigure(doc, { p3: "s1" }, (sid) => (sid === "s1" ? { x } : undefined));
  assert.deepEqual(filled, ["p3"]);
  const cds = doc.roots[0].attributes.renderers[0].attributes.data_source;
  assert.deepEqual(cds.attributes.data.entries.map(([k, v]) => [k, Array.from(v)]), [["x", [1, 2]]]);
  assert.notEqual(cds.attributes.data.entries[0][1], x); // a copy
  assert.deepEqual(doc.roots[0].attributes.renderers[2].attributes.data.entries, [["z", [1]]]);
});

/** A real client-side Source fed the way DocumentState feeds it. */
function source(data) {
  const src = new Source("s1");
  src._replace(data);
  return src;
}

test("Feed: streams with rollover and patches reach the BokehJS source as stream and patch", () => {
  const src = source({ x: new Float64Array([0, 1, 2]) });
  const feed = new Feed(src);
  const cds = new FakeCDS();
  feed.flush([cds]); // first flush: the whole data
  assert.deepEqual(Array.from(cds.data.x), [0, 1, 2]);
  for (const rows of [[3], [4, 5]]) {
    const msg = { type: "stream", source: "s1", data: { x: new Float64Array(rows) }, rollover: 4 };
    src._stream(msg.data, 4);
    assert.equal(feed.message(msg), true);
  }
  const patch = { type: "source_patch", source: "s1", patches: { x: [[0, null]] } };
  src._patch(patch.patches);
  feed.message(patch);
  cds.calls = [];
  feed.flush([cds]);
  assert.deepEqual(cds.calls, [["stream", 4], ["patch"]]); // two streams, one call
  assert.deepEqual(Array.from(cds.data.x).map((v) => (Number.isNaN(v) ? null : v)), [null, 3, 4, 5]);
  assert.equal(dataLength(cds.data), src.length);
});

test("Feed: duplicates are ignored; replace, unseen changes and a disagreement replace the data", () => {
  const src = source({ x: new Float64Array([0, 1]) });
  const feed = new Feed(src);
  const cds = new FakeCDS();
  feed.flush([cds]);
  // a message whose seq was already applied: the source did not change
  assert.equal(feed.message({ type: "stream", source: "s1", data: { x: new Float64Array([9]) }, rollover: null }), false);
  assert.equal(feed.message({ type: "stream", source: "other", data: {}, rollover: null }), false);
  // a snapshot changed the source without a stream message: full replace
  src._replace({ x: new Float64Array([5, 6, 7]) });
  cds.calls = [];
  feed.flush([cds]);
  assert.deepEqual(cds.calls, []);
  assert.deepEqual(Array.from(cds.data.x), [5, 6, 7]);
  // source_replace: full replace, columns may change
  src._replace({ y: ["a"] });
  feed.message({ type: "source_replace", source: "s1", data: { y: ["a"] } });
  feed.flush([cds]);
  assert.deepEqual(cds.data, { y: ["a"] });
  // the BokehJS source lost rows somehow: repaired from the source
  cds.data = { y: [] };
  feed.flush([cds]);
  assert.deepEqual(cds.data, { y: ["a"] });
});

test("Feed: past MAX_OPS pending changes it stops queueing and replaces once", () => {
  const src = source({ x: new Float64Array(0) });
  const feed = new Feed(src);
  const cds = new FakeCDS();
  feed.flush([cds]);
  for (let i = 0; i < MAX_OPS + 10; i++) {
    const msg = { type: "stream", source: "s1", data: { x: new Float64Array([i]) }, rollover: 100 };
    src._stream(msg.data, 100);
    feed.message(msg);
  }
  assert.ok(feed.ops.length <= MAX_OPS);
  assert.equal(feed.full, true);
  cds.calls = [];
  feed.flush([cds]);
  assert.deepEqual(cds.calls, []);
  assert.equal(cds.data.x.length, 100);
  assert.equal(cds.data.x[99], MAX_OPS + 9);
});
