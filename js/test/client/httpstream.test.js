// The streaming-HTTP fallback (client/httpstream.js): the frame parser
// against the golden stream of tests/wire/framing.bin (written by the Python
// framing, tests/wire/generate.py), the WebSocket-shaped socket over a
// fetch stand-in, and the connection's automatic fallback.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { FrameParser, FramingError, HttpStreamSocket, KIND, encodeFrame, messageFrame, parseClose } from "../../src/client/httpstream.js";
import { chooseTransport, streamEndpoint } from "../../src/client/endpoints.js";
import { Connection } from "../../src/client/connection.js";
import { decode } from "../../src/wire/codec.js";

const WIRE = new URL("../../../tests/wire/", import.meta.url);
const golden = JSON.parse(readFileSync(new URL("framing.json", WIRE), "utf8"));
const STREAM = new Uint8Array(readFileSync(new URL(golden.file, WIRE)));

/** @param {any} entry */
function expected(entry) {
  if (entry.file) return new Uint8Array(readFileSync(new URL(entry.file, WIRE)));
  if (entry.code) {
    const reason = new TextEncoder().encode(entry.reason);
    const out = new Uint8Array(2 + reason.length);
    new DataView(out.buffer).setUint16(0, entry.code);
    out.set(reason, 2);
    return out;
  }
  return new Uint8Array(0);
}

for (const step of [1, 3, 5, 64, 4096, STREAM.length]) {
  test(`the golden stream parses in slices of ${step}`, () => {
    const parser = new FrameParser();
    const frames = [];
    for (let i = 0; i < STREAM.length; i += step) frames.push(...parser.push(STREAM.subarray(i, i + step)));
    parser.finish();
    assert.deepEqual(
      frames.map((f) => f.kind),
      golden.frames.map((/** @type {any} */ e) => e.kind),
    );
    frames.forEach((f, i) => {
      const entry = golden.frames[i];
      if (entry.json) assert.deepEqual(JSON.parse(new TextDecoder().decode(f.payload)), entry.json);
      else assert.deepEqual(f.payload, expected(entry), `frame ${i}`);
    });
    // binary payloads are buffers of their own: zero-copy typed-array views work
    const stream = decode(frames[2].payload.buffer);
    assert.equal(stream.type, "stream");
    assert.ok(stream.data.x instanceof Float64Array);
    assert.equal(decode(new TextDecoder().decode(frames[1].payload)).type, "welcome");
    assert.deepEqual(parseClose(frames.at(-1).payload), { code: 4001, reason: "slow consumer" });
  });
}

for (const bad of golden.invalid) {
  test(`an invalid stream is refused: ${bad.name}`, () => {
    const parser = new FrameParser(bad.max_payload);
    const bytes = Uint8Array.from(bad.hex.match(/../g) ?? [], (h) => parseInt(h, 16));
    assert.throws(() => {
      parser.push(bytes);
      parser.finish();
    }, FramingError);
  });
}

test("frames are encoded as the Python framing encodes them", () => {
  assert.deepEqual(encodeFrame(KIND.TEXT, new TextEncoder().encode("{}")), Uint8Array.from([1, 0, 0, 0, 2, 123, 125]));
  assert.deepEqual(messageFrame("{}"), Uint8Array.from([1, 0, 0, 0, 2, 123, 125]));
  assert.deepEqual(messageFrame(Uint8Array.from([9]).buffer), Uint8Array.from([2, 0, 0, 0, 1, 9]));
});

test("the stream endpoint and the transport option", () => {
  assert.equal(streamEndpoint("ws://h:1/base/ws"), "http://h:1/base/stream");
  assert.equal(streamEndpoint("wss://h/ws?x=1"), "https://h/stream?x=1");
  assert.equal(chooseTransport(undefined, "?transport=http"), "http");
  assert.equal(chooseTransport("websocket", "?transport=http"), "websocket");
  assert.equal(chooseTransport(undefined, ""), "auto");
  assert.throws(() => chooseTransport("pigeon", ""), /transport is one of/);
  assert.equal(chooseTransport(undefined, "?transport=bus"), "auto"); // the page's own parameter
});

/**
 * A fetch stand-in: the stream request answers with `frames` (then stays
 * open until aborted, or ends); input POSTs are recorded.
 */
function fakeFetch({ status = 200, frames = [], end = false } = {}) {
  /** @type {{url: string, body: Uint8Array}[]} */
  const posts = [];
  /** @type {ReadableStreamDefaultController<Uint8Array> | null} */
  let controller = null;
  /** @param {string} url @param {any} init */
  const fetch = async (url, init) => {
    if (url.endsWith("/stream")) {
      posts.push({ url, body: init.body });
      const body = new ReadableStream({
        start(c) {
          controller = c;
          for (const f of frames) c.enqueue(f);
          if (end) c.close();
          init.signal?.addEventListener("abort", () => c.error(new Error("aborted")));
        },
      });
      return /** @type {any} */ ({ status, body });
    }
    posts.push({ url, body: init.body });
    return /** @type {any} */ ({ status: 204 });
  };
  return { fetch, posts, push: (/** @type {Uint8Array} */ f) => controller?.enqueue(f) };
}

const open = (id = "abc", keepalive = 0) => encodeFrame(KIND.OPEN, new TextEncoder().encode(JSON.stringify({ stream: id, keepalive })));
const close = (code = 1008, reason = "unauthorized") => {
  const r = new TextEncoder().encode(reason);
  const out = new Uint8Array(2 + r.length);
  new DataView(out.buffer).setUint16(0, code);
  out.set(r, 2);
  return encodeFrame(KIND.CLOSE, out);
};

test("HttpStreamSocket: hello in the opening body, messages, input by POST in order, the hub's close code", async () => {
  const f = fakeFetch({ frames: [open("s1"), messageFrame('{"a":1}'), messageFrame(Uint8Array.from([1, 2]))] });
  const ws = new HttpStreamSocket("http://h/b/stream", { fetch: f.fetch });
  /** @type {any[]} */
  const got = [];
  /** @type {any} */
  let closed = null;
  ws.onopen = () => ws.send('{"type":"hello"}');
  ws.onmessage = (ev) => got.push(ev.data);
  ws.onclose = (ev) => (closed = ev);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(ws.readyState, 1);
  assert.deepEqual(f.posts[0].body, messageFrame('{"type":"hello"}'));
  assert.equal(got[0], '{"a":1}');
  assert.ok(got[1] instanceof ArrayBuffer && got[1].byteLength === 2);
  ws.send("one");
  ws.send("two");
  await new Promise((r) => setTimeout(r, 20));
  const inputs = f.posts.slice(1);
  assert.equal(inputs[0].url, "http://h/b/stream/s1");
  const all = new Uint8Array(inputs.flatMap((p) => [...p.body]));
  assert.deepEqual(all, Uint8Array.from([...messageFrame("one"), ...messageFrame("two")]));
  f.push(close(4001, "slow consumer"));
  assert.equal(closed, null);
  ws.close(); // the client's own close wins once called
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(closed.code, 1000);
});

test("HttpStreamSocket: a refused or cut stream closes with 1006, an ended one with its close frame", async () => {
  for (const [options, code] of /** @type {const} */ ([
    [{ status: 403 }, 1006],
    [{ frames: [open()], end: true }, 1006],
    [{ frames: [open(), close(1008, "unauthorized")], end: true }, 1008],
  ])) {
    const f = fakeFetch(options);
    const ws = new HttpStreamSocket("http://h/b/stream", { fetch: f.fetch });
    const ev = await new Promise((r) => (ws.onclose = r));
    assert.equal(/** @type {any} */ (ev).code, code);
  }
});

test("auto: a hub whose WebSocket never opens is reached over streaming HTTP", async () => {
  let attempts = 0;
  class RefusedWebSocket {
    constructor() {
      attempts++;
      this.readyState = 0;
      /** @type {any} */
      this.onclose = null;
      setTimeout(() => this.onclose?.({ code: 1006, reason: "" }), 1);
    }
    close() {}
  }
  const welcome = messageFrame(JSON.stringify({ v: 1, type: "welcome", doc: "main", epoch: "e", seq: 0, session: "c1", resumed: false, title: "", limits: {} }));
  const snapshot = messageFrame(JSON.stringify({ v: 1, type: "snapshot", doc: "main", epoch: "e", seq: 0, title: "", root: null, models: {}, sources: {} }));
  const f = fakeFetch({ frames: [open(), welcome, snapshot] });
  const c = new Connection("http://h/b/d/main", { WebSocket: RefusedWebSocket, fetch: f.fetch, backoff: { initial: 1, max: 2 }, ackInterval: 0 });
  await c.start();
  assert.equal(attempts, 1);
  assert.equal(c.transport, "http");
  assert.equal(c.status, "connected");
  assert.equal(f.posts[0].url, "http://h/b/stream");
  c.close();
  // forced: never the other one
  const forced = new Connection("http://h/b/d/main", { WebSocket: RefusedWebSocket, fetch: f.fetch, transport: "websocket", backoff: { initial: 1, max: 2 }, ackInterval: 0 });
  forced.start();
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(forced.transport, "websocket");
  assert.equal(f.posts.length, 1);
  forced.close();
});
