// The views of ipywidgets' pickers and friends (wsbridge/widgets/ipypickers.py):
// ColorPicker, DatePicker, DatetimePicker, TimePicker, Password, Combobox,
// TagsInput and Play, each on the native element (`input[type=color]`,
// `date`, `datetime-local`, `time`, `password`, a text input with a
// `datalist`). Values travel in the input's own string format; a
// DatetimePicker's is UTC (`...Z`), shown in the viewer's time zone.
//
// Play is driven here, as ipywidgets' front end drives it: the page whose
// viewer pressed play steps the value every `interval` ms and sends it;
// other pages only follow (one driver per model per page, whatever the
// number of views).

import { h, labelFor, newId, setLabel, str } from "./dom.js";

/** @typedef {import("./registry.js").ViewContext} ViewContext */
/** @typedef {import("../client/model.js").Model} Model */

/**
 * A labelled native input whose committed value (`change`) is sent.
 * @param {ViewContext} ctx
 * @param {string} type the input type
 * @param {(v: unknown) => string} show the model value as the input's value
 * @param {(s: string) => unknown} read the input's value as the model value
 * @param {(input: HTMLInputElement) => void} [extra] more sync (min, max, step)
 */
function nativeInput({ model, el, listen }, type, show, read, extra) {
  const id = newId(type);
  const label = labelFor(id);
  const input = h("input");
  input.type = type;
  input.id = id;
  el.append(label, input);
  Object.assign(el.style, { display: "flex", alignItems: "center", gap: "0.5em" });
  const sync = () => {
    setLabel(label, model.get("label"));
    input.disabled = Boolean(model.get("disabled"));
    extra?.(input);
    const v = show(model.get("value"));
    if (input.value !== v && document.activeElement !== input) input.value = v;
  };
  input.addEventListener("change", () => {
    model.set("value", read(input.value));
    model.save_changes();
  });
  // a value that came while the field had focus (Python's canonical one) shows on leaving it
  input.addEventListener("blur", sync);
  listen(model, "change", sync);
  sync();
  return input;
}

/** @param {string} colour any CSS colour @returns {string} `#rrggbb` (black when unknown) */
export function hexColour(colour) {
  if (/^#[0-9a-f]{6}$/iu.test(colour)) return colour.toLowerCase();
  if (/^#[0-9a-f]{3}$/iu.test(colour)) return `#${[...colour.slice(1)].map((c) => c + c).join("")}`.toLowerCase();
  const g = document.createElement("canvas").getContext("2d");
  if (!g) return "#000000";
  g.fillStyle = "#000000";
  g.fillStyle = colour;
  return /^#[0-9a-f]{6}$/iu.test(g.fillStyle) ? g.fillStyle : "#000000";
}

/** @param {ViewContext} ctx */
function colorPicker(ctx) {
  const text = h("input");
  text.type = "text";
  text.setAttribute("aria-label", "colour value");
  text.size = 9;
  const input = nativeInput(ctx, "color", (v) => hexColour(str(v)), (s) => s);
  ctx.el.append(text);
  const sync = () => {
    text.hidden = ctx.model.get("concise") === true;
    text.disabled = input.disabled;
    if (document.activeElement !== text) text.value = str(ctx.model.get("value"));
  };
  text.addEventListener("change", () => {
    ctx.model.set("value", text.value.trim());
    ctx.model.save_changes();
  });
  ctx.listen(ctx.model, "change", sync);
  sync();
}

/**
 * @param {ViewContext} ctx
 * @param {string} type
 */
function bounded(ctx, type) {
  const { model } = ctx;
  nativeInput(ctx, type, (v) => str(v), (s) => (s === "" ? null : s), (input) => {
    input.min = str(model.get("min"));
    input.max = str(model.get("max"));
    if (type === "time") {
      const step = model.get("step");
      input.step = typeof step === "number" && step > 0 ? String(step) : "any";
    }
  });
}

/**
 * A UTC ISO string as `datetime-local`'s value in this page's time zone.
 * @param {unknown} v
 * @param {boolean} naive
 */
export function localDatetime(v, naive) {
  if (typeof v !== "string" || v === "") return "";
  if (naive) return v.slice(0, 23);
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return "";
  const pad = (/** @type {number} */ n, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** @param {ViewContext} ctx */
function datetimePicker(ctx) {
  const { model } = ctx;
  const naive = () => model.get("naive") === true;
  nativeInput(
    ctx,
    "datetime-local",
    (v) => localDatetime(v, naive()),
    (s) => (s === "" ? null : naive() ? s : new Date(s).toISOString()),
    (input) => {
      input.step = "1";
      input.min = localDatetime(model.get("min"), naive());
      input.max = localDatetime(model.get("max"), naive());
    },
  );
}

/**
 * Password: the value is never sent to the page (write-only); the field is
 * cleared when Python's value becomes empty (`filled` false).
 * @param {ViewContext} ctx
 */
function password({ model, el, listen }) {
  const id = newId("password");
  const label = labelFor(id);
  const input = h("input");
  input.type = "password";
  input.id = id;
  input.autocomplete = "off";
  el.append(label, input);
  Object.assign(el.style, { display: "flex", alignItems: "center", gap: "0.5em" });
  const sync = () => {
    setLabel(label, model.get("label"));
    input.placeholder = str(model.get("placeholder"));
    input.disabled = Boolean(model.get("disabled"));
  };
  const commit = () => {
    model.set("value", input.value);
    model.save_changes();
  };
  input.addEventListener("change", commit);
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") commit();
  });
  listen(model, "change:filled", () => {
    if (model.get("filled") !== true) input.value = "";
  });
  listen(model, "change", sync);
  sync();
}

/**
 * A `<datalist>` of `options` for `input`.
 * @param {HTMLInputElement} input
 * @param {HTMLElement} el
 */
function datalist(input, el) {
  const list = h("datalist");
  list.id = newId("options");
  input.setAttribute("list", list.id);
  el.append(list);
  return (/** @type {unknown} */ options) => {
    const items = Array.isArray(options) ? options.map(str) : [];
    list.replaceChildren(
      ...items.map((o) => {
        const option = h("option");
        option.value = o;
        return option;
      }),
    );
  };
}

/** @param {ViewContext} ctx */
function combobox(ctx) {
  const { model, el, listen } = ctx;
  const input = nativeInput(ctx, "text", (v) => str(v), (s) => s);
  const fill = datalist(input, el);
  const sync = () => {
    input.placeholder = str(model.get("placeholder"));
    fill(model.get("options"));
  };
  input.addEventListener("input", () => {
    if (model.get("continuous") !== true || model.get("ensure_option") === true) return;
    model.set("value", input.value);
    model.save_changes();
  });
  listen(model, "change", sync);
  sync();
}

/** @param {ViewContext} ctx */
function tagsInput({ model, el, listen }) {
  const id = newId("tags");
  const label = labelFor(id);
  const tags = h("ul", "wsbridge-tags");
  tags.setAttribute("aria-label", "tags");
  Object.assign(tags.style, { display: "inline-flex", flexWrap: "wrap", gap: "0.25em", listStyle: "none", margin: "0", padding: "0" });
  const input = h("input");
  input.type = "text";
  input.id = id;
  el.append(label, tags, input);
  Object.assign(el.style, { display: "flex", alignItems: "center", gap: "0.5em", flexWrap: "wrap" });
  const fill = datalist(input, el);
  const value = () => {
    const v = model.get("value");
    return Array.isArray(v) ? v.map(str) : [];
  };
  /** @param {string[]} next */
  const send = (next) => {
    model.set("value", next);
    model.save_changes();
  };
  const sync = () => {
    setLabel(label, model.get("label"));
    input.placeholder = str(model.get("placeholder")).replace(/\u200b/gu, "");
    input.disabled = Boolean(model.get("disabled"));
    fill(model.get("allowed_tags"));
    tags.replaceChildren(
      ...value().map((tag, i) => {
        const item = h("li", "wsbridge-tag");
        Object.assign(item.style, { border: "1px solid #999", borderRadius: "0.75em", padding: "0 0.5em" });
        const text = h("span");
        text.textContent = tag;
        const remove = h("button");
        remove.type = "button";
        remove.textContent = "\u00d7";
        remove.setAttribute("aria-label", `remove ${tag}`);
        remove.disabled = input.disabled;
        remove.addEventListener("click", () => send(value().filter((_, j) => j !== i)));
        item.append(text, " ", remove);
        return item;
      }),
    );
  };
  input.addEventListener("keydown", (e) => {
    if (e.key !== "Enter" || input.value.trim() === "") return;
    send([...value(), input.value.trim()]);
    input.value = "";
  });
  listen(model, "change", sync);
  sync();
}

/** @type {WeakMap<Model, {views: number, stop: () => void}>} one Play driver per model per page */
const DRIVERS = new WeakMap();

/**
 * Step the model while it plays, when this page started it (ipywidgets'
 * PlayModel.loop): value += step every interval; at max, back to min with
 * repeat, else stop.
 * @param {Model} model
 * @returns {() => void}
 */
function drive(model) {
  /** @type {any} */
  let timer = null;
  const stop = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
  const tick = () => {
    timer = null;
    if (model.get("playing") !== true) return;
    const v = Number(model.get("value"));
    const next = v + (Number(model.get("step")) || 1);
    if (next <= Number(model.get("max"))) model.set("value", next);
    else if (model.get("repeat") === true) model.set("value", Number(model.get("min")));
    else {
      model.set("playing", false);
      model.save_changes();
      return;
    }
    model.save_changes();
    schedule();
  };
  const schedule = () => {
    stop();
    timer = setTimeout(tick, Math.max(10, Number(model.get("interval")) || 100));
  };
  /** @param {Model} _m @param {any} playing @param {any} info */
  const onPlaying = (_m, playing, info) => {
    if (playing !== true) stop();
    else if (info?.local && timer === null) {
      if (Number(model.get("value")) >= Number(model.get("max"))) {
        model.set("value", Number(model.get("min")));
        model.save_changes();
      }
      schedule();
    }
  };
  model.on("change:playing", onPlaying);
  return () => {
    stop();
    model.off("change:playing", onPlaying);
  };
}

/** @param {ViewContext} ctx */
function play({ model, el, listen }) {
  let driver = DRIVERS.get(model);
  if (!driver) DRIVERS.set(model, (driver = { views: 0, stop: drive(model) }));
  driver.views += 1;
  const labelId = newId("play-label");
  const label = h("span", "wsbridge-label");
  label.id = labelId;
  el.setAttribute("role", "group");
  el.setAttribute("aria-labelledby", labelId);
  Object.assign(el.style, { display: "flex", alignItems: "center", gap: "0.25em" });
  /** @param {string} text @param {string} name */
  const button = (text, name) => {
    const b = h("button");
    b.type = "button";
    b.textContent = text;
    b.setAttribute("aria-label", name);
    return b;
  };
  const playBtn = button("\u25b6", "play");
  const pauseBtn = button("\u275a\u275a", "pause");
  const stopBtn = button("\u25a0", "stop");
  const repeatBtn = button("\u21bb", "repeat");
  const readout = h("output");
  el.append(label, playBtn, pauseBtn, stopBtn, repeatBtn, readout);
  /** @param {Record<string, any>} props */
  const send = (props) => {
    model.set(props);
    model.save_changes();
  };
  playBtn.addEventListener("click", () => send({ playing: true }));
  pauseBtn.addEventListener("click", () => send({ playing: false }));
  stopBtn.addEventListener("click", () => send({ playing: false, value: Number(model.get("min")) }));
  repeatBtn.addEventListener("click", () => send({ repeat: model.get("repeat") !== true }));
  const sync = () => {
    setLabel(label, model.get("label"));
    const playing = model.get("playing") === true;
    const disabled = Boolean(model.get("disabled"));
    playBtn.disabled = disabled || playing;
    pauseBtn.disabled = disabled || !playing;
    stopBtn.disabled = disabled;
    repeatBtn.disabled = disabled;
    repeatBtn.hidden = model.get("show_repeat") === false;
    repeatBtn.setAttribute("aria-pressed", String(model.get("repeat") === true));
    readout.textContent = str(model.get("value"));
  };
  listen(model, "change", sync);
  sync();
  return () => {
    const d = DRIVERS.get(model);
    if (d && --d.views === 0) {
      d.stop();
      DRIVERS.delete(model);
    }
  };
}

/** The views of this module, by model type (registered by index.js). */
export const PICKER_VIEWS = Object.freeze({
  ColorPicker: colorPicker,
  DatePicker: (/** @type {ViewContext} */ ctx) => bounded(ctx, "date"),
  TimePicker: (/** @type {ViewContext} */ ctx) => bounded(ctx, "time"),
  DatetimePicker: datetimePicker,
  Password: password,
  Combobox: combobox,
  TagsInput: tagsInput,
  Play: play,
});
