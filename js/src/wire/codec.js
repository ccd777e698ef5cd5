// The wsbridge wire protocol, version 1, sans I/O: frames to messages and back.
//
// The contract is docs/protocol.md; this module mirrors the Python codec
// (wsbridge/protocol.py) rule for rule, and both are held to the golden frames
// in tests/wire/. Nothing here touches a socket, a timer or the DOM.
//
// Framing lives here; the array helpers are in arrays.js and the message
// catalogue and validation in messages.js (both re-exported, so importers
// only ever need this module).

import {
  DTYPES, isTypedArray, dtypeOf, shapeOf, tagArray, product, viewOf, writeLE, ARRAY_INFO,
} from "./arrays.js";
import {
  PROTOCOL_VERSION, ERROR_CODES, SEQUENCED, ProtocolError, MESSAGE_TYPES, validate, rowCount,
  sliceLength, isObject, isInt,
} from "./messages.js";

/** @typedef {import("./arrays.js").TypedArray} TypedArray */
/** @typedef {import("./arrays.js").DType} DType */

export {
  DTYPES, isTypedArray, dtypeOf, shapeOf, tagArray,
  PROTOCOL_VERSION, ERROR_CODES, SEQUENCED, ProtocolError, MESSAGE_TYPES, validate, rowCount,
  sliceLength,
};

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
 * `query`: the page's address query, for a per-session app's factory
 * (docs/protocol.md "hello"); null or `{}` sends none.
 * @param {{doc: string, token?: string|null, key?: string|null, epoch?: string|null, seq?: number|null, query?: Record<string, string>|null}} args
 */
export function hello({ doc, token = null, key = null, epoch = null, seq = null, query = null }) {
  return validate({ v: 1, type: "hello", doc, token, epoch, seq: epoch === null ? null : seq, key, query });
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
 * Open an upload of `files` (each `{name, type, size, last_modified}`) to a
 * model that takes files (docs/protocol.md "Files").
 * @param {string} model
 * @param {number} upload a number unique on this connection
 * @param {{name: string, type: string, size: number, last_modified: number | null}[]} files
 */
export function uploadStart(model, upload, files) {
  return validate({ v: 1, type: "upload_start", model, upload, files });
}

/**
 * The next bytes of an upload, at byte `offset` of its files back to back.
 * @param {number} upload
 * @param {number} offset
 * @param {Uint8Array} data
 */
export function uploadChunk(upload, offset, data) {
  return validate({ v: 1, type: "upload_chunk", upload, offset, data });
}

/**
 * The last `seq` this client applied (reported in the hub's /healthz).
 * @param {number} seq
 */
export function ack(seq) {
  return validate({ v: 1, type: "ack", seq });
}
