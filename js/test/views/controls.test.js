// The pure parts of the controls: select options.
import { test } from "node:test";
import assert from "node:assert/strict";
import { optionPairs } from "../../src/views/controls.js";

test("select options arrive as [label, value] pairs", () => {
  assert.deepEqual(optionPairs([["One", 1], ["Two", [2, 3]]]), [["One", 1], ["Two", [2, 3]]]);
  assert.deepEqual(optionPairs(["a", 3]), [["a", "a"], ["3", 3]]);
  assert.deepEqual(optionPairs(null), []);
});
