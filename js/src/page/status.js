// The connection status line of a page: "reconnecting…", "stale: …",
// "disconnected: …", nothing (and hidden) while connected.

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
      return reason ? `stale: ${reason}` : "stale: the producer is gone";
    default:
      return reason ? `disconnected: ${reason}` : "disconnected";
  }
}

/**
 * A plain status line: "reconnecting…", "disconnected: <reason>", nothing
 * (and hidden) while connected.
 * @param {HTMLElement} el
 * @param {{status: string, reason?: string, on: Function, off: Function}} client
 * @returns {{destroy: () => void}}
 */
export function renderStatus(el, client) {
  el.setAttribute("role", "status");
  el.setAttribute("aria-live", "polite");
  const update = () => {
    const text = statusText(client.status, client.reason);
    el.textContent = text;
    el.hidden = text === "";
    el.dataset.wsbridgeStatus = client.status;
  };
  client.on("status", update);
  update();
  return { destroy: () => client.off("status", update) };
}
