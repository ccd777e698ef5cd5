// Protocol messages: the catalogue of docs/protocol.md and its validation.
//
// Mirrors wsbridge/messages.py rule for rule: a decoded object that breaks
// the protocol raises ProtocolError with the same code as in Python (the
// golden frames in tests/wire/ hold both to it). Sans I/O.

import { isTypedArray, ARRAY_INFO } from "./arrays.js";

/** @typedef {import("./arrays.js").TypedArray} TypedArray */

/** The protocol version spoken here (docs/protocol.md "Text frames"). */
export const PROTOCOL_VERSION = 1;

/** Error codes of docs/protocol.md "error", with the close code that follows (null: none). */
export const ERROR_CODES = Object.freeze({
  bad_json: null,
  bad_frame: null,
  bad_message: null,
  unknown_type: null,
  bad_version: 1002,
  hello_required: 1008,
  unauthorized: 1008,
  unknown_document: 1008,
  unknown_model: null,
  unknown_property: null,
  read_only: null,
  invalid_value: null,
  unknown_event: null,
  callback_error: null,
  rate_limited: null,
  too_many_clients: 1013,
  producer_gone: null,
  internal: 1011,
  upload_refused: null,
  download_refused: null,
});

/** Message types that a hub sends with a `seq` that advances the document. */
export const SEQUENCED = Object.freeze(
  new Set(["snapshot", "add", "patch", "stream", "source_patch", "source_replace", "custom", "notify"]),
);

/** The levels of a `notify` (docs/protocol.md "notify"). */
export const NOTIFY_LEVELS = Object.freeze(["info", "success", "warning", "error"]);
/** Characters of a notification's text, at most. */
export const NOTIFY_TEXT_MAX = 2000;
/** Seconds a notification may stay, at most (`duration: null`: until dismissed). */
export const NOTIFY_DURATION_MAX = 3600;

/**
 * A page's address query as it may travel (wsbridge/wire/query.py): at most
 * `params` parameters, names of 1 to `name` characters without control
 * characters, values of at most `value` characters, `total` in all.
 */
export const QUERY_LIMITS = Object.freeze({ params: 32, name: 64, value: 1024, total: 4096 });

/**
 * A frame or message that breaks docs/protocol.md. `code` is one of
 * {@link ERROR_CODES}; `ref` optionally names the offending message.
 */
export class ProtocolError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {Record<string, any> | null} [ref]
   */
  constructor(code, message, ref = null) {
    super(message);
    this.name = "ProtocolError";
    /** @type {string} */
    this.code = code;
    /** @type {Record<string, any> | null} */
    this.ref = ref;
  }
}

// ---------------------------------------------------------------------------
// validation, mirroring wsbridge/protocol.py (each failure: bad_message)

/**
 * A JSON object (not an array, not a typed array, not null).
 * @param {unknown} v
 * @returns {v is Record<string, any>}
 */
export function isObject(v) {
  if (v === null || typeof v !== "object" || Array.isArray(v) || ArrayBuffer.isView(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** @param {unknown} v */
export const isInt = (v) => typeof v === "number" && Number.isInteger(v);

/** @typedef {"str" | "int" | "bool" | "dict" | "list"} Kind the JSON kinds a field may be required to have */

/** @type {Readonly<Record<Kind, (v: unknown) => boolean>>} */
const KINDS = {
  str: (v) => typeof v === "string",
  int: isInt,
  bool: (v) => typeof v === "boolean",
  dict: isObject,
  list: Array.isArray,
};

/**
 * @param {Record<string, any>} d
 * @param {string} key
 * @param {Kind} kind
 * @param {string} what
 */
function req(d, key, kind, what) {
  if (!Object.hasOwn(d, key)) throw new ProtocolError("bad_message", `${what} needs '${key}'`);
  const value = d[key];
  if (!KINDS[kind](value)) throw new ProtocolError("bad_message", `${what}.${key} has the wrong type`);
  return value;
}

/**
 * @param {Record<string, any>} d
 * @param {string} key
 * @param {Kind} kind
 * @param {string} what
 */
function opt(d, key, kind, what) {
  const value = Object.hasOwn(d, key) ? d[key] : null;
  if (value === null || value === undefined) return null;
  if (!KINDS[kind](value)) throw new ProtocolError("bad_message", `${what}.${key} has the wrong type`);
  return value;
}

/**
 * Ids are non-empty strings of at most 256 characters (code points).
 * @param {unknown} value
 * @param {string} what
 */
function checkId(value, what) {
  if (
    typeof value !== "string" ||
    value.length === 0 ||
    (value.length > 256 && [...value].length > 256)
  ) {
    throw new ProtocolError("bad_message", `${what} must be a non-empty string`);
  }
}

/**
 * @param {unknown} value
 * @param {string} what
 */
function checkSeq(value, what) {
  if (!isInt(value) || /** @type {number} */ (value) < 0) {
    throw new ProtocolError("bad_message", `${what} must be a non-negative integer`);
  }
}

/**
 * `first` of a coalesced patch or stream: the seq of the first message it
 * stands for (docs/protocol.md "Coalesced messages"), or null.
 * @param {Record<string, any>} d
 * @param {number} seq
 * @param {string} what
 * @returns {number | null}
 */
function checkFirst(d, seq, what) {
  const first = opt(d, "first", "int", what);
  if (first === null) return null;
  checkSeq(first, `${what}.first`);
  if (first > seq) throw new ProtocolError("bad_message", `${what}.first must not exceed its seq`);
  return first;
}

/**
 * Why `query` cannot travel as a page's query (wsbridge/wire/query.py), or
 * null when it can: an object of strings within {@link QUERY_LIMITS}.
 * Lengths count code points, as Python does.
 * @param {unknown} query
 * @returns {string | null}
 */
export function queryProblem(query) {
  if (!isObject(query)) return "a query must be an object of strings";
  const entries = Object.entries(query);
  if (entries.length > QUERY_LIMITS.params) return `at most ${QUERY_LIMITS.params} parameters`;
  let total = 0;
  for (const [name, value] of entries) {
    if (typeof value !== "string") return "parameter values must be strings";
    const n = [...name].length;
    const v = [...value].length;
    if (n === 0 || n > QUERY_LIMITS.name || /[\u0000-\u001f\u007f]/.test(name)) {
      return `a parameter name is 1-${QUERY_LIMITS.name} characters, without control characters`;
    }
    if (v > QUERY_LIMITS.value) return `a parameter value is at most ${QUERY_LIMITS.value} characters`;
    total += n + v;
  }
  if (total > QUERY_LIMITS.total) return `a query is at most ${QUERY_LIMITS.total} characters`;
  return null;
}

/**
 * @param {unknown} value
 * @param {string} what
 */
function checkNumber(value, what) {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new ProtocolError("bad_message", `${what} must be a finite number`);
  }
  return value;
}

/**
 * @param {unknown} value
 * @param {string} what
 */
function checkState(value, what) {
  if (!isObject(value)) throw new ProtocolError("bad_message", `${what} must be an object`);
}

/**
 * @param {unknown} data
 * @param {string} what
 */
function checkColumns(data, what) {
  checkState(data, what);
  for (const [name, col] of Object.entries(/** @type {object} */ (data))) {
    if (isObject(col)) checkPacked(col, `${what}['${name}']`);
    else if (!Array.isArray(col) && !isTypedArray(col)) {
      throw new ProtocolError("bad_message", `${what}['${name}'] must be an array, a list or a packed column`);
    }
  }
}

/** Levels of ragged lengths a packed column may have (wsbridge/wire/packed.py `MAX_LEVELS`). */
export const MAX_LEVELS = 4;

/**
 * A packed column (docs/protocol.md "Packed columns"): `values`, an optional
 * `mask` (one uint8 per row, 0 or 1) and optional ragged `lengths` (uint32
 * arrays adding up level by level to the values). Mirrors
 * wsbridge/wire/packed.py `Packed.check`.
 * @param {Record<string, any>} col
 * @param {string} what
 * @returns {number} its rows
 */
export function checkPacked(col, what) {
  const bad = (/** @type {string} */ text) => new ProtocolError("bad_message", `${what} ${text}`);
  const { values, mask } = col;
  const lengths = col.lengths ?? [];
  if (!isTypedArray(values)) throw bad("is an object without a 'values' array");
  const vshape = ARRAY_INFO.get(values)?.shape ?? [values.length];
  if (vshape.length === 0) throw bad("values must have rows");
  if (!Array.isArray(lengths) || !lengths.every((l) => isTypedArray(l))) throw bad("has 'lengths' that are not a list of arrays");
  if (lengths.length > MAX_LEVELS) throw bad(`has ${lengths.length} levels of lengths, at most ${MAX_LEVELS}`);
  /** @type {number | null} */
  let expected = null;
  lengths.forEach((counts, level) => {
    const info = ARRAY_INFO.get(counts);
    if (!(counts instanceof Uint32Array) || (info && (info.dtype !== "uint32" || info.shape.length !== 1))) {
      throw bad(`lengths[${level}] must be a 1-D uint32 array`);
    }
    if (expected !== null && counts.length !== expected) throw bad(`lengths[${level}] has ${counts.length} entries, not ${expected}`);
    let sum = 0;
    for (let i = 0; i < counts.length; i++) sum += counts[i];
    expected = sum;
  });
  if (expected !== null) {
    if (vshape.length !== 1) throw bad("ragged values must be one-dimensional");
    if (vshape[0] !== expected) throw bad(`has ${vshape[0]} values where its lengths add up to ${expected}`);
  }
  const rows = lengths.length ? lengths[0].length : vshape[0];
  if (mask !== undefined && mask !== null) {
    const info = ARRAY_INFO.get(mask);
    if (!(mask instanceof Uint8Array) || (info && (info.dtype !== "uint8" || info.shape.length !== 1))) {
      throw bad("mask must be a 1-D uint8 array");
    }
    if (mask.length !== rows) throw bad(`mask has ${mask.length} entries for ${rows} rows`);
    for (let i = 0; i < mask.length; i++) if (mask[i] > 1) throw bad("mask entries must be 0 (missing) or 1 (present)");
  }
  return rows;
}

/**
 * A source's column metadata (docs/protocol.md "Column metadata"): absent,
 * or an object naming columns of `data`, each entry an object with a
 * string `type` (and a string or null `tz`).
 * @param {unknown} meta
 * @param {Record<string, any>} data
 * @param {string} what
 */
function checkMeta(meta, data, what) {
  if (meta === undefined || meta === null) return;
  checkState(meta, what);
  for (const [name, entry] of Object.entries(/** @type {object} */ (meta))) {
    if (!Object.hasOwn(data, name)) throw new ProtocolError("bad_message", `${what} names '${name}', not a column`);
    if (!isObject(entry) || typeof entry.type !== "string") {
      throw new ProtocolError("bad_message", `${what}['${name}'] must be an object with a type`);
    }
    if (entry.tz !== undefined && entry.tz !== null && typeof entry.tz !== "string") {
      throw new ProtocolError("bad_message", `${what}['${name}'].tz must be a string or null`);
    }
  }
}

/**
 * @param {unknown} models
 * @param {unknown} sources
 * @param {string} what
 */
function checkSpecs(models, sources, what) {
  checkState(models, `${what}.models`);
  for (const [mid, spec] of Object.entries(/** @type {object} */ (models))) {
    checkId(mid, `${what} model id`);
    if (!isObject(spec)) throw new ProtocolError("bad_message", `${what}.models['${mid}'] must be an object`);
    checkId(spec.type, `${what}.models['${mid}'].type`);
    checkState(spec.state, `${what}.models['${mid}'].state`);
  }
  checkState(sources, `${what}.sources`);
  for (const [sid, spec] of Object.entries(/** @type {object} */ (sources))) {
    checkId(sid, `${what} source id`);
    if (!isObject(spec)) throw new ProtocolError("bad_message", `${what}.sources['${sid}'] must be an object`);
    checkColumns(spec.data, `${what}.sources['${sid}'].data`);
    checkMeta(spec.meta, spec.data, `${what}.sources['${sid}'].meta`);
  }
}

/** @param {unknown} patches */
function checkPatches(patches) {
  checkState(patches, "source_patch.patches");
  for (const [col, items] of Object.entries(/** @type {object} */ (patches))) {
    if (!Array.isArray(items)) {
      throw new ProtocolError("bad_message", `source_patch.patches['${col}'] must be a list`);
    }
    for (const item of items) {
      if (!Array.isArray(item) || item.length !== 2) {
        throw new ProtocolError("bad_message", "each source patch is an [index, value] pair");
      }
      const [index, value] = item;
      if (isObject(index)) {
        for (const key of ["start", "stop", "step"]) checkSeq(index[key], `source_patch slice ${key}`);
        if (index.step < 1) throw new ProtocolError("bad_message", "source_patch slice step must be >= 1");
        const count = sliceLength(index.start, index.stop, index.step);
        const rows = isObject(value) ? checkPacked(value, `source_patch.patches['${col}']`) : null;
        if (rows === null ? !(Array.isArray(value) || isTypedArray(value)) || rowCount(value) !== count : rows !== count) {
          throw new ProtocolError("bad_message", "source_patch slice value must hold one item per index");
        }
      } else {
        checkSeq(index, "source_patch index");
        if (isObject(value) && checkPacked(value, `source_patch.patches['${col}']`) !== 1) {
          throw new ProtocolError("bad_message", `source_patch.patches['${col}']: a row's packed value has one row`);
        }
      }
    }
  }
}

/**
 * The number of rows of a column value: its first dimension (Python's
 * `len()`), so a 2-D typed array of shape [r, c] has r rows.
 * @param {TypedArray | any[]} value
 * @returns {number}
 */
export function rowCount(value) {
  if (!isTypedArray(value)) return value.length;
  const shape = ARRAY_INFO.get(value)?.shape;
  return shape && shape.length > 0 ? shape[0] : value.length;
}

/**
 * Python's `len(range(start, stop, step))` for non-negative bounds, step >= 1.
 * @param {number} start
 * @param {number} stop
 * @param {number} step
 */
export function sliceLength(start, stop, step) {
  return stop > start ? Math.floor((stop - start + step - 1) / step) : 0;
}

/**
 * Validate one message object and return its canonical form (the keys the
 * Python `to_dict` writes, defaults filled in, unknown keys dropped). Values
 * are not copied: arrays stay the frame's views.
 * @type {Record<string, (d: Record<string, any>) => Record<string, any>>}
 */
const CANONICAL = {
  hello(d) {
    const doc = req(d, "doc", "str", "hello");
    const token = opt(d, "token", "str", "hello");
    const epoch = opt(d, "epoch", "str", "hello");
    const seq = opt(d, "seq", "int", "hello");
    const key = opt(d, "key", "str", "hello");
    const query = opt(d, "query", "dict", "hello");
    checkId(doc, "hello.doc");
    if (seq !== null) checkSeq(seq, "hello.seq");
    if (query !== null) {
      const problem = queryProblem(query);
      if (problem !== null) throw new ProtocolError("invalid_value", `hello.query: ${problem}`);
    }
    /** @type {Record<string, any>} */
    const out = { v: 1, type: "hello", doc };
    if (token !== null) out.token = token;
    if (epoch !== null) {
      out.epoch = epoch;
      out.seq = seq;
    }
    if (key !== null) out.key = key;
    if (query !== null && Object.keys(query).length > 0) out.query = query;
    return out;
  },
  welcome(d) {
    const out = {
      v: 1,
      type: "welcome",
      doc: req(d, "doc", "str", "welcome"),
      epoch: req(d, "epoch", "str", "welcome"),
      seq: req(d, "seq", "int", "welcome"),
      session: req(d, "session", "str", "welcome"),
      resumed: req(d, "resumed", "bool", "welcome"),
      title: opt(d, "title", "str", "welcome") || "",
      limits: opt(d, "limits", "dict", "welcome") || {},
    };
    checkId(out.doc, "welcome.doc");
    checkId(out.epoch, "welcome.epoch");
    checkSeq(out.seq, "welcome.seq");
    checkId(out.session, "welcome.session");
    return out;
  },
  snapshot(d) {
    const out = {
      v: 1,
      type: "snapshot",
      doc: req(d, "doc", "str", "snapshot"),
      epoch: req(d, "epoch", "str", "snapshot"),
      seq: req(d, "seq", "int", "snapshot"),
      title: "",
      root: /** @type {string|null} */ (null),
      models: req(d, "models", "dict", "snapshot"),
      sources: req(d, "sources", "dict", "snapshot"),
    };
    out.root = opt(d, "root", "str", "snapshot");
    out.title = opt(d, "title", "str", "snapshot") || "";
    checkId(out.doc, "snapshot.doc");
    checkId(out.epoch, "snapshot.epoch");
    checkSeq(out.seq, "snapshot.seq");
    checkSpecs(out.models, out.sources, "snapshot");
    if (out.root !== null) checkId(out.root, "snapshot.root");
    return out;
  },
  add(d) {
    const seq = req(d, "seq", "int", "add");
    const models = opt(d, "models", "dict", "add") || {};
    const sources = opt(d, "sources", "dict", "add") || {};
    const root = opt(d, "root", "str", "add");
    const title = opt(d, "title", "str", "add");
    checkSeq(seq, "add.seq");
    checkSpecs(models, sources, "add");
    if (root !== null) checkId(root, "add.root");
    /** @type {Record<string, any>} */
    const out = { v: 1, type: "add", seq, models, sources };
    if (root !== null) out.root = root;
    if (title !== null) out.title = title;
    return out;
  },
  patch(d) {
    const seq = req(d, "seq", "int", "patch");
    const model = req(d, "model", "str", "patch");
    const state = req(d, "state", "dict", "patch");
    const origin = opt(d, "origin", "dict", "patch");
    const reply = Boolean(opt(d, "reply", "bool", "patch"));
    checkSeq(seq, "patch.seq");
    checkId(model, "patch.model");
    checkState(state, "patch.state");
    if (origin !== null) {
      checkId(origin.session, "patch.origin.session");
      checkSeq(origin.req, "patch.origin.req");
    }
    /** @type {Record<string, any>} */
    const out = { v: 1, type: "patch", seq, model, state };
    if (origin !== null) out.origin = origin;
    if (reply) out.reply = true;
    const first = checkFirst(d, seq, "patch");
    if (first !== null) out.first = first;
    return out;
  },
  stream(d) {
    const out = {
      v: 1,
      type: "stream",
      seq: req(d, "seq", "int", "stream"),
      source: req(d, "source", "str", "stream"),
      data: req(d, "data", "dict", "stream"),
      rollover: opt(d, "rollover", "int", "stream"),
    };
    checkSeq(out.seq, "stream.seq");
    checkId(out.source, "stream.source");
    checkColumns(out.data, "stream.data");
    if (out.rollover !== null) checkSeq(out.rollover, "stream.rollover");
    const first = checkFirst(d, out.seq, "stream");
    if (first !== null) /** @type {Record<string, any>} */ (out).first = first;
    return out;
  },
  source_patch(d) {
    const out = {
      v: 1,
      type: "source_patch",
      seq: req(d, "seq", "int", "source_patch"),
      source: req(d, "source", "str", "source_patch"),
      patches: req(d, "patches", "dict", "source_patch"),
    };
    checkSeq(out.seq, "source_patch.seq");
    checkId(out.source, "source_patch.source");
    checkPatches(out.patches);
    return out;
  },
  source_replace(d) {
    const out = {
      v: 1,
      type: "source_replace",
      seq: req(d, "seq", "int", "source_replace"),
      source: req(d, "source", "str", "source_replace"),
      data: req(d, "data", "dict", "source_replace"),
    };
    checkSeq(out.seq, "source_replace.seq");
    checkId(out.source, "source_replace.source");
    checkColumns(out.data, "source_replace.data");
    const meta = opt(d, "meta", "dict", "source_replace");
    checkMeta(meta, out.data, "source_replace.meta");
    if (meta !== null && Object.keys(meta).length) /** @type {Record<string, any>} */ (out).meta = meta;
    return out;
  },
  custom(d) {
    const model = req(d, "model", "str", "custom");
    const content = Object.hasOwn(d, "content") && d.content !== undefined ? d.content : null;
    const buffers = opt(d, "buffers", "list", "custom") || [];
    const seq = opt(d, "seq", "int", "custom");
    checkId(model, "custom.model");
    if (seq !== null) checkSeq(seq, "custom.seq");
    if (!buffers.every(isTypedArray)) {
      throw new ProtocolError("bad_message", "custom.buffers must be a list of binary buffers");
    }
    /** @type {Record<string, any>} */
    const out = { v: 1, type: "custom", model, content, buffers };
    if (seq !== null) out.seq = seq;
    return out;
  },
  notify(d) {
    const text = req(d, "text", "str", "notify");
    const level = opt(d, "level", "str", "notify") || "info";
    const duration = Object.hasOwn(d, "duration") && d.duration !== undefined ? d.duration : null;
    const time = Object.hasOwn(d, "time") && d.time !== undefined ? checkNumber(d.time, "notify.time") : 0;
    const seq = opt(d, "seq", "int", "notify");
    if (text.length > NOTIFY_TEXT_MAX && [...text].length > NOTIFY_TEXT_MAX) {
      throw new ProtocolError("bad_message", `notify.text is at most ${NOTIFY_TEXT_MAX} characters`);
    }
    if (!NOTIFY_LEVELS.includes(level)) {
      throw new ProtocolError("bad_message", `notify.level must be one of ${NOTIFY_LEVELS.join(", ")}`);
    }
    if (duration !== null) {
      checkNumber(duration, "notify.duration");
      if (!(duration > 0 && duration <= NOTIFY_DURATION_MAX)) {
        throw new ProtocolError("bad_message", `notify.duration is in (0, ${NOTIFY_DURATION_MAX}] seconds, or null`);
      }
    }
    if (time < 0) throw new ProtocolError("bad_message", "notify.time must not be negative");
    if (seq !== null) checkSeq(seq, "notify.seq");
    /** @type {Record<string, any>} */
    const out = { v: 1, type: "notify", text, level, duration, time };
    if (seq !== null) out.seq = seq;
    return out;
  },
  dev(d) {
    const error = opt(d, "error", "dict", "dev");
    if (error !== null && (typeof error.title !== "string" || typeof error.text !== "string")) {
      throw new ProtocolError("bad_message", "dev.error: {title, text} strings, or null");
    }
    return { v: 1, type: "dev", error: error === null ? null : { title: error.title, text: error.text } };
  },
  error(d) {
    const code = req(d, "code", "str", "error");
    const message = req(d, "message", "str", "error");
    const seq = opt(d, "seq", "int", "error") || 0;
    const ref = opt(d, "ref", "dict", "error");
    checkId(code, "error.code");
    checkSeq(seq, "error.seq");
    /** @type {Record<string, any>} */
    const out = { v: 1, type: "error", seq, code, message };
    if (ref !== null) out.ref = ref;
    return out;
  },
  set(d) {
    const model = req(d, "model", "str", "set");
    const state = req(d, "state", "dict", "set");
    const reqId = opt(d, "req", "int", "set") || 0;
    checkId(model, "set.model");
    checkState(state, "set.state");
    if (Object.keys(state).length === 0) throw new ProtocolError("bad_message", "set.state must not be empty");
    checkSeq(reqId, "set.req");
    return { v: 1, type: "set", model, state, req: reqId };
  },
  event(d) {
    const model = req(d, "model", "str", "event");
    const name = req(d, "name", "str", "event");
    const data = Object.hasOwn(d, "data") && d.data !== undefined ? d.data : null;
    checkId(model, "event.model");
    checkId(name, "event.name");
    return { v: 1, type: "event", model, name, data };
  },
  ack(d) {
    const seq = req(d, "seq", "int", "ack");
    checkSeq(seq, "ack.seq");
    return { v: 1, type: "ack", seq };
  },
  // files (docs/protocol.md "Files"; wsbridge/wire/files.py): none sequenced
  upload_start(d) {
    const model = req(d, "model", "str", "upload_start");
    const upload = req(d, "upload", "int", "upload_start");
    const files = req(d, "files", "list", "upload_start");
    checkId(model, "upload_start.model");
    checkSeq(upload, "upload_start.upload");
    return { v: 1, type: "upload_start", model, upload, files: checkFiles(files, "upload_start") };
  },
  upload_chunk(d) {
    const upload = req(d, "upload", "int", "upload_chunk");
    const offset = req(d, "offset", "int", "upload_chunk");
    checkSeq(upload, "upload_chunk.upload");
    checkSeq(offset, "upload_chunk.offset");
    return { v: 1, type: "upload_chunk", upload, offset, data: checkBytes(d.data, "upload_chunk.data") };
  },
  upload_ack(d) {
    const upload = req(d, "upload", "int", "upload_ack");
    const received = req(d, "received", "int", "upload_ack");
    checkSeq(upload, "upload_ack.upload");
    checkSeq(received, "upload_ack.received");
    return { v: 1, type: "upload_ack", upload, received };
  },
  upload_done(d) {
    const upload = req(d, "upload", "int", "upload_done");
    checkSeq(upload, "upload_done.upload");
    return { v: 1, type: "upload_done", upload };
  },
  download(d) {
    const model = req(d, "model", "str", "download");
    const name = req(d, "name", "str", "download");
    const mime = req(d, "mime", "str", "download");
    checkId(model, "download.model");
    return { v: 1, type: "download", model, name, mime, data: checkBytes(d.data, "download.data") };
  },
};

/**
 * The declared files of an `upload_start`, in canonical form.
 * @param {any[]} files
 * @param {string} what
 */
function checkFiles(files, what) {
  if (files.length < 1 || files.length > 256) throw new ProtocolError("bad_message", `${what}.files must list 1-256 files`);
  return files.map((f) => {
    if (!isObject(f)) throw new ProtocolError("bad_message", `${what}.files: each file is an object`);
    const name = req(f, "name", "str", what);
    const type = opt(f, "type", "str", what) ?? "";
    const size = req(f, "size", "int", what);
    checkSeq(size, `${what}: a file size`);
    const modified = Object.hasOwn(f, "last_modified") ? f.last_modified : null;
    if (modified !== null && typeof modified !== "number") {
      throw new ProtocolError("bad_message", `${what}: last_modified is a number of ms or null`);
    }
    return { name, type, size, last_modified: modified };
  });
}

/**
 * A file's bytes: a 1-D uint8 buffer.
 * @param {unknown} data
 * @param {string} what
 * @returns {Uint8Array}
 */
function checkBytes(data, what) {
  if (!(data instanceof Uint8Array)) throw new ProtocolError("bad_message", `${what} must be a uint8 buffer`);
  return data;
}

/** Every message type of docs/protocol.md. */
export const MESSAGE_TYPES = Object.freeze(Object.keys(CANONICAL));

/**
 * `ref` of an error: which message caused it (like Python's `_ref_of`).
 * @param {Record<string, any>} obj
 */
function refOf(obj) {
  /** @type {Record<string, any>} */
  const ref = { type: obj.type };
  for (const key of ["model", "req", "name"]) {
    const v = obj[key];
    if (typeof v === "string" || isInt(v)) ref[key] = v;
  }
  return ref;
}

/**
 * Validate a decoded message object (arrays already in place) and return its
 * canonical form, or throw {@link ProtocolError}. The check order is the
 * Python decoder's: `v` present (bad_message), `v` is 1 (bad_version), `type`
 * a string (bad_message), a known type (unknown_type), then its fields.
 * @param {Record<string, any>} obj
 * @returns {Record<string, any>}
 */
export function validate(obj) {
  if (!isObject(obj)) throw new ProtocolError("bad_json", "a message must be a JSON object");
  const kind = obj.type;
  const ref = typeof kind === "string" ? { type: kind } : null;
  if (!Object.hasOwn(obj, "v")) throw new ProtocolError("bad_message", "message lacks 'v'", ref);
  if (obj.v !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      "bad_version",
      `protocol version ${JSON.stringify(obj.v)} is not supported (this client speaks ${PROTOCOL_VERSION})`,
      ref,
    );
  }
  if (typeof kind !== "string") throw new ProtocolError("bad_message", "message lacks a string 'type'");
  const canonical = Object.hasOwn(CANONICAL, kind) ? CANONICAL[kind] : undefined;
  if (!canonical) throw new ProtocolError("unknown_type", `unknown message type '${kind.slice(0, 64)}'`, ref);
  try {
    return canonical(obj);
  } catch (err) {
    if (err instanceof ProtocolError && err.ref === null) err.ref = refOf(obj);
    throw err;
  }
}
