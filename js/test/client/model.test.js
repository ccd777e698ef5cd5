// The anywidget model interface and the echo rule of docs/protocol.md "patch".
import { test } from "node:test";
import assert from "node:assert/strict";
import { DocumentState } from "../../src/client/state.js";
import { Model, EchoGuard } from "../../src/client/model.js";

/** A host like the client: a replica with the guard as patch filter, recording sends. */
function host(session = "c1") {
  const guard = new EchoGuard();
  const state = new DocumentState({ filterPatch: (msg) => guard.filter(msg) });
  const sent = [];
  let req = 0;
  const models = new Map();
  const h = {
    state,
    guard,
    sent,
    sendSet(model, st) {
      const r = ++req;
      guard.sent(model, Object.keys(st), r);
      sent.push({ type: "set", model, state: st, req: r });
    },
    sendCustom(model, content, buffers) {
      sent.push({ type: "custom", model, content, buffers });
      return true;
    },
    model(id) {
      if (!models.has(id)) models.set(id, new Model(id, h));
      return models.get(id);
    },
  };
  state.on("welcome", (w) => guard.reset(w.session));
  state.apply({ v: 1, type: "welcome", doc: "d", epoch: "e", seq: 1, session, resumed: false, title: "", limits: {} });
  state.apply({
    v: 1, type: "snapshot", doc: "d", epoch: "e", seq: 1, title: "", root: "m1",
    models: { m1: { type: "Slider", state: { value: 1, label: "f" } }, m2: { type: "Label", state: { value: "x" } } },
    sources: {},
  });
  return h;
}

let seq = 1;
const patch = (h, state, origin, extra = {}) => {
  seq = h.state.seq + 1;
  return h.state.apply({ v: 1, type: "patch", seq, model: "m1", state, ...(origin ? { origin } : {}), ...extra });
};

test("get, set (local, with events) and save_changes (one set, increasing req)", () => {
  const h = host();
  const m = h.model("m1");
  assert.equal(m.id, "m1");
  assert.equal(m.type, "Slider");
  assert.equal(m.get("value"), 1);
  const events = [];
  m.on("change:value", (model, value) => events.push(["change:value", model === m, value]));
  m.on("change", (model) => events.push(["change", model === m]));
  m.set("value", 2);
  assert.equal(m.get("value"), 2, "set applies locally at once");
  assert.deepEqual(events, [["change:value", true, 2], ["change", true]]);
  assert.equal(h.sent.length, 0, "nothing sent before save_changes");
  m.set({ value: 3, label: "g" });
  m.save_changes();
  assert.deepEqual(h.sent, [{ type: "set", model: "m1", state: { value: 3, label: "g" }, req: 1 }]);
  m.save_changes();
  assert.equal(h.sent.length, 1, "nothing pending, nothing sent");
  m.set("value", 4);
  m.save_changes();
  assert.equal(h.sent[1].req, 2);
  assert.deepEqual(m.attributes, { value: 4, label: "g" });
});

test("an older echo of my own set does not overwrite the value I set since", () => {
  const h = host("c1");
  const m = h.model("m1");
  const seen = [];
  m.on("change:value", (_m, v) => seen.push(v));
  m.set("value", 2); m.save_changes(); // req 1
  m.set("value", 3); m.save_changes(); // req 2
  m.set("value", 4); m.save_changes(); // req 3
  seen.length = 0;
  patch(h, { value: 2 }, { session: "c1", req: 1 });
  patch(h, { value: 3 }, { session: "c1", req: 2 });
  assert.equal(m.get("value"), 4, "stale echoes ignored");
  assert.deepEqual(seen, []);
  patch(h, { value: 4.5 }, { session: "c1", req: 3 }); // the latest echo (canonicalised) wins
  assert.equal(m.get("value"), 4.5);
  assert.deepEqual(seen, [4.5]);
  assert.equal(h.guard.pending("m1", "value"), false, "the latest echo clears the entry");
  // from now on my session's patches apply like any others
  patch(h, { value: 5 }, { session: "c1", req: 1 });
  assert.equal(m.get("value"), 5);
});

test("only the properties of the newer set are protected", () => {
  const h = host("c1");
  const m = h.model("m1");
  m.set({ value: 2, label: "a" }); m.save_changes(); // req 1: value + label
  m.set("value", 3); m.save_changes(); // req 2: value only
  patch(h, { value: 2, label: "A" }, { session: "c1", req: 1 });
  assert.equal(m.get("value"), 3, "value: a newer set is in flight");
  assert.equal(m.get("label"), "A", "label: req 1 was the latest set of it");
});

test("patches from other sessions and without origin always apply", () => {
  const h = host("c1");
  const m = h.model("m1");
  m.set("value", 2); m.save_changes(); // req 1
  m.set("value", 3); m.save_changes(); // req 2
  patch(h, { value: 7 }, { session: "c2", req: 99 });
  assert.equal(m.get("value"), 7, "another browser's change applies");
  patch(h, { value: 8 });
  assert.equal(m.get("value"), 8, "Python's change applies");
  patch(h, { value: 2 }, { session: "c1", req: 1 });
  assert.equal(m.get("value"), 8, "my stale echo still does not");
  patch(h, { value: 3 }, { session: "c1", req: 2 });
  assert.equal(m.get("value"), 3, "my last echo arrives and wins");
});

test("a reply patch (refused set) restores the canonical value", () => {
  const h = host("c1");
  const m = h.model("m1");
  m.set("value", -5); m.save_changes();
  const s = h.state.seq;
  assert.equal(h.state.apply({ v: 1, type: "patch", seq: s, model: "m1", state: { value: 1 }, reply: true }), "applied");
  assert.equal(m.get("value"), 1);
  assert.equal(h.state.seq, s);
});

test("a new session (reconnection) forgets the old in-flight sets", () => {
  const h = host("c1");
  const m = h.model("m1");
  m.set("value", 2); m.save_changes();
  m.set("value", 3); m.save_changes();
  h.state.apply({ v: 1, type: "welcome", doc: "d", epoch: "e", seq: h.state.seq, session: "c2", resumed: true, title: "", limits: {} });
  assert.equal(h.guard.session, "c2");
  assert.equal(h.guard.pending("m1", "value"), false);
  patch(h, { value: 2 }, { session: "c1", req: 1 });
  assert.equal(m.get("value"), 2, "the old session's patches are ordinary history now");
});

test("on/off/once follow Backbone", () => {
  const h = host();
  const m = h.model("m1");
  let a = 0;
  let b = 0;
  let once = 0;
  const fa = () => a++;
  const fb = () => b++;
  m.on("change:value", fa);
  m.on("change:label", fb);
  m.once("change", () => once++);
  patch(h, { value: 10 });
  patch(h, { value: 11, label: "z" });
  assert.deepEqual([a, b, once], [2, 1, 1]);
  m.off("change:value", fa);
  patch(h, { value: 12 });
  assert.equal(a, 2);
  m.off(undefined, fb);
  patch(h, { label: "y" });
  assert.equal(b, 1);
  m.on("change:value", fa);
  m.off();
  patch(h, { value: 13 });
  assert.equal(a, 2);
});

test("msg:custom and send", () => {
  const h = host();
  const m = h.model("m1");
  const got = [];
  m.on("msg:custom", (content, buffers) => got.push([content, buffers]));
  const buf = new Uint8Array([1]);
  h.state.apply({ v: 1, type: "custom", seq: h.state.seq + 1, model: "m1", content: { kind: "reset" }, buffers: [buf] });
  h.state.apply({ v: 1, type: "custom", seq: h.state.seq + 1, model: "m2", content: "not mine", buffers: [] });
  assert.deepEqual(got, [[{ kind: "reset" }, [buf]]]);
  assert.equal(m.send({ at: [3, 4] }, { iopub: {} }, [new ArrayBuffer(2)]), true);
  assert.equal(h.sent[0].type, "custom");
  assert.deepEqual(h.sent[0].content, { at: [3, 4] });
  assert.equal(h.sent[0].buffers.length, 1);
});

test("widget_manager.get_model resolves references", async () => {
  const h = host();
  const m = h.model("m1");
  const other = await m.widget_manager.get_model("m2");
  assert.equal(other.get("value"), "x");
  assert.equal(other, h.model("m2"));
});

test("a model not (yet) in the document", () => {
  const h = host();
  const m = h.model("ghost");
  assert.equal(m.type, undefined);
  assert.equal(m.exists, false);
  assert.equal(m.get("value"), undefined);
  m.set("value", 1);
  assert.equal(m.get("value"), undefined);
});
