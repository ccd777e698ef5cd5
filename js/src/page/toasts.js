// Toasts: a dashboard's notifications (`dash.notify(...)` to every viewer,
// `wb.session().notify(...)` to one), stacked in a corner of the page.
//
// Each toast is its own element with `role="status"` (info, success) or
// `role="alert"` (warning, error), its text set with `textContent` (never
// HTML), a dismiss button, and a timer of `duration` seconds (none: it stays
// until dismissed) that pauses while the pointer or the focus is on it.
// A notification that came in a resume's replay (the page was disconnected
// when it was sent) is shown for what is left of its duration by this
// browser's clock, or not at all (docs/daily-use.md "Notifications").
//
// Pure helpers plus `renderToasts`, which touches only the element it is given.

/** At most this many toasts at once; a new one removes the oldest. */
export const MAX_TOASTS = 5;

/**
 * The ARIA role of a toast of `level`: warnings and errors interrupt.
 * @param {string} level
 * @returns {"status" | "alert"}
 */
export function toastRole(level) {
  return level === "warning" || level === "error" ? "alert" : "status";
}

/**
 * How long (ms) to show a notification: its `duration`, or for a replayed
 * one what is left of it at `now` (0 or less: do not show it). null: until
 * dismissed.
 * @param {{duration: number | null, time: number}} msg
 * @param {boolean} replayed
 * @param {number} now ms since the Unix epoch
 * @returns {number | null}
 */
export function showFor(msg, replayed, now) {
  if (msg.duration === null || msg.duration === undefined) return null;
  const full = msg.duration * 1000;
  if (!replayed) return full;
  return Math.min(full, msg.time + full - now);
}

/**
 * Show the notifications of `client` as toasts inside `el`.
 * @param {HTMLElement} el the container (`#wsbridge-toasts`)
 * @param {{state: {on: Function, off: Function}}} client
 * @param {{now?: () => number, max?: number}} [options]
 * @returns {{destroy: () => void, show: (msg: Record<string, any>, replayed?: boolean) => HTMLElement | null}}
 */
export function renderToasts(el, client, options = {}) {
  const now = options.now ?? Date.now;
  const max = options.max ?? MAX_TOASTS;
  /** @type {Map<HTMLElement, () => void>} every toast shown, oldest first, and how to remove it */
  const shown = new Map();

  /**
   * @param {Record<string, any>} msg
   * @param {boolean} [replayed]
   */
  const show = (msg, replayed = false) => {
    const ms = showFor(/** @type {any} */ (msg), replayed, now());
    if (ms !== null && ms <= 0) return null;
    const toast = document.createElement("div");
    toast.className = "wsbridge-toast";
    toast.dataset.level = msg.level;
    toast.setAttribute("role", toastRole(msg.level));
    const text = document.createElement("span");
    text.className = "wsbridge-toast-text";
    text.textContent = msg.text;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "wsbridge-toast-close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    toast.append(text, close);

    /** @type {any} */
    let timer = null;
    let left = ms;
    let started = now();
    const stop = () => {
      if (timer !== null) clearTimeout(timer);
      timer = null;
    };
    const remove = () => {
      stop();
      shown.delete(toast);
      toast.remove();
    };
    const start = () => {
      if (left === null) return;
      started = now();
      timer = setTimeout(remove, Math.max(0, left));
    };
    const pause = () => {
      if (timer === null || left === null) return;
      stop();
      left -= now() - started;
    };
    close.addEventListener("click", remove);
    toast.addEventListener("mouseenter", pause);
    toast.addEventListener("focusin", pause);
    toast.addEventListener("mouseleave", () => timer === null && start());
    toast.addEventListener("focusout", () => timer === null && start());
    shown.set(toast, remove);
    el.append(toast);
    for (const [, removeOldest] of shown) {
      if (shown.size <= max) break;
      removeOldest();
    }
    start();
    return toast;
  };

  /**
   * @param {Record<string, any>} msg
   * @param {{replayed?: boolean}} [info]
   */
  const onNotify = (msg, info = {}) => {
    show(msg, Boolean(info.replayed));
  };
  client.state.on("notify", onNotify);
  return {
    show,
    destroy() {
      client.state.off("notify", onNotify);
      for (const remove of [...shown.values()]) remove();
    },
  };
}
