// The development overlay (`wsbridge serve --dev`): the app's last run
// failed, and here is its traceback.
//
// The hub sends a `dev` message only in development mode: `error` is
// `{title, text}` while the app's last run (or a factory) failed, null once
// it ran again. The overlay is one element with `role="alert"`: the title
// and the traceback as text (`textContent`, never HTML), and a button (or
// Escape) that dismisses it; the same error does not come back once
// dismissed, a new one does, and a good run removes it. The page under it
// keeps showing (and updating) the last version that ran.

/**
 * Show `client`'s development errors in `el` (`#wsbridge-dev`, hidden).
 * @param {HTMLElement} el
 * @param {{state: {on: Function, off: Function}}} client
 * @returns {{destroy: () => void, update: (error: {title: string, text: string} | null) => void}}
 */
export function renderDevOverlay(el, client) {
  /** @type {string | null} the error the viewer dismissed (title and text) */
  let dismissed = null;
  /** @type {string | null} */
  let current = null;
  el.setAttribute("role", "alert");

  const hide = () => {
    el.hidden = true;
    el.replaceChildren();
  };
  const dismiss = () => {
    dismissed = current;
    hide();
  };
  /** @param {KeyboardEvent} ev */
  const onKey = (ev) => {
    if (ev.key === "Escape" && !el.hidden) dismiss();
  };

  /** @param {{title: string, text: string} | null} error */
  const update = (error) => {
    if (error === null) {
      current = dismissed = null;
      hide();
      return;
    }
    const key = `${error.title}\n${error.text}`;
    if (key === current && !el.hidden) return;
    current = key;
    if (key === dismissed) return;
    const box = document.createElement("div");
    box.className = "wsbridge-dev-box";
    const title = document.createElement("p");
    title.className = "wsbridge-dev-title";
    title.textContent = error.title;
    const text = document.createElement("pre");
    text.className = "wsbridge-dev-text";
    text.textContent = error.text;
    const note = document.createElement("p");
    note.className = "wsbridge-dev-note";
    note.textContent = "The page shows the last version that ran. Save a fix and it updates by itself.";
    const close = document.createElement("button");
    close.type = "button";
    close.className = "wsbridge-dev-close";
    close.textContent = "Dismiss";
    close.addEventListener("click", dismiss);
    box.append(title, text, note, close);
    el.replaceChildren(box);
    el.hidden = false;
  };

  /** @param {Record<string, any>} msg */
  const onDev = (msg) => update(msg.error ?? null);
  client.state.on("dev", onDev);
  document.addEventListener("keydown", onKey);
  return {
    update,
    destroy() {
      client.state.off("dev", onDev);
      document.removeEventListener("keydown", onKey);
      hide();
    },
  };
}
