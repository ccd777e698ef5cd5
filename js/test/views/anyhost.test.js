// The pure part of hosted anywidgets (anyhost.js): wire values as an
// anywidget module expects them (binary as DataViews over their own buffer),
// the same object on every `get` so in-place changes stick. The life cycle
// runs in Chromium (tests/browser/test_anyhost_browser.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import { ValueCache, toModuleValue } from "../../src/views/anyhost.js";

test("binary values become DataViews over their own ArrayBuffer, anywhere in a value", () => {
  const frame = new ArrayBuffer(32);
  const bytes = new Uint8Array(frame, 8, 3);
  bytes.set([1, 2, 3]);
  const value = { x: { buffer: bytes, dtype: "float64", shape: [0] }, list: [bytes, 4], s: "t" };
  const out = toModuleValue(value);
  for (const dv of [out.x.buffer, out.list[0]]) {
    assert.ok(dv instanceof DataView);
    assert.equal(dv.byteOffset, 0);
    assert.equal(dv.buffer.byteLength, 3); // its own buffer, not the frame's
    assert.deepEqual([...new Uint8Array(dv.buffer)], [1, 2, 3]);
  }
  assert.deepEqual(out.x.shape, [0]);
  assert.equal(out.list[1], 4);
  assert.equal(out.s, "t");
  assert.deepEqual([...bytes], [1, 2, 3]); // the wire value is untouched
});

test("values without binary are the same object; DataViews pass as they are", () => {
  const plain = { a: [1, { b: "c" }] };
  assert.equal(toModuleValue(plain), plain);
  const dv = new DataView(new ArrayBuffer(2));
  assert.equal(toModuleValue(dv), dv);
  assert.equal(toModuleValue(null), null);
  assert.equal(toModuleValue(3), 3);
});

test("the cache gives the same converted object for the same wire value", () => {
  const cache = new ValueCache();
  const wire = { data: [{ y: new Uint8Array([1]) }] };
  const first = cache.get(wire);
  first.data.push("added in place"); // Plotly's model pushes traces into what it got
  assert.equal(cache.get(wire), first);
  assert.equal(cache.get(wire).data.length, 2);
  const next = { data: [{ y: new Uint8Array([2]) }] };
  assert.notEqual(cache.get(next), first); // a new value from the document: converted anew
  assert.equal(cache.get("text"), "text");
});

test("a value the module set itself comes back as it is", () => {
  const cache = new ValueCache();
  const mine = new Float32Array([1, 2]);
  cache.own(mine);
  assert.equal(cache.get(mine), mine); // not turned into a DataView
});
