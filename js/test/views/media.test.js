// The pure parts of the picture views (media.js): the size a Matplotlib view
// asks for (within Python's bounds) and what counts as a frame. Drawing runs
// in Chromium (tests/browser/test_media_browser.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_CSS_SIDE, MAX_RENDER_PIXELS, frameOf, viewSize } from "../../src/views/media.js";

test("viewSize follows the width, with the height given or from the aspect", () => {
  assert.deepEqual(viewSize(600.4, null, 0.5, 2), [600, 300, 2]);
  assert.deepEqual(viewSize(600, 200, 0.5, 1), [600, 200, 1]);
  assert.deepEqual(viewSize(600, null, NaN, 1), [600, 450, 1]); // no aspect: 4:3
  assert.equal(viewSize(0, null, 0.5, 1), null); // nothing to draw into
});

test("viewSize stays within Python's bounds", () => {
  const [w, h, d] = /** @type {number[]} */ (viewSize(9000, 9000, 1, 3));
  assert.equal(w, MAX_CSS_SIDE);
  assert.equal(h, MAX_CSS_SIDE);
  assert.ok(w * d * h * d <= MAX_RENDER_PIXELS);
  assert.equal(/** @type {number[]} */ (viewSize(100, null, 1, 50))[2], 4);
  assert.equal(/** @type {number[]} */ (viewSize(100, null, 1, -1))[2], 1);
});

test("frameOf accepts whole frames only", () => {
  const data = new Uint8Array(2 * 3 * 4);
  assert.deepEqual(frameOf({ data, mime: "raw", width: 3, height: 2 }), { data, mime: "raw", width: 3, height: 2 });
  assert.equal(frameOf({ data, mime: "raw", width: 4, height: 2 }), null); // wrong length
  assert.equal(frameOf({ data: [1, 2], mime: "raw", width: 1, height: 1 }), null);
  assert.equal(frameOf(null), null);
  assert.equal(frameOf({ data, mime: "image/png", width: 0, height: 0 })?.mime, "image/png");
});
