// The status line of a page.
import { test } from "node:test";
import assert from "node:assert/strict";
import { GONE_TEXT, isGone, statusText } from "../../src/page/status.js";

test("status text: nothing when connected", () => {
  assert.equal(statusText("connected"), "");
  assert.equal(statusText("reconnecting", "lost"), "reconnecting…");
  assert.equal(statusText("connecting"), "connecting…");
  assert.equal(statusText("closed", "unauthorized: bad token"), "disconnected: unauthorized: bad token");
  assert.equal(statusText("closed"), "disconnected");
});

test("a page whose Python side is gone says so plainly", () => {
  for (const status of ["stale", "offline"]) {
    assert.equal(statusText(status, "connection lost (code 1006)"), GONE_TEXT);
    assert.ok(isGone(status));
  }
  assert.ok(!isGone("reconnecting") && !isGone("connected"));
});
