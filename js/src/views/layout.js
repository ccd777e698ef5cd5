// The layout views: Column, Row and the widget set's Grid, Tabs and Card,
// with `keyedChildren`, the reconciliation of a layout's child views.

import { childIds } from "./util.js";
import { fits } from "./registry.js";
import { h, newId, place, str } from "./dom.js";
import { viewerState } from "./viewstate.js";

/** @typedef {import("./registry.js").ViewContext} ViewContext */
/** @typedef {import("./registry.js").View} View */

/**
 * The child views of a layout's `children`, keyed by id: a changed list
 * moves existing views (a slider keeps its drag, a text field its focus)
 * and creates only new ones. `onUpdate(views, changed)` places them; it is
 * called on every change of `children`, on `add` (a missing child may have
 * arrived) and on snapshots. Returns the cleanup.
 * @param {ViewContext} ctx
 * @param {(views: View[], changed: boolean) => void} onUpdate
 * @returns {() => void}
 */
export function keyedChildren({ model, client, listen, child }, onUpdate) {
  /** @type {View[]} */
  let views = [];
  const update = () => {
    const ids = childIds(model.get("children"));
    /** @type {Map<string, View[]>} */
    const pool = new Map();
    for (const v of views) {
      const list = pool.get(v.id);
      if (list) list.push(v);
      else pool.set(v.id, [v]);
    }
    const next = ids.map((id) => {
      const reuse = pool.get(id)?.shift();
      if (reuse && fits(reuse, client)) return reuse;
      reuse?.destroy();
      return child(id);
    });
    for (const list of pool.values()) for (const v of list) v.destroy();
    const changed = next.length !== views.length || next.some((v, i) => v !== views[i]);
    views = next;
    onUpdate(views, changed);
  };
  listen(model, "change:children", update);
  listen(client.state, "add", update);
  listen(client.state, "snapshot", update);
  update();
  return () => {
    for (const v of views) v.destroy();
    views = [];
  };
}

/** The space between a layout's children: the page's (wsbridge.css), else 0.75em. */
const GAP = "var(--wsbridge-gap, 0.75em)";

/**
 * Column and Row: flex containers of `children`. Children are keyed by id,
 * so a changed list moves existing views (a slider keeps its drag) and
 * creates only new ones. A Row's children start at the top, so the labels
 * of fields line up (wsbridge.css shares the width among them and lines
 * unlabelled controls up with the labelled ones' boxes); it wraps.
 * @param {"column" | "row"} direction
 * @returns {(ctx: ViewContext) => () => void}
 */
function box(direction) {
  return (ctx) => {
    const { el } = ctx;
    Object.assign(el.style, {
      display: "flex",
      flexDirection: direction,
      gap: GAP,
      alignItems: direction === "row" ? "flex-start" : "stretch",
      flexWrap: direction === "row" ? "wrap" : "nowrap",
    });
    return keyedChildren(ctx, (views) => {
      const current = Array.from(el.children);
      if (current.length !== views.length || views.some((v, i) => current[i] !== v.el)) {
        el.replaceChildren(...views.map((v) => v.el));
      }
    });
  };
}

/**
 * The `grid-template-columns` of a Grid: `widths` (relative, e.g. [3, 1])
 * when given, else `columns` equal columns.
 * @param {unknown} columns
 * @param {unknown} widths
 * @returns {{count: number, template: string}}
 */
export function gridColumns(columns, widths) {
  const ws = Array.isArray(widths) ? widths.filter((w) => typeof w === "number" && w > 0 && Number.isFinite(w)).slice(0, 24) : [];
  if (ws.length) return { count: ws.length, template: ws.map((w) => `minmax(0, ${w}fr)`).join(" ") };
  const n = Math.max(1, Math.min(24, Math.floor(Number(columns)) || 1));
  return { count: n, template: `repeat(${n}, minmax(0, 1fr))` };
}

/**
 * Grid: a CSS grid of `columns` equal columns (or `widths`), `gap` apart
 * (the page's spacing when empty). `data-wsbridge-columns` tells the
 * stylesheet how many, for narrow screens.
 * @param {ViewContext} ctx
 */
function grid(ctx) {
  const { model, el, listen } = ctx;
  el.style.display = "grid";
  const sync = () => {
    const { count, template } = gridColumns(model.get("columns"), model.get("widths"));
    el.style.setProperty("--wsbridge-columns", String(count));
    el.dataset.wsbridgeColumns = String(count);
    el.style.gridTemplateColumns = template;
    el.style.gap = str(model.get("gap")) || GAP;
  };
  listen(model, "change", sync);
  sync();
  return keyedChildren(ctx, (views) => place(el, views.map((v) => v.el)));
}

/**
 * Tabs: the WAI-ARIA tabs pattern. A tablist of buttons (arrow keys, Home,
 * End move between them and select), one tabpanel per child; only the
 * selected panel is shown. Choosing a tab is this viewer's own
 * (viewstate.js: kept in the page, never sent), unless the model is
 * `shared`: then it sets `selected` and every viewer follows.
 * @param {ViewContext} ctx
 */
function tabs(ctx) {
  const { model, el, client, listen } = ctx;
  const mine = viewerState(client, model, "selected");
  const shared = () => model.get("shared") === true;
  const base = newId("tabs");
  const list = h("div", "wsbridge-tablist");
  list.setAttribute("role", "tablist");
  const panels = h("div", "wsbridge-tabpanels");
  el.append(list, panels);
  /** @type {View[]} */
  let views = [];
  /** @type {HTMLButtonElement[]} */
  let buttons = [];
  /** @type {HTMLDivElement[]} */
  let boxes = [];

  const selected = () => {
    const own = shared() ? undefined : mine.get();
    const s = Number(own ?? model.get("selected"));
    return Number.isInteger(s) && s >= 0 && s < views.length ? s : 0;
  };
  const showSelected = () => {
    const s = selected();
    buttons.forEach((b, i) => {
      b.setAttribute("aria-selected", String(i === s));
      b.tabIndex = i === s ? 0 : -1;
    });
    boxes.forEach((p, i) => {
      p.hidden = i !== s;
    });
  };
  const titles = () => {
    const t = model.get("titles");
    buttons.forEach((b, i) => {
      b.textContent = Array.isArray(t) && typeof t[i] === "string" && t[i] !== "" ? t[i] : `Tab ${i + 1}`;
    });
  };
  /** @param {number} i */
  const choose = (i) => {
    if (i === selected()) return;
    if (shared()) {
      model.set("selected", i);
      model.save_changes();
    } else {
      mine.set(i);
      showSelected();
    }
  };
  const build = () => {
    buttons = views.map((_, i) => {
      const b = h("button", "wsbridge-tab");
      b.type = "button";
      b.id = `${base}-tab-${i}`;
      b.setAttribute("role", "tab");
      b.setAttribute("aria-controls", `${base}-panel-${i}`);
      b.addEventListener("click", () => choose(i));
      return b;
    });
    boxes = views.map((v, i) => {
      const p = h("div", "wsbridge-tabpanel");
      p.id = `${base}-panel-${i}`;
      p.setAttribute("role", "tabpanel");
      p.setAttribute("aria-labelledby", `${base}-tab-${i}`);
      p.tabIndex = 0;
      p.append(v.el);
      return p;
    });
    list.replaceChildren(...buttons);
    panels.replaceChildren(...boxes);
    titles();
    showSelected();
  };
  list.addEventListener("keydown", (e) => {
    const n = buttons.length;
    if (n === 0) return;
    const at = buttons.indexOf(/** @type {any} */ (document.activeElement));
    const from = at >= 0 ? at : selected();
    const to = { ArrowRight: from + 1, ArrowLeft: from - 1, Home: 0, End: n - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    const i = (to + n) % n;
    buttons[i].focus();
    choose(i);
  });
  listen(model, "change:titles", titles);
  listen(model, "change:selected", showSelected);
  listen(model, "change:shared", showSelected);
  const cleanup = keyedChildren(ctx, (next, changed) => {
    views = next;
    if (changed || buttons.length !== views.length) build();
  });
  return cleanup;
}

/**
 * Card: a panel with a heading (with a disclosure button when
 * `collapsible`) over the children. Folding is this viewer's own
 * (viewstate.js), unless the model is `shared`: then the button sets
 * `collapsed` and every viewer follows.
 * @param {ViewContext} ctx
 */
function card(ctx) {
  const { model, el, client, listen } = ctx;
  const mine = viewerState(client, model, "collapsed");
  const shared = () => model.get("shared") === true;
  const isCollapsed = () => {
    const own = shared() ? undefined : mine.get();
    return (own ?? model.get("collapsed")) === true;
  };
  const bodyId = newId("card-body");
  const headerId = newId("card-header");
  const heading = h("div", "wsbridge-card-header");
  heading.setAttribute("role", "heading");
  heading.setAttribute("aria-level", "3");
  const button = h("button", "wsbridge-card-toggle");
  button.type = "button";
  button.id = headerId;
  button.setAttribute("aria-controls", bodyId);
  const marker = h("span", "wsbridge-card-marker");
  marker.setAttribute("aria-hidden", "true");
  const title = h("span", "wsbridge-card-title");
  const body = h("div", "wsbridge-card-body");
  body.id = bodyId;
  el.append(heading, body);
  const sync = () => {
    title.textContent = str(model.get("title"));
    // without a title there is no heading, so nothing to fold it with: a plain panel
    const titled = title.textContent !== "";
    const collapsible = titled && model.get("collapsible") !== false;
    const collapsed = collapsible && isCollapsed();
    if (collapsible) {
      button.replaceChildren(title, marker);
      place(heading, [button]);
      button.setAttribute("aria-expanded", String(!collapsed));
      marker.textContent = "\u25BE"; // turned by wsbridge.css when folded
    } else {
      place(heading, [title]);
    }
    heading.hidden = !titled;
    body.hidden = collapsed;
    el.classList.toggle("wsbridge-collapsed", collapsed);
  };
  button.addEventListener("click", () => {
    if (shared()) {
      model.set("collapsed", model.get("collapsed") !== true);
      model.save_changes();
    } else {
      mine.set(!isCollapsed());
      sync();
    }
  });
  listen(model, "change", sync);
  sync();
  return keyedChildren(ctx, (views) => place(body, views.map((v) => v.el)));
}

/** The views of this module, by model type (registered by index.js). */
export const LAYOUT_VIEWS = Object.freeze({
  Column: box("column"),
  Row: box("row"),
  Grid: grid,
  Tabs: tabs,
  Card: card,
});
