// The client's replica of one document: models, sources, root, title, seq.
//
// Pure logic, no I/O: the connection layer (wsbridge.js) feeds decoded
// messages to `DocumentState.apply` and acts on its answer ("gap" means
// reconnect and resume). The rules are docs/protocol.md "Applying sequenced
// messages"; applying the same messages in the same order as the hub's
// replica (wsbridge/state.py) gives the same state.

import { Emitter } from "./events.js";
import { SEQUENCED, dtypeOf, isTypedArray, shapeOf, tagArray } from "./wire/codec.js";

/** @typedef {import("./wire/codec.js").TypedArray} TypedArray */
/** @typedef {TypedArray | any[]} ColumnValue a numeric typed array, or a JS array (strings, null) */

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

// ---------------------------------------------------------------------------
// columns

/**
 * One column kept as a list of appended chunks (docs/protocol.md "stream"),
 * concatenated only when read, so N stream messages cost N small appends and
 * one copy at the next read rather than N full copies. Rollover drops whole
 * chunks from the front and trims the first one with a zero-copy
 * `subarray`. A multi-dimensional column (shape [rows, ...rowShape]) is
 * streamed and rolled over by rows.
 */
export class Column {
  /** @param {ColumnValue} values */
  constructor(values) {
    /** @type {ColumnValue[]} */
    this.chunks = [values];
    /** trailing dimensions of one row ([] for a plain 1-D column) */
    this.rowShape = isTypedArray(values) ? shapeOf(values).slice(1) : [];
    this.rowSize = this.rowShape.reduce((a, b) => a * b, 1);
    /** @type {import("./wire/codec.js").DType | null} */
    this.dtype = isTypedArray(values) ? dtypeOf(values) : null;
    this.rows = rowsIn(values, this.rowSize);
    /** @type {ColumnValue | null} materialised value, valid until the next change */
    this._value = null;
  }

  /** @returns {ColumnValue} the whole column (concatenated now if needed) */
  get value() {
    if (this._value !== null) return this._value;
    let out = this.chunks.length === 1 ? this.chunks[0] : concat(this.chunks, this.rows * this.rowSize);
    if (isTypedArray(out)) {
      const dtype = this.dtype !== null && canTag(out, this.dtype) ? this.dtype : dtypeOf(out);
      tagArray(out, { dtype, shape: [this.rows, ...this.rowShape] });
    }
    this.chunks = [out];
    this._value = out;
    return out;
  }

  /** @param {ColumnValue} values rows to append */
  append(values) {
    const rows = rowsIn(values, this.rowSize);
    if (values.length === 0) return;
    if (this.rows === 0) this.chunks = [values];
    else this.chunks.push(values);
    this.rows += rows;
    this._value = null;
  }

  /** @param {number} n keep only the last `n` rows (Python's `keep_last`) */
  keepLast(n) {
    let drop = this.rows - n;
    if (drop <= 0) return;
    this._value = null;
    while (drop > 0) {
      const first = this.chunks[0];
      const rows = rowsIn(first, this.rowSize);
      if (rows <= drop && this.chunks.length > 1) {
        this.chunks.shift();
        drop -= rows;
        this.rows -= rows;
      } else {
        const start = drop * this.rowSize;
        this.chunks[0] = isTypedArray(first) ? first.subarray(start) : first.slice(start);
        this.rows -= drop;
        drop = 0;
      }
    }
  }
}

/**
 * @param {ColumnValue} values
 * @param {number} rowSize
 */
function rowsIn(values, rowSize) {
  return rowSize > 0 ? Math.floor(values.length / rowSize) : 0;
}

/**
 * @param {TypedArray} arr
 * @param {import("./wire/codec.js").DType} dtype
 */
function canTag(arr, dtype) {
  return dtype === dtypeOf(arr) || (dtype === "bool" && arr instanceof Uint8Array);
}

/**
 * Concatenate chunks: one typed array when they all share a constructor
 * (the hub casts every stream to its column's dtype), a Float64Array for
 * mixed numeric kinds, else a plain array.
 * @param {ColumnValue[]} chunks
 * @param {number} total elements
 * @returns {ColumnValue}
 */
function concat(chunks, total) {
  const first = chunks[0];
  if (chunks.every((c) => isTypedArray(c))) {
    const Ctor = /** @type {any} */ (first).constructor;
    if (chunks.every((c) => c.constructor === Ctor)) {
      const out = new Ctor(total);
      let at = 0;
      for (const c of chunks) {
        out.set(c, at);
        at += c.length;
      }
      return out;
    }
    const out = new Float64Array(total);
    let at = 0;
    for (const c of chunks) for (let i = 0; i < c.length; i++) out[at++] = Number(c[i]);
    return out;
  }
  /** @type {any[]} */
  const out = [];
  for (const c of chunks) for (let i = 0; i < c.length; i++) out.push(c[i]);
  return out;
}

/**
 * A scalar for a patch of `arr`: null (how NaN travels) is NaN in a float
 * column, BigInts for 64-bit columns, 0/1 for bool.
 * @param {ColumnValue} arr
 * @param {any} value
 */
function coerce(arr, value) {
  if (!isTypedArray(arr)) return value;
  if (arr instanceof BigInt64Array || arr instanceof BigUint64Array) {
    return typeof value === "bigint" ? value : BigInt(Math.trunc(Number(value ?? 0)));
  }
  if (value === null || value === undefined) return arr instanceof Float64Array || arr instanceof Float32Array ? NaN : 0;
  return Number(value);
}

/**
 * A source: named columns of equal length (docs/protocol.md). Source objects
 * are stable per id for the life of a client, across snapshots, so views and
 * user code can hold one and listen to it.
 */
export class Source extends Emitter {
  /** @param {string} id */
  constructor(id) {
    super();
    this.id = id;
    /** @type {Map<string, Column>} */
    this._columns = new Map();
    /** @type {Record<string, ColumnValue> | null} */
    this._data = null;
    /** increases on every change; cheap to compare for redraws */
    this.version = 0;
  }

  /** @returns {number} rows (the length of every column) */
  get length() {
    for (const col of this._columns.values()) return col.rows;
    return 0;
  }

  /** @returns {string[]} column names */
  get columns() {
    return [...this._columns.keys()];
  }

  /**
   * Column name -> typed array (numbers) or array (strings). The object is
   * cached until the next change of the source; each column is concatenated
   * from its streamed chunks the first time it is read. Arrays are the
   * frame's own views where possible: treat them as read-only (a patch makes
   * a new copy, it never writes into an array handed out before).
   * @returns {Record<string, ColumnValue>}
   */
  get data() {
    if (this._data !== null) return this._data;
    /** @type {Record<string, ColumnValue>} */
    const data = {};
    for (const [name, col] of this._columns) {
      Object.defineProperty(data, name, { enumerable: true, configurable: false, get: () => col.value });
    }
    this._data = Object.freeze(data);
    return this._data;
  }

  /**
   * One column, concatenated; undefined when the source has no such column.
   * @param {string} name
   * @returns {ColumnValue | undefined}
   */
  column(name) {
    return this._columns.get(name)?.value;
  }

  /** @param {string} name */
  shapeOf(name) {
    const col = this._columns.get(name);
    return col ? [col.rows, ...col.rowShape] : undefined;
  }

  _changed() {
    this._data = null;
    this.version++;
  }

  /** @param {Record<string, ColumnValue>} data all columns, replaced */
  _replace(data) {
    this._columns = new Map(Object.entries(data).map(([name, values]) => [name, new Column(values)]));
    this._changed();
  }

  /**
   * Append rows; with `rollover` keep only the last `rollover` rows.
   * @param {Record<string, ColumnValue>} data
   * @param {number | null} rollover
   */
  _stream(data, rollover) {
    for (const [name, values] of Object.entries(data)) {
      let col = this._columns.get(name);
      if (col === undefined) this._columns.set(name, (col = new Column(values)));
      else col.append(values);
      if (rollover !== null && col.rows > rollover) col.keepLast(rollover);
    }
    this._changed();
  }

  /**
   * Replace elements (docs/protocol.md "source_patch"): for each column,
   * `[index, value]` pairs in order; an index is a row number or a
   * `{start, stop, step}` slice with one value per row. The patched column
   * is a new array; arrays handed out earlier do not change.
   * @param {Record<string, [number | {start: number, stop: number, step: number}, any][]>} patches
   */
  _patch(patches) {
    for (const [name, items] of Object.entries(patches)) {
      const col = this._columns.get(name);
      if (col === undefined) continue;
      const out = col.value.slice();
      const size = col.rowSize;
      for (const [index, value] of items) {
        if (typeof index === "number") {
          if (index >= col.rows) continue;
          writeRow(out, index, size, value);
        } else {
          let k = 0;
          for (let row = index.start; row < index.stop && row < col.rows; row += index.step, k++) {
            writeRow(out, row, size, size === 1 ? value[k] : value.subarray ? value.subarray(k * size, (k + 1) * size) : value[k]);
          }
        }
      }
      const replacement = new Column(out);
      if (isTypedArray(out)) {
        replacement.rowShape = col.rowShape;
        replacement.rowSize = col.rowSize;
        replacement.rows = col.rows;
        replacement.dtype = col.dtype;
      }
      this._columns.set(name, replacement);
    }
    this._changed();
  }

  _clear() {
    this._columns = new Map();
    this._changed();
  }
}

/**
 * @param {ColumnValue} out
 * @param {number} row
 * @param {number} size elements per row
 * @param {any} value a scalar (size 1) or a row
 */
function writeRow(out, row, size, value) {
  if (size === 1) {
    out[row] = coerce(out, value);
    return;
  }
  const start = row * size;
  for (let i = 0; i < size; i++) out[start + i] = coerce(out, value?.[i]);
}

// ---------------------------------------------------------------------------
// the document

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
        this._source(msg.source, (src) => src._replace(msg.data));
        break;
      case "custom":
        this._custom(msg);
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
      src._replace(spec.data);
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
      src._replace(spec.data);
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
