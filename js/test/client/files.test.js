// Uploads from the client (client/files.js): chunks in order within a bounded
// window, progress from the hub's acks, refusals and lost connections reject.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Emitter } from "../../src/client/events.js";
import { CHUNK_BYTES, Uploads, WINDOW_BYTES } from "../../src/client/files.js";
import { decode, encode } from "../../src/wire/codec.js";

/** A connection stand-in: records what is sent (through the codec) and replays hub messages. */
function host() {
  const events = new Emitter();
  const sent = [];
  return {
    sent,
    connected: true,
    events,
    send(msg) {
      if (!this.connected) return false;
      sent.push(decode(encode(msg)));
      return true;
    },
    on: (name, cb) => events.on(name, cb),
    limits: () => ({ max_upload_chunk: 1024 * 1024 }),
    hub: (msg) => events.emit(msg.type === "error" ? "error" : "message", msg),
  };
}

const settle = () => new Promise((r) => setTimeout(r, 10));

test("an upload sends its files back to back within the window, progress follows the acks", async () => {
  const h = host();
  const ups = new Uploads(h);
  const a = new Blob([new Uint8Array(3 * 1024 * 1024).fill(1)]);
  const b = new Blob([new Uint8Array(10).fill(2)]);
  Object.assign(a, { name: "a.bin" });
  Object.assign(b, { name: "b.bin" });
  const progress = [];
  const done = ups.upload("m1", [a, b], (r, t) => progress.push([r, t]));
  await settle();
  const [start, ...chunks] = h.sent;
  assert.equal(start.type, "upload_start");
  assert.deepEqual(start.files.map((f) => [f.name, f.size]), [["a.bin", 3 * 1024 * 1024], ["b.bin", 10]]);
  assert.equal(chunks.length, WINDOW_BYTES / CHUNK_BYTES); // no more than the window unacknowledged
  assert.deepEqual(chunks.map((c) => c.offset), chunks.map((_, i) => i * CHUNK_BYTES));
  const total = 3 * 1024 * 1024 + 10;
  let acked = 0;
  while (acked < total) {
    const sent = h.sent.slice(1).reduce((n, c) => n + c.data.byteLength, 0);
    acked = sent;
    h.hub({ type: "upload_ack", upload: start.upload, received: acked });
    await settle();
  }
  const last = h.sent.at(-1);
  assert.equal(last.offset, 3 * 1024 * 1024);
  assert.deepEqual([...last.data], new Array(10).fill(2)); // a chunk never crosses a file's end
  h.hub({ type: "upload_done", upload: start.upload });
  await done;
  assert.deepEqual(progress.at(-1), [total, total]);
  assert.ok(progress.some(([r]) => r > 0 && r < total));
});

test("a refusal from the hub rejects with its message and stops sending", async () => {
  const h = host();
  const ups = new Uploads(h);
  const f = Object.assign(new Blob([new Uint8Array(5 * 1024 * 1024)]), { name: "big.bin" });
  const done = ups.upload("m1", [f]);
  await settle();
  const id = h.sent[0].upload;
  h.hub({ type: "error", code: "upload_refused", message: "big.bin is 5.2 MB", ref: { type: "upload", model: "m1", upload: id } });
  await assert.rejects(done, /big.bin is 5.2 MB/);
  const count = h.sent.length;
  h.hub({ type: "upload_ack", upload: id, received: 1024 });
  await settle();
  assert.equal(h.sent.length, count);
});

test("a lost connection rejects every upload in progress", async () => {
  const h = host();
  const ups = new Uploads(h);
  const done = ups.upload("m1", [Object.assign(new Blob([new Uint8Array(10)]), { name: "x" })]);
  h.events.emit("status", "reconnecting", "lost");
  await assert.rejects(done, /connection was lost/);
  h.connected = false;
  await assert.rejects(ups.upload("m1", [Object.assign(new Blob(["x"]), { name: "y" })]), /not connected/);
});
