// How a Table shows the numbers of a column (views/table.js): one format per
// column, so decimal points line up down a right-aligned column.
//
// - a `formats` entry (a Python format string, `{:,.2f}`) wins: format.js;
// - integer dtypes: every digit, ungrouped (ids and years read right);
//   int64/uint64 exactly (BigInt);
// - floats: one number of decimals for the whole column: as many as its
//   values need (0.5 steps: 1; whole numbers: none), at most about 4
//   significant digits of its largest value but never fewer than 2
//   (0.05184, 0.899, 1,234.57), thousands grouped; scientific notation
//   (1.235e-5) when the largest is below 1e-4 or from 1e15. NaN and
//   infinities keep table.js's own text.
//
// The magnitude is measured over the whole column (cached per array and
// length); past `SCAN_LIMIT` rows, over the rows drawn, remembered per
// column so the precision does not flicker while scrolling.
//
// Pure: tested in node (js/test/views/numbers.test.js).

import { formatNumber } from "./format.js";

/** Columns longer than this are measured on the rows drawn only. */
export const SCAN_LIMIT = 50_000;

/** The most decimals a float column shows. */
export const MAX_DECIMALS = 6;

/**
 * @typedef {object} Magnitude
 * @property {number} maxAbs the largest finite |value| seen
 * @property {number} decimals the decimals that show every finite value seen
 *   exactly (float noise aside), at most MAX_DECIMALS
 */

/**
 * The decimals `v` needs (0.5 -> 1, 0.1 + 0.2 -> 1, 1/3 -> MAX_DECIMALS).
 * @param {number} v (finite)
 */
export function decimalsOf(v) {
  const tolerance = Math.abs(v) * 1e-9 + 1e-12;
  let scale = 1;
  for (let d = 0; d < MAX_DECIMALS; d++, scale *= 10) {
    if (Math.abs(Math.round(v * scale) / scale - v) <= tolerance) return d;
  }
  return MAX_DECIMALS;
}

/**
 * The decimals a float column of this magnitude may show: about 4
 * significant digits of its largest value (0.05184, 12.35), but never
 * fewer than 2 (cents stay), nor more than MAX_DECIMALS.
 * @param {number} maxAbs
 */
export function decimalsCap(maxAbs) {
  if (!(maxAbs > 0)) return MAX_DECIMALS;
  return Math.min(MAX_DECIMALS, Math.max(2, 3 - Math.floor(Math.log10(maxAbs))));
}

/**
 * The magnitude of `values[start:end]`, merged into `into`.
 * @param {ArrayLike<number>} values
 * @param {number} [start]
 * @param {number} [end]
 * @param {Magnitude} [into]
 * @returns {Magnitude}
 */
export function measure(values, start = 0, end = values.length, into = { maxAbs: 0, decimals: 0 }) {
  let maxAbs = into.maxAbs;
  for (let i = start; i < end; i++) {
    const v = values[i];
    if (Number.isFinite(v) && Math.abs(v) > maxAbs) maxAbs = Math.abs(v);
  }
  // no need to look further once the values need what the column may show
  const cap = decimalsCap(maxAbs);
  let decimals = into.decimals;
  for (let i = start; i < end && decimals < cap; i++) {
    const v = values[i];
    if (Number.isFinite(v)) decimals = Math.max(decimals, decimalsOf(v));
  }
  return { maxAbs, decimals };
}

/**
 * The style of a float column of this magnitude: as many decimals as its
 * values need, up to `decimalsCap`; scientific below 1e-4 and from 1e15.
 * @param {Magnitude} m
 * @returns {{kind: "fixed", decimals: number} | {kind: "scientific", digits: number}}
 */
export function floatStyle({ maxAbs, decimals }) {
  if (maxAbs >= 1e15 || (maxAbs > 0 && maxAbs < 1e-4)) return { kind: "scientific", digits: 3 };
  return { kind: "fixed", decimals: Math.min(decimals, decimalsCap(maxAbs)) };
}

/** @type {Map<number, Intl.NumberFormat>} */
const FIXED = new Map();

/**
 * @param {number} decimals
 * @returns {Intl.NumberFormat}
 */
function fixedFormat(decimals) {
  let f = FIXED.get(decimals);
  if (!f) {
    f = new Intl.NumberFormat("en-US", {
      minimumFractionDigits: decimals,
      maximumFractionDigits: decimals,
      // no "-0.00": a minus only for what shows as non-zero
      signDisplay: /** @type {any} */ ("negative"),
    });
    FIXED.set(decimals, f);
  }
  return f;
}

/**
 * A float in a column's style.
 * @param {number} v
 * @param {ReturnType<typeof floatStyle>} style
 */
export function formatFloatIn(v, style) {
  if (style.kind === "scientific") {
    const [mantissa, exp] = v.toExponential(style.digits).split("e");
    return `${mantissa}e${exp.replace("+", "")}`;
  }
  return fixedFormat(style.decimals).format(v);
}

/** @type {WeakMap<object, {length: number, magnitude: Magnitude}>} */
const SCANNED = new WeakMap();

/**
 * @param {ArrayLike<number>} values
 * @returns {Magnitude}
 */
function wholeColumn(values) {
  const hit = SCANNED.get(values);
  if (hit && hit.length === values.length) return hit.magnitude;
  const magnitude = measure(values);
  SCANNED.set(values, { length: values.length, magnitude });
  return magnitude;
}

/**
 * The float and integer typed arrays (what this module formats).
 * @param {any} values
 */
function dtypeKind(values) {
  if (values instanceof Float64Array || values instanceof Float32Array) return "float";
  if (values instanceof BigInt64Array || values instanceof BigUint64Array) return "bigint";
  if (ArrayBuffer.isView(values) && !(values instanceof DataView)) return "int";
  return null;
}

/**
 * The formatter of one numeric column for one draw, or null when the
 * column is not one this module formats (not a typed array, NaN and
 * infinities aside: the formatter returns null for those, and the table
 * shows its own text).
 * @param {any} values the column (a typed array; 1-D)
 * @param {object} [opts]
 * @param {string} [opts.template] a Python format string (Table `formats`), "" for automatic
 * @param {number} [opts.start] the first row drawn
 * @param {number} [opts.end] past the last row drawn
 * @param {Magnitude} [opts.seen] what earlier draws measured (long columns)
 * @returns {{format: (v: any) => string | null, seen: Magnitude | undefined} | null}
 */
export function columnFormatter(values, { template = "", start = 0, end = 0, seen } = {}) {
  const kind = dtypeKind(values);
  if (kind === null) return null;
  if (template) {
    return {
      format: (v) => (typeof v === "number" || typeof v === "bigint" ? formatNumber(template, Number(v)) : null),
      seen,
    };
  }
  if (kind === "bigint") return { format: (v) => (typeof v === "bigint" ? v.toString() : null), seen };
  if (kind === "int") return { format: (v) => (typeof v === "number" ? String(v) : null), seen };
  const magnitude = values.length <= SCAN_LIMIT ? wholeColumn(values) : measure(values, start, end, seen);
  const style = floatStyle(magnitude);
  return {
    format: (v) => (typeof v === "number" && Number.isFinite(v) ? formatFloatIn(v, style) : null),
    seen: values.length <= SCAN_LIMIT ? seen : magnitude,
  };
}
