// A document's sources as the client holds them: named columns of typed
// arrays, appended to by streams in chunks and concatenated only when read.
//
// Pure logic, no I/O: DocumentState (state.js) creates one Source per id and
// applies `stream`, `source_patch` and `source_replace` to it
// (docs/protocol.md). Arrays handed out are never written to afterwards.
//
// Packed columns (docs/protocol.md "Packed columns": values with a validity
// mask, ragged rows) keep each part as a column of its own, in step row by
// row. `source.data[name]` of a masked column is its values (a filler where
// a row is missing: NaN in floats) and `source.mask(name)` says which rows
// are there; a ragged column is an array of rows, each a typed array (or an
// array of them), as BokehJS's multi_line, patches and multi_polygons take.

import { Emitter } from "./events.js";
import { dtypeOf, isTypedArray, shapeOf, tagArray } from "../wire/arrays.js";

/** @typedef {import("../wire/arrays.js").TypedArray} TypedArray */
/** @typedef {TypedArray | any[]} ColumnValue a numeric typed array, or a JS array (strings, null) */
/** @typedef {{values: TypedArray, mask?: Uint8Array | null, lengths?: Uint32Array[]}} PackedValue a packed column (or rows of one) as the wire has it */

/**
 * Whether a column (or a patch value) is a packed one.
 * @param {unknown} value
 * @returns {value is PackedValue}
 */
export function isPacked(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value) && !ArrayBuffer.isView(value)
    && isTypedArray(/** @type {any} */ (value).values);
}

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
 * A packed column (docs/protocol.md "Packed columns"): its values, its mask
 * and each level of its ragged lengths are Columns of their own, kept in
 * step row by row (wsbridge/hub/columns.py `_PackedColumn` does the same).
 */
export class PackedColumn {
  /** @param {PackedValue} packed */
  constructor(packed) {
    this.values = new Column(packed.values);
    /** @type {Column | null} */
    this.mask = packed.mask ? new Column(packed.mask) : null;
    this.lengths = (packed.lengths ?? []).map((l) => new Column(l));
    /** @type {any} */
    this._value = null;
  }

  /**
   * A plain numeric column becoming packed (rows with missing values are coming).
   * @param {Column} col
   */
  static of(col) {
    const out = new PackedColumn({ values: new Float64Array(0) });
    out.values = col;
    return out;
  }

  get rows() {
    return this.lengths.length ? this.lengths[0].rows : this.values.rows;
  }

  get dtype() {
    return this.values.dtype;
  }

  get rowShape() {
    return this.lengths.length ? [] : this.values.rowShape;
  }

  get rowSize() {
    return this.lengths.length ? 1 : this.values.rowSize;
  }

  /** @returns {ColumnValue} the values, or for a ragged column its rows */
  get value() {
    if (this._value !== null) return this._value;
    this._value = this.lengths.length ? raggedRows(this.values.value, this.lengths.map((l) => /** @type {Uint32Array} */ (l.value))) : this.values.value;
    return this._value;
  }

  /** @returns {Uint8Array | null} one entry per row: 1 present, 0 missing */
  get maskValue() {
    return this.mask ? /** @type {Uint8Array} */ (this.mask.value) : null;
  }

  /** @returns {PackedValue} the column in wire form */
  get packed() {
    return { values: /** @type {TypedArray} */ (this.values.value), mask: this.maskValue, lengths: this.lengths.map((l) => /** @type {Uint32Array} */ (l.value)) };
  }

  /** @param {ColumnValue | PackedValue} piece rows to append */
  append(piece) {
    const packed = isPacked(piece) ? piece : null;
    const rows = packed ? packedRows(packed) : rowsIn(/** @type {ColumnValue} */ (piece), this.values.rowSize);
    if (packed?.mask && !this.mask) this.mask = new Column(ones(this.rows));
    if (this.mask) this.mask.append(packed?.mask ?? ones(rows));
    this.lengths.forEach((col, k) => col.append(/** @type {Uint32Array[]} */ (packed?.lengths)[k]));
    this.values.append(packed ? packed.values : /** @type {ColumnValue} */ (piece));
    this._value = null;
  }

  /** @param {number} n keep only the last `n` rows */
  keepLast(n) {
    let drop = this.rows - n;
    if (drop <= 0) return;
    this._value = null;
    this.mask?.keepLast(n);
    for (const col of this.lengths) {
      const counts = /** @type {Uint32Array} */ (col.value);
      col.keepLast(col.rows - drop);
      let next = 0;
      for (let i = 0; i < drop; i++) next += counts[i];
      drop = next;
    }
    this.values.keepLast(this.values.rows - drop);
  }
}

/** @param {number} n */
function ones(n) {
  return tagArray(new Uint8Array(n).fill(1), { dtype: "uint8" });
}

/**
 * The rows of a packed value.
 * @param {PackedValue} p
 */
function packedRows(p) {
  if (p.lengths?.length) return p.lengths[0].length;
  const shape = shapeOf(p.values);
  return shape.length ? shape[0] : 1;
}

/**
 * Ragged rows from flat values and lengths: each row a typed-array view of
 * `values` (no copy) at the last level, arrays of those above it.
 * @param {any} values
 * @param {Uint32Array[]} lengths
 * @returns {any[]}
 */
export function raggedRows(values, lengths) {
  /** @type {any} */
  let items = values;
  for (let k = lengths.length - 1; k >= 0; k--) {
    const counts = lengths[k];
    const out = new Array(counts.length);
    let at = 0;
    for (let i = 0; i < counts.length; i++) {
      out[i] = k === lengths.length - 1 && isTypedArray(items) ? items.subarray(at, at + counts[i]) : items.slice(at, at + counts[i]);
      at += counts[i];
    }
    items = out;
  }
  return items;
}

/**
 * Rows (as `raggedRows` gives them; null for a missing row) back into a
 * packed ragged column of `levels` levels, values in `Ctor`.
 * @param {any[]} rows
 * @param {number} levels
 * @param {any} Ctor
 * @param {boolean} masked keep a mask even when every row is present
 * @returns {PackedValue}
 */
function packRagged(rows, levels, Ctor, masked) {
  /** @type {number[][]} */
  const counts = [];
  /** @type {any[]} */
  let level = rows.map((r) => r ?? []);
  for (let k = 0; k < levels; k++) {
    counts.push(level.map((r) => r.length));
    if (k < levels - 1) level = level.flat();
  }
  let total = 0;
  for (const leaf of level) total += leaf.length;
  const values = new Ctor(total);
  let at = 0;
  for (const leaf of level) {
    values.set(leaf, at);
    at += leaf.length;
  }
  const gone = rows.some((r) => r === null || r === undefined);
  const mask = gone || masked ? tagArray(Uint8Array.from(rows, (r) => (r === null || r === undefined ? 0 : 1)), { dtype: "uint8" }) : null;
  return { values, mask, lengths: counts.map((c) => tagArray(Uint32Array.from(c), { dtype: "uint32" })) };
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
    /** @type {Map<string, Column | PackedColumn>} */
    this._columns = new Map();
    /** @type {Record<string, {type: string, tz?: string | null}>} column metadata (docs/protocol.md "Column metadata") */
    this.meta = {};
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
   * Column name -> the column as the wire has it: a typed array, an array,
   * or for a packed column `{values, mask, lengths}` (docs/protocol.md
   * "Packed columns"). For views that need the mask with the values (Bokeh).
   * @returns {Record<string, ColumnValue | PackedValue>}
   */
  get wireData() {
    /** @type {Record<string, ColumnValue | PackedValue>} */
    const out = {};
    for (const [name, col] of this._columns) out[name] = col instanceof PackedColumn ? col.packed : col.value;
    return out;
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

  /**
   * Which rows of a column hold a value: a Uint8Array of one entry per row
   * (1 present, 0 missing), or null when none is missing (or no such column).
   * @param {string} name
   * @returns {Uint8Array | null}
   */
  mask(name) {
    const col = this._columns.get(name);
    return col instanceof PackedColumn ? col.maskValue : null;
  }

  /**
   * Whether a column is ragged (each row a list of numbers).
   * @param {string} name
   */
  ragged(name) {
    const col = this._columns.get(name);
    return col instanceof PackedColumn && col.lengths.length > 0;
  }

  _changed() {
    this._data = null;
    this.version++;
  }

  /**
   * @param {Record<string, ColumnValue | PackedValue>} data all columns, replaced
   * @param {Record<string, any> | null} [meta] their metadata
   */
  _replace(data, meta = null) {
    this._columns = new Map(Object.entries(data).map(([name, values]) => [name, columnOf(values)]));
    this.meta = meta ? { ...meta } : {};
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
      if (col === undefined) this._columns.set(name, (col = columnOf(values)));
      else if (isPacked(values) && col instanceof Column) {
        // a plain column gets missing values (or, empty, its first ragged rows)
        if (values.lengths?.length && col.rows === 0) col = new PackedColumn(values);
        else (col = PackedColumn.of(col)).append(values);
        this._columns.set(name, col);
      } else col.append(/** @type {any} */ (values));
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
      if (col instanceof PackedColumn || items.some(([, v]) => isPacked(v))) {
        this._columns.set(name, patchPacked(col, items));
        continue;
      }
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
 * @param {ColumnValue | PackedValue} values
 * @returns {Column | PackedColumn}
 */
function columnOf(values) {
  return isPacked(values) ? new PackedColumn(values) : new Column(values);
}

/**
 * A packed column (or a plain one getting missing values) with a patch
 * applied (docs/protocol.md "source_patch"), as a new column: a masked row
 * is set by a 0-d value (present) or a one-row packed value; a ragged row
 * by a one-row packed value.
 * @param {Column | PackedColumn} col
 * @param {[number | {start: number, stop: number, step: number}, any][]} items
 * @returns {PackedColumn}
 */
function patchPacked(col, items) {
  const packed = col instanceof PackedColumn ? col : PackedColumn.of(col);
  /** @type {(index: number | {start: number, stop: number, step: number}) => number[]} */
  const rowsOf = (index) => {
    if (typeof index === "number") return index < packed.rows ? [index] : [];
    const out = [];
    for (let r = index.start; r < index.stop && r < packed.rows; r += index.step) out.push(r);
    return out;
  };
  if (packed.lengths.length) {
    const mask = packed.maskValue;
    const rows = /** @type {any[]} */ (packed.value).map((r, i) => (mask && mask[i] === 0 ? null : r));
    for (const [index, value] of items) {
      if (!isPacked(value)) continue;
      const vmask = value.mask;
      const vrows = raggedRows(value.values, value.lengths ?? []).map((r, i) => (vmask && vmask[i] === 0 ? null : r));
      rowsOf(index).forEach((r, k) => (rows[r] = vrows[k]));
    }
    const Ctor = /** @type {any} */ (packed.values.value).constructor;
    const out = new PackedColumn(packRagged(rows, packed.lengths.length, Ctor, mask !== null));
    if (packed.values.dtype) tagArray(/** @type {any} */ (out.values.value), { dtype: packed.values.dtype });
    return out;
  }
  const values = /** @type {any} */ (packed.values.value).slice();
  const mask = packed.maskValue ? packed.maskValue.slice() : new Uint8Array(packed.rows).fill(1);
  const size = packed.values.rowSize;
  for (const [index, value] of items) {
    const targets = rowsOf(index);
    targets.forEach((row, k) => {
      if (isPacked(value)) {
        const v = value.values;
        writeRow(values, row, size, size === 1 ? v[k] : v.subarray(k * size, (k + 1) * size));
        mask[row] = value.mask ? value.mask[k] : 1;
      } else {
        writeRow(values, row, size, typeof index === "number" ? value : size === 1 ? value[k] : value.subarray ? value.subarray(k * size, (k + 1) * size) : value[k]);
        mask[row] = 1;
      }
    });
  }
  tagArray(values, { dtype: packed.values.dtype ?? dtypeOf(values), shape: [packed.rows, ...packed.values.rowShape] });
  return new PackedColumn({ values, mask: tagArray(mask, { dtype: "uint8" }) });
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
