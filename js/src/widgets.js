// The views of the widget set (wsbridge/widgets.py): native, accessible
// controls, two-way bound through the anywidget model API, and the layouts
// Grid, Tabs and Card. views.js registers them (`WIDGET_VIEWS`); this module
// does not import views.js, so there is no import cycle.
//
// Text from Python is set with `textContent`; Markdown goes through the
// sanitising renderer of markdown.js; only the HTML widget, which says so,
// uses `innerHTML`. Controls send only their value (the model's settable
// property): sliders at most once per animation frame while dragging, text
// fields when committed (Enter, leaving the field) unless `continuous`.

import { childIds, formatValue, frameThrottle } from "./views/util.js";
import { formatNumber, thresholdColor } from "./views/format.js";
import { renderMarkdown } from "./views/markdown.js";

/** @typedef {import("./views.js").ViewContext} ViewContext */
/** @typedef {import("./views.js").View} View */
/** @typedef {import("./client/connection.js").Connection} Client */

let uid = 0;
/** @param {string} prefix */
const newId = (prefix) => `wsbridge-${prefix}-${++uid}`;

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} [className]
 * @returns {HTMLElementTagNameMap[K]}
 */
function h(tag, className) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  return e;
}

/** @param {unknown} v */
const str = (v) => (v === null || v === undefined ? "" : String(v));

/**
 * @param {unknown} v
 * @param {string} fallback
 */
const numText = (v, fallback) => (typeof v === "number" && Number.isFinite(v) ? String(v) : fallback);

/**
 * Whether a mounted view still fits its model (same type, model present).
 * @param {View} view
 * @param {Client} client
 */
export function fits(view, client) {
  return view.type === client.model(view.id).type;
}

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

/**
 * Put `els` in `parent` (in order) unless they already are.
 * @param {Element} parent
 * @param {Element[]} els
 */
function place(parent, els) {
  const current = Array.from(parent.children);
  if (current.length !== els.length || els.some((e, i) => current[i] !== e)) parent.replaceChildren(...els);
}

/**
 * A `<label for>` whose text follows the model's `label`, hidden when empty.
 * @param {string} forId
 */
function labelFor(forId) {
  const label = h("label", "wsbridge-label");
  label.htmlFor = forId;
  return label;
}

/**
 * @param {HTMLElement} label
 * @param {unknown} text
 */
function setLabel(label, text) {
  label.textContent = str(text);
  label.hidden = label.textContent === "";
}

// ---------------------------------------------------------------------------
// controls

/**
 * RangeSlider: two <input type=range> (minimum, maximum) in a labelled
 * group, and a readout. An end dragged past the other stops at it.
 * @param {ViewContext} ctx
 */
function rangeSlider({ model, el, listen }) {
  const labelId = newId("range-label");
  const label = h("span", "wsbridge-label");
  label.id = labelId;
  el.setAttribute("role", "group");
  el.setAttribute("aria-labelledby", labelId);
  const lo = h("input");
  const hi = h("input");
  lo.type = hi.type = "range";
  lo.setAttribute("aria-label", "minimum");
  hi.setAttribute("aria-label", "maximum");
  const inputs = h("div", "wsbridge-range-inputs");
  inputs.append(lo, hi);
  const output = h("output");
  output.setAttribute("aria-hidden", "true");
  el.append(label, inputs, output);

  const pair = () => {
    const v = model.get("value");
    return Array.isArray(v) && v.length === 2 ? [Number(v[0]), Number(v[1])] : [Number(lo.min), Number(hi.max)];
  };
  const sync = () => {
    setLabel(label, model.get("label"));
    const step = model.get("step");
    for (const input of [lo, hi]) {
      input.min = numText(model.get("min"), "0");
      input.max = numText(model.get("max"), "100");
      input.step = typeof step === "number" && step > 0 ? String(step) : "any";
      input.disabled = Boolean(model.get("disabled"));
    }
    const [a, b] = pair();
    if (lo.value !== String(a)) lo.value = String(a);
    if (hi.value !== String(b)) hi.value = String(b);
    output.textContent = `${formatValue(a, step)} \u2013 ${formatValue(b, step)}`;
  };
  const send = frameThrottle(() => model.save_changes());
  /** @param {HTMLInputElement} moved */
  const read = (moved) => {
    let a = Number(lo.value);
    let b = Number(hi.value);
    if (a > b) {
      if (moved === lo) a = b;
      else b = a;
      moved.value = String(moved === lo ? a : b);
    }
    model.set("value", [a, b]);
  };
  for (const input of [lo, hi]) {
    input.addEventListener("input", () => {
      read(input);
      send.call();
    });
    input.addEventListener("change", () => {
      send.cancel();
      read(input);
      model.save_changes();
    });
  }
  listen(model, "change", sync);
  sync();
  return () => send.cancel();
}

/**
 * Toggle: <label><input type=checkbox> text</label>.
 * @param {ViewContext} ctx
 */
function toggle({ model, el, listen }) {
  const label = h("label");
  const input = h("input");
  input.type = "checkbox";
  const text = h("span");
  label.append(input, text);
  el.append(label);
  const sync = () => {
    text.textContent = str(model.get("label"));
    input.checked = model.get("value") === true;
    input.disabled = Boolean(model.get("disabled"));
  };
  input.addEventListener("change", () => {
    model.set("value", input.checked);
    model.save_changes();
  });
  listen(model, "change", sync);
  sync();
}

/**
 * The options of a Select/MultiSelect as [label, value] pairs (the wire form).
 * @param {unknown} options
 * @returns {[string, any][]}
 */
export function optionPairs(options) {
  if (!Array.isArray(options)) return [];
  return options.map((o) => (Array.isArray(o) && o.length === 2 ? [str(o[0]), o[1]] : [str(o), o]));
}

/** @param {unknown} v a JSON value, compared as JSON */
const key = (v) => JSON.stringify(v ?? null);

/**
 * Select and MultiSelect: a native <select>, options indexed so any JSON
 * value can be an option's value.
 * @param {boolean} multiple
 * @returns {(ctx: ViewContext) => void}
 */
function choice(multiple) {
  return ({ model, el, listen }) => {
    const id = newId("select");
    const label = labelFor(id);
    const select = h("select");
    select.id = id;
    select.multiple = multiple;
    el.append(label, select);
    /** @type {[string, any][]} */
    let pairs = [];
    let shown = "";
    const sync = () => {
      setLabel(label, model.get("label"));
      select.disabled = Boolean(model.get("disabled"));
      if (multiple) select.size = Math.max(1, Number(model.get("size")) || 5);
      const next = optionPairs(model.get("options"));
      if (key(next) !== shown) {
        pairs = next;
        shown = key(next);
        select.replaceChildren(
          ...pairs.map(([text], i) => {
            const option = h("option");
            option.value = String(i);
            option.textContent = text;
            return option;
          }),
        );
      }
      const value = model.get("value");
      const chosen = new Set(multiple ? (Array.isArray(value) ? value.map(key) : []) : [key(value)]);
      pairs.forEach(([, v], i) => {
        /** @type {HTMLOptionElement} */ (select.options[i]).selected = chosen.has(key(v));
      });
      if (!multiple && !pairs.some(([, v]) => chosen.has(key(v)))) select.selectedIndex = -1;
    };
    select.addEventListener("change", () => {
      const picked = Array.from(select.selectedOptions, (o) => pairs[Number(o.value)]?.[1]);
      model.set("value", multiple ? picked : picked[0] ?? null);
      model.save_changes();
    });
    listen(model, "change", sync);
    sync();
  };
}

/**
 * TextInput: <input type=text>, or a <textarea> when `rows` > 1. Sends on
 * Enter (Ctrl/Cmd+Enter in a textarea, where Enter is a new line) and on
 * leaving the field (or per keystroke, at most once a frame, when
 * `continuous`); Escape reverts an uncommitted edit.
 * @param {ViewContext} ctx
 */
function textInput({ model, el, listen }) {
  const id = newId("text");
  const label = labelFor(id);
  const multiline = Number(model.get("rows")) > 1;
  const input = /** @type {HTMLInputElement} */ (h(multiline ? "textarea" : "input"));
  if (multiline) /** @type {any} */ (input).rows = Number(model.get("rows"));
  else input.type = "text";
  input.id = id;
  el.append(label, input);
  const sync = () => {
    setLabel(label, model.get("label"));
    input.placeholder = str(model.get("placeholder"));
    input.disabled = Boolean(model.get("disabled"));
    const max = model.get("max_length");
    if (typeof max === "number" && max >= 0) input.maxLength = max;
    else input.removeAttribute("maxlength");
  };
  const show = () => {
    const v = str(model.get("value"));
    if (input.value !== v) input.value = v;
  };
  const send = frameThrottle(() => model.save_changes());
  const commit = () => {
    send.cancel();
    if (input.value !== str(model.get("value"))) model.set("value", input.value);
    model.save_changes();
  };
  input.addEventListener("input", () => {
    if (model.get("continuous") !== true) return;
    model.set("value", input.value);
    send.call();
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (!multiline || e.ctrlKey || e.metaKey)) commit();
    else if (e.key === "Escape") show();
  });
  input.addEventListener("blur", commit);
  listen(model, "change:value", show);
  listen(model, "change", sync);
  sync();
  show();
  return () => send.cancel();
}

/**
 * NumberInput: <input type=number>; sends a committed number (change event,
 * Enter); an empty or invalid entry reverts to the model's value.
 * @param {ViewContext} ctx
 */
function numberInput({ model, el, listen }) {
  const id = newId("number");
  const label = labelFor(id);
  const input = h("input");
  input.type = "number";
  input.id = id;
  el.append(label, input);
  const show = () => {
    const v = numText(model.get("value"), "");
    if (input.value !== v || input.validity.badInput) input.value = v;
  };
  const sync = () => {
    setLabel(label, model.get("label"));
    input.min = numText(model.get("min"), "");
    input.max = numText(model.get("max"), "");
    const step = model.get("step");
    input.step = typeof step === "number" && step > 0 ? String(step) : "any";
    input.disabled = Boolean(model.get("disabled"));
    show();
  };
  const commit = () => {
    const v = input.valueAsNumber;
    if (input.value === "" || !Number.isFinite(v)) {
      show();
      return;
    }
    if (v !== model.get("value")) model.set("value", v);
    model.save_changes();
  };
  input.addEventListener("change", commit);
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") commit();
  });
  listen(model, "change", sync);
  sync();
}

// ---------------------------------------------------------------------------
// text and indicators

/**
 * Markdown: rendered by markdown.js into DOM nodes (sanitised by design).
 * @param {ViewContext} ctx
 */
function markdown({ model, el, listen }) {
  const sync = () => el.replaceChildren(renderMarkdown(model.get("value")));
  listen(model, "change:value", sync);
  sync();
}

/**
 * HTML: RAW. The value goes to innerHTML, unsanitised, as the Python class
 * documents; use Markdown or Label for text you did not write yourself.
 * @param {ViewContext} ctx
 */
function rawHtml({ model, el, listen }) {
  const sync = () => {
    el.innerHTML = str(model.get("value"));
  };
  listen(model, "change:value", sync);
  sync();
}

/**
 * Number: a label over a big formatted value, coloured by thresholds.
 * @param {ViewContext} ctx
 */
function bigNumber({ model, el, listen }) {
  const label = h("div", "wsbridge-number-label");
  const value = h("div", "wsbridge-number-value");
  el.append(label, value);
  const sync = () => {
    setLabel(label, model.get("label"));
    const v = model.get("value");
    value.textContent = formatNumber(str(model.get("format")) || "{}", typeof v === "number" ? v : null);
    // a CSS colour through the CSSOM: an invalid one is ignored, never parsed as markup
    value.style.color = thresholdColor(v, model.get("colors"), str(model.get("default_color")));
  };
  listen(model, "change", sync);
  sync();
}

/**
 * Progress: a labelled native <progress> and a percentage readout;
 * indeterminate when the value is null.
 * @param {ViewContext} ctx
 */
function progress({ model, el, listen }) {
  const id = newId("progress");
  const label = labelFor(id);
  const bar = h("progress");
  bar.id = id;
  const output = h("output");
  output.setAttribute("aria-hidden", "true");
  el.append(label, bar, output);
  const sync = () => {
    setLabel(label, model.get("label"));
    const max = model.get("max");
    bar.max = typeof max === "number" && max > 0 ? max : 100;
    const v = model.get("value");
    if (typeof v === "number" && Number.isFinite(v)) {
      bar.value = v;
      output.textContent = `${Math.round((100 * Math.min(Math.max(v, 0), bar.max)) / bar.max)}%`;
    } else {
      bar.removeAttribute("value");
      output.textContent = "";
    }
  };
  listen(model, "change", sync);
  sync();
}

// ---------------------------------------------------------------------------
// layouts

/**
 * Grid: CSS grid of `columns` equal columns, `gap` apart.
 * @param {ViewContext} ctx
 */
function grid(ctx) {
  const { model, el, listen } = ctx;
  el.style.display = "grid";
  const sync = () => {
    const n = Math.max(1, Math.min(24, Math.floor(Number(model.get("columns")) || 1)));
    el.style.setProperty("--wsbridge-columns", String(n));
    el.style.gridTemplateColumns = `repeat(${n}, minmax(0, 1fr))`;
    el.style.gap = str(model.get("gap")) || "0.75em";
  };
  listen(model, "change", sync);
  sync();
  return keyedChildren(ctx, (views) => place(el, views.map((v) => v.el)));
}

/**
 * Tabs: the WAI-ARIA tabs pattern. A tablist of buttons (arrow keys, Home,
 * End move between them and select), one tabpanel per child; only the
 * selected panel is shown. Choosing a tab sets `selected`.
 * @param {ViewContext} ctx
 */
function tabs(ctx) {
  const { model, el, listen } = ctx;
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
    const s = Number(model.get("selected"));
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
    model.set("selected", i);
    model.save_changes();
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
  const cleanup = keyedChildren(ctx, (next, changed) => {
    views = next;
    if (changed || buttons.length !== views.length) build();
  });
  return cleanup;
}

/**
 * Card: a heading (with a disclosure button when `collapsible`) over the
 * children; the button sets `collapsed`.
 * @param {ViewContext} ctx
 */
function card(ctx) {
  const { model, el, listen } = ctx;
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
    const collapsible = model.get("collapsible") !== false;
    const collapsed = collapsible && model.get("collapsed") === true;
    if (collapsible) {
      button.replaceChildren(marker, title);
      place(heading, [button]);
      button.setAttribute("aria-expanded", String(!collapsed));
      marker.textContent = collapsed ? "\u25B8" : "\u25BE";
    } else {
      place(heading, [title]);
    }
    heading.hidden = title.textContent === "" && !collapsible;
    body.hidden = collapsed;
    el.classList.toggle("wsbridge-collapsed", collapsed);
  };
  button.addEventListener("click", () => {
    model.set("collapsed", model.get("collapsed") !== true);
    model.save_changes();
  });
  listen(model, "change", sync);
  sync();
  return keyedChildren(ctx, (views) => place(body, views.map((v) => v.el)));
}

/** The views of the widget set, by model type (registered by views.js). */
export const WIDGET_VIEWS = Object.freeze({
  RangeSlider: rangeSlider,
  Toggle: toggle,
  Select: choice(false),
  MultiSelect: choice(true),
  TextInput: textInput,
  NumberInput: numberInput,
  Markdown: markdown,
  HTML: rawHtml,
  Number: bigNumber,
  Progress: progress,
  Grid: grid,
  Tabs: tabs,
  Card: card,
});
