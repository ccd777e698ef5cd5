// The connection (client/connection.js, through the public wsbridge.js)
// driven by a fake WebSocket and fake timers: connect, resume, back-off,
// gaps, fatal close codes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, Client, resolveEndpoint, backoffDelay, FATAL_CLOSE_CODES, RESYNC_CLOSE_CODE } from "../../src/wsbridge.js";
import { OFFLINE_AFTER } from "../../src/client/connection.js";
import { encode, decode } from "../../src/wire/codec.js";

/** A WebSocket whose other end is the test. */
class FakeSocket {
  static all = [];
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.binaryType = "blob";
    this.sent = [];
    this.closedWith = null;
    FakeSocket.all.push(this);
  }
  static get last() {
    return FakeSocket.all[FakeSocket.all.length - 1];
  }
  send(frame) {
    if (this.readyState !== 1) throw new Error("not open");
    this.sent.push(frame);
  }
  close(code = 1005, reason = "") {
    this.closedWith = { code, reason };
    this.readyState = 3;
    queueMicrotask(() => this.onclose?.({ code, reason })); // as a browser does, later
  }
  // -- the hub's side
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  deliver(msg) {
    this.onmessage?.({ data: typeof msg === "string" || msg instanceof ArrayBuffer ? msg : encode(msg) });
  }
  drop(code = 1006, reason = "") {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  get messages() {
    return this.sent.map((f) => decode(f));
  }
}

/** Timers that run only when the test says so. */
function fakeTimers() {
  let next = 1;
  const pending = new Map();
  const delays = [];
  return {
    delays,
    pending,
    setTimeout(fn, ms) {
      const id = next++;
      pending.set(id, { fn, ms });
      delays.push(ms);
      return id;
    },
    clearTimeout(id) {
      pending.delete(id);
    },
    runAll() {
      const list = [...pending.entries()];
      pending.clear();
      for (const [, t] of list) t.fn();
      return list.length;
    },
  };
}

const welcome = (seq, { resumed = false, epoch = "e1", session = "c1" } = {}) => ({
  v: 1, type: "welcome", doc: "main", epoch, seq, session, resumed, title: "Main", limits: { max_message_size: 1 << 24 },
});
const snapshot = (seq, { epoch = "e1", value = 1 } = {}) => ({
  v: 1, type: "snapshot", doc: "main", epoch, seq, title: "Main", root: "m1",
  models: {
    m1: { type: "Column", state: { children: ["m2", "m5"] } },
    m2: { type: "Slider", state: { value, min: 0, max: 10, step: 0.5, label: "f", disabled: false } },
    m5: { type: "Button", state: { label: "go", disabled: false } },
  },
  sources: { s1: { data: { x: new Float64Array([0, 1]) } } },
});
const patch = (seq, state, extra = {}) => ({ v: 1, type: "patch", seq, model: "m2", state, ...extra });

function options(extra = {}) {
  const timers = fakeTimers();
  return { timers, opts: { WebSocket: FakeSocket, timers, random: () => 0.5, backoff: { initial: 100, max: 1000 }, ackInterval: 0, ...extra } };
}

/** connect() and play the hub's first answer; resolves to [client, socket, timers]. */
async function connected(extra = {}) {
  FakeSocket.all = [];
  const { timers, opts } = options(extra);
  const pending = connect("http://127.0.0.1:8000/base/d/main", opts);
  const ws = FakeSocket.last;
  ws.open();
  ws.deliver(welcome(10));
  ws.deliver(snapshot(10));
  const client = await pending;
  return { client, ws, timers };
}

const tick = () => new Promise((r) => setImmediate(r));

test("resolveEndpoint: ws endpoint, hub base, dashboard page", () => {
  assert.deepEqual(resolveEndpoint("ws://h:1/x/ws", { doc: "d" }), { endpoint: "ws://h:1/x/ws", doc: "d", token: null });
  assert.deepEqual(resolveEndpoint("http://h:1/base/", { doc: "d" }), { endpoint: "ws://h:1/base/ws", doc: "d", token: null });
  assert.deepEqual(resolveEndpoint("https://h/base", { doc: "d" }), { endpoint: "wss://h/base/ws", doc: "d", token: null });
  assert.deepEqual(resolveEndpoint("http://h:1/base/d/main"), { endpoint: "ws://h:1/base/ws", doc: "main", token: null });
  assert.deepEqual(resolveEndpoint("http://h:1/d/my%20doc/"), { endpoint: "ws://h:1/ws", doc: "my doc", token: null });
  assert.deepEqual(resolveEndpoint("http://h/j/user/x/wsbridge/d/main?token=abc"), { endpoint: "ws://h/j/user/x/wsbridge/ws", doc: "main", token: "abc" });
  assert.equal(resolveEndpoint("http://h/b/d/main", { doc: "other", token: "t" }).doc, "other");
  assert.equal(resolveEndpoint("http://h/b/d/main", { token: "t" }).token, "t");
  assert.throws(() => resolveEndpoint("ws://h/ws"), TypeError);
  assert.throws(() => resolveEndpoint("http://h/"), TypeError);
  assert.throws(() => resolveEndpoint("ftp://h/d/x"), TypeError);
});

test("backoffDelay: exponential with full jitter, capped", () => {
  const b = { initial: 250, max: 10000 };
  assert.equal(backoffDelay(0, b, () => 0.999999), 250 * 0.999999);
  assert.equal(backoffDelay(3, b, () => 0.5), 1000);
  assert.equal(backoffDelay(10, b, () => 0.5), 5000);
  assert.equal(backoffDelay(2000, b, () => 1), 10000);
  assert.equal(backoffDelay(5, b, () => 0), 0);
});

test("connect: hello, welcome, snapshot, then resolved and connected", async () => {
  FakeSocket.all = [];
  const { opts } = options();
  let resolved = false;
  const statuses = [];
  const pending = connect("http://127.0.0.1:8000/base/d/main", { ...opts, token: "t0k" }).then((c) => {
    resolved = true;
    return c;
  });
  const ws = FakeSocket.last;
  assert.equal(ws.url, "ws://127.0.0.1:8000/base/ws");
  assert.equal(ws.binaryType, "arraybuffer");
  ws.open();
  assert.deepEqual(ws.messages, [{ v: 1, type: "hello", doc: "main", token: "t0k" }]);
  ws.deliver(welcome(10));
  await tick();
  assert.equal(resolved, false, "welcome alone is not a state");
  ws.deliver(encode(snapshot(10))); // a real binary frame (ArrayBuffer)
  const client = await pending;
  client.on("status", (s) => statuses.push(s));
  assert.equal(client.status, "connected");
  assert.equal(client.seq, 10);
  assert.equal(client.epoch, "e1");
  assert.equal(client.session, "c1");
  assert.equal(client.doc, "main");
  assert.equal(client.title, "Main");
  assert.equal(client.root, "m1");
  assert.deepEqual(client.models().sort(), ["m1", "m2", "m5"]);
  assert.equal(client.model("m2").get("value"), 1);
  assert.equal(client.model("m2"), client.model("m2"), "one model object per id");
  assert.deepEqual(Array.from(client.source("s1").data.x), [0, 1]);
  assert.equal(client.source("s1").length, 2);
  ws.deliver(patch(11, { value: 2 }));
  assert.equal(client.model("m2").get("value"), 2);
  assert.equal(client.seq, 11);
  client.close();
  assert.deepEqual(statuses, ["closed"]);
  assert.equal(ws.closedWith.code, 1000);
});

test("a per-session document's key goes in every hello", async () => {
  FakeSocket.all = [];
  const { opts, timers } = options();
  const pending = connect("http://127.0.0.1:8000/", { ...opts, doc: "app~x1", key: "k9" });
  const ws = FakeSocket.last;
  ws.open();
  assert.deepEqual(ws.messages, [{ v: 1, type: "hello", doc: "app~x1", key: "k9" }]);
  ws.deliver(welcome(10));
  ws.deliver(encode(snapshot(10)));
  const client = await pending;
  ws.drop(1006);
  timers.runAll();
  FakeSocket.last.open();
  assert.deepEqual(FakeSocket.last.messages, [{ v: 1, type: "hello", doc: "app~x1", key: "k9", epoch: "e1", seq: 10 }]);
  client.close();
});

test("a dropped connection reconnects with back-off and resumes from the log", async () => {
  const { client, ws, timers } = await connected();
  ws.deliver(patch(11, { value: 2 }));
  const statuses = [];
  client.on("status", (s, why) => statuses.push([s, why]));
  ws.drop(1006);
  assert.equal(client.status, "reconnecting");
  assert.deepEqual(timers.delays, [50], "random 0.5 * initial 100");
  assert.equal(FakeSocket.all.length, 1, "no reconnection before the delay");
  timers.runAll();
  const ws2 = FakeSocket.last;
  assert.notEqual(ws2, ws);
  ws2.open();
  assert.deepEqual(ws2.messages, [{ v: 1, type: "hello", doc: "main", epoch: "e1", seq: 11 }]);
  ws2.deliver(welcome(13, { resumed: true, session: "c2" }));
  assert.equal(client.status, "reconnecting", "not in sync before the replay");
  ws2.deliver(patch(12, { value: 3 }));
  ws2.deliver(patch(13, { value: 4 }));
  assert.equal(client.status, "connected");
  assert.equal(client.seq, 13);
  assert.equal(client.session, "c2");
  assert.equal(client.model("m2").get("value"), 4);
  assert.deepEqual(statuses.map((s) => s[0]), ["reconnecting", "connected"]);
  client.close();
});

test("a hub unreachable past a few attempts is offline, then connected again", async () => {
  const { client, ws, timers } = await connected();
  const statuses = [];
  client.on("status", (s) => statuses.push(s));
  ws.drop(1006);
  for (let i = 0; i < OFFLINE_AFTER; i++) {
    timers.runAll();
    FakeSocket.last.drop(1006); // refused: nothing listens
  }
  assert.equal(client.status, "offline");
  timers.runAll();
  const back = FakeSocket.last;
  back.open();
  back.deliver({ ...welcome(0), epoch: "e2" });
  back.deliver({ ...snapshot(0), epoch: "e2" });
  assert.equal(client.status, "connected");
  assert.deepEqual([...new Set(statuses)], ["reconnecting", "offline", "connected"]);
  client.close();
});

test("resume with nothing missed is in sync at welcome", async () => {
  const { client, ws, timers } = await connected();
  ws.drop(1001, "hub stopping");
  assert.equal(client.reason, "hub stopping");
  timers.runAll();
  FakeSocket.last.open();
  FakeSocket.last.deliver(welcome(10, { resumed: true, session: "c3" }));
  assert.equal(client.status, "connected");
  client.close();
});

test("a resumption answered with a snapshot replaces the state", async () => {
  const { client, ws, timers } = await connected();
  let snapshots = 0;
  client.on("snapshot", () => snapshots++);
  ws.drop(4001, "slow consumer");
  assert.equal(client.status, "reconnecting");
  timers.runAll();
  const ws2 = FakeSocket.last;
  ws2.open();
  ws2.deliver(welcome(3, { resumed: false, epoch: "e2" }));
  ws2.deliver(patch(4, { value: 9 })); // nothing applies before the snapshot
  assert.equal(client.seq, 10);
  ws2.deliver(snapshot(3, { epoch: "e2", value: 7 }));
  assert.equal(client.status, "connected");
  assert.equal(client.epoch, "e2");
  assert.equal(client.seq, 3);
  assert.equal(client.model("m2").get("value"), 7);
  assert.equal(snapshots, 1);
  client.close();
});

test("back-off grows exponentially and resets after a successful sync", async () => {
  const { client, ws, timers } = await connected({ random: () => 1 });
  ws.drop(1006);
  for (let i = 0; i < 6; i++) {
    timers.runAll();
    FakeSocket.last.drop(1006); // refused before open
  }
  assert.deepEqual(timers.delays, [100, 200, 400, 800, 1000, 1000, 1000]);
  timers.runAll();
  const ws2 = FakeSocket.last;
  ws2.open();
  ws2.deliver(welcome(10, { resumed: true }));
  assert.equal(client.status, "connected");
  ws2.drop(1006);
  assert.equal(timers.delays.at(-1), 100, "attempts reset after a sync");
  client.close();
  assert.equal(timers.pending.size, 0, "close cancels the pending reconnection");
  assert.equal(timers.runAll(), 0);
});

test("a seq gap closes the connection and resumes", async () => {
  const { client, ws, timers } = await connected();
  ws.deliver(patch(11, { value: 2 }));
  ws.deliver(patch(13, { value: 9 }));
  assert.deepEqual(ws.closedWith, { code: 4000, reason: "seq gap" });
  assert.equal(client.status, "reconnecting");
  assert.equal(client.model("m2").get("value"), 2, "nothing after the gap applied");
  await tick(); // the old socket's late close event is ignored
  assert.equal(timers.pending.size, 1);
  ws.deliver(patch(12, { value: 5 }));
  assert.equal(client.seq, 11, "frames from the old socket are ignored");
  timers.runAll();
  const ws2 = FakeSocket.last;
  ws2.open();
  assert.deepEqual(ws2.messages[0], { v: 1, type: "hello", doc: "main", epoch: "e1", seq: 11 });
  ws2.deliver(welcome(13, { resumed: true }));
  ws2.deliver(patch(12, { value: 8 }));
  ws2.deliver(patch(13, { value: 9 }));
  assert.equal(client.status, "connected");
  assert.equal(client.model("m2").get("value"), 9);
  client.close();
});

test("close codes 1008 and 1002 are fatal", async () => {
  assert.deepEqual([...FATAL_CLOSE_CODES].sort(), [1002, 1008]);
  for (const code of [1008, 1002]) {
    const { client, ws, timers } = await connected();
    const warn = console.warn;
    console.warn = () => {};
    try {
      ws.deliver({ v: 1, type: "error", seq: 10, code: "rate_limited", message: "too many messages" });
      ws.drop(code, "policy");
    } finally {
      console.warn = warn;
    }
    assert.equal(client.status, "closed");
    assert.match(client.reason, /too many messages/);
    assert.equal(timers.pending.size, 0, "no reconnection");
    assert.equal(FakeSocket.all.length, 1);
  }
});

test("a refused first connection rejects connect() with the hub's reason", async () => {
  FakeSocket.all = [];
  const { timers, opts } = options();
  const pending = connect("ws://127.0.0.1:8000/ws", { ...opts, doc: "nope" });
  const ws = FakeSocket.last;
  ws.open();
  const warn = console.warn;
  const warnings = [];
  console.warn = (...a) => warnings.push(a.join(" "));
  try {
    ws.deliver({ v: 1, type: "error", seq: 0, code: "unknown_document", message: "no document 'nope'" });
    ws.drop(1008, "");
  } finally {
    console.warn = warn;
  }
  await assert.rejects(pending, (err) => {
    assert.match(err.message, /unknown_document: no document 'nope'/);
    assert.equal(err.client.status, "closed");
    return true;
  });
  assert.equal(warnings.length, 1);
  assert.equal(timers.pending.size, 0);
});

test("connection failures before the first state are retried; connect() waits", async () => {
  FakeSocket.all = [];
  const { timers, opts } = options();
  let done = false;
  const pending = connect("http://h/", { ...opts, doc: "main" }).then((c) => ((done = true), c));
  FakeSocket.last.drop(1006);
  timers.runAll();
  FakeSocket.last.drop(1006);
  timers.runAll();
  await tick();
  assert.equal(done, false);
  const ws = FakeSocket.last;
  assert.equal(FakeSocket.all.length, 3);
  ws.open();
  assert.deepEqual(ws.messages, [{ v: 1, type: "hello", doc: "main" }], "no resume point yet");
  ws.deliver(welcome(1));
  ws.deliver(snapshot(1));
  const client = await pending;
  assert.equal(client.status, "connected");
  client.close();
});

test("hub errors: an 'error' event each, console.warn once", async () => {
  const { client, ws } = await connected();
  const errors = [];
  client.on("error", (e) => errors.push(e.code));
  const warn = console.warn;
  const warnings = [];
  console.warn = (...a) => warnings.push(a.join(" "));
  try {
    const err = { v: 1, type: "error", seq: 10, code: "invalid_value", message: "bad", ref: { type: "set", model: "m2", req: 1 } };
    ws.deliver(err);
    ws.deliver(err);
    ws.deliver({ ...err, code: "read_only", message: "m2.min cannot be set by a client" });
  } finally {
    console.warn = warn;
  }
  assert.deepEqual(errors, ["invalid_value", "invalid_value", "read_only"]);
  assert.equal(warnings.length, 2);
  assert.equal(client.status, "connected", "errors keep the connection");
  client.close();
});

test("'message' events and unreadable frames", async () => {
  const { client, ws } = await connected();
  const types = [];
  client.on("message", (m) => types.push(m.type));
  ws.deliver(patch(11, { value: 2 }));
  const warn = console.warn;
  console.warn = () => {};
  try {
    ws.deliver('{"v":1,"type":'); // dropped
    ws.deliver('{"v":1,"type":"teleport"}'); // dropped
  } finally {
    console.warn = warn;
  }
  ws.deliver(patch(12, { value: 3 }));
  assert.deepEqual(types, ["patch", "patch"]);
  assert.equal(client.status, "connected");
  client.close();
});

test("sets: req increases, echoes are filtered, queued while reconnecting", async () => {
  const { client, ws, timers } = await connected();
  const m = client.model("m2");
  m.set("value", 2);
  m.save_changes();
  m.set("value", 3);
  m.save_changes();
  const sets = ws.messages.filter((x) => x.type === "set");
  assert.deepEqual(sets.map((s) => [s.req, s.state.value]), [[1, 2], [2, 3]]);
  ws.deliver(patch(11, { value: 2 }, { origin: { session: "c1", req: 1 } }));
  assert.equal(m.get("value"), 3, "stale echo ignored");
  ws.deliver(patch(12, { value: 3 }, { origin: { session: "c1", req: 2 } }));
  assert.equal(m.get("value"), 3);
  // while reconnecting, sets wait; events are dropped
  ws.drop(1006);
  m.set("value", 6);
  m.save_changes();
  const warn = console.warn;
  console.warn = () => {};
  try {
    assert.equal(client.event("m5", "click"), false);
    assert.equal(m.send({ k: 1 }), false);
  } finally {
    console.warn = warn;
  }
  timers.runAll();
  const ws2 = FakeSocket.last;
  ws2.open();
  ws2.deliver(welcome(12, { resumed: true, session: "c2" }));
  const after = ws2.messages;
  assert.deepEqual(after.map((x) => x.type), ["hello", "set"]);
  assert.equal(after[1].req, 3);
  assert.deepEqual(after[1].state, { value: 6 });
  // an event and a custom message when connected
  assert.equal(client.event("m5", "click"), true);
  assert.equal(m.send({ k: 1 }, null, [new Float64Array([1.5])]), true);
  const last = ws2.sent.at(-1);
  assert.ok(last instanceof ArrayBuffer, "custom with buffers is a binary frame");
  assert.equal(decode(last).buffers[0][0], 1.5);
  assert.deepEqual(decode(ws2.sent.at(-2)), { v: 1, type: "event", model: "m5", name: "click", data: null });
  client.close();
});

test("acks: after sync, then at most once per interval", async () => {
  const { client, ws, timers } = await connected({ ackInterval: 500 });
  assert.deepEqual(ws.messages.filter((m) => m.type === "ack"), [{ v: 1, type: "ack", seq: 10 }]);
  ws.deliver(patch(11, { value: 2 }));
  ws.deliver(patch(12, { value: 3 }));
  assert.equal(timers.pending.size, 1, "one ack timer for many messages");
  timers.runAll();
  assert.deepEqual(ws.messages.filter((m) => m.type === "ack").map((m) => m.seq), [10, 12]);
  client.close();
});

test("an oversized message is refused locally", async () => {
  const { client, ws } = await connected();
  client.state.limits = { max_message_size: 64 };
  const warn = console.warn;
  console.warn = () => {};
  try {
    assert.equal(client.model("m2").send({ big: "x".repeat(100) }), false);
  } finally {
    console.warn = warn;
  }
  assert.equal(ws.messages.filter((m) => m.type === "custom").length, 0);
  client.close();
});

test("Client can be created first, watched, then started", async () => {
  FakeSocket.all = [];
  const { opts } = options();
  const client = new Client("http://h/b/d/main", opts);
  const statuses = [];
  client.on("status", (s) => statuses.push(s));
  assert.equal(client.status, "connecting");
  assert.equal(FakeSocket.all.length, 0, "nothing opened before start()");
  const ready = client.start();
  assert.equal(client.start(), ready, "start is idempotent");
  assert.equal(FakeSocket.all.length, 1);
  FakeSocket.last.open();
  FakeSocket.last.deliver(welcome(1));
  FakeSocket.last.deliver(snapshot(1));
  assert.equal(await ready, client);
  assert.deepEqual(statuses, ["connected"]);
  client.close();
  // closing before the first state rejects `ready`
  const early = new Client("http://h/b/d/x", opts);
  const earlyReady = early.start();
  early.close();
  await assert.rejects(earlyReady, /closed before it connected/);
  assert.equal(early.status, "closed");
});

test("no WebSocket implementation is a clear failure", async () => {
  await assert.rejects(connect("http://h/b/d/main", { WebSocket: "none", ackInterval: 0 }), /no WebSocket implementation/);
});

test("producer_gone marks the client stale until the recreated document's snapshot", async () => {
  const { statusText } = await import("../../src/page/status.js");
  const { client, ws } = await connected();
  const statuses = [];
  client.on("status", (s, why) => statuses.push([s, why]));
  const warn = console.warn;
  console.warn = () => {};
  try {
    ws.deliver({ v: 1, type: "error", seq: 10, code: "producer_gone", message: "the kernel is gone" });
  } finally {
    console.warn = warn;
  }
  assert.equal(client.status, "stale");
  assert.match(statusText(client.status, client.reason), /has stopped; waiting for it to come back/);
  assert.equal(client.reason, "the kernel is gone");
  assert.equal(client.model("m2").get("value"), snapshot(10).models.m2.state.value, "last state kept");
  ws.deliver({ ...welcome(0), epoch: "e2" });
  ws.deliver({ ...snapshot(0), epoch: "e2" });
  assert.equal(client.status, "connected");
  assert.deepEqual(statuses.map((s) => s[0]), ["stale", "connected"]);
  client.close();
});

// -- several hubs (a list of URLs): failover, round-robin

const HUB_A = "http://127.0.0.1:8000/base/d/main";
const HUB_B = "http://127.0.0.1:8001/base/";
const WS_A = "ws://127.0.0.1:8000/base/ws";
const WS_B = "ws://127.0.0.1:8001/base/ws";

/** connect([A, B]) and play hub A's answer on the first socket */
async function connectedToA(extra = {}) {
  FakeSocket.all = [];
  const { timers, opts } = options(extra);
  const pending = connect([HUB_A, HUB_B], opts);
  const ws = FakeSocket.last;
  assert.equal(ws.url, WS_A);
  ws.open();
  ws.deliver(welcome(10));
  ws.deliver(snapshot(10));
  const client = await pending;
  return { client, ws, timers };
}

test("several URLs: endpoint and endpoints", () => {
  const client = new Client([HUB_A, HUB_B, "ws://127.0.0.1:8000/base/ws"], { WebSocket: FakeSocket });
  assert.deepEqual(client.endpoints, [WS_A, WS_B], "resolved, duplicates once");
  assert.ok(Object.isFrozen(client.endpoints));
  assert.equal(client.endpoint, WS_A);
  assert.equal(client.doc, "main");
  assert.throws(() => new Client([HUB_A, "http://127.0.0.1:8001/base/d/other"]), /same document/);
});

test("several URLs: the first refuses, the second is used", async () => {
  FakeSocket.all = [];
  const { timers, opts } = options();
  const pending = connect([HUB_A, HUB_B], { ...opts, token: "t0k" });
  assert.equal(FakeSocket.last.url, WS_A);
  FakeSocket.last.drop(1006); // refused before open
  assert.deepEqual(timers.delays, [50], "one short jittered delay: random 0.5 * initial 100");
  assert.equal(timers.runAll(), 1);
  const ws = FakeSocket.last;
  assert.equal(ws.url, WS_B);
  ws.open();
  assert.deepEqual(ws.messages, [{ v: 1, type: "hello", doc: "main", token: "t0k" }], "no resume point yet");
  ws.deliver(welcome(10));
  ws.deliver(snapshot(10));
  const client = await pending;
  assert.equal(client.status, "connected");
  assert.equal(client.endpoint, WS_B);
  client.close();
});

test("several URLs: a drop on the second goes back to the first, resuming from the same epoch and seq", async () => {
  const { client, ws, timers } = await connectedToA();
  ws.drop(1001, "hub stopping");
  assert.equal(client.endpoint, WS_B, "the next hub");
  timers.runAll();
  const wsB = FakeSocket.last;
  assert.equal(wsB.url, WS_B);
  wsB.open();
  assert.deepEqual(wsB.messages, [{ v: 1, type: "hello", doc: "main", epoch: "e1", seq: 10 }]);
  // B shares A's log (same epoch): an exact replay
  wsB.deliver(welcome(12, { resumed: true, session: "b1" }));
  wsB.deliver(patch(11, { value: 2 }));
  wsB.deliver(patch(12, { value: 3 }));
  assert.equal(client.status, "connected");
  assert.equal(client.seq, 12);
  wsB.drop(1006);
  assert.equal(client.endpoint, WS_A, "round-robin: back to the first");
  timers.runAll();
  const wsA = FakeSocket.last;
  assert.equal(wsA.url, WS_A);
  wsA.open();
  assert.deepEqual(wsA.messages, [{ v: 1, type: "hello", doc: "main", epoch: "e1", seq: 12 }], "B's seq, carried to A");
  // A restarted meanwhile (another epoch): a snapshot replaces the state
  wsA.deliver(welcome(2, { epoch: "e2", session: "a2" }));
  wsA.deliver(snapshot(2, { epoch: "e2", value: 7 }));
  assert.equal(client.status, "connected");
  assert.equal(client.epoch, "e2");
  assert.equal(client.model("m2").get("value"), 7);
  client.close();
});

test("several URLs: sets made while failing over are sent to the next hub", async () => {
  const { client, ws, timers } = await connectedToA();
  ws.drop(1006);
  client.model("m2").set("value", 6);
  client.model("m2").save_changes();
  timers.runAll();
  const wsB = FakeSocket.last;
  assert.equal(wsB.url, WS_B);
  wsB.open();
  wsB.deliver(welcome(10, { resumed: true, session: "b1" }));
  assert.deepEqual(wsB.messages.map((m) => m.type), ["hello", "set"]);
  assert.deepEqual(wsB.messages[1].state, { value: 6 });
  client.close();
});

test("several URLs: a fatal close code on any hub stops the rotation", async () => {
  const { client, ws, timers } = await connectedToA();
  ws.drop(1006);
  timers.runAll();
  const wsB = FakeSocket.last;
  wsB.open();
  const warn = console.warn;
  console.warn = () => {};
  try {
    wsB.deliver({ v: 1, type: "error", seq: 0, code: "unauthorized", message: "a valid token is required" });
    wsB.drop(1008, "");
  } finally {
    console.warn = warn;
  }
  assert.equal(client.status, "closed");
  assert.match(client.reason, /a valid token is required/);
  assert.equal(timers.pending.size, 0, "no reconnection");
  assert.equal(FakeSocket.all.length, 2, "A is not tried again");
});

test("several URLs: back-off grows per full cycle, every hub tried in turn", async () => {
  const { client, ws, timers } = await connectedToA({ random: () => 1 });
  ws.drop(1006);
  for (let i = 0; i < 6; i++) {
    timers.runAll();
    FakeSocket.last.drop(1006);
  }
  assert.deepEqual(timers.delays, [100, 100, 200, 200, 400, 400, 800]);
  assert.deepEqual(FakeSocket.all.map((s) => (s.url === WS_A ? "A" : "B")), ["A", "B", "A", "B", "A", "B", "A"]);
  timers.runAll();
  const wsB = FakeSocket.last;
  assert.equal(wsB.url, WS_B);
  wsB.open();
  wsB.deliver(welcome(10, { resumed: true }));
  wsB.drop(1006);
  assert.equal(timers.delays.at(-1), 100, "failures reset after a sync");
  client.close();
});

test("several URLs: a seq gap resumes on the same hub; close() does not rotate", async () => {
  const { client, ws, timers } = await connectedToA();
  ws.deliver(patch(12, { value: 9 })); // a gap: we close with 4000
  assert.equal(ws.closedWith.code, RESYNC_CLOSE_CODE);
  await tick();
  assert.equal(client.endpoint, WS_A, "the hub is alive: its log replays the gap");
  timers.runAll();
  assert.equal(FakeSocket.last.url, WS_A);
  FakeSocket.last.open();
  FakeSocket.last.deliver(welcome(10, { resumed: true }));
  client.close();
  await tick();
  assert.equal(client.endpoint, WS_A);
  assert.equal(timers.pending.size, 0);
});
