// Feeding BokehJS ColumnDataSources from wsbridge sources, for the Plot view
// (plot.js). Pure: no DOM, no BokehJS (a target is anything with `data`,
// `stream` and `patch`), so node tests cover it.
//
// Each tied ColumnDataSource follows its wsbridge source:
//
// - a `stream` becomes `cds.stream(rows, rollover)`,
// - a `source_patch` becomes `cds.patch(...)` (wire slices are BokehJS slices),
// - a `source_replace`, a snapshot or anything unexpected becomes `cds.data = ...`.
//
// Messages are collected as they are applied and handed to BokehJS at most
// once per animation frame (consecutive streams merged into one), so a
// source streaming at 1 kHz costs BokehJS ~60 updates a second. After each
// flush the BokehJS length is checked against the wsbridge source's and any
// disagreement is repaired by a full replace: the wsbridge source is the truth.

import { dtypeOf, isTypedArray, shapeOf } from "../wire/arrays.js";
import { isPacked, raggedRows } from "../client/source.js";

/**
 * Pending operations past which a feed stops collecting and replaces the
 * whole data at its next flush (a hidden tab runs no animation frames, so
 * without a bound a fast stream would queue without end).
 */
export const MAX_OPS = 256;

/**
 * A column as BokehJS wants it, in an array of its own: BokehJS's stream
 * and patch write into column arrays in place, and ours are views of the
 * wsbridge source's frames, shared with every other view. 64-bit integers
 * become Float64Array (BokehJS has no BigInt columns; Bokeh's own
 * serializer does the same); strings and nulls stay a plain array.
 *
 * A 2-D column (shape [rows, k]) becomes an array of rows, each a typed
 * array of k (what MultiLine.xs and Patches.xs expect of a 2-D column); a
 * ragged packed column an array of rows likewise (an empty one where a row
 * is missing); a masked one has NaN where a row is missing (null in a
 * boolean column, which has no NaN; its values stay 0 and 1).
 * @param {any} values a typed array, an array, or a packed column (docs/protocol.md)
 * @returns {any}
 */
export function toBokehColumn(values) {
  if (isPacked(values)) {
    const mask = values.mask ?? null;
    if (values.lengths?.length) {
      const rows = raggedRows(toBokehColumn(values.values), values.lengths);
      return mask ? rows.map((r, i) => (mask[i] === 0 ? new Float64Array(0) : r)) : rows;
    }
    const shape = shapeOf(values.values);
    const flat = toBokehColumn(values.values);
    if (!mask) return flat;
    if (dtypeOf(values.values) === "bool" && shape.length === 1) {
      return Array.from(flat, (v, i) => (mask[i] === 0 ? null : v)); // bool (0/1, as Bokeh sends them): no NaN
    }
    const size = shape.slice(1).reduce((a, b) => a * b, 1);
    if (size !== 1) return flat.map((/** @type {any} */ row, /** @type {number} */ i) => (mask[i] === 0 ? row.map(() => NaN) : row));
    const out = flat instanceof Float64Array ? flat : Float64Array.from(flat);
    for (let i = 0; i < mask.length; i++) if (mask[i] === 0) out[i] = NaN;
    return out;
  }
  let out;
  if (values instanceof BigInt64Array || values instanceof BigUint64Array) {
    out = new Float64Array(values.length);
    for (let i = 0; i < values.length; i++) out[i] = Number(values[i]);
  } else if (isTypedArray(values)) out = values.slice();
  else if (Array.isArray(values)) return values.slice();
  else return [];
  const shape = shapeOf(values);
  if (shape.length < 2) return out;
  const size = shape.slice(1).reduce((a, b) => a * b, 1);
  const rows = new Array(shape[0]);
  for (let i = 0; i < shape[0]; i++) rows[i] = out.subarray(i * size, (i + 1) * size);
  return rows;
}

/**
 * @param {Record<string, any>} data column name -> values
 * @returns {Record<string, any>}
 */
export function toBokehData(data) {
  /** @type {Record<string, any>} */
  const out = {};
  for (const name of Object.keys(data)) out[name] = toBokehColumn(data[name]);
  return out;
}

/**
 * A wire `source_patch` as BokehJS's `cds.patch` takes it: an index stays
 * a number; a `{start, stop, step}` slice is already the shape BokehJS
 * reads; a patched number (a 0-d array of the column's dtype) is its one
 * element; a scalar `null` in a float column is NaN (how NaN travelled in
 * JSON from older hubs); BigInts are numbers.
 * @param {Record<string, [any, any][]>} patches
 * @param {Record<string, any>} columns the BokehJS columns being patched (for their kinds)
 * @returns {Record<string, [any, any][]>}
 */
export function toBokehPatches(patches, columns) {
  /** @type {Record<string, [any, any][]>} */
  const out = {};
  for (const [name, items] of Object.entries(patches)) {
    const col = columns[name];
    if (col === undefined) continue;
    const float = col instanceof Float64Array || col instanceof Float32Array;
    out[name] = items.map(([index, value]) => {
      if (isPacked(value)) {
        const rows = toBokehColumn(value);
        return typeof index === "number" ? [index, rows[0]] : [{ start: index.start, stop: index.stop, step: index.step }, rows];
      }
      if (typeof index === "number") {
        let v = isTypedArray(value) ? value[0] : value;
        if (v === null && float) v = NaN;
        else if (typeof v === "bigint") v = Number(v);
        return [index, v];
      }
      const slice = { start: index.start, stop: index.stop, step: index.step };
      return [slice, toBokehColumn(value)];
    });
  }
  return out;
}

/**
 * One pending change of a source.
 * @typedef {{kind: "stream", data: Record<string, any>, rollover: number | null}
 *   | {kind: "patch", patches: Record<string, [any, any][]>}} Op
 */

/**
 * Merge consecutive streams with the same rollover into one (appending A
 * then B, each time keeping the last r rows, is appending A+B and keeping
 * r). Streams with different rollovers, and patches, keep their order.
 * @param {Op[]} ops
 * @returns {Op[]}
 */
export function mergeOps(ops) {
  /** @type {Op[]} */
  const out = [];
  /** @type {Record<string, any[]> | null} */
  let chunks = null;
  for (const op of ops) {
    const last = out[out.length - 1];
    if (op.kind === "stream" && last?.kind === "stream" && last.rollover === op.rollover && chunks) {
      for (const [name, values] of Object.entries(op.data)) (chunks[name] ??= []).push(values);
      continue;
    }
    if (chunks && last?.kind === "stream") last.data = concatChunks(chunks);
    chunks = null;
    if (op.kind === "stream") {
      chunks = {};
      for (const [name, values] of Object.entries(op.data)) chunks[name] = [values];
      out.push({ kind: "stream", data: op.data, rollover: op.rollover });
    } else {
      out.push(op);
    }
  }
  const last = out[out.length - 1];
  if (chunks && last?.kind === "stream") last.data = concatChunks(chunks);
  return out;
}

/**
 * @param {Record<string, any[]>} chunks column name -> list of pieces
 * @returns {Record<string, any>}
 */
function concatChunks(chunks) {
  /** @type {Record<string, any>} */
  const out = {};
  for (const [name, pieces] of Object.entries(chunks)) {
    if (pieces.length === 1) {
      out[name] = pieces[0];
      continue;
    }
    const first = pieces[0];
    if (isTypedArray(first) && pieces.every((p) => p.constructor === first.constructor)) {
      const total = pieces.reduce((n, p) => n + p.length, 0);
      const arr = new /** @type {any} */ (first.constructor)(total);
      let at = 0;
      for (const p of pieces) {
        arr.set(p, at);
        at += p.length;
      }
      out[name] = arr;
    } else {
      out[name] = pieces.flatMap((p) => Array.from(p));
    }
  }
  return out;
}

/**
 * Put the data of the tied ColumnDataSources into a figure's JSON (Bokeh's
 * `json_item`, whose tied sources travel with empty columns), so BokehJS
 * draws the figure with its data at once: one paint, and data ranges set
 * from the data. BokehJS's decoder keeps typed arrays as they are.
 * @param {any} doc the item's `doc` (modified in place)
 * @param {Record<string, string>} sourceIds ColumnDataSource id -> wsbridge source id
 * @param {(sid: string) => Record<string, any> | undefined} dataOf the current columns of a source
 * @returns {string[]} the ColumnDataSource ids filled
 */
export function fillFigure(doc, sourceIds, dataOf) {
  /** @type {string[]} */
  const filled = [];
  eachModel(doc, (node) => {
    const sid = node.name === "ColumnDataSource" ? sourceIds[node.id] : undefined;
    const data = sid === undefined ? undefined : dataOf(sid);
    if (data !== undefined) {
      node.attributes = node.attributes ?? {};
      node.attributes.data = { type: "map", entries: Object.entries(toBokehData(data)) };
      filled.push(node.id);
    }
  });
  return filled;
}

/**
 * Call `visit` with every model object (`{type: "object", id, ...}`) of a
 * Bokeh document JSON, depth first; typed arrays are not walked into.
 * @param {any} doc
 * @param {(node: any) => void} visit may change the node's `attributes`
 */
export function eachModel(doc, visit) {
  const stack = [doc];
  while (stack.length) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      for (const v of node) if (v !== null && typeof v === "object") stack.push(v);
      continue;
    }
    if (node === null || typeof node !== "object" || ArrayBuffer.isView(node)) continue;
    if (node.type === "object" && typeof node.id === "string") visit(node);
    for (const v of Object.values(node)) if (v !== null && typeof v === "object") stack.push(v);
  }
}

/**
 * @param {Record<string, any>} data
 * @returns {number} rows (the length of the first column)
 */
export function dataLength(data) {
  for (const v of Object.values(data)) return v?.length ?? 0;
  return 0;
}

/**
 * Keeps BokehJS ColumnDataSources in step with one wsbridge source.
 *
 * `message(msg)` is called with every hub message after the client applied
 * it; a message counts only when it moved the source's `version` by exactly
 * one (a duplicate moves nothing; a snapshot or `add` that replaced the
 * source moves it without a stream message, and is caught at the flush as
 * a full replace). `flush(targets)` brings BokehJS sources up to date.
 */
export class Feed {
  /** @param {{id: string, version: number, length: number, data: Record<string, any>, wireData?: Record<string, any>}} source */
  constructor(source) {
    this.source = source;
    /** the source version accounted for by `ops` (or by `full`) */
    this.known = source.version;
    /** @type {Op[]} */
    this.ops = [];
    /** replace the whole data at the next flush */
    this.full = true;
  }

  /**
   * @param {Record<string, any>} msg a decoded hub message
   * @returns {boolean} whether it changed this source (a flush is due)
   */
  message(msg) {
    if (msg.source !== this.source.id) return false;
    const v = this.source.version;
    if (v === this.known) return false; // not applied (a duplicate, or no such source)
    const next = v === this.known + 1;
    this.known = v;
    if (this.full || !next || this.ops.length >= MAX_OPS) {
      this.ops = [];
      this.full = true;
      return true;
    }
    if (msg.type === "stream") {
      this.ops.push({ kind: "stream", data: toBokehData(msg.data), rollover: msg.rollover ?? null });
    } else if (msg.type === "source_patch") {
      this.ops.push({ kind: "patch", patches: msg.patches });
    } else {
      this.ops = [];
      this.full = true; // source_replace, or anything new: take the whole data
    }
    return true;
  }

  /**
   * Apply what changed since the last flush to each BokehJS source.
   * @param {{data: Record<string, any>, stream: Function, patch: Function}[]} targets
   */
  flush(targets) {
    if (this.source.version !== this.known) {
      this.known = this.source.version;
      this.full = true;
    }
    const ops = mergeOps(this.ops);
    const full = this.full;
    this.ops = [];
    this.full = false;
    for (const cds of targets) {
      if (!full) {
        try {
          for (const op of ops) {
            if (op.kind === "stream") {
              cds.stream(op.data, op.rollover ?? undefined);
            } else {
              cds.patch(toBokehPatches(op.patches, cds.data));
            }
          }
        } catch (err) {
          console.warn("wsbridge: a Bokeh source update failed; replacing its data", err);
        }
      }
      if (full || dataLength(cds.data) !== this.source.length) {
        cds.data = toBokehData(this.source.wireData ?? this.source.data);
      }
    }
  }
}
