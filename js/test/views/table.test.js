// The pure parts of the Table view (table.js): the virtual window and cell
// formatting. The DOM is exercised in Chromium (tests/test_table_browser.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import { cellAt, formatCell, formatDatetime, virtualWindow } from "../../src/views/table.js";
import { tagArray } from "../../src/wire/arrays.js";

const RH = 28;

test("virtualWindow: the rows in view plus overscan, spacers filling the rest", () => {
  const w = virtualWindow({ rows: 100_000, rowHeight: RH, scrollTop: 0, viewport: 10 * RH, overscan: 5 });
  assert.deepEqual([w.start, w.end, w.top], [0, 16, 0]);
  assert.equal(w.height, 100_000 * RH);
  assert.equal(w.top + (w.end - w.start) * RH + w.bottom, w.height);

  const mid = virtualWindow({ rows: 100_000, rowHeight: RH, scrollTop: 500 * RH + 10, viewport: 10 * RH, overscan: 5 });
  assert.deepEqual([mid.start, mid.end], [495, 516]);
  assert.equal(mid.top, 495 * RH);
  assert.equal(mid.top + (mid.end - mid.start) * RH + mid.bottom, mid.height);
});

test("virtualWindow: the end is reachable and scrollTop past it is clamped", () => {
  const rows = 100_000;
  const w = virtualWindow({ rows, rowHeight: RH, scrollTop: 1e12, viewport: 15 * RH, overscan: 3 });
  assert.equal(w.end, rows);
  assert.ok(w.start <= rows - 15 && w.start >= rows - 15 - 3 - 1);
  assert.equal(w.bottom, 0);
  assert.equal(w.top + (w.end - w.start) * RH, w.height);
});

test("virtualWindow: small, empty and negative inputs", () => {
  assert.deepEqual(virtualWindow({ rows: 0, rowHeight: RH, scrollTop: 0, viewport: 280 }), {
    start: 0, end: 0, top: 0, bottom: 0, height: 0,
  });
  const few = virtualWindow({ rows: 3, rowHeight: RH, scrollTop: -50, viewport: 280 });
  assert.deepEqual([few.start, few.end, few.top, few.bottom], [0, 3, 0, 0]);
});

test("virtualWindow: a huge table compresses its scroll range yet reaches every row", () => {
  const rows = 10_000_000;
  const maxHeight = 1_000_000;
  const viewport = 10 * RH;
  const top = virtualWindow({ rows, rowHeight: RH, scrollTop: 0, viewport, overscan: 0, maxHeight });
  assert.equal(top.height, maxHeight);
  assert.equal(top.start, 0);
  const end = virtualWindow({ rows, rowHeight: RH, scrollTop: maxHeight - viewport, viewport, overscan: 0, maxHeight });
  assert.equal(end.end, rows);
  // the last row's bottom edge is at the viewport's bottom edge
  const lastBottom = end.top + (end.end - end.start) * RH;
  assert.ok(Math.abs(lastBottom - maxHeight) <= RH, `${lastBottom} vs ${maxHeight}`);
  const half = virtualWindow({ rows, rowHeight: RH, scrollTop: (maxHeight - viewport) / 2, viewport, overscan: 0, maxHeight });
  assert.ok(Math.abs(half.start - rows / 2) < 20, String(half.start));
  for (const w of [top, end, half]) assert.ok(w.top >= 0 && w.bottom >= 0);
});

test("formatCell: numbers without float noise, BigInt exact, NaN, strings, bools", () => {
  assert.equal(formatCell(0.1 + 0.2), "0.3");
  assert.equal(formatCell(1234.5), "1234.5");
  assert.equal(formatCell(-3), "-3");
  assert.equal(formatCell(1e-7), "1e-7");
  assert.equal(formatCell(NaN), "NaN");
  assert.equal(formatCell(-Infinity), "-∞");
  assert.equal(formatCell(9007199254740993n), "9007199254740993");
  assert.equal(formatCell("a<b>"), "a<b>");
  assert.equal(formatCell(null), "");
  assert.equal(formatCell(1, { bool: true }), "true");
  assert.equal(formatCell(0, { bool: true }), "false");
  assert.equal(formatCell(new Float64Array([1, 2.5])), "[1, 2.5]");
});

test("formatDatetime: UTC, milliseconds only when present, NaT", () => {
  const t = Date.UTC(2024, 0, 2, 3, 4, 5);
  assert.equal(formatDatetime(t), "2024-01-02 03:04:05");
  assert.equal(formatDatetime(t + 250), "2024-01-02 03:04:05.250");
  assert.equal(formatDatetime(t + 249.99999), "2024-01-02 03:04:05.250");
  assert.equal(formatDatetime(NaN), "NaT");
  assert.equal(formatCell(t, { datetime: true }), "2024-01-02 03:04:05");
});

test("cellAt: 1-D values, rows of a 2-D column, missing columns", () => {
  assert.equal(cellAt(new Float64Array([1, 2, 3]), 1), 2);
  assert.equal(cellAt(["a", "b"], 1), "b");
  assert.equal(cellAt(undefined, 0), undefined);
  const grid = tagArray(new Int32Array([1, 2, 3, 4, 5, 6]), { shape: [3, 2] });
  assert.deepEqual(Array.from(cellAt(grid, 2, 2)), [5, 6]);
});
