// Python-style number formatting for the Number indicator (display.js), and
// its colour thresholds. Pure: no DOM, tested in node.
//
// `formatNumber("{:,.2f} €", 1234.5)` gives what Python's
// `"{:,.2f} €".format(1234.5)` gives. Supported: literal text with `{{` /
// `}}` escapes around one or more replacement fields `{}`, `{0}` or
// `{value}`, each with an optional format spec
// `[[fill]align][sign][z][#][0][width][,|_][.precision][type]` and the float
// types `f F e E g G n %` or none. Rounding is Python's: the exact binary
// value, ties to even (JS `toFixed` rounds exact ties up, so it is not used).
// A template the formatter does not understand falls back to `String(value)`.

/**
 * @typedef {object} Spec
 * @property {string} fill
 * @property {string} align "<", ">", "=", "^" or "" (numbers: right)
 * @property {string} sign "-", "+" or " "
 * @property {boolean} z negative zero shows as zero
 * @property {boolean} alt "#": keep trailing zeros and the point
 * @property {boolean} zero "0": pad with zeros after the sign
 * @property {number} width
 * @property {string} grouping "," "_" or ""
 * @property {number | null} precision
 * @property {string} type
 */

const SPEC_RE = /^(?:(.)?([<>=^]))?([-+ ])?(z)?(#)?(0)?(\d+)?([,_])?(?:\.(\d+))?([eEfFgGn%]|d)?$/su;

/**
 * Parse a format spec (the part after `:`); null when unsupported.
 * @param {string} text
 * @returns {Spec | null}
 */
export function parseSpec(text) {
  const m = SPEC_RE.exec(text);
  if (!m) return null;
  const [, fill, align, sign, z, alt, zero, width, grouping, precision, type] = m;
  const spec = {
    fill: fill ?? (zero && !align ? "0" : " "),
    align: align ?? (zero ? "=" : ""),
    sign: sign ?? "-",
    z: Boolean(z),
    alt: Boolean(alt),
    zero: Boolean(zero) && !align,
    width: width ? Number(width) : 0,
    grouping: grouping ?? "",
    precision: precision !== undefined ? Number(precision) : null,
    type: type ?? "",
  };
  if (spec.width > 1000 || (spec.precision !== null && spec.precision > 100)) return null;
  return spec;
}

/** @param {number} k */
const pow10 = (k) => 10n ** BigInt(k);

/**
 * `round_half_even(|x| * 10**s)` exactly, as a BigInt (x finite).
 * @param {number} x
 * @param {number} s
 * @returns {bigint}
 */
export function roundScaled(x, s) {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exp2;
  if (biased === 0) {
    exp2 = -1074; // subnormal
  } else {
    mant |= 1n << 52n;
    exp2 = biased - 1075;
  }
  // |x| * 10**s = num / den, exactly
  let num = mant;
  let den = 1n;
  if (exp2 >= 0) num <<= BigInt(exp2);
  else den <<= BigInt(-exp2);
  if (s >= 0) num *= pow10(s);
  else den *= pow10(-s);
  const q = num / den;
  const r2 = 2n * (num % den);
  if (r2 > den || (r2 === den && q % 2n === 1n)) return q + 1n;
  return q;
}

/**
 * Fixed-point digits of |x| with `decimals` decimals.
 * @param {number} x
 * @param {number} decimals
 * @returns {[string, string]} integer part, fraction
 */
function fixed(x, decimals) {
  const digits = roundScaled(x, decimals).toString().padStart(decimals + 1, "0");
  return decimals === 0 ? [digits, ""] : [digits.slice(0, -decimals), digits.slice(-decimals)];
}

/**
 * |x| rounded to `p + 1` significant digits: the digits and the decimal exponent.
 * @param {number} x
 * @param {number} p digits after the first
 * @returns {{digits: string, exp: number}}
 */
function scientific(x, p) {
  if (x === 0) return { digits: "0".repeat(p + 1), exp: 0 };
  let exp = Number(Math.abs(x).toExponential().split("e")[1]);
  for (let tries = 0; tries < 4; tries++) {
    const n = roundScaled(x, p - exp);
    if (n >= pow10(p + 1)) exp += 1;
    else if (n < pow10(p)) exp -= 1;
    else return { digits: n.toString(), exp };
  }
  const n = roundScaled(x, p - exp);
  return { digits: n.toString().slice(0, p + 1), exp };
}

/** @param {number} exp */
const expText = (exp) => (exp < 0 ? "-" : "+") + String(Math.abs(exp)).padStart(2, "0");

/**
 * Python's `repr` of |x| (shortest round-trip digits), split for grouping.
 * @param {number} x
 * @returns {{int: string, rest: string}}
 */
function shortest(x) {
  const [mant, e] = Math.abs(x).toExponential().split("e");
  const digits = mant.replace(".", "");
  const exp = Number(e);
  if (exp < -4 || exp >= 16) {
    const frac = digits.slice(1);
    return { int: digits[0], rest: (frac ? `.${frac}` : "") + "e" + expText(exp) };
  }
  if (exp < 0) return { int: "0", rest: `.${"0".repeat(-exp - 1)}${digits}` };
  const int = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
  const frac = digits.slice(exp + 1);
  return { int, rest: `.${frac || "0"}` };
}

/**
 * The general format ("g", or no type with a precision).
 * @param {number} x
 * @param {number} precision significant digits
 * @param {boolean} keepZeros "#"
 * @param {boolean} minOneDecimal no type: "1.0", not "1"
 * @returns {{int: string, rest: string}}
 */
function general(x, precision, keepZeros, minOneDecimal) {
  const p = precision === 0 ? 1 : precision;
  const { exp } = scientific(x, p - 1);
  /** @type {string} */
  let int;
  /** @type {string} */
  let frac;
  let suffix = "";
  // CPython (format_float_short): with the ".0" rule, an exponent of p - 1
  // already switches to scientific notation ("{:.3}" of 310.2 is "3.1e+02")
  if (exp >= -4 && exp < (minOneDecimal ? p - 1 : p)) {
    [int, frac] = fixed(x, p - 1 - exp);
  } else {
    const sci = scientific(x, p - 1);
    int = sci.digits[0];
    frac = sci.digits.slice(1);
    suffix = "e" + expText(sci.exp);
  }
  if (!keepZeros) frac = frac.replace(/0+$/u, "");
  if (minOneDecimal && frac === "" && suffix === "") frac = "0";
  const point = frac !== "" || keepZeros ? "." : "";
  return { int, rest: point + frac + suffix };
}

/**
 * @param {string} int
 * @param {string} sep
 */
function group(int, sep) {
  if (!sep) return int;
  let out = "";
  for (let i = int.length; i > 0; i -= 3) out = int.slice(Math.max(0, i - 3), i) + (out ? sep + out : "");
  return out;
}

/**
 * One value formatted with one spec, as Python's `format(value, spec)` does
 * for a float.
 * @param {number} value
 * @param {Spec} spec
 * @returns {string}
 */
export function formatSpec(value, spec) {
  let x = value;
  const upper = spec.type === "F" || spec.type === "E" || spec.type === "G";
  let negative = x < 0 || Object.is(x, -0);
  /** @type {{int: string, rest: string}} */
  let body;
  if (!Number.isFinite(x)) {
    negative = x === -Infinity;
    const word = Number.isNaN(x) ? "nan" : "inf";
    body = { int: upper ? word.toUpperCase() : word, rest: spec.type === "%" ? "%" : "" };
    return pad(spec, negative, body, false);
  }
  const t = spec.type.toLowerCase();
  const p = spec.precision;
  if (t === "f" || t === "%") {
    if (t === "%") x *= 100;
    const decimals = p ?? 6;
    const [int, frac] = fixed(x, decimals);
    body = { int, rest: (frac || spec.alt ? "." : "") + frac + (t === "%" ? "%" : "") };
  } else if (t === "e") {
    const decimals = p ?? 6;
    const { digits, exp } = scientific(x, decimals);
    const frac = digits.slice(1);
    body = { int: digits[0], rest: (frac || spec.alt ? "." : "") + frac + "e" + expText(exp) };
  } else if (t === "g" || t === "n") {
    body = general(x, p ?? 6, spec.alt, false);
  } else if (t === "d") {
    body = { int: roundScaled(x, 0).toString(), rest: "" };
  } else if (p !== null) {
    body = general(x, p, spec.alt, true);
  } else {
    body = shortest(x);
  }
  if (upper) body = { int: body.int, rest: body.rest.toUpperCase() };
  if (negative && spec.z && /^[0.]*$/u.test(body.int + body.rest.replace(/[eE%].*$/u, ""))) negative = false;
  return pad(spec, negative, body, true);
}

/**
 * Sign, grouping, width and alignment.
 * @param {Spec} spec
 * @param {boolean} negative
 * @param {{int: string, rest: string}} body
 * @param {boolean} numeric whether grouping and zero padding apply
 */
function pad(spec, negative, body, numeric) {
  const sign = negative ? "-" : spec.sign === "+" ? "+" : spec.sign === " " ? " " : "";
  let int = body.int;
  const sep = numeric ? spec.grouping : "";
  if (numeric && spec.zero && spec.width) {
    // zeros belong to the number: grouped like its digits ("001,234.50")
    while (sign.length + group(int, sep).length + body.rest.length < spec.width) int = "0" + int;
  }
  const text = group(int, sep) + body.rest;
  const room = spec.width - sign.length - text.length;
  if (room <= 0) return sign + text;
  const fill = spec.fill.repeat(room);
  switch (spec.align) {
    case "<":
      return sign + text + fill;
    case "^": {
      const left = spec.fill.repeat(Math.floor(room / 2));
      return left + sign + text + spec.fill.repeat(room - left.length);
    }
    case "=":
      return sign + fill + text;
    default:
      return fill + sign + text;
  }
}

/**
 * A Python format string applied to one number: `{}`, `{0}` or `{value}`
 * fields (each with an optional `:spec`) and `{{`, `}}` escapes. Templates
 * outside that subset give `String(value)`; `null` gives an en dash.
 * @param {string} template
 * @param {number | null | undefined} value
 * @returns {string}
 */
export function formatNumber(template, value) {
  if (value === null || value === undefined) return "\u2013";
  if (typeof value !== "number") return String(value);
  const fallback = String(value);
  if (typeof template !== "string") return fallback;
  let out = "";
  let i = 0;
  while (i < template.length) {
    const c = template[i];
    if (c === "{" && template[i + 1] === "{") {
      out += "{";
      i += 2;
    } else if (c === "}" && template[i + 1] === "}") {
      out += "}";
      i += 2;
    } else if (c === "{") {
      const end = template.indexOf("}", i);
      if (end < 0) return fallback;
      const field = template.slice(i + 1, end);
      const colon = field.indexOf(":");
      const name = colon < 0 ? field : field.slice(0, colon);
      if (name !== "" && name !== "0" && name !== "value") return fallback;
      if (colon >= 0 && field.includes("{")) return fallback;
      const spec = parseSpec(colon < 0 ? "" : field.slice(colon + 1));
      if (!spec) return fallback;
      out += formatSpec(value, spec);
      i = end + 1;
    } else if (c === "}") {
      return fallback; // a lone "}" is an error in Python
    } else {
      out += c;
      i += 1;
    }
  }
  return out;
}

/**
 * The colour of `value` under thresholds `[[threshold, colour], ...]`: that
 * of the first threshold (in increasing order) the value does not exceed,
 * the last colour above them all, `fallback` without thresholds or value.
 * @param {unknown} value
 * @param {unknown} colors
 * @param {string} [fallback]
 * @returns {string}
 */
export function thresholdColor(value, colors, fallback = "") {
  if (typeof value !== "number" || Number.isNaN(value) || !Array.isArray(colors)) return fallback;
  const pairs = colors
    .filter((p) => Array.isArray(p) && typeof p[0] === "number" && typeof p[1] === "string")
    .sort((a, b) => a[0] - b[0]);
  if (pairs.length === 0) return fallback;
  for (const [threshold, colour] of pairs) if (value <= threshold) return colour;
  return pairs[pairs.length - 1][1];
}
