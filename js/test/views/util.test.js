// The pure helpers of the view families (the DOM itself is exercised in
// Chromium by the Python end-to-end tests).
import { test } from "node:test";
import assert from "node:assert/strict";
import { childIds, followSource, formatValue, frameThrottle, sparklinePoints, stepDecimals } from "../../src/views/util.js";
import { Emitter } from "../../src/client/events.js";

function manualScheduler() {
  const queue = new Map();
  let next = 1;
  return {
    queue,
    request(cb) {
      queue.set(next, cb);
      return next++;
    },
    cancel(h) {
      queue.delete(h);
    },
    frame() {
      const cbs = [...queue.values()];
      queue.clear();
      cbs.forEach((cb) => cb());
    },
  };
}

test("frameThrottle: at most one call per frame, with the latest arguments", () => {
  const s = manualScheduler();
  const calls = [];
  const t = frameThrottle((v) => calls.push(v), s);
  t.call(1);
  t.call(2);
  t.call(3);
  assert.equal(s.queue.size, 1);
  assert.equal(t.pending, true);
  s.frame();
  assert.deepEqual(calls, [3]);
  assert.equal(t.pending, false);
  s.frame();
  assert.deepEqual(calls, [3], "nothing without a new call");
  t.call(4);
  t.flush();
  assert.deepEqual(calls, [3, 4], "flush runs now");
  assert.equal(s.queue.size, 0);
  t.call(5);
  t.cancel();
  s.frame();
  assert.deepEqual(calls, [3, 4]);
  t.flush();
  assert.deepEqual(calls, [3, 4], "flush with nothing scheduled does nothing");
});

test("slider readout follows the step's decimals", () => {
  assert.equal(stepDecimals(0.5), 1);
  assert.equal(stepDecimals(0.25), 2);
  assert.equal(stepDecimals(1), 0);
  assert.equal(stepDecimals(10), 0);
  assert.equal(stepDecimals(1e-7), 7);
  assert.equal(stepDecimals(undefined), 2);
  assert.equal(formatValue(2.5, 0.5), "2.5");
  assert.equal(formatValue(3, 0.1), "3.0");
  assert.equal(formatValue(7, 1), "7");
  assert.equal(formatValue(null, 1), "");
  assert.equal(formatValue("x", 1), "x");
  assert.equal(formatValue(Infinity, 1), "Infinity");
});

test("childIds keeps string ids only", () => {
  assert.deepEqual(childIds(["a", 3, null, "", "b"]), ["a", "b"]);
  assert.deepEqual(childIds(undefined), []);
  assert.deepEqual(childIds("a"), []);
});

test("sparklinePoints scales into the box and breaks at non-finite values", () => {
  const { points, drawn } = sparklinePoints(new Float64Array([0, 1, 2, 3]), new Float64Array([0, 10, NaN, 5]), 104, 24, 2);
  assert.equal(drawn, 3);
  assert.deepEqual(Array.from(points.subarray(0, 4)), [2, 22, 2 + 100 / 3, 2]);
  assert.ok(Number.isNaN(points[4]) && Number.isNaN(points[5]));
  assert.equal(points[6], 102);
  assert.equal(points[7], 12);
  // no x: the index; flat y: mid-height; BigInt columns
  const flat = sparklinePoints(undefined, new BigInt64Array([5n, 5n, 5n]), 10, 10, 0);
  assert.deepEqual(Array.from(flat.points), [0, 5, 5, 5, 10, 5]);
  // an x column of another length is ignored
  const idx = sparklinePoints([9], [1, 2], 10, 10, 0);
  assert.deepEqual(Array.from(idx.points), [0, 10, 10, 0]);
  assert.equal(sparklinePoints(undefined, undefined, 10, 10).drawn, 0);
  assert.equal(sparklinePoints([1], [Infinity], 10, 10).drawn, 0);
});

test("followSource follows the source property and snapshots, and stops", () => {
  const model = new Emitter();
  let sid = "s1";
  model.get = () => sid;
  const sources = { s1: new Emitter(), s2: new Emitter() };
  const client = { state: new Emitter(), source: (id) => sources[id] };
  const offs = [];
  const listen = (t, n, cb) => { t.on(n, cb); offs.push(() => t.off(n, cb)); };
  let n = 0;
  const stop = followSource(model, client, listen, () => n++);
  sources.s1.emit("change");
  assert.equal(n, 1);
  sid = "s2";
  model.emit("change:source");
  assert.equal(n, 2);
  sources.s1.emit("change");
  sources.s2.emit("change");
  assert.equal(n, 3);
  sources.s2 = new Emitter(); // a snapshot replaced the Source object
  client.state.emit("snapshot");
  assert.equal(n, 4);
  sources.s2.emit("change");
  assert.equal(n, 5);
  stop();
  offs.forEach((off) => off());
  sources.s2.emit("change");
  client.state.emit("snapshot");
  assert.equal(n, 5);
});
