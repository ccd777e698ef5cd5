// The wsbridge wire protocol, version 1, sans I/O: frames to messages and back.
//
// The contract is docs/protocol.md; this module mirrors the Python codec
// (wsbridge/protocol.py) rule for rule, and both are held to the golden frames
// in tests/wire/. Nothing here touches a socket, a timer or the DOM.
//
// Arrays. A binary frame's buffers become typed-array VIEWS on the frame's
// ArrayBuffer, without copying (docs/protocol.md "Binary frames": every buffer
// starts at a multiple of 8 from the frame start, so every view is aligned):
//
//   bool -> Uint8Array (0/1)          int8/uint8   -> Int8Array/Uint8Array
//   int16/uint16 -> Int16Array/...    int32/uint32 -> Int32Array/Uint32Array
//   int64 -> BigInt64Array            uint64       -> BigUint64Array
//   float32 -> Float32Array           float64      -> Float64Array
//
// A multi-dimensional array stays ONE flat typed array in C (row-major)
// order. Its wire dtype and shape are kept in a side table (a WeakMap) and
// read with `shapeOf(arr)` / `dtypeOf(arr)`; `tagArray(arr, {dtype, shape})`
// sets them before sending. A side table rather than an expando property:
// adding properties to typed arrays changes their hidden class in JS engines
// (slower element access everywhere they flow), and a `subarray()` or copy of
// an array must not inherit a shape that no longer describes it.

/** The protocol version spoken here (docs/protocol.md "Text frames"). */
export const PROTOCOL_VERSION = 1;

/**
 * @typedef {Int8Array|Uint8Array|Uint8ClampedArray|Int16Array|Uint16Array|Int32Array|Uint32Array|Float32Array|Float64Array|BigInt64Array|BigUint64Array} TypedArray
 */

/**
 * @typedef {"bool"|"int8"|"uint8"|"int16"|"uint16"|"int32"|"uint32"|"int64"|"uint64"|"float32"|"float64"} DType
 */

/**
 * Wire dtypes (docs/protocol.md "Binary frames", all little-endian) and the
 * typed array each becomes in JavaScript (docs/protocol.md "Values").
 * @type {Readonly<Record<DType, any>>}
 */
export const DTYPES = Object.freeze({
  bool: Uint8Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  float32: Float32Array,
  float64: Float64Array,
});

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
});

/** Message types that a hub sends with a `seq` that advances the document. */
export const SEQUENCED = Object.freeze(
  new Set(["snapshot", "add", "patch", "stream", "source_patch", "source_replace", "custom"]),
);

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
// typed arrays and their wire description

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** constructor -> default wire dtype */
const CTOR_DTYPE = new Map(/** @type {[any, DType][]} */ ([
  [Int8Array, "int8"],
  [Uint8Array, "uint8"],
  [Uint8ClampedArray, "uint8"],
  [Int16Array, "int16"],
  [Uint16Array, "uint16"],
  [Int32Array, "int32"],
  [Uint32Array, "uint32"],
  [BigInt64Array, "int64"],
  [BigUint64Array, "uint64"],
  [Float32Array, "float32"],
  [Float64Array, "float64"],
]));

/** @type {WeakMap<object, {dtype: DType, shape: number[]}>} */
const ARRAY_INFO = new WeakMap();

/**
 * Whether `value` is a typed array (an ArrayBuffer view other than DataView).
 * @param {unknown} value
 * @returns {value is TypedArray}
 */
export function isTypedArray(value) {
  return ArrayBuffer.isView(value) && !(value instanceof DataView);
}

/**
 * The wire dtype of a typed array: the one it was decoded from or tagged
 * with, else the natural one of its constructor.
 * @param {TypedArray} arr
 * @returns {DType}
 */
export function dtypeOf(arr) {
  const info = ARRAY_INFO.get(arr);
  if (info) return info.dtype;
  const dtype = CTOR_DTYPE.get(arr.constructor);
  if (!dtype) throw new TypeError(`${arr?.constructor?.name} cannot travel as a wire array`);
  return dtype;
}

/**
 * The shape of an array (docs/protocol.md: C order): the decoded or tagged
 * one, else `[arr.length]`.
 * @param {TypedArray} arr
 * @returns {number[]}
 */
export function shapeOf(arr) {
  const info = ARRAY_INFO.get(arr);
  return info ? info.shape.slice() : [arr.length];
}

/**
 * Record the wire dtype and/or shape of a typed array (for sending a `bool`
 * array, which is a Uint8Array, or a multi-dimensional one). Returns `arr`.
 * @template {TypedArray} T
 * @param {T} arr
 * @param {{dtype?: DType, shape?: number[]}} info
 * @returns {T}
 */
export function tagArray(arr, { dtype, shape } = {}) {
  if (!isTypedArray(arr)) throw new TypeError("tagArray needs a typed array");
  const d = dtype ?? dtypeOf(arr);
  const ctor = DTYPES[d];
  if (!ctor || !(arr instanceof ctor || (d === "uint8" && arr instanceof Uint8ClampedArray))) {
    throw new TypeError(`a ${arr.constructor.name} cannot be tagged as ${d}`);
  }
  const s = shape ? [...shape] : shapeOf(arr);
  if (!s.every((n) => Number.isInteger(n) && n >= 0) || product(s) !== arr.length) {
    throw new RangeError(`shape [${s}] does not hold ${arr.length} elements`);
  }
  ARRAY_INFO.set(arr, { dtype: d, shape: s });
  return arr;
}

/** @param {number[]} shape */
function product(shape) {
  let n = 1;
  for (const k of shape) n *= k;
  return n;
}

// Byte-swapping fallback for big-endian hosts (none of today's browsers):
// the wire is little-endian, typed arrays use the host's order.
/** @type {Record<string, [string, string]>} */
const DATAVIEW_RW = {
  int16: ["getInt16", "setInt16"],
  uint16: ["getUint16", "setUint16"],
  int32: ["getInt32", "setInt32"],
  uint32: ["getUint32", "setUint32"],
  int64: ["getBigInt64", "setBigInt64"],
  uint64: ["getBigUint64", "setBigUint64"],
  float32: ["getFloat32", "setFloat32"],
  float64: ["getFloat64", "setFloat64"],
};

/**
 * A typed array over `count` little-endian elements at `byteOffset` of
 * `buffer`: a view (no copy) on little-endian hosts.
 * @param {ArrayBuffer} buffer
 * @param {number} byteOffset
 * @param {DType} dtype
 * @param {number} count
 * @returns {TypedArray}
 */
function viewOf(buffer, byteOffset, dtype, count) {
  const Ctor = DTYPES[dtype];
  if (LITTLE_ENDIAN || Ctor.BYTES_PER_ELEMENT === 1) return new Ctor(buffer, byteOffset, count);
  const out = new Ctor(count);
  const dv = new DataView(buffer, byteOffset, count * Ctor.BYTES_PER_ELEMENT);
  const get = DATAVIEW_RW[dtype][0];
  for (let i = 0; i < count; i++) out[i] = /** @type {any} */ (dv)[get](i * Ctor.BYTES_PER_ELEMENT, true);
  return out;
}

/**
 * Copy the elements of `arr` into `out` at `byteOffset`, little-endian.
 * @param {Uint8Array} out
 * @param {number} byteOffset
 * @param {TypedArray} arr
 * @param {DType} dtype
 */
function writeLE(out, byteOffset, arr, dtype) {
  const size = arr.BYTES_PER_ELEMENT;
  if (LITTLE_ENDIAN || size === 1) {
    out.set(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength), byteOffset);
    return;
  }
  const dv = new DataView(out.buffer, out.byteOffset + byteOffset, arr.byteLength);
  const set = DATAVIEW_RW[dtype][1];
  for (let i = 0; i < arr.length; i++) /** @type {any} */ (dv)[set](i * size, arr[i], true);
}

// ---------------------------------------------------------------------------
// validation, mirroring wsbridge/protocol.py (each failure: bad_message)

/**
 * A JSON object (not an array, not a typed array, not null).
 * @param {unknown} v
 * @returns {v is Record<string, any>}
 */
function isObject(v) {
  if (v === null || typeof v !== "object" || Array.isArray(v) || ArrayBuffer.isView(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** @param {unknown} v */
const isInt = (v) => typeof v === "number" && Number.isInteger(v);

/** @type {Record<string, (v: unknown) => boolean>} */
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
 * @param {keyof KINDS} kind
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
 * @param {keyof KINDS} kind
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
    if (!Array.isArray(col) && !isTypedArray(col)) {
      throw new ProtocolError("bad_message", `${what}['${name}'] must be an array or a list`);
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
        if (!(Array.isArray(value) || isTypedArray(value)) || rowCount(value) !== count) {
          throw new ProtocolError("bad_message", "source_patch slice value must hold one item per index");
        }
      } else {
        checkSeq(index, "source_patch index");
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
    checkId(doc, "hello.doc");
    if (seq !== null) checkSeq(seq, "hello.seq");
    /** @type {Record<string, any>} */
    const out = { v: 1, type: "hello", doc };
    if (token !== null) out.token = token;
    if (epoch !== null) {
      out.epoch = epoch;
      out.seq = seq;
    }
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
};

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

// ---------------------------------------------------------------------------
// decode

const UTF8 = new TextDecoder("utf-8", { fatal: true });
const UTF8_ENCODER = new TextEncoder();

/**
 * @param {string} text
 * @returns {Record<string, any>}
 */
function parseObject(text) {
  let obj;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    throw new ProtocolError("bad_json", `not valid JSON: ${/** @type {Error} */ (err).message}`);
  }
  if (!isObject(obj)) throw new ProtocolError("bad_json", "a message must be a JSON object");
  return obj;
}

/**
 * One step down a buffer path; every container on the path must exist.
 * @param {any} target
 * @param {unknown} step
 */
function stepInto(target, step) {
  if (isObject(target) && typeof step === "string" && Object.hasOwn(target, step)) return target[step];
  if (Array.isArray(target) && isInt(step) && /** @type {number} */ (step) >= 0 && /** @type {number} */ (step) < target.length) {
    return target[/** @type {number} */ (step)];
  }
  throw new ProtocolError("bad_frame", "buffer path does not fit the header");
}

/**
 * Put `value` where `path` points: a null (or missing) object key, or a
 * null list item (docs/protocol.md "Binary frames").
 * @param {Record<string, any>} obj
 * @param {unknown} path
 * @param {TypedArray} value
 */
function place(obj, path, value) {
  if (!Array.isArray(path) || path.length === 0) {
    throw new ProtocolError("bad_frame", "buffer path must be a non-empty list");
  }
  /** @type {any} */
  let target = obj;
  for (let i = 0; i < path.length - 1; i++) target = stepInto(target, path[i]);
  const last = path[path.length - 1];
  if (isObject(target) && typeof last === "string") {
    if (Object.hasOwn(target, last) && target[last] !== null) {
      throw new ProtocolError("bad_frame", `buffer path ${JSON.stringify(path)} points at a non-null value`);
    }
    // defineProperty: a key such as "__proto__" must stay a plain data key.
    Object.defineProperty(target, last, { value, writable: true, enumerable: true, configurable: true });
  } else if (Array.isArray(target) && isInt(last)) {
    if (!(last >= 0 && last < target.length) || target[last] !== null) {
      throw new ProtocolError("bad_frame", `buffer path ${JSON.stringify(path)} is not a null list item`);
    }
    target[last] = value;
  } else {
    throw new ProtocolError("bad_frame", `buffer path ${JSON.stringify(path)} does not fit the header`);
  }
}

/**
 * Decode a binary frame whose first byte is at `base` in `buffer` (base is a
 * multiple of 8, so every buffer view is aligned).
 * @param {ArrayBuffer} buffer
 * @param {number} base
 * @param {number} size
 * @returns {Record<string, any>}
 */
function decodeBinary(buffer, base, size) {
  if (size < 4) throw new ProtocolError("bad_frame", "binary frame shorter than its header length field");
  const hlen = new DataView(buffer, base, 4).getUint32(0, true);
  if (hlen === 0 || 4 + hlen > size) {
    throw new ProtocolError("bad_frame", `header length ${hlen} does not fit a ${size}-byte frame`);
  }
  let text;
  try {
    text = UTF8.decode(new Uint8Array(buffer, base + 4, hlen));
  } catch {
    throw new ProtocolError("bad_json", "binary header is not valid UTF-8");
  }
  const obj = parseObject(text);
  const entries = Object.hasOwn(obj, "$buffers") ? obj.$buffers : [];
  delete obj.$buffers;
  if (!Array.isArray(entries)) throw new ProtocolError("bad_frame", "header '$buffers' must be a list");
  let floor = 4 + hlen;
  for (const entry of entries) {
    if (!isObject(entry)) throw new ProtocolError("bad_frame", "each buffer entry must be an object");
    const dtype = entry.dtype;
    if (typeof dtype !== "string" || !Object.hasOwn(DTYPES, dtype)) {
      throw new ProtocolError("bad_frame", `dtype ${JSON.stringify(dtype)} is not allowed`);
    }
    const { offset, length, shape } = entry;
    for (const [name, val] of [["offset", offset], ["length", length]]) {
      if (!isInt(val) || val < 0) throw new ProtocolError("bad_frame", `buffer ${name} must be a non-negative integer`);
    }
    if (offset % 8) throw new ProtocolError("bad_frame", `buffer offset ${offset} is not 8-byte aligned`);
    if (offset < floor || offset + length > size) {
      throw new ProtocolError("bad_frame", `buffer [${offset}, +${length}) is out of bounds`);
    }
    if (!Array.isArray(shape) || !shape.every((n) => isInt(n) && n >= 0)) {
      throw new ProtocolError("bad_frame", "buffer shape must be a list of non-negative integers");
    }
    const count = product(shape);
    const Ctor = DTYPES[/** @type {DType} */ (dtype)];
    if (count * Ctor.BYTES_PER_ELEMENT !== length) {
      throw new ProtocolError("bad_frame", `buffer length ${length} does not match its shape`);
    }
    const arr = viewOf(buffer, base + offset, /** @type {DType} */ (dtype), count);
    ARRAY_INFO.set(arr, { dtype: /** @type {DType} */ (dtype), shape: shape.slice() });
    place(obj, entry.path, arr);
    floor = offset + length;
  }
  return obj;
}

/**
 * Decode one WebSocket message into a validated, canonical message object,
 * or throw {@link ProtocolError}.
 *
 * `frame` is a string (a text frame) or binary data (a binary frame): an
 * ArrayBuffer, as a browser WebSocket with `binaryType = "arraybuffer"`
 * delivers, or a Uint8Array/Buffer. Arrays in a binary frame become typed
 * arrays viewing the frame's memory (copied once only when a Uint8Array
 * input does not start at an 8-byte boundary of its buffer).
 * @param {string | ArrayBuffer | ArrayBufferView} frame
 * @returns {Record<string, any>}
 */
export function decode(frame) {
  if (typeof frame === "string") return validate(parseObject(frame));
  if (frame instanceof ArrayBuffer) return validate(decodeBinary(frame, 0, frame.byteLength));
  if (ArrayBuffer.isView(frame)) {
    if (frame.byteOffset % 8 === 0 && frame.buffer instanceof ArrayBuffer) {
      return validate(decodeBinary(frame.buffer, frame.byteOffset, frame.byteLength));
    }
    const copy = new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength).slice();
    return validate(decodeBinary(copy.buffer, 0, copy.byteLength));
  }
  throw new TypeError("a frame is a string (text) or an ArrayBuffer (binary)");
}

// ---------------------------------------------------------------------------
// encode

/**
 * A copy of `value` with every array replaced by null; the arrays are
 * collected in `found` with their path (depth-first, so offsets ascend).
 * @param {any} value
 * @param {(string|number)[]} path
 * @param {{path: (string|number)[], arr: TypedArray}[]} found
 * @returns {any}
 */
function extract(value, path, found) {
  if (value instanceof ArrayBuffer) value = new Uint8Array(value);
  else if (value instanceof DataView) value = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (isTypedArray(value)) {
    found.push({ path: path.slice(), arr: value });
    return null;
  }
  if (Array.isArray(value)) {
    const out = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      out[i] = extract(value[i], path, found);
      path.pop();
    }
    return out;
  }
  if (isObject(value)) {
    /** @type {Record<string, any>} */
    const out = {};
    for (const key of Object.keys(value)) {
      path.push(key);
      Object.defineProperty(out, key, {
        value: extract(value[key], path, found),
        writable: true,
        enumerable: true,
        configurable: true,
      });
      path.pop();
    }
    return out;
  }
  return value;
}

/**
 * JSON text of a header. NaN and ±Infinity scalars become null
 * (docs/protocol.md "Text frames"); BigInt scalars become numbers when they
 * are exact, else it is an error.
 * @param {any} value
 */
function stringify(value) {
  try {
    return JSON.stringify(value);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    return JSON.stringify(value, (_key, v) => {
      if (typeof v !== "bigint") return v;
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
        throw new RangeError(`${v} is too large for a JSON number; send it in a BigInt64Array`);
      }
      return Number(v);
    });
  }
}

/** @param {number} n */
const align8 = (n) => (n + 7) & ~7;

/**
 * Encode a message: a string (text frame) when it holds no arrays, else an
 * ArrayBuffer laid out as docs/protocol.md "Binary frames" says: uint32 LE
 * header length, the JSON header with its `$buffers` table, zero padding to
 * 8, then each buffer at a multiple of 8 followed by zero padding to 8.
 *
 * Typed arrays anywhere in the message travel as buffers (`dtypeOf` and
 * `shapeOf` describe them); a raw ArrayBuffer or DataView travels as uint8.
 * @param {Record<string, any>} msg
 * @returns {string | ArrayBuffer}
 */
export function encode(msg) {
  /** @type {{path: (string|number)[], arr: TypedArray}[]} */
  const found = [];
  const header = extract(msg, [], found);
  if (found.length === 0) return stringify(header);
  /** @type {number[]} */
  const relative = [];
  let total = 0;
  for (const { arr } of found) {
    relative.push(total);
    total += align8(arr.byteLength);
  }
  const entries = found.map(({ path, arr }) => {
    const dtype = dtypeOf(arr);
    const shape = shapeOf(arr);
    if (product(shape) !== arr.length) throw new RangeError(`shape [${shape}] does not fit ${arr.length} elements`);
    return { path, dtype, shape, offset: 0, length: arr.byteLength };
  });
  // The header's own length depends on the offsets written into it: grow the
  // base until it is stable (at most a couple of rounds), as Python does.
  let base = 0;
  /** @type {Uint8Array} */
  let head;
  for (;;) {
    entries.forEach((entry, i) => (entry.offset = base + relative[i]));
    header.$buffers = entries;
    head = UTF8_ENCODER.encode(stringify(header));
    const need = align8(4 + head.length);
    if (need === base) break;
    base = need;
  }
  const out = new Uint8Array(base + total); // zero-filled: all padding is 0
  new DataView(out.buffer).setUint32(0, head.length, true);
  out.set(head, 4);
  found.forEach(({ arr }, i) => writeLE(out, entries[i].offset, arr, entries[i].dtype));
  return out.buffer;
}

// ---------------------------------------------------------------------------
// client -> hub message builders (docs/protocol.md "Messages from a client to
// the hub"); each returns a validated canonical message, ready for `encode`.

/**
 * @param {{doc: string, token?: string|null, epoch?: string|null, seq?: number|null}} args
 */
export function hello({ doc, token = null, epoch = null, seq = null }) {
  return validate({ v: 1, type: "hello", doc, token, epoch, seq: epoch === null ? null : seq });
}

/**
 * A user changed properties of a model; `req` increases per connection.
 * @param {string} model
 * @param {Record<string, any>} state
 * @param {number} req
 */
export function set(model, state, req) {
  return validate({ v: 1, type: "set", model, state, req });
}

/**
 * A declared event of a model fired (a click).
 * @param {string} model
 * @param {string} name
 * @param {any} [data]
 */
export function event(model, name, data = null) {
  return validate({ v: 1, type: "event", model, name, data });
}

/**
 * anywidget's `model.send(content, callbacks, buffers)`: ArrayBuffers and
 * DataViews among `buffers` travel as uint8 arrays.
 * @param {string} model
 * @param {any} [content]
 * @param {(ArrayBuffer|ArrayBufferView)[]} [buffers]
 */
export function custom(model, content = null, buffers = []) {
  const bufs = buffers.map((b) =>
    b instanceof ArrayBuffer
      ? new Uint8Array(b)
      : b instanceof DataView
        ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
        : b,
  );
  return validate({ v: 1, type: "custom", model, content, buffers: bufs });
}

/**
 * The last `seq` this client applied (reported in the hub's /healthz).
 * @param {number} seq
 */
export function ack(seq) {
  return validate({ v: 1, type: "ack", seq });
}
