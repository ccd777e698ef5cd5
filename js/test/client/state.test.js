// The replica: docs/protocol.md "Applying sequenced messages" and the
// source operations (stream with rollover, source_patch, source_replace).
import { test } from "node:test";
import assert from "node:assert/strict";
import { DocumentState, sameValue } from "../../src/client/state.js";
import { Column } from "../../src/client/source.js";
import { decode, encode, shapeOf, dtypeOf, tagArray } from "../../src/wire/codec.js";

const welcome = (seq, { resumed = false, epoch = "e1", session = "c1" } = {}) => ({
  v: 1, type: "welcome", doc: "main", epoch, seq, session, resumed, title: "Main", limits: {},
});
const snapshot = (seq, extra = {}) => ({
  v: 1, type: "snapshot", doc: "main", epoch: "e1", seq, title: "Main", root: "m1",
  models: {
    m1: { type: "Column", state: { children: ["m2"] } },
    m2: { type: "Slider", state: { value: 1, min: 0, max: 10, step: 0.5, label: "f", disabled: false } },
  },
  sources: { s1: { data: { x: new Float64Array([0, 1, 2]), name: ["a", "b", "c"] } } },
  ...extra,
});
const patch = (seq, state, extra = {}) => ({ v: 1, type: "patch", seq, model: "m2", state, ...extra });
const stream = (seq, data, rollover = null, source = "s1") => ({ v: 1, type: "stream", seq, source, data, rollover });

/** A state at seq 10 after welcome + snapshot. */
function ready() {
  const st = new DocumentState();
  assert.equal(st.apply(welcome(10)), "info");
  assert.equal(st.apply(snapshot(10)), "applied");
  return st;
}

test("welcome then snapshot: state, seq, epoch, synced", () => {
  const st = new DocumentState();
  const events = [];
  st.on("synced", () => events.push("synced"));
  st.on("snapshot", () => events.push("snapshot"));
  st.apply(welcome(10));
  assert.equal(st.session, "c1");
  assert.equal(st.seq, null, "welcome never changes seq");
  assert.equal(st.synced, false);
  assert.equal(st.apply(patch(11, { value: 3 })), "ignored", "nothing applies before the snapshot");
  st.apply(snapshot(10));
  assert.equal(st.seq, 10);
  assert.equal(st.epoch, "e1");
  assert.equal(st.root, "m1");
  assert.equal(st.title, "Main");
  assert.equal(st.models.get("m2").state.get("value"), 1);
  assert.deepEqual(events, ["snapshot", "synced"]);
  assert.equal(st.synced, true);
});

test("sequenced messages apply in order; duplicates are ignored; a gap is reported", () => {
  const st = ready();
  assert.equal(st.apply(patch(11, { value: 2 })), "applied");
  assert.equal(st.seq, 11);
  assert.equal(st.apply(patch(11, { value: 9 })), "duplicate");
  assert.equal(st.apply(patch(5, { value: 9 })), "duplicate");
  assert.equal(st.models.get("m2").state.get("value"), 2);
  assert.equal(st.apply(patch(13, { value: 9 })), "gap");
  assert.equal(st.seq, 11, "a gap applies nothing");
  assert.equal(st.models.get("m2").state.get("value"), 2);
  assert.equal(st.apply(patch(12, { value: 4 })), "applied");
  assert.equal(st.seq, 12);
});

test("a sequenced message before any state is a gap", () => {
  const st = new DocumentState();
  assert.equal(st.apply(patch(1, { value: 2 })), "gap");
});

test("a reply patch applies without changing seq", () => {
  const st = ready();
  st.apply(patch(11, { value: 2 }));
  assert.equal(st.apply(patch(11, { value: 7 }, { reply: true })), "applied");
  assert.equal(st.seq, 11);
  assert.equal(st.models.get("m2").state.get("value"), 7);
  // the next real message still continues from 11
  assert.equal(st.apply(patch(12, { value: 8 })), "applied");
  assert.equal(st.models.get("m2").state.get("value"), 8);
});

test("welcome and error never change seq", () => {
  const st = ready();
  assert.equal(st.apply({ v: 1, type: "error", seq: 99, code: "x", message: "m" }), "info");
  assert.equal(st.seq, 10);
});

test("resume: welcome(resumed) then the replay up to welcome.seq syncs", () => {
  const st = ready();
  st.apply(patch(11, { value: 2 }));
  let synced = 0;
  st.on("synced", () => synced++);
  assert.equal(st.apply(welcome(13, { resumed: true, session: "c2" })), "info");
  assert.equal(st.session, "c2");
  assert.equal(st.synced, false);
  st.apply(patch(12, { value: 3 }));
  assert.equal(synced, 0);
  st.apply(patch(13, { value: 4 }));
  assert.equal(synced, 1);
  assert.equal(st.synced, true);
  // nothing missed: synced at once
  st.apply(welcome(13, { resumed: true }));
  assert.equal(synced, 2);
});

test("a resumed welcome that cannot continue our state forgets it", () => {
  const st = ready();
  assert.equal(st.apply(welcome(12, { resumed: true, epoch: "other" })), "gap");
  assert.equal(st.epoch, null);
  assert.equal(st.seq, null);
  assert.ok(st.models.has("m2"), "models stay on screen until the snapshot");
});

test("a snapshot replaces the whole state and notifies real changes", () => {
  const st = ready();
  st.apply(patch(11, { value: 2 }));
  const src = st.source("s1");
  const changes = [];
  st.on("model:m2", (names, info) => changes.push([names, info]));
  let srcChanges = 0;
  src.on("change", () => srcChanges++);
  const snap = snapshot(50, {
    models: { m1: { type: "Column", state: { children: [] } }, m2: { type: "Slider", state: { value: 2, min: 0, max: 20, step: 0.5, label: "f", disabled: false } } },
    sources: { s2: { data: { y: new Int32Array([1]) } } },
  });
  st.apply(snap);
  assert.equal(st.seq, 50);
  assert.deepEqual(changes, [[["max"], { snapshot: true }]], "only max differs");
  assert.equal(st.source("s1"), src, "Source objects are stable");
  assert.equal(src.length, 0, "a source gone from the document is empty");
  assert.equal(srcChanges, 1);
  assert.ok(!st.sources.has("s1"));
  assert.deepEqual(Array.from(st.source("s2").data.y), [1]);
  // a later snapshot may go back in seq (slow consumer, new epoch): still replaces
  st.apply({ ...snapshot(3), epoch: "e2" });
  assert.equal(st.seq, 3);
  assert.equal(st.epoch, "e2");
});

test("patch change events carry the changed names and origin; equal values are silent", () => {
  const st = ready();
  const seen = [];
  st.on("model:m2", (names, info) => seen.push([names, info.origin]));
  st.apply(patch(11, { value: 1, label: "g" }, { origin: { session: "c9", req: 3 } }));
  assert.deepEqual(seen, [[["label"], { session: "c9", req: 3 }]]);
  st.apply(patch(12, { value: 1 }));
  assert.equal(seen.length, 1);
  assert.equal(st.apply({ v: 1, type: "patch", seq: 13, model: "nope", state: { a: 1 } }), "applied", "unknown model: seq advances");
  assert.equal(st.seq, 13);
});

test("add: new models and sources, a new root, a title", () => {
  const st = ready();
  const seen = [];
  st.on("add", (a) => seen.push(["add", a]));
  st.on("root", (r) => seen.push(["root", r]));
  st.on("title", (t) => seen.push(["title", t]));
  st.apply({
    v: 1, type: "add", seq: 11, root: "m3", title: "New",
    models: { m3: { type: "Label", state: { value: "<b>x</b>" } } },
    sources: { s9: { data: { z: new Float32Array([1, 2]) } } },
  });
  assert.equal(st.models.get("m3").type, "Label");
  assert.equal(st.root, "m3");
  assert.equal(st.title, "New");
  assert.equal(st.source("s9").length, 2);
  assert.deepEqual(seen, [["title", "New"], ["add", { models: ["m3"], sources: ["s9"] }], ["root", "m3"]]);
});

test("stream appends lazily: chunks are concatenated once, when read", () => {
  const st = ready();
  const src = st.source("s1");
  const col = src._columns.get("x");
  for (let i = 0; i < 200; i++) {
    st.apply(stream(11 + i, { x: new Float64Array([3 + i]), name: [`n${i}`] }));
  }
  assert.equal(col.chunks.length, 201, "200 streams = 200 appended chunks, no copy yet");
  assert.equal(src.length, 203);
  const x = src.data.x;
  assert.ok(x instanceof Float64Array);
  assert.equal(x.length, 203);
  assert.equal(x[202], 202);
  assert.equal(col.chunks.length, 1, "materialised once");
  assert.equal(src.data.x, x, "cached until the next change");
  assert.equal(src.data.name[202], "n199");
  st.apply(stream(211, { x: new Float64Array([1e9]), name: ["last"] }));
  assert.notEqual(src.data.x, x, "a new array after a change");
  assert.equal(x.length, 203, "the array handed out before is unchanged");
  assert.equal(src.data.x[203], 1e9);
});

test("stream with rollover keeps the last rows, trimming chunks without copies", () => {
  const st = ready();
  const src = st.source("s1");
  st.apply(stream(11, { x: new Float64Array([3, 4]), name: ["d", "e"] }, 4));
  assert.deepEqual(Array.from(src.data.x), [1, 2, 3, 4]);
  assert.deepEqual(src.data.name, ["b", "c", "d", "e"]);
  const frame = encode(stream(12, { x: new Float64Array([5, 6, 7]), name: ["f", "g", "h"] }, 2));
  const msg = decode(frame);
  st.apply(msg);
  const col = src._columns.get("x");
  assert.equal(col.chunks.length, 1);
  assert.equal(col.chunks[0].buffer, frame, "the kept rows are a view on the last frame");
  assert.deepEqual(Array.from(src.data.x), [6, 7]);
  assert.deepEqual(src.data.name, ["g", "h"]);
  assert.equal(src.length, 2);
  st.apply(stream(13, { x: new Float64Array([8]), name: ["i"] }, 0));
  assert.equal(src.length, 0);
  assert.deepEqual(Array.from(src.data.x), []);
});

test("a snapshot/replace column is the frame's view itself", () => {
  const st = new DocumentState();
  st.apply(welcome(1));
  const frame = encode(snapshot(1));
  st.apply(decode(frame));
  assert.equal(st.source("s1").data.x.buffer, frame);
  const frame2 = encode({ v: 1, type: "source_replace", seq: 2, source: "s1", data: { y: new Int16Array([4, 5]) } });
  st.apply(decode(frame2));
  const data = st.source("s1").data;
  assert.deepEqual(Object.keys(data), ["y"], "columns may change");
  assert.equal(data.y.buffer, frame2);
});

test("bool and 2-D columns keep dtype and shape through streams and rollover", () => {
  const st = ready();
  st.apply({ v: 1, type: "add", seq: 11, models: {}, sources: {
    img: { data: { px: tagArray(new Int16Array([0, 1, 2, 3, 4, 5]), { shape: [2, 3] }), ok: tagArray(new Uint8Array([1, 0]), { dtype: "bool" }) } },
  } });
  const src = st.source("img");
  assert.equal(src.length, 2);
  st.apply(stream(12, { px: tagArray(new Int16Array([6, 7, 8]), { shape: [1, 3] }), ok: tagArray(new Uint8Array([1]), { dtype: "bool" }) }, 2, "img"));
  assert.equal(src.length, 2);
  assert.deepEqual(Array.from(src.data.px), [3, 4, 5, 6, 7, 8]);
  assert.deepEqual(shapeOf(src.data.px), [2, 3]);
  assert.deepEqual(src.shapeOf("px"), [2, 3]);
  assert.equal(dtypeOf(src.data.ok), "bool");
  assert.deepEqual(Array.from(src.data.ok), [0, 1]);
});

test("source_patch: indices and slices, in order, into a new array", () => {
  const st = ready();
  const src = st.source("s1");
  st.apply(stream(11, { x: new Float64Array([3, 4, 5]), name: ["d", "e", "f"] }));
  const before = src.data.x;
  st.apply({ v: 1, type: "source_patch", seq: 12, source: "s1", patches: {
    x: [[0, 9.5], [{ start: 1, stop: 6, step: 2 }, new Float64Array([7, 8, 9])], [2, null]],
    name: [[5, "z"], [{ start: 0, stop: 2, step: 1 }, ["p", "q"]]],
  } });
  const x = src.data.x;
  assert.deepEqual(Array.from(x).map((v) => (Number.isNaN(v) ? "NaN" : v)), [9.5, 7, "NaN", 8, 4, 9]);
  assert.ok(x instanceof Float64Array);
  assert.deepEqual(src.data.name, ["p", "q", "c", "d", "e", "z"]);
  assert.deepEqual(Array.from(before), [0, 1, 2, 3, 4, 5], "arrays handed out earlier do not change");
});

test("source_patch of 64-bit, bool and 2-D columns", () => {
  const st = ready();
  st.apply({ v: 1, type: "add", seq: 11, models: {}, sources: {
    t: { data: {
      big: new BigInt64Array([1n, 2n, 3n]),
      b: tagArray(new Uint8Array([0, 0, 0]), { dtype: "bool" }),
      m: tagArray(new Float32Array(6), { shape: [3, 2] }),
    } },
  } });
  const frame = encode({ v: 1, type: "source_patch", seq: 12, source: "t", patches: {
    big: [[0, 7], [{ start: 1, stop: 3, step: 1 }, new BigInt64Array([8n, 9n])]],
    b: [[1, true]],
    m: [[1, [5, 6]], [{ start: 2, stop: 3, step: 1 }, tagArray(new Float32Array([7, 8]), { shape: [1, 2] })]],
  } });
  assert.equal(st.apply(decode(frame)), "applied");
  const d = st.source("t").data;
  assert.deepEqual(Array.from(d.big), [7n, 8n, 9n]);
  assert.deepEqual(Array.from(d.b), [0, 1, 0]);
  assert.equal(dtypeOf(d.b), "bool");
  assert.deepEqual(Array.from(d.m), [0, 0, 5, 6, 7, 8]);
  assert.deepEqual(shapeOf(d.m), [3, 2]);
});

test("custom messages are sequenced and delivered to the model's listeners", () => {
  const st = ready();
  const got = [];
  st.on("custom:m9", (content, buffers) => got.push([content, buffers.length]));
  assert.equal(st.apply({ v: 1, type: "custom", seq: 11, model: "m9", content: { k: 1 }, buffers: [new Uint8Array(2)] }), "applied");
  assert.equal(st.seq, 11);
  assert.equal(st.apply({ v: 1, type: "custom", seq: 11, model: "m9", content: { k: 2 }, buffers: [] }), "duplicate");
  assert.deepEqual(got, [[{ k: 1 }, 1]]);
});

test("messages for unknown sources advance seq without failing", () => {
  const st = ready();
  assert.equal(st.apply(stream(11, { x: new Float64Array(1) }, null, "ghost")), "applied");
  assert.equal(st.seq, 11);
  assert.ok(!st.sources.has("ghost"));
});

test("listener errors do not break applying", () => {
  const st = ready();
  const orig = console.error;
  const errors = [];
  console.error = (...a) => errors.push(a);
  try {
    st.on("model:m2", () => { throw new Error("boom"); });
    assert.equal(st.apply(patch(11, { value: 5 })), "applied");
  } finally {
    console.error = orig;
  }
  assert.equal(st.seq, 11);
  assert.equal(errors.length, 1);
});

test("Column concatenates mixed chunks sensibly", () => {
  const c = new Column(new Int32Array([1]));
  c.append(new Float64Array([2.5]));
  assert.ok(c.value instanceof Float64Array);
  assert.deepEqual(Array.from(c.value), [1, 2.5]);
  const s = new Column([]);
  s.append(["a"]);
  s.append(["b", null]);
  assert.deepEqual(s.value, ["a", "b", null]);
});

test("sameValue", () => {
  assert.ok(sameValue(1, 1));
  assert.ok(sameValue(NaN, NaN));
  assert.ok(sameValue(["a", { b: [1] }], ["a", { b: [1] }]));
  assert.ok(!sameValue(["a"], ["a", "b"]));
  assert.ok(!sameValue({ a: 1 }, { b: 1 }));
  assert.ok(!sameValue([1], { 0: 1 }));
  assert.ok(!sameValue(new Float64Array(1), new Float64Array(1)));
  assert.ok(!sameValue(null, {}));
});

test("a coalesced message stands for first..seq; any other first is a gap", () => {
  const st = ready();
  assert.equal(st.apply(patch(13, { value: 3 }, { first: 11 })), "applied");
  assert.equal(st.seq, 13);
  assert.equal(st.models.get("m2").state.get("value"), 3);
  assert.equal(st.apply({ ...stream(15, { x: new Float64Array([7, 8]), name: ["p", "q"] }, 4), first: 14 }), "applied");
  assert.equal(st.seq, 15);
  assert.deepEqual(Array.from(st.source("s1").data.x), [1, 2, 7, 8]);
  assert.equal(st.apply(patch(15, { value: 9 }, { first: 14 })), "duplicate");
  assert.equal(st.apply(patch(18, { value: 9 }, { first: 17 })), "gap");
  assert.equal(st.seq, 15);
});
