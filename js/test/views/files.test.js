// The pure part of the file views: sizes as the page shows them, in step
// with the hub's refusal texts (wsbridge/hub/uploads.py `file_size`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileSize } from "../../src/views/files.js";

test("sizes read like the hub's, in decimal units", () => {
  assert.equal(fileSize(0), "0 bytes");
  assert.equal(fileSize(999), "999 bytes");
  assert.equal(fileSize(1000), "1.0 KB");
  assert.equal(fileSize(11_000), "11.0 KB");
  assert.equal(fileSize(2_000_000), "2.0 MB");
  assert.equal(fileSize(20_971_520), "21.0 MB");
  assert.equal(fileSize(5e12), "5000.0 GB");
});
