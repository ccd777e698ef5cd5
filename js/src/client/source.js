// A document's sources as the client holds them: named columns of typed
// arrays, appended to by streams in chunks and concatenated only when read.
//
// Pure logic, no I/O: DocumentState (state.js) creates one Source per id and
// applies `stream`, `source_patch` and `source_replace` to it
// (docs/protocol.md). Arrays handed out are never written to afterwards.

import { Emitter } from "./events.js";
import { dtypeOf, isTypedArray, shapeOf, tagArray } from "../wire/arrays.js";

/** @typedef {import("../wire/arrays.js").TypedArray} TypedArray */
/** @typedef {TypedArray | any[]} ColumnValue a numeric typed array, or a JS array (strings, null) */

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
    /** @type {import("../wire/arrays.js").DType | null} */
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
 * @param {import("../wire/arrays.js").DType} dtype
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
 * A scalar for a patch of `arr`. A hub sends a patched number as a 0-d
 * array of the column's dtype (docs/protocol.md "source_patch"): its one
 * element is taken as it is, so ±Infinity and 64-bit integers stay exact.
 * A JSON number (an older hub) is converted: null (how NaN travelled) is
 * NaN in a float column, BigInts for 64-bit columns, 0/1 for bool.
 * @param {ColumnValue} arr
 * @param {any} value
 */
function coerce(arr, value) {
  if (isTypedArray(value)) value = value[0];
  if (!isTypedArray(arr)) return value;
  if (arr instanceof BigInt64Array || arr instanceof BigUint64Array) {
    if (typeof value === "bigint") return value;
    const n = Number(value ?? 0);
    return BigInt(Number.isFinite(n) ? Math.trunc(n) : 0);
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
  // a 0-d array (one element) fills the whole row, as numpy broadcasts it
  const one = isTypedArray(value) && value.length === 1;
  for (let i = 0; i < size; i++) out[start + i] = coerce(out, one ? value : value?.[i]);
}
