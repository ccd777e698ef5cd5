// Typed arrays on the wire: dtypes, zero-copy views, shapes (sans I/O).
//
// Part of the protocol codec (codec.js re-exports everything public):
// docs/protocol.md "Binary frames" and "Values".
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

// ---------------------------------------------------------------------------
// typed arrays and their wire description

export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** constructor -> default wire dtype */
export const CTOR_DTYPE = new Map(/** @type {[any, DType][]} */ ([
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
export const ARRAY_INFO = new WeakMap();

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
export function product(shape) {
  let n = 1;
  for (const k of shape) n *= k;
  return n;
}

// Byte-swapping fallback for big-endian hosts (none of today's browsers):
// the wire is little-endian, typed arrays use the host's order.
/** @type {Record<string, [string, string]>} */
export const DATAVIEW_RW = {
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
export function viewOf(buffer, byteOffset, dtype, count) {
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
export function writeLE(out, byteOffset, arr, dtype) {
  const size = arr.BYTES_PER_ELEMENT;
  if (LITTLE_ENDIAN || size === 1) {
    out.set(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength), byteOffset);
    return;
  }
  const dv = new DataView(out.buffer, out.byteOffset + byteOffset, arr.byteLength);
  const set = DATAVIEW_RW[dtype][1];
  for (let i = 0; i < arr.length; i++) /** @type {any} */ (dv)[set](i * size, arr[i], true);
}
