// The pure parts of custom widgets (anywidget.js): module-shape
// normalisation, the per-text module cache, buffers as DataViews, and the
// model proxy that removes a widget's listeners with it. Rendering itself is
// exercised in Chromium (tests/test_custom_browser.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import { ModuleCache, toDataViews, widgetFromModule, widgetModel } from "../../src/views/anywidget.js";
import { Emitter } from "../../src/client/events.js";

test("every module shape anywidget accepts gives render/initialize", async () => {
  const render = () => {};
  const initialize = () => {};
  const objectDefault = await widgetFromModule({ default: { render, initialize } });
  assert.equal(typeof objectDefault.render, "function");
  assert.equal(typeof objectDefault.initialize, "function");

  const factory = await widgetFromModule({ default: () => ({ render }) });
  assert.equal(typeof factory.render, "function");
  assert.equal(factory.initialize, undefined);

  const asyncFactory = await widgetFromModule({ default: async () => ({ initialize }) });
  assert.equal(asyncFactory.render, undefined);
  assert.equal(typeof asyncFactory.initialize, "function");

  const named = await widgetFromModule({ render });
  assert.equal(typeof named.render, "function");

  // methods keep their `this` (a default object with helper methods)
  const obj = { n: 3, render() { return this.n; } };
  assert.equal((await widgetFromModule({ default: obj })).render({}), 3);

  await assert.rejects(widgetFromModule({ x: 1 }), /neither render nor initialize/);
  await assert.rejects(widgetFromModule({ default: () => null }), /neither render nor initialize/);
});

test("ModuleCache imports each module text once and retries failures", async () => {
  const imported = [];
  let fail = true;
  const cache = new ModuleCache(async (text) => {
    imported.push(text);
    if (text === "bad" && fail) throw new SyntaxError("nope");
    return { default: { render() {} } };
  });
  const [a, b] = await Promise.all([cache.load("m1"), cache.load("m1")]);
  assert.equal(a, b);
  await cache.load("m2");
  assert.deepEqual(imported, ["m1", "m2"]);
  await assert.rejects(cache.load("bad"), /nope/);
  fail = false;
  await cache.load("bad");
  assert.deepEqual(imported, ["m1", "m2", "bad", "bad"]);
  assert.equal(cache.size, 3);
});

test("toDataViews copies each buffer to its own ArrayBuffer at offset 0", () => {
  const frame = new ArrayBuffer(32);
  const xs = new Float64Array(frame, 8, 2);
  xs.set([1.5, -2]);
  const [dv] = toDataViews([xs]);
  assert.ok(dv instanceof DataView);
  assert.equal(dv.byteOffset, 0);
  assert.equal(dv.buffer.byteLength, 16);
  assert.deepEqual(Array.from(new Float64Array(dv.buffer)), [1.5, -2]);
  xs[0] = 99; // a copy: the frame may be reused
  assert.equal(dv.getFloat64(0, true), 1.5);
  assert.deepEqual(toDataViews(undefined), []);
});

class FakeModel extends Emitter {
  constructor() {
    super();
    this.id = "m1";
    this.state = new Map([["value", 1]]);
    this.sent = [];
    this.saved = 0;
    this.widget_manager = {};
  }
  get(name) {
    return this.state.get(name);
  }
  set(name, value) {
    this.state.set(name, value);
  }
  save_changes() {
    this.saved++;
  }
  send(content, callbacks, buffers) {
    this.sent.push([content, buffers]);
    return true;
  }
}

test("widgetModel: anywidget's API, DataView buffers, listeners removed on dispose", () => {
  const inner = new FakeModel();
  const { model, dispose, count } = widgetModel(inner);
  assert.equal(model.id, "m1");
  model.set("value", 2);
  model.save_changes();
  assert.equal(model.get("value"), 2);
  assert.equal(inner.saved, 1);
  model.send({ a: 1 }, null, [new Uint8Array([1])]);
  assert.equal(inner.sent.length, 1);

  const changes = [];
  const customs = [];
  const onChange = () => changes.push(inner.get("value"));
  model.on("change:value", onChange);
  model.on("msg:custom", (content, buffers) => customs.push([content, buffers]));
  inner.emit("change:value", inner, 3);
  inner.emit("msg:custom", { k: 1 }, [new Int32Array([7])]);
  assert.deepEqual(changes, [2]);
  assert.equal(customs.length, 1);
  assert.ok(customs[0][1][0] instanceof DataView);
  assert.equal(customs[0][1][0].getInt32(0, true), 7);

  model.off("change:value", onChange);
  inner.emit("change:value", inner, 4);
  assert.equal(changes.length, 1, "off removes the listener");
  assert.equal(count(), 1);
  dispose();
  inner.emit("msg:custom", { k: 2 }, []);
  assert.equal(customs.length, 1, "dispose removes the widget's listeners");
  assert.equal(count(), 0);
});
