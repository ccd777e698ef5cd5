// The client's replica of one document: models, sources, root, title, seq.
//
// Pure logic, no I/O: the connection (connection.js) feeds decoded
// messages to `DocumentState.apply` and acts on its answer ("gap" means
// reconnect and resume). The rules are docs/protocol.md "Applying sequenced
// messages"; applying the same messages in the same order as the hub's
// replica (wsbridge/state.py) gives the same state.

import { Emitter } from "./events.js";
import { SEQUENCED } from "../wire/codec.js";
import { Source } from "./source.js";

/**
 * What `DocumentState.apply` did with a message:
 * - "applied": the state changed (or a custom message was delivered);
 * - "duplicate": an already applied seq, ignored;
 * - "gap": a seq was missed; the caller must reconnect and resume;
 * - "ignored": nothing to apply (waiting for a snapshot, not a hub message);
 * - "info": welcome or error, which never change seq.
 * @typedef {"applied" | "duplicate" | "gap" | "ignored" | "info"} Outcome
 */

/**
 * How a model change came about, passed to `model:<id>` listeners.
 * @typedef {object} ChangeInfo
 * @property {boolean} [local] set by this client (not yet confirmed by the hub)
 * @property {boolean} [snapshot] a snapshot replaced the state
 * @property {boolean} [reply] a reply patch (docs/protocol.md "patch")
 * @property {{session: string, req: number} | null} [origin] the patch's origin
 */

/**
 * Deep equality for property values (JSON values; typed arrays by identity),
 * so that an echo of an unchanged value notifies nobody (Backbone does the
 * same with `_.isEqual`).
 * @param {any} a
 * @param {any} b
 * @returns {boolean}
 */
export function sameValue(a, b) {
  if (Object.is(a, b)) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (!Object.hasOwn(b, k) || !sameValue(a[k], b[k])) return false;
  return true;
}

/**
 * @typedef {object} ModelRecord
 * @property {string} id
 * @property {string} type
 * @property {Map<string, any>} state property name -> value
 */

/**
 * @callback PatchFilter decides which properties of a patch apply locally
 *   (the echo rule of docs/protocol.md "patch", see model.js `EchoGuard`)
 * @param {Record<string, any>} patch the decoded patch message
 * @returns {[string, any][]} the (name, value) pairs to apply
 */

/**
 * The replica. Events (see `Emitter`):
 * - `model:<id>` (names: string[], info: ChangeInfo) properties changed;
 * - `source:<id>` (source: Source) a source changed;
 * - `custom:<id>` (content, buffers) a custom message for a model's view;
 * - `notify` (msg, {replayed}) a notification (docs/protocol.md "notify");
 *   `replayed`: it came in a resume's replay, so it may be old (its `time`);
 * - `dev` (msg) the app's current error under `wsbridge serve --dev`;
 * - `add` ({models: string[], sources: string[]}) new models/sources;
 * - `root` (root), `title` (title);
 * - `snapshot` (msg) the whole state was replaced;
 * - `synced` () the first state after a welcome is in (snapshot, or replay
 *   caught up with `welcome.seq`);
 * - `welcome` (msg).
 */
export class DocumentState extends Emitter {
  /** @param {{filterPatch?: PatchFilter}} [options] */
  constructor({ filterPatch } = {}) {
    super();
    /** @type {number | null} last applied seq (null: no state yet) */
    this.seq = null;
    /** @type {string | null} epoch of the applied state */
    this.epoch = null;
    /** @type {string | null} */
    this.doc = null;
    /** @type {string | null} this connection's session (from welcome) */
    this.session = null;
    this.title = "";
    /** @type {string | null} */
    this.root = null;
    /** @type {Record<string, any>} */
    this.limits = {};
    /** whether the state is complete since the last welcome */
    this.synced = false;
    /** @type {Map<string, ModelRecord>} */
    this.models = new Map();
    /** @type {Map<string, Source>} sources present in the document */
    this.sources = new Map();
    /** @type {Map<string, Source>} every Source object ever handed out */
    this._sourceObjects = new Map();
    /** @type {number | null} welcome.seq: where a replay ends */
    this._target = null;
    this._awaitingSnapshot = false;
    /** @type {PatchFilter} */
    this._filterPatch = filterPatch ?? ((msg) => Object.entries(msg.state));
  }

  /**
   * The Source object for `id` (created empty if the document has none yet,
   * so a view may subscribe before the data arrives).
   * @param {string} id
   * @returns {Source}
   */
  source(id) {
    let src = this._sourceObjects.get(id);
    if (!src) this._sourceObjects.set(id, (src = new Source(id)));
    return src;
  }

  /**
   * Apply one decoded hub message (docs/protocol.md "Applying sequenced
   * messages").
   * @param {Record<string, any>} msg
   * @returns {Outcome}
   */
  apply(msg) {
    switch (msg.type) {
      case "welcome":
        return this._welcome(msg);
      case "error":
        return "info";
      case "dev":
        this.emit("dev", msg);
        return "info";
      case "snapshot":
        this._snapshot(msg);
        return "applied";
      default:
        break;
    }
    if (msg.type === "patch" && msg.reply) {
      // a reply patch: the canonical value for this client alone; its seq is
      // the document's current one and does not advance ours.
      this._patch(msg);
      return "applied";
    }
    if (!SEQUENCED.has(msg.type)) return "ignored";
    if (msg.type === "custom" && (msg.seq === null || msg.seq === undefined)) {
      this._custom(msg);
      return "applied";
    }
    if (msg.type === "notify" && (msg.seq === null || msg.seq === undefined)) {
      // to this session only: not sequenced, shown now
      this.emit("notify", msg, { replayed: false });
      return "applied";
    }
    if (this._awaitingSnapshot) return "ignored";
    if (this.seq === null) return "gap";
    if (msg.seq <= this.seq) return "duplicate";
    // a coalesced patch or stream stands for seqs first..seq (docs/protocol.md)
    const first = typeof msg.first === "number" ? msg.first : msg.seq;
    if (first !== this.seq + 1) return "gap";
    this.seq = msg.seq;
    switch (msg.type) {
      case "add":
        this._add(msg);
        break;
      case "patch":
        this._patch(msg);
        break;
      case "stream":
        this._source(msg.source, (src) => src._stream(msg.data, msg.rollover));
        break;
      case "source_patch":
        this._source(msg.source, (src) => src._patch(msg.patches));
        break;
      case "source_replace":
        this._source(msg.source, (src) => src._replace(msg.data, msg.meta ?? null));
        break;
      case "custom":
        this._custom(msg);
        break;
      case "notify":
        // before _checkSynced: the last message of a replay is replayed too
        this.emit("notify", msg, { replayed: !this.synced });
        break;
    }
    this._checkSynced();
    return "applied";
  }

  /**
   * Change properties locally (a user's edit not yet confirmed by the hub);
   * returns the names whose value changed.
   * @param {string} id
   * @param {Record<string, any> | [string, any][]} props an object or (name, value) pairs
   * @returns {string[]}
   */
  setLocal(id, props) {
    const record = this.models.get(id);
    if (!record) return [];
    const changed = assign(record.state, Array.isArray(props) ? props : Object.entries(props));
    if (changed.length) this.emit(`model:${id}`, changed, { local: true });
    return changed;
  }

  /**
   * Drop the resume point: the next hello asks for a fresh snapshot. The
   * models stay on screen until it arrives.
   */
  forget() {
    this.seq = null;
    this.epoch = null;
    this.synced = false;
  }

  /** @param {Record<string, any>} msg */
  _welcome(msg) {
    this.session = msg.session;
    this.doc = msg.doc;
    this.limits = msg.limits;
    this._target = msg.seq;
    this.synced = false;
    this._setTitle(msg.title);
    this.emit("welcome", msg);
    if (!msg.resumed) {
      this._awaitingSnapshot = true;
      return "info";
    }
    this._awaitingSnapshot = false;
    if (this.seq === null || this.epoch !== msg.epoch || this.seq > msg.seq) {
      // A replay can only continue the state we have; anything else is a
      // hub error. Ask again without a resume point: a snapshot follows.
      this.forget();
      return "gap";
    }
    this._checkSynced();
    return "info";
  }

  _checkSynced() {
    if (!this.synced && !this._awaitingSnapshot && this._target !== null && this.seq !== null && this.seq >= this._target) {
      this.synced = true;
      this.emit("synced");
    }
  }

  /** @param {string} title */
  _setTitle(title) {
    if (title === this.title) return;
    this.title = title;
    this.emit("title", title);
  }

  /** @param {Record<string, any>} msg */
  _snapshot(msg) {
    this.seq = msg.seq;
    this.epoch = msg.epoch;
    this.doc = msg.doc;
    this._awaitingSnapshot = false;
    const oldModels = this.models;
    this.models = new Map();
    for (const [id, spec] of Object.entries(msg.models)) this.models.set(id, record(id, spec));
    const oldRoot = this.root;
    this.root = msg.root;
    this._setTitle(msg.title);
    const oldSources = this.sources;
    this.sources = new Map();
    for (const [id, spec] of Object.entries(msg.sources)) {
      const src = this.source(id);
      src._replace(spec.data, spec.meta ?? null);
      this.sources.set(id, src);
    }
    for (const [id, src] of oldSources) if (!this.sources.has(id)) src._clear();
    // notify: every changed property of every model, every source
    const ids = new Set([...oldModels.keys(), ...this.models.keys()]);
    for (const id of ids) {
      const before = oldModels.get(id)?.state ?? new Map();
      const after = this.models.get(id)?.state ?? new Map();
      const names = new Set([...before.keys(), ...after.keys()]);
      const changed = [...names].filter((n) => !sameValue(before.get(n), after.get(n)));
      if (changed.length) this.emit(`model:${id}`, changed, { snapshot: true });
    }
    for (const id of new Set([...oldSources.keys(), ...this.sources.keys()])) {
      const src = this.source(id);
      this.emit(`source:${id}`, src);
      src.emit("change", src);
    }
    if (oldRoot !== this.root) this.emit("root", this.root);
    this.emit("snapshot", msg);
    this._checkSynced();
  }

  /** @param {Record<string, any>} msg */
  _add(msg) {
    const models = Object.keys(msg.models);
    const sources = Object.keys(msg.sources);
    /** @type {[string, string[]][]} */
    const changes = [];
    for (const [id, spec] of Object.entries(msg.models)) {
      const before = this.models.get(id);
      const rec = record(id, spec);
      this.models.set(id, rec);
      if (before) {
        const names = new Set([...before.state.keys(), ...rec.state.keys()]);
        const changed = [...names].filter((n) => !sameValue(before.state.get(n), rec.state.get(n)));
        if (changed.length) changes.push([id, changed]);
      }
    }
    for (const [id, spec] of Object.entries(msg.sources)) {
      const src = this.source(id);
      src._replace(spec.data, spec.meta ?? null);
      this.sources.set(id, src);
    }
    if (msg.title !== undefined && msg.title !== null) this._setTitle(msg.title);
    for (const [id, changed] of changes) this.emit(`model:${id}`, changed, {});
    for (const id of sources) {
      const src = this.source(id);
      this.emit(`source:${id}`, src);
      src.emit("change", src);
    }
    this.emit("add", { models, sources });
    if (msg.root !== undefined && msg.root !== null && msg.root !== this.root) {
      this.root = msg.root;
      this.emit("root", this.root);
    }
  }

  /** @param {Record<string, any>} msg */
  _patch(msg) {
    const rec = this.models.get(msg.model);
    if (!rec) return;
    const changed = assign(rec.state, this._filterPatch(msg));
    if (changed.length) {
      this.emit(`model:${msg.model}`, changed, { origin: msg.origin ?? null, reply: Boolean(msg.reply) });
    }
  }

  /**
   * @param {string} id
   * @param {(src: Source) => void} change
   */
  _source(id, change) {
    const src = this.sources.get(id);
    if (!src) return; // a message for a source we do not have: nothing to change
    change(src);
    this.emit(`source:${id}`, src);
    src.emit("change", src);
  }

  /** @param {Record<string, any>} msg */
  _custom(msg) {
    this.emit(`custom:${msg.model}`, msg.content, msg.buffers);
  }
}

/**
 * @param {string} id
 * @param {{type: string, state: Record<string, any>}} spec
 * @returns {ModelRecord}
 */
function record(id, spec) {
  return { id, type: spec.type, state: new Map(Object.entries(spec.state)) };
}

/**
 * Set entries into a state map; returns the names whose value changed.
 * @param {Map<string, any>} state
 * @param {[string, any][]} entries
 */
function assign(state, entries) {
  /** @type {string[]} */
  const changed = [];
  for (const [name, value] of entries) {
    if (state.has(name) && sameValue(state.get(name), value)) continue;
    state.set(name, value);
    changed.push(name);
  }
  return changed;
}
