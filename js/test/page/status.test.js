// The status line of a page.
import { test } from "node:test";
import assert from "node:assert/strict";
import { statusText } from "../../src/page/status.js";

test("status text: nothing when connected", () => {
  assert.equal(statusText("connected"), "");
  assert.equal(statusText("reconnecting", "lost"), "reconnecting…");
  assert.equal(statusText("connecting"), "connecting…");
  assert.equal(statusText("closed", "unauthorized: bad token"), "disconnected: unauthorized: bad token");
  assert.equal(statusText("closed"), "disconnected");
});
