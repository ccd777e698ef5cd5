// The pure parts of the PlotlyPlot view (plotly.js): the trace mapping, the
// figure filled from a source, a stream as Plotly.extendTraces calls, and the
// event summaries sent to Python. Plotly.js itself runs in Chromium
// (tests/browser/test_plotly_browser.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_EVENT_POINTS, extendCalls, fillTraces, pointsOf, relayoutOf, traceMaps } from "../../src/views/plotly.js";

test("traceMaps keeps well-formed entries only", () => {
  const maps = traceMaps([{ trace: 0, columns: { x: "t" } }, { trace: "1", columns: {} }, null, { trace: 2 }]);
  assert.deepEqual(maps, [{ trace: 0, columns: { x: "t" } }]);
  assert.deepEqual(traceMaps("nope"), []);
});

test("fillTraces puts a copy of each column into the mapped attributes, dotted ones too", () => {
  const spec = [{ type: "scatter", x: [], y: [] }, { type: "bar", y: [], marker: { line: {} } }];
  const t = new Float64Array([1, 2, 3]);
  const data = fillTraces(
    spec,
    [{ trace: 0, columns: { x: "t", y: "a" } }, { trace: 1, columns: { y: "a", "marker.color": "c" } }],
    { t, a: new Float64Array([4, 5, 6]), c: ["r", "g", "b"] },
  );
  assert.ok(data[0].x instanceof Float64Array && data[0].x !== t); // a copy Plotly may keep
  assert.deepEqual(Array.from(data[0].x), [1, 2, 3]);
  assert.deepEqual(data[1].marker.color, ["r", "g", "b"]);
  assert.deepEqual(spec[0].x, []); // the spec is not touched
  assert.deepEqual(Array.from(fillTraces(spec, [{ trace: 0, columns: { x: "gone" } }], {})[0].x), []);
});

test("extendCalls groups the traces that map the same attributes", () => {
  const rows = { t: new Float64Array([9]), a: new Float64Array([1]), b: new Float64Array([2]) };
  const calls = extendCalls(
    [
      { trace: 0, columns: { x: "t", y: "a" } },
      { trace: 2, columns: { y: "b", x: "t" } },
      { trace: 1, columns: { y: "b" } },
    ],
    rows,
  );
  assert.equal(calls.length, 2);
  assert.deepEqual(calls[0].indices, [0, 2]);
  assert.equal(calls[0].update.x[0], rows.t);
  assert.equal(calls[0].update.y[1], rows.b);
  assert.deepEqual(calls[1], { update: { y: [rows.b] }, indices: [1] });
});

test("pointsOf sends at most MAX_EVENT_POINTS plain points", () => {
  const ev = { points: Array.from({ length: 80 }, (_, i) => ({ curveNumber: 0, pointIndex: i, x: i, y: NaN, data: {} })) };
  const out = pointsOf(ev);
  assert.equal(out.points.length, MAX_EVENT_POINTS);
  assert.deepEqual(out.points[3], { trace: 0, index: 3, x: 3, y: null });
  assert.deepEqual(pointsOf(undefined), { points: [] });
  assert.deepEqual(pointsOf({ points: [{ curveNumber: 1, pointNumber: 2, x: "a".repeat(300), y: {} }] }).points[0],
    { trace: 1, index: 2, x: "a".repeat(200), y: null });
});

test("relayoutOf keeps layout attributes with plain values", () => {
  assert.deepEqual(relayoutOf({ "xaxis.range[0]": 1, "xaxis.range": [1, 2], "yaxis.autorange": true }),
    { "xaxis.range[0]": 1, "xaxis.range": [1, 2], "yaxis.autorange": true });
  assert.deepEqual(relayoutOf({ "__proto__.x": 1, "xaxis.range": [{}], shapes: [{ type: "line" }], dragmode: "pan" }),
    { dragmode: "pan" });
  assert.equal(relayoutOf({ autosize: undefined }), null);
  assert.equal(relayoutOf(null), null);
});
