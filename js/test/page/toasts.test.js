// Toasts and the address's query: the page modules' pure helpers, and the
// state's notify/dev events. The DOM parts run in Chromium
// (tests/browser/test_pages_browser.py, test_dev_browser.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_TOASTS, showFor, toastRole } from "../../src/page/toasts.js";
import { pageQuery, parseQuery, queryModel, sameQuery, withQuery } from "../../src/page/query.js";
import { isFramed } from "../../src/page/nav.js";
import { DocumentState } from "../../src/client/state.js";
import { hello, validate } from "../../src/wire/codec.js";
import { QUERY_LIMITS, queryProblem } from "../../src/wire/messages.js";

test("toast roles: warnings and errors interrupt, the rest is polite", () => {
  assert.equal(toastRole("info"), "status");
  assert.equal(toastRole("success"), "status");
  assert.equal(toastRole("warning"), "alert");
  assert.equal(toastRole("error"), "alert");
  assert.ok(MAX_TOASTS >= 3);
});

test("a live toast shows for its duration, a replayed one for what is left", () => {
  const msg = { duration: 5, time: 10_000 };
  assert.equal(showFor(msg, false, 99_999_999), 5000); // live: the browser's clock does not matter
  assert.equal(showFor(msg, true, 12_000), 3000);
  assert.ok(/** @type {number} */ (showFor(msg, true, 16_000)) <= 0); // expired while away
  assert.equal(showFor({ duration: null, time: 0 }, true, 1e12), null); // until dismissed
});

test("the state reports notifications: replayed during a resume, live after it", () => {
  const state = new DocumentState();
  /** @type {[string, boolean][]} */
  const seen = [];
  state.on("notify", (/** @type {any} */ msg, /** @type {any} */ info) => seen.push([msg.text, info.replayed]));
  /** @type {any[]} */
  const devs = [];
  state.on("dev", (/** @type {any} */ msg) => devs.push(msg.error));
  const welcome = { type: "welcome", doc: "d", epoch: "e", seq: 0, session: "c1", resumed: false, title: "", limits: {} };
  state.apply(welcome);
  state.apply({ type: "snapshot", doc: "d", epoch: "e", seq: 0, models: {}, sources: {}, root: null, title: "" });
  assert.equal(state.apply({ type: "notify", seq: 1, text: "live", level: "info", duration: 5, time: 0 }), "applied");
  assert.equal(state.seq, 1);
  // to this session only: no seq, the replica's seq stays
  state.apply({ type: "notify", text: "mine", level: "info", duration: 5, time: 0 });
  assert.equal(state.seq, 1);
  // a resume replays seq 2 and 3: both are "replayed", the last one too
  state.apply({ ...welcome, seq: 3, resumed: true, session: "c2" });
  state.apply({ type: "notify", seq: 2, text: "missed", level: "info", duration: 5, time: 0 });
  state.apply({ type: "notify", seq: 3, text: "missed too", level: "info", duration: 5, time: 0 });
  assert.ok(state.synced);
  assert.equal(state.apply({ type: "dev", error: { title: "t", text: "x" } }), "info");
  state.apply({ type: "dev", error: null });
  assert.deepEqual(seen, [
    ["live", false],
    ["mine", false],
    ["missed", true],
    ["missed too", true],
  ]);
  assert.deepEqual(devs, [{ title: "t", text: "x" }, null]);
});

test("notify and dev messages are validated like the Python ones", () => {
  const ok = validate({ v: 1, type: "notify", text: "a", level: "warning", duration: 2, time: 1, seq: 4 });
  assert.deepEqual(ok, { v: 1, type: "notify", text: "a", level: "warning", duration: 2, time: 1, seq: 4 });
  for (const bad of [
    { text: "a", level: "fatal" },
    { text: "a", duration: 0 },
    { text: "a", duration: 4000 },
    { text: "x".repeat(2001) },
    { text: 1 },
  ]) {
    assert.throws(() => validate({ v: 1, type: "notify", ...bad }), { code: "bad_message" });
  }
  assert.throws(() => validate({ v: 1, type: "dev", error: { title: "t" } }), { code: "bad_message" });
});

test("the page's query: parsed, bounded, sent in hello only when it can travel", () => {
  assert.deepEqual(parseQuery("?a=1&b=x%20y&a=2"), { a: "2", b: "x y" });
  assert.deepEqual(pageQuery("?view=map"), { view: "map" });
  assert.equal(pageQuery(""), null);
  const many = Array.from({ length: QUERY_LIMITS.params + 1 }, (_, i) => `p${i}=x`).join("&");
  assert.equal(pageQuery(`?${many}`), null);
  assert.equal(pageQuery(`?v=${"x".repeat(QUERY_LIMITS.value + 1)}`), null);
  assert.equal(queryProblem({ a: "1" }), null);
  assert.match(String(queryProblem({ a: 1 })), /strings/);
  assert.match(String(queryProblem({ "a\nb": "1" })), /control/);
  assert.deepEqual(hello({ doc: "d", query: { view: "map" } }).query, { view: "map" });
  assert.equal(hello({ doc: "d", query: {} }).query, undefined);
  assert.throws(() => hello({ doc: "d", query: /** @type {any} */ ({ a: 1 }) }), { code: "invalid_value" });
});

test("the address is rewritten with the query, its fragment kept", () => {
  assert.equal(withQuery("http://h/d/main?old=1#top", { view: "map", q: "a b" }), "http://h/d/main?view=map&q=a+b#top");
  assert.equal(withQuery("http://h/d/main?old=1", {}), "http://h/d/main");
  assert.ok(sameQuery({ a: "1", b: "2" }, { b: "2", a: "1" }));
  assert.ok(!sameQuery({ a: "1" }, { a: "1", b: "2" }));
  const client = {
    models: () => ["m1", "m2"],
    model: (/** @type {string} */ id) => ({ type: id === "m2" ? "Query" : "Column" }),
  };
  assert.equal(queryModel(client), "m2");
});

test("a framed page is one whose top is another window, or unreadable", () => {
  const win = { self: 1, top: 1 };
  assert.equal(isFramed(win), false);
  assert.equal(isFramed({ self: 1, top: 2 }), true);
  const crossOrigin = {
    self: 1,
    get top() {
      throw new Error("blocked");
    },
  };
  assert.equal(isFramed(crossOrigin), true);
});
