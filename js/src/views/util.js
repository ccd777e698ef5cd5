// Pure helpers of the view families: no DOM, so node tests cover them.

/**
 * @typedef {object} FrameScheduler
 * @property {(cb: () => void) => any} request schedule `cb` before the next frame
 * @property {(handle: any) => void} cancel
 */

/** @returns {FrameScheduler} requestAnimationFrame, or a 16 ms timer where there is none (node) */
export function defaultScheduler() {
  const g = /** @type {any} */ (globalThis);
  if (typeof g.requestAnimationFrame === "function") {
    return { request: (cb) => g.requestAnimationFrame(cb), cancel: (h) => g.cancelAnimationFrame(h) };
  }
  return { request: (cb) => setTimeout(cb, 16), cancel: (h) => clearTimeout(h) };
}

/**
 * @template {any[]} A
 * @typedef {object} Throttled
 * @property {(...args: A) => void} call run `fn` with these arguments at the next frame (the last call's arguments win)
 * @property {() => void} flush run a scheduled call now
 * @property {() => void} cancel drop a scheduled call
 * @property {boolean} pending whether a call is scheduled
 */

/**
 * Run `fn` at most once per animation frame, with the latest arguments: a
 * dragged slider sends one `set` per frame, not one per input event.
 * @template {any[]} A
 * @param {(...args: A) => void} fn
 * @param {FrameScheduler} [scheduler]
 * @returns {Throttled<A>}
 */
export function frameThrottle(fn, scheduler = defaultScheduler()) {
  /** @type {any} */
  let handle = null;
  /** @type {A | null} */
  let args = null;
  const run = () => {
    handle = null;
    const a = /** @type {A} */ (args);
    args = null;
    fn(...a);
  };
  return {
    call(...a) {
      args = a;
      if (handle === null) handle = scheduler.request(run);
    },
    flush() {
      if (handle === null) return;
      scheduler.cancel(handle);
      run();
    },
    cancel() {
      if (handle !== null) scheduler.cancel(handle);
      handle = null;
      args = null;
    },
    get pending() {
      return handle !== null;
    },
  };
}

/**
 * Decimals needed to show multiples of `step` exactly (0.5 -> 1, 0.01 -> 2,
 * 1e-7 -> 7), at most 10.
 * @param {unknown} step
 */
export function stepDecimals(step) {
  if (typeof step !== "number" || !Number.isFinite(step) || step <= 0) return 2;
  const [mantissa, exp] = step.toExponential().split("e");
  const frac = (mantissa.split(".")[1] ?? "").length;
  return Math.min(10, Math.max(0, frac - Number(exp)));
}

/**
 * The text readout of a slider value.
 * @param {unknown} value
 * @param {unknown} step
 */
export function formatValue(value, step) {
  if (typeof value !== "number") return value === null || value === undefined ? "" : String(value);
  if (!Number.isFinite(value)) return String(value);
  return value.toFixed(stepDecimals(step));
}

/**
 * Child ids of a container's `children` property (ids are strings;
 * anything else is skipped).
 * @param {unknown} children
 * @returns {string[]}
 */
export function childIds(children) {
  return Array.isArray(children) ? children.filter((c) => typeof c === "string" && c !== "") : [];
}

/**
 * @param {ArrayLike<number|bigint> | undefined} arr
 * @param {number} i
 */
const num = (arr, i) => Number(/** @type {ArrayLike<number|bigint>} */ (arr)[i]);

/**
 * Pixel coordinates of a line chart of `y` against `x` in a `width` x
 * `height` box with `pad` pixels of margin: a Float64Array of (px, py)
 * pairs, NaN where a value is not finite (the line breaks there). Without a
 * usable `x` (missing, or of another length) the row index is used. A flat
 * series is drawn at mid-height.
 * @param {ArrayLike<number|bigint> | undefined} x
 * @param {ArrayLike<number|bigint> | undefined} y
 * @param {number} width
 * @param {number} height
 * @param {number} [pad]
 * @returns {{points: Float64Array, drawn: number}} `drawn`: finite points
 */
export function sparklinePoints(x, y, width, height, pad = 2) {
  const n = y ? y.length : 0;
  const points = new Float64Array(2 * n);
  if (n === 0) return { points, drawn: 0 };
  const useX = x !== undefined && x !== null && x.length === n;
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  let drawn = 0;
  for (let i = 0; i < n; i++) {
    const xi = useX ? num(x, i) : i;
    const yi = num(y, i);
    if (!Number.isFinite(xi) || !Number.isFinite(yi)) continue;
    drawn++;
    if (xi < x0) x0 = xi;
    if (xi > x1) x1 = xi;
    if (yi < y0) y0 = yi;
    if (yi > y1) y1 = yi;
  }
  const w = Math.max(0, width - 2 * pad);
  const h = Math.max(0, height - 2 * pad);
  const sx = x1 > x0 ? w / (x1 - x0) : 0;
  const sy = y1 > y0 ? h / (y1 - y0) : 0;
  for (let i = 0; i < n; i++) {
    const xi = useX ? num(x, i) : i;
    const yi = num(y, i);
    if (!Number.isFinite(xi) || !Number.isFinite(yi)) {
      points[2 * i] = NaN;
      points[2 * i + 1] = NaN;
      continue;
    }
    points[2 * i] = pad + (sx ? (xi - x0) * sx : w / 2);
    points[2 * i + 1] = sy ? pad + h - (yi - y0) * sy : pad + h / 2;
  }
  return { points, drawn };
}

/**
 * Keep `onChange` subscribed to the source named by a model's `source`
 * property, following that property and snapshots (a snapshot may replace
 * the Source object); `onChange` also runs when the source is swapped. The
 * views that draw a source (Sparkline, Table) share this. No DOM.
 * @param {{get: (name: string) => any, on: Function, off: Function}} model
 * @param {{source: (id: string) => any, state: any}} client
 * @param {(target: {on: Function, off: Function}, name: string, cb: (...args: any[]) => void) => void} listen
 * @param {() => void} onChange
 * @returns {() => void} unsubscribes from the current source
 */
export function followSource(model, client, listen, onChange) {
  /** @type {{on: Function, off: Function} | null} */
  let watched = null;
  const watch = () => {
    const sid = model.get("source");
    const src = typeof sid === "string" ? client.source(sid) : null;
    if (src === watched) return;
    watched?.off("change", onChange);
    watched = src;
    watched?.on("change", onChange);
  };
  const swap = () => {
    watch();
    onChange();
  };
  listen(model, "change:source", swap);
  listen(client.state, "snapshot", swap);
  watch();
  return () => watched?.off("change", onChange);
}
