// ipywidgets jslink/jsdlink in the browser: every `Link` model of the
// document copies a property between two models as it changes, with no
// round trip to Python (wsbridge/widgets/ipylinks.py).
//
// A change the viewer made here (a local change) is copied and sent for the
// other end too, so Python sees both values change, as in Jupyter, and the
// echo rule keeps this page's values while the answers come back. A change
// that came from the hub (Python, or another viewer) is copied locally only:
// Python links it itself, and N viewers must not send N sets. Links follow
// the document: models added later, a snapshot after a reconnection.

import { sameValue } from "../client/state.js";

/** @typedef {import("../client/connection.js").Connection} Client */
/** @typedef {import("../client/model.js").Model} Model */

/** Copies made from a hub change are not local, whatever setLocal says. */
let copyingRemote = false;

/**
 * Copy `from[fromProp]` to `to[toProp]` when it changes (while the link is active).
 * @param {Client} client
 * @param {Model} link
 * @param {Model} from
 * @param {string} fromProp
 * @param {() => Model} to
 * @param {string} toProp
 * @returns {() => void} the cleanup
 */
function follow(client, link, from, fromProp, to, toProp) {
  /** @param {Model} _m @param {any} value @param {any} info */
  const copy = (_m, value, info) => {
    if (link.get("active") === false || !link.exists) return;
    const target = to();
    if (!target.exists || sameValue(target.get(toProp), value)) return;
    if (info?.local && !copyingRemote) {
      target.set(toProp, value);
      target.save_changes();
      return;
    }
    copyingRemote = true;
    try {
      client.state.setLocal(target.id, [[toProp, value]]);
    } finally {
      copyingRemote = false;
    }
  };
  from.on(`change:${fromProp}`, copy);
  return () => from.off(`change:${fromProp}`, copy);
}

/**
 * Run the document's links as long as the returned cleanup is not called.
 * @param {Client} client
 * @returns {() => void}
 */
export function followLinks(client) {
  /** @type {Map<string, () => void>} */
  const running = new Map();
  const scan = () => {
    for (const id of client.models()) {
      const link = client.model(id);
      if (link.type !== "Link" || running.has(id)) continue;
      const src = link.get("source");
      const dst = link.get("target");
      const sp = link.get("source_prop");
      const tp = link.get("target_prop");
      if (typeof src !== "string" || typeof dst !== "string" || typeof sp !== "string" || typeof tp !== "string") continue;
      const a = client.model(src);
      const b = client.model(dst);
      const stops = [follow(client, link, a, sp, () => b, tp)];
      if (link.get("bidirectional") !== false) stops.push(follow(client, link, b, tp, () => a, sp));
      running.set(id, () => stops.forEach((s) => s()));
      // a link starts by giving the target the source's value (as ipywidgets' LinkModel)
      if (a.exists && b.exists && !sameValue(a.get(sp), b.get(tp))) {
        copyingRemote = true;
        try {
          client.state.setLocal(dst, [[tp, a.get(sp)]]);
        } finally {
          copyingRemote = false;
        }
      }
    }
  };
  client.state.on("add", scan);
  client.state.on("snapshot", scan);
  scan();
  return () => {
    client.state.off("add", scan);
    client.state.off("snapshot", scan);
    for (const stop of running.values()) stop();
    running.clear();
  };
}
