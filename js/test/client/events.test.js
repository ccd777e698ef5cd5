// The emitter the state, models and connection share.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Emitter } from "../../src/client/events.js";

test("a listener removed during an emit is not called by that emit", () => {
  const e = new Emitter();
  const calls = [];
  const second = () => calls.push("second");
  e.on("snapshot", () => {
    calls.push("first");
    e.off("snapshot", second);
  });
  e.on("snapshot", second);
  e.emit("snapshot");
  assert.deepEqual(calls, ["first"]);
});
