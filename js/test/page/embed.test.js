// The size reporting of a framed dashboard page (the real frame and its
// parent are exercised in Chromium by tests/test_embed_browser.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import { contentHeight, parentOrigin, reportSize, sizeMessage } from "../../src/page/embed.js";

test("sizeMessage: whole non-negative pixels", () => {
  assert.deepEqual(sizeMessage(120.2), { wsbridge: "size", height: 121 });
  assert.deepEqual(sizeMessage(-5), { wsbridge: "size", height: 0 });
});

test("parentOrigin: the embedding origin when the browser says it, else *", () => {
  assert.equal(parentOrigin(["http://127.0.0.1:8888"], ""), "http://127.0.0.1:8888");
  assert.equal(parentOrigin([], "http://localhost:8888/lab/tree/a.ipynb"), "http://localhost:8888");
  assert.equal(parentOrigin(undefined, "https://hub.example/user/x/lab"), "https://hub.example");
  // an opaque origin ("null": a sandboxed or about:blank parent) cannot be targeted
  assert.equal(parentOrigin(["null"], ""), "*");
  assert.equal(parentOrigin(null, "not a url"), "*");
  assert.equal(parentOrigin(null, ""), "*");
});

test("contentHeight: the body's margin box bottom in document coordinates", () => {
  assert.equal(contentHeight({ bottom: 200.4 }, 0, 0), 201);
  assert.equal(contentHeight({ bottom: 150 }, 50, 8), 208); // scrolled by 50, 8px margin
  assert.equal(contentHeight({ bottom: 10 }, 0, NaN), 10);
});

function fakeWindow({ framed = true, bottom = 100, ancestor = "http://127.0.0.1:8888" } = {}) {
  const posted = [];
  const body = { rect: { bottom }, getBoundingClientRect() { return this.rect; } };
  const win = {
    document: { body, referrer: "" },
    location: { ancestorOrigins: [ancestor] },
    scrollY: 0,
    getComputedStyle: () => ({ marginBottom: "0px" }),
  };
  win.parent = framed ? { postMessage: (msg, origin) => posted.push([msg, origin]) } : win;
  return { win, body, posted };
}

class FakeObserver {
  static last = null;
  constructor(cb) {
    this.cb = cb;
    this.observed = [];
    this.disconnected = false;
    FakeObserver.last = this;
  }
  observe(el) {
    this.observed.push(el);
  }
  disconnect() {
    this.disconnected = true;
  }
}

test("reportSize: posts the height now and on each change, to the parent's origin", () => {
  const { win, body, posted } = fakeWindow();
  const handle = reportSize({ window: win, ResizeObserver: FakeObserver });
  const observer = FakeObserver.last;
  assert.deepEqual(observer.observed, [body]);
  assert.deepEqual(posted, [[{ wsbridge: "size", height: 100 }, "http://127.0.0.1:8888"]]);
  observer.cb(); // same size: nothing new
  assert.equal(posted.length, 1);
  body.rect = { bottom: 340 };
  observer.cb();
  body.rect = { bottom: 90 }; // shrinks too
  observer.cb();
  assert.deepEqual(
    posted.map(([m]) => m.height),
    [100, 340, 90],
  );
  handle.destroy();
  assert.equal(observer.disconnected, true);
});

test("reportSize: a page that is not framed posts nothing", () => {
  const { win, posted } = fakeWindow({ framed: false });
  FakeObserver.last = null;
  reportSize({ window: win, ResizeObserver: FakeObserver }).destroy();
  assert.equal(FakeObserver.last, null);
  assert.deepEqual(posted, []);
});
