// The address's query and the document's `dash.query` (a `Query` model:
// wsbridge/widgets/query.py), kept in step.
//
// - Python -> address: whenever the model's value changes (set from Python,
//   by another viewer of a shared dashboard, or refused and set back), the
//   page writes it into its own address with `history.replaceState` (no
//   reload, no new history entry), so the address is always a bookmark of
//   the view.
// - address -> Python: once per `Query` model the page meets (when it
//   opens, and again when the document is re-created: `--dev` reloads, a
//   restarted server), a non-empty address query that differs from the
//   model's value is `set` on it; Python validates it (strings, bounded)
//   and a refused one is answered with the canonical value, which then
//   replaces the address's. An empty address query sets nothing (opening
//   a shared dashboard's plain link does not reset everyone's view).
// - A per-session app also gets the query in its first `hello`
//   (`pageQuery`), so its factory reads it before it builds anything.

import { queryProblem } from "../wire/messages.js";

/**
 * The query of an address (`location.search`) as an object of strings; a
 * name given twice keeps its last value.
 * @param {string} search
 * @returns {Record<string, string>}
 */
export function parseQuery(search) {
  /** @type {Record<string, string>} */
  const out = {};
  for (const [name, value] of new URLSearchParams(search)) out[name] = value;
  return out;
}

/**
 * What a page sends in its `hello`: its address's query, or null when it has
 * none or one that could not travel (then the page's `set` is refused
 * visibly instead of the hello).
 * @param {string} search
 * @returns {Record<string, string> | null}
 */
export function pageQuery(search) {
  const query = parseQuery(search);
  if (Object.keys(query).length === 0 || queryProblem(query) !== null) return null;
  return query;
}

/**
 * `href` with its query replaced by `query` (the fragment kept).
 * @param {string} href
 * @param {Record<string, string>} query
 */
export function withQuery(href, query) {
  const url = new URL(href);
  url.search = new URLSearchParams(query).toString();
  return url.href;
}

/**
 * Same parameters, same values (order aside)?
 * @param {Record<string, string>} a
 * @param {Record<string, string>} b
 */
export function sameQuery(a, b) {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && b[k] === a[k]);
}

/**
 * The id of the document's `Query` model, or null.
 * @param {{models: () => string[], model: (id: string) => {type?: string}}} client
 */
export function queryModel(client) {
  for (const id of client.models()) if (client.model(id).type === "Query") return id;
  return null;
}

/**
 * Keep `win`'s address query and `client`'s `Query` model in step (above).
 * @param {any} client a Client (connection.js)
 * @param {{location: {href: string, search: string}, history: {state: any, replaceState: Function}}} win
 * @returns {{destroy: () => void}}
 */
export function syncQuery(client, win) {
  /** @type {Set<string>} Query models this page has applied its address to */
  const applied = new Set();
  /** @type {Map<string, any>} the models listened to, by id */
  const watched = new Map();

  /** @param {any} value */
  const write = (value) => {
    if (!value || typeof value !== "object") return;
    const href = withQuery(win.location.href, value);
    if (href !== win.location.href) win.history.replaceState(win.history.state, "", href);
  };
  const check = () => {
    const id = queryModel(client);
    if (id === null) return;
    const model = client.model(id);
    if (!watched.has(id)) {
      const onChange = () => write(model.get("value"));
      model.on("change:value", onChange);
      watched.set(id, () => model.off("change:value", onChange));
    }
    if (!applied.has(id)) {
      applied.add(id);
      const mine = parseQuery(win.location.search);
      const theirs = model.get("value") ?? {};
      if (Object.keys(mine).length > 0 && !sameQuery(mine, theirs)) {
        model.set("value", mine);
        model.save_changes();
        return;
      }
    }
    write(model.get("value"));
  };
  const state = client.state;
  state.on("snapshot", check);
  state.on("add", check);
  return {
    destroy() {
      state.off("snapshot", check);
      state.off("add", check);
      for (const off of watched.values()) off();
      watched.clear();
    },
  };
}
