// The anywidget model interface over one model of a DocumentState, and the
// echo rule of docs/protocol.md "patch" (ipywidgets' echo_update lesson).
//
// Pure logic: a Model talks to the network only through the small `ModelHost`
// interface that the connection (connection.js) implements, so it is tested in node
// with a fake host.

import { Emitter } from "./events.js";

/** @typedef {import("./state.js").DocumentState} DocumentState */
/** @typedef {import("./state.js").ChangeInfo} ChangeInfo */

/**
 * What a Model needs from its client.
 * @typedef {object} ModelHost
 * @property {DocumentState} state the replica
 * @property {(model: string, state: Record<string, any>) => void} sendSet
 *   send (or queue until connected) a `set`; the host picks `req` and tells
 *   its EchoGuard
 * @property {(model: string, content: any, buffers: ArrayBufferView[]) => boolean} sendCustom
 * @property {(id: string) => Model} model another model of the same client
 */

/**
 * Tracks this session's in-flight `set`s to drop stale echoes:
 *
 * "A client that has sent a newer `set` of the same property ignores that
 * property in patches from its own older requests, so a slider being
 * dragged does not jump back (the last echo always arrives and wins).
 * Everyone else applies the value." (docs/protocol.md "patch")
 *
 * So a patch property is dropped only when the patch's origin is this
 * session AND its `req` is older than the latest `set` of that property;
 * the echo of that latest set clears the entry. Patches without an origin,
 * or from other sessions, always apply.
 */
export class EchoGuard {
  constructor() {
    /** @type {string | null} */
    this.session = null;
    /** @type {Map<string, Map<string, number>>} model -> property -> latest req sent */
    this._latest = new Map();
  }

  /**
   * A new connection: reqs of the old session can no longer be echoed to us
   * under our new session id.
   * @param {string | null} session
   */
  reset(session) {
    this.session = session;
    this._latest.clear();
  }

  /**
   * Remember a `set` just sent.
   * @param {string} model
   * @param {Iterable<string>} names
   * @param {number} req
   */
  sent(model, names, req) {
    let props = this._latest.get(model);
    if (!props) this._latest.set(model, (props = new Map()));
    for (const name of names) props.set(name, req);
  }

  /**
   * Whether a set of `name` is waiting for its echo.
   * @param {string} model
   * @param {string} name
   */
  pending(model, name) {
    return this._latest.get(model)?.has(name) ?? false;
  }

  /**
   * The (name, value) pairs of a patch that apply locally.
   * @param {Record<string, any>} patch a decoded `patch` message
   * @returns {[string, any][]}
   */
  filter(patch) {
    const entries = Object.entries(patch.state);
    const origin = patch.origin;
    if (!origin || this.session === null || origin.session !== this.session) return entries;
    const props = this._latest.get(patch.model);
    if (!props) return entries;
    return entries.filter(([name]) => {
      const latest = props.get(name);
      if (latest === undefined) return true;
      if (origin.req < latest) return false; // an older echo of ours: keep what the user did since
      props.delete(name); // the echo of our latest set: from now on the hub's value rules
      if (props.size === 0) this._latest.delete(patch.model);
      return true;
    });
  }
}

/**
 * One model, with anywidget's model interface (which is Backbone's subset
 * that ipywidgets views use):
 *
 * - `get(name)`; `set(name, value)` or `set({name: value, ...})` changes the
 *   local value now (listeners fire) and marks it pending;
 * - `save_changes()` sends one `set` with every pending property;
 * - `on("change:x", (model, value) => ...)`, `on("change", (model) => ...)`
 *   (Backbone's arguments), `on("msg:custom", (content, buffers) => ...)`,
 *   `off(name?, cb?)`, `once`;
 * - `send(content, callbacks, buffers)`: a custom message to Python;
 * - `widget_manager.get_model(id)` resolves another model (for references).
 *
 * Change events fire for a value that really changed (an echo of the value
 * already shown is silent), whether the change came from Python, from
 * another browser, from a snapshot after a reconnection, or from `set`.
 */
export class Model extends Emitter {
  /**
   * @param {string} id
   * @param {ModelHost} host
   */
  constructor(id, host) {
    super();
    this.id = id;
    /** @type {ModelHost} */
    this._host = host;
    /** @type {Map<string, any>} set locally, not yet sent */
    this._pending = new Map();
    this.widget_manager = Object.freeze({
      /** @param {string} mid */
      get_model: async (mid) => host.model(mid),
    });
    host.state.on(`model:${id}`, (/** @type {string[]} */ names, /** @type {ChangeInfo} */ info) =>
      this._changed(names, info),
    );
    host.state.on(`custom:${id}`, (/** @type {any} */ content, /** @type {any[]} */ buffers) =>
      this.emit("msg:custom", content, buffers),
    );
  }

  /** @returns {string | undefined} the model type ("Slider"...), undefined while absent */
  get type() {
    return this._host.state.models.get(this.id)?.type;
  }

  /** @returns {boolean} whether the document holds this model */
  get exists() {
    return this._host.state.models.has(this.id);
  }

  /**
   * @param {string} name
   * @returns {any} the value shown locally (undefined for an unknown property)
   */
  get(name) {
    return this._host.state.models.get(this.id)?.state.get(name);
  }

  /** @returns {Record<string, any>} a copy of the whole state */
  get attributes() {
    return toObject(this._host.state.models.get(this.id)?.state ?? new Map());
  }

  /**
   * Change properties locally; they travel on the next `save_changes()`.
   * @param {string | Record<string, any>} name
   * @param {any} [value]
   * @returns {this}
   */
  set(name, value) {
    const entries = typeof name === "string" ? [[name, value]] : Object.entries(name);
    for (const [k, v] of entries) this._pending.set(k, v);
    this._host.state.setLocal(this.id, entries);
    return this;
  }

  /**
   * Send every pending property in one `set` (docs/protocol.md "set"). The
   * canonical values come back as a patch with our origin.
   */
  save_changes() {
    if (this._pending.size === 0) return;
    const state = toObject(this._pending);
    this._pending.clear();
    this._host.sendSet(this.id, state);
  }

  /**
   * anywidget's `model.send(content, callbacks, buffers)`: a `custom`
   * message to the Python model. `callbacks` is accepted for compatibility
   * and not used (the protocol has no replies to custom messages).
   * @param {any} content
   * @param {unknown} [callbacks]
   * @param {(ArrayBuffer | ArrayBufferView)[]} [buffers]
   * @returns {boolean} whether it was sent (false while disconnected)
   */
  send(content, callbacks, buffers = []) {
    void callbacks;
    return this._host.sendCustom(this.id, content, /** @type {ArrayBufferView[]} */ (buffers));
  }

  /**
   * @param {string[]} names
   * @param {ChangeInfo} info
   */
  _changed(names, info) {
    if (names.length === 0) return;
    for (const name of names) this.emit(`change:${name}`, this, this.get(name), info);
    this.emit("change", this, info);
  }
}

/**
 * A plain object from a Map (defineProperty: a "__proto__" name stays a key).
 * @param {Map<string, any>} map
 * @returns {Record<string, any>}
 */
export function toObject(map) {
  /** @type {Record<string, any>} */
  const out = {};
  for (const [k, v] of map) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}
