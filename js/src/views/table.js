// The `Table` view (wsbridge/table.py): a native <table> of a source that
// creates only the rows in view.
//
// Layout: a fixed-height scroll container holds one <table> whose <thead>
// is sticky; its <tbody> has a top spacer row, the visible rows, and a
// bottom spacer row, so the scroll bar has the full height of every row and
// the browser lays out ~page_size + 2 * overscan rows whatever the source's
// length. `aria-rowcount` / `aria-rowindex` tell assistive technology the
// true size and position. Scrolling and source changes (stream, patch,
// replace) redraw at most once per animation frame; existing <tr>/<td>
// elements are reused and a cell's text is written only when it changed.
//
// Browsers cap an element's height (Chromium at about 33 million px), so
// past `MAX_SCROLL_PX` the scroll range is compressed and a scroll position
// maps to a row proportionally (`virtualWindow`); every row stays reachable.
//
// The pure helpers (`virtualWindow`, `formatCell`, `cellAt`) are tested in
// node; the view in Chromium.

import { defaultScheduler, followSource, frameThrottle } from "./util.js";
import { dtypeOf, isTypedArray } from "../wire/arrays.js";
import { columnFormatter } from "./numbers.js";

/** @typedef {import("./registry.js").ViewContext} ViewContext */

/** Rows drawn above and below the visible ones, so a small scroll shows no gap. */
export const OVERSCAN = 8;
/** The tallest scroll range used (well under Chromium's layout limit). */
export const MAX_SCROLL_PX = 10_000_000;
/** Row height in px (fixed: the window arithmetic relies on it). */
export const ROW_HEIGHT = 28;

/** Inline, so rows keep their fixed height even in a page without wsbridge.css. */
const CELL_STYLE = `box-sizing:border-box;height:${ROW_HEIGHT}px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;padding:0 0.6em`;

/**
 * Which rows to draw for a scroll position, and the spacer heights around
 * them.
 *
 * With `rows * rowHeight <= maxHeight` row i sits at `i * rowHeight`. Above
 * that, the scroll range is `maxHeight` and scrollTop s shows the rows at
 * virtual offset `s * ratio` (ratio = (total - viewport) / (maxHeight -
 * viewport)), the top spacer placing the first visible row exactly at the
 * viewport's top edge minus its scrolled-off part.
 *
 * @param {object} p
 * @param {number} p.rows the number of rows
 * @param {number} p.rowHeight px per row (> 0)
 * @param {number} p.scrollTop px scrolled within the rows area
 * @param {number} p.viewport px of rows visible at once
 * @param {number} [p.overscan] extra rows each side
 * @param {number} [p.maxHeight] cap of the scroll range in px
 * @returns {{start: number, end: number, top: number, bottom: number, height: number}}
 *   rows [start, end) to draw, the top and bottom spacer heights, and the
 *   total (scroll) height of the rows area
 */
export function virtualWindow({ rows, rowHeight, scrollTop, viewport, overscan = OVERSCAN, maxHeight = MAX_SCROLL_PX }) {
  const n = Math.max(0, Math.floor(rows));
  const total = n * rowHeight;
  const height = Math.min(total, Math.max(maxHeight, viewport));
  const view = Math.max(0, viewport);
  const maxScroll = Math.max(0, height - view);
  const s = Math.min(Math.max(0, scrollTop || 0), maxScroll);
  const ratio = height < total && maxScroll > 0 ? (total - view) / maxScroll : 1;
  const virtual = s * ratio;
  const first = Math.min(n, Math.floor(virtual / rowHeight));
  const start = Math.max(0, first - overscan);
  const visible = Math.ceil(view / rowHeight) + 1;
  const end = Math.min(n, first + visible + overscan);
  // the first visible row's top edge lands `virtual % rowHeight` above the viewport's top
  const top = Math.max(0, s - (virtual - first * rowHeight) - (first - start) * rowHeight);
  const bottom = Math.max(0, height - top - (end - start) * rowHeight);
  return { start, end, top, bottom, height };
}

/**
 * A number shown without float noise: up to 12 significant digits
 * (0.1 + 0.2 -> "0.3", 1234.5 -> "1234.5"), integers exactly.
 * @param {number} v
 */
function formatFloat(v) {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "-∞";
  if (Number.isInteger(v) && Math.abs(v) < 1e21) return String(v);
  return String(Number(v.toPrecision(12)));
}

/**
 * A date-time from milliseconds since the epoch: "2024-01-02 03:04:05"
 * (".250" added when there are milliseconds); NaN is "NaT" as in pandas.
 * Without `tz` it is the UTC wall clock (a naive column); with one (an
 * IANA name such as "Europe/Paris", "UTC", or an offset such as "+05:30")
 * it is the wall clock there followed by its offset, as pandas prints a
 * tz-aware Timestamp: "2024-01-02 04:04:05+01:00".
 * @param {number} ms
 * @param {string | null} [tz]
 */
export function formatDatetime(ms, tz = null) {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return "NaT";
  const t = Math.round(ms); // ms from datetime64[ns] may carry float noise
  const offset = tz ? zoneOffset(t, tz) : 0;
  const d = new Date(t + offset * 60_000);
  if (Number.isNaN(d.getTime())) return "NaT";
  const iso = d.toISOString(); // 2024-01-02T03:04:05.250Z
  const frac = iso.slice(19, 23);
  const text = iso.slice(0, 10) + " " + iso.slice(11, 19) + (frac === ".000" ? "" : frac);
  if (!tz) return text;
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  return `${text}${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

/** @type {Map<string, Intl.DateTimeFormat | null>} a formatter per zone (null: unknown zone) */
const ZONES = new Map();

/**
 * Minutes east of UTC in zone `tz` at instant `ms` (0 for a zone the
 * browser does not know).
 * @param {number} ms
 * @param {string} tz
 */
export function zoneOffset(ms, tz) {
  const fixed = /^([+-])(\d{2}):?(\d{2})$/.exec(tz);
  if (fixed) return (fixed[1] === "-" ? -1 : 1) * (Number(fixed[2]) * 60 + Number(fixed[3]));
  let fmt = ZONES.get(tz);
  if (fmt === undefined) {
    try {
      fmt = new Intl.DateTimeFormat("en-US", {
        timeZone: tz, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric",
        hour: "numeric", minute: "numeric", second: "numeric",
      });
    } catch {
      fmt = null;
    }
    ZONES.set(tz, fmt);
  }
  if (fmt === null) return 0;
  /** @type {Record<string, number>} */
  const p = {};
  for (const part of fmt.formatToParts(new Date(ms))) if (part.type !== "literal") p[part.type] = Number(part.value);
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return Math.round((wall - (ms - (((ms % 1000) + 1000) % 1000))) / 60_000);
}

/**
 * The text of one cell.
 * @param {any} value a number, BigInt, string, null, or a typed array (one row of a 2-D column)
 * @param {{datetime?: boolean, tz?: string | null, bool?: boolean}} [opts]
 * @returns {string}
 */
export function formatCell(value, opts = {}) {
  if (value === null || value === undefined) return "";
  if (opts.datetime) return formatDatetime(Number(value), opts.tz ?? null);
  if (opts.bool) return value ? "true" : "false";
  if (typeof value === "number") return formatFloat(value);
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "boolean") return value ? "true" : "false";
  if (ArrayBuffer.isView(value) || Array.isArray(value)) {
    return `[${Array.from(/** @type {any} */ (value), (v) => formatCell(v, opts)).join(", ")}]`;
  }
  return String(value);
}

/**
 * Row `i` of a column (a 1-D value, or the i-th row of a multi-dimensional
 * typed array of `rowSize` elements per row).
 * @param {any} column
 * @param {number} i
 * @param {number} [rowSize]
 */
export function cellAt(column, i, rowSize = 1) {
  if (column === undefined || column === null) return undefined;
  if (rowSize !== 1 && isTypedArray(column)) return column.subarray(i * rowSize, (i + 1) * rowSize);
  return column[i];
}

/**
 * Whether a column holds numbers (right-aligned, tabular figures).
 * @param {any} column
 */
function numeric(column) {
  return isTypedArray(column) && dtypeOf(column) !== "bool";
}

/**
 * @param {ViewContext} ctx
 * @returns {() => void}
 */
function tableView({ model, el, client, listen }) {
  const scroller = document.createElement("div");
  scroller.className = "wsbridge-table-scroll";
  scroller.tabIndex = 0; // keyboard scrolling (arrows, PageUp/PageDown) once focused
  const table = document.createElement("table");
  table.className = "wsbridge-table-grid";
  const thead = document.createElement("thead");
  const headRow = document.createElement("tr");
  headRow.setAttribute("aria-rowindex", "1");
  thead.append(headRow);
  const tbody = document.createElement("tbody");
  const topSpacer = spacer();
  const bottomSpacer = spacer();
  tbody.append(topSpacer, bottomSpacer);
  table.append(thead, tbody);
  scroller.append(table);
  const footer = document.createElement("div");
  footer.className = "wsbridge-table-footer";
  el.append(scroller, footer);
  Object.assign(scroller.style, { overflow: "auto", position: "relative" });
  Object.assign(table.style, { borderCollapse: "separate", borderSpacing: "0", width: "100%" });
  Object.assign(thead.style, { position: "sticky", top: "0", zIndex: "1" });

  /** @type {HTMLTableRowElement[]} the drawn rows, in order */
  let rowEls = [];
  /** @type {string[]} */
  let shownColumns = [];
  /** @type {Map<string, any>} column -> the magnitude numbers.js measured (long columns) */
  let measured = new Map();

  const source = () => {
    const sid = model.get("source");
    return typeof sid === "string" ? client.source(sid) : null;
  };
  const columnNames = () => {
    const cols = model.get("columns");
    if (Array.isArray(cols)) return cols.map(String);
    return source()?.columns ?? [];
  };

  const draw = () => {
    const src = source();
    const names = columnNames();
    const dates = new Set((model.get("datetime_columns") ?? []).map(String));
    const pageSize = Math.max(1, Number(model.get("page_size")) || 20);
    const rows = src ? src.length : 0;
    const label = String(model.get("label") ?? "");
    if (label) table.setAttribute("aria-label", label);
    else table.removeAttribute("aria-label");

    // header (rebuilt only when the columns change)
    if (names.join("\u0000") !== shownColumns.join("\u0000") || headRow.children.length !== names.length) {
      shownColumns = names;
      headRow.replaceChildren(
        ...names.map((n) => {
          const th = document.createElement("th");
          th.scope = "col";
          th.style.cssText = `${CELL_STYLE};background:var(--wsbridge-table-head, Canvas)`;
          th.textContent = n;
          return th;
        }),
      );
      for (const tr of rowEls) tr.remove();
      rowEls = [];
      measured = new Map();
      for (const s of [topSpacer, bottomSpacer]) /** @type {HTMLTableCellElement} */ (s.firstChild).colSpan = Math.max(1, names.length);
    }
    const headerHeight = thead.getBoundingClientRect().height || ROW_HEIGHT;
    scroller.style.height = `${Math.round(headerHeight + pageSize * ROW_HEIGHT)}px`;
    const viewport = pageSize * ROW_HEIGHT;

    const follow = Boolean(model.get("follow")) && atBottom;
    // following: draw the window of the bottom (past the end is clamped to it)
    const scrollTop = follow ? Number.MAX_SAFE_INTEGER : scroller.scrollTop;
    const win = virtualWindow({ rows, rowHeight: ROW_HEIGHT, scrollTop, viewport });
    table.setAttribute("aria-rowcount", String(rows + 1));
    topSpacer.style.height = `${win.top}px`;
    bottomSpacer.style.height = `${win.bottom}px`;
    topSpacer.hidden = win.top === 0;
    bottomSpacer.hidden = win.bottom === 0;

    // rows: reuse <tr>s, add or remove the difference
    const count = win.end - win.start;
    while (rowEls.length > count) /** @type {HTMLTableRowElement} */ (rowEls.pop()).remove();
    while (rowEls.length < count) {
      const tr = document.createElement("tr");
      tr.style.height = `${ROW_HEIGHT}px`;
      for (let c = 0; c < names.length; c++) {
        const td = document.createElement("td");
        td.style.cssText = CELL_STYLE;
        tr.append(td);
      }
      tbody.insertBefore(tr, bottomSpacer);
      rowEls.push(tr);
    }
    const formats = model.get("formats") ?? {};
    const cols = names.map((n) => {
      const values = src?.column(n);
      const shape = src?.shapeOf(n);
      const rowSize = shape ? shape.slice(1).reduce((a, b) => a * b, 1) : 1;
      const bool = isTypedArray(values) && dtypeOf(values) === "bool";
      // dates: by the column's metadata (a datetime64 or tz-aware column), or named in datetime_columns
      const meta = src?.meta[n];
      const datetime = dates.has(n) || meta?.type === "datetime";
      const opts = { datetime, tz: meta?.type === "datetime" ? meta.tz ?? null : null, bool };
      const num = numeric(values) && !datetime;
      // one format per number column, so its decimal points line up (numbers.js)
      const template = typeof formats[n] === "string" ? formats[n] : "";
      const fmt = num && rowSize === 1 ? columnFormatter(values, { template, start: win.start, end: win.end, seen: measured.get(n) }) : null;
      if (fmt?.seen) measured.set(n, fmt.seen);
      return { values, rowSize, opts, mask: src?.mask(n) ?? null, num, fmt: fmt?.format };
    });
    cols.forEach((col, c) => {
      const th = /** @type {HTMLElement | undefined} */ (headRow.children[c]);
      const align = col.num ? "right" : "left";
      if (th && th.style.textAlign !== align) th.style.textAlign = align;
    });
    for (let r = 0; r < count; r++) {
      const i = win.start + r;
      const tr = rowEls[r];
      const index = String(i + 2);
      if (tr.getAttribute("aria-rowindex") !== index) {
        tr.setAttribute("aria-rowindex", index);
        tr.dataset.row = String(i);
      }
      for (let c = 0; c < cols.length; c++) {
        const col = cols[c];
        const td = /** @type {HTMLTableCellElement} */ (tr.children[c]);
        const missing = col.mask !== null && col.mask[i] === 0; // an empty cell
        const value = missing ? null : cellAt(col.values, i, col.rowSize);
        const text = missing ? "" : ((col.fmt && col.fmt(value)) ?? formatCell(value, col.opts));
        if (td.textContent !== text) td.textContent = text;
        const cls = col.num ? "wsbridge-num" : "";
        if (td.className !== cls) {
          td.className = cls;
          td.style.textAlign = col.num ? "right" : "left";
        }
      }
    }
    footer.textContent = rows === 1 ? "1 row" : `${rows.toLocaleString("en-US")} rows`;
    el.dataset.wsbridgeRows = String(rows);
    if (follow && scroller.scrollTop !== win.height) scroller.scrollTop = win.height;
  };

  /** whether the user is at the bottom (for `follow`), measured before a change */
  let atBottom = true;
  const scheduler = defaultScheduler();
  const redraw = frameThrottle(draw, scheduler);
  const schedule = () => redraw.call();
  scroller.addEventListener("scroll", () => {
    atBottom = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 2;
    schedule();
  });

  const unfollow = followSource(model, client, listen, schedule);
  listen(model, "change", schedule);
  draw();
  return () => {
    redraw.cancel();
    unfollow();
  };
}

/** @returns {HTMLTableRowElement} a spacer row (a single empty cell) */
function spacer() {
  const tr = document.createElement("tr");
  tr.setAttribute("aria-hidden", "true");
  tr.className = "wsbridge-table-spacer";
  const td = document.createElement("td");
  Object.assign(td.style, { padding: "0", border: "0" });
  tr.append(td);
  return tr;
}

/** The view registered for the `Table` model type (index.js). */
export const TABLE_VIEWS = Object.freeze({ Table: tableView });
