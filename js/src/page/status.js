// The connection status line of a page: "reconnecting…", a plain sentence
// while the Python side is gone, "disconnected: …", nothing (and hidden)
// while connected; and the page's controls disabled while nobody listens.

/** What a page says while the Python process behind it is gone. */
export const GONE_TEXT = "The Python process serving this dashboard has stopped; waiting for it to come back.";

/**
 * Nothing listens to this page's input: the producer is gone ("stale") or
 * the hub cannot be reached past the back-off ("offline").
 * @param {string} status
 */
export function isGone(status) {
  return status === "stale" || status === "offline";
}

/**
 * The status line: nothing while connected.
 * @param {string} status
 * @param {string} [reason]
 */
export function statusText(status, reason = "") {
  switch (status) {
    case "connected":
      return "";
    case "connecting":
      return "connecting…";
    case "reconnecting":
      return "reconnecting…";
    case "stale":
    case "offline":
      return GONE_TEXT;
    default:
      return reason ? `disconnected: ${reason}` : "disconnected";
  }
}

/**
 * A plain status line: "reconnecting…", "disconnected: <reason>", nothing
 * (and hidden) while connected. With ``root`` (the dashboard's element),
 * its controls are greyed out and disabled (``inert``) while the Python
 * side is gone, and come back when it publishes again.
 * @param {HTMLElement} el
 * @param {{status: string, reason?: string, on: Function, off: Function}} client
 * @param {HTMLElement} [root]
 * @returns {{destroy: () => void}}
 */
export function renderStatus(el, client, root) {
  el.setAttribute("role", "status");
  el.setAttribute("aria-live", "polite");
  const update = () => {
    const text = statusText(client.status, client.reason);
    el.textContent = text;
    el.hidden = text === "";
    el.title = client.reason ?? "";
    el.dataset.wsbridgeStatus = client.status;
    if (root) {
      const gone = isGone(client.status);
      root.inert = gone;
      if (gone) root.dataset.wsbridgeGone = "";
      else delete root.dataset.wsbridgeGone;
    }
  };
  client.on("status", update);
  update();
  return { destroy: () => client.off("status", update) };
}
