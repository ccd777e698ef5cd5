// Per-viewer UI state: what one viewer chose (a tab, a folded card) that is
// nobody else's business.
//
// A `Tabs`' selected tab and a `Card`'s folding are the viewer's own unless
// the model says `shared` (wsbridge/widgets/layout.py): the view keeps the
// choice here, in the page, and sends nothing to the hub. It is kept per
// document and model id in memory and in the tab's `sessionStorage`, so it
// survives a reconnection (the views may be rebuilt from a snapshot) and a
// reload of the page.
//
// The choice is recorded with the model's value at the time it was made
// (its "base"). When Python sets the property to something else later,
// that is a deliberate move of every viewer ("show the results tab"): the
// base no longer matches and the model's value wins again.

/** The in-page copy (also when sessionStorage is unavailable). */
const memory = new Map();

/** @returns {Storage | null} */
function storage() {
  try {
    const s = /** @type {any} */ (globalThis).sessionStorage;
    return s && typeof s.getItem === "function" ? s : null;
  } catch {
    return null; // a sandboxed iframe may refuse access
  }
}

/** @param {unknown} v */
const json = (v) => JSON.stringify(v ?? null);

/**
 * @typedef {object} ViewerState
 * @property {() => any} get the viewer's choice, or undefined (none, or Python moved the model since)
 * @property {(value: any) => void} set record the viewer's choice
 */

/**
 * The viewer's own value of property `name` of `model`.
 * @param {{doc?: string | null}} client
 * @param {{id: string, get: (name: string) => any}} model
 * @param {string} name
 * @returns {ViewerState}
 */
export function viewerState(client, model, name) {
  const key = () => `wsbridge:view:${client.doc ?? ""}:${model.id}:${name}`;
  const read = () => {
    const k = key();
    if (memory.has(k)) return memory.get(k);
    try {
      const text = storage()?.getItem(k);
      const parsed = text ? JSON.parse(text) : null;
      if (parsed && typeof parsed === "object" && "base" in parsed) {
        memory.set(k, parsed);
        return parsed;
      }
    } catch {
      // unreadable: no choice
    }
    return null;
  };
  return {
    get() {
      const s = read();
      if (!s || s.base !== json(model.get(name))) return undefined;
      return s.value;
    },
    set(value) {
      const entry = { value, base: json(model.get(name)) };
      const k = key();
      memory.set(k, entry);
      try {
        storage()?.setItem(k, JSON.stringify(entry));
      } catch {
        // full or refused: the in-page copy still holds it
      }
    },
  };
}
