// The views of files: FileInput (a native file picker whose files are
// uploaded in chunks, with a progress bar) and FileDownload (a button whose
// file is saved with a Blob and `a[download]`).
//
// The bytes travel through the client (client/files.js, connection.js);
// here only the DOM. Text from Python and the hub (labels, file names,
// refusals) is set with textContent.

import { h, labelFor, newId, setLabel, str } from "./dom.js";

/** @typedef {import("./registry.js").ViewContext} ViewContext */

/**
 * `n` bytes for a person, in decimal units as browsers and the hub show them.
 * @param {number} n
 */
export function fileSize(n) {
  if (n < 1000) return `${n} bytes`;
  let size = n;
  for (const unit of ["KB", "MB", "GB"]) {
    size /= 1000;
    if (size < 1000 || unit === "GB") return `${size.toFixed(1)} ${unit}`;
  }
  return `${n} bytes`;
}

/**
 * The last upload's files as every viewer sees them (names, sizes).
 * @param {unknown} files
 */
function describe(files) {
  if (!Array.isArray(files) || files.length === 0) return "";
  return files.map((f) => `${str(f?.name)} (${fileSize(Number(f?.size) || 0)})`).join(", ");
}

/**
 * FileInput: <label>, <input type=file>, a <progress> while uploading, a
 * status line (progress, then "uploaded" or the refusal, as an alert) and
 * the last upload's file names (every viewer sees those).
 * @param {ViewContext} ctx
 */
function fileInput({ model, el, client, listen }) {
  const id = newId("file");
  const label = labelFor(id);
  const input = h("input");
  input.type = "file";
  input.id = id;
  const progress = h("progress");
  progress.hidden = true;
  progress.setAttribute("aria-label", "upload progress");
  const status = h("span", "wsbridge-file-status");
  status.setAttribute("role", "status");
  const last = h("span", "wsbridge-file-names");
  el.append(label, input, progress, status, last);
  let busy = false;

  const sync = () => {
    setLabel(label, model.get("label"));
    input.accept = str(model.get("accept"));
    input.multiple = model.get("multiple") === true;
    input.disabled = busy || Boolean(model.get("disabled"));
    const names = describe(model.get("files"));
    last.textContent = names ? `Last upload: ${names}` : "";
  };

  /**
   * @param {string} text
   * @param {boolean} [error]
   */
  const say = (text, error = false) => {
    status.textContent = text;
    status.classList.toggle("wsbridge-error", error);
    status.setAttribute("role", error ? "alert" : "status");
  };

  input.addEventListener("change", async () => {
    const files = Array.from(input.files ?? []);
    if (files.length === 0) return;
    busy = true;
    sync();
    progress.hidden = false;
    progress.value = 0;
    el.dataset.state = "uploading";
    try {
      await client.upload(model.id, files, (received, total) => {
        progress.max = Math.max(total, 1);
        progress.value = received;
        say(`${fileSize(received)} of ${fileSize(total)}`);
      });
      el.dataset.state = "done";
      say(`Uploaded ${files.map((f) => f.name).join(", ")}`);
    } catch (err) {
      el.dataset.state = "refused";
      say(/** @type {Error} */ (err).message, true);
    } finally {
      busy = false;
      progress.hidden = true;
      input.value = ""; // the same file may be chosen again
      sync();
    }
  });
  listen(model, "change", sync);
  sync();
}

/**
 * FileDownload: a <button>; a click asks Python for the file, which comes
 * back to this viewer only and is saved with a Blob and `a[download]`.
 * @param {ViewContext} ctx
 */
function fileDownload({ model, el, client, listen }) {
  el.style.display = "inline-flex";
  el.style.alignItems = "center";
  el.style.gap = "0.5em";
  const btn = h("button");
  btn.type = "button";
  const status = h("span", "wsbridge-file-status");
  status.setAttribute("role", "status");
  el.append(btn, status);
  const sync = () => {
    btn.textContent = str(model.get("label"));
    btn.disabled = Boolean(model.get("disabled"));
  };
  btn.addEventListener("click", () => {
    status.classList.remove("wsbridge-error");
    status.textContent = client.event(model.id, "click", null) ? "Preparing\u2026" : "not connected";
  });
  listen(client, "message", (/** @type {Record<string, any>} */ msg) => {
    if (msg.type !== "download" || msg.model !== model.id) return;
    const url = URL.createObjectURL(new Blob([msg.data], { type: msg.mime || "application/octet-stream" }));
    const a = h("a");
    a.href = url;
    a.download = msg.name;
    a.hidden = true;
    el.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    status.textContent = `Saved ${msg.name} (${fileSize(msg.data.byteLength)})`;
  });
  listen(client, "error", (/** @type {Record<string, any>} */ msg) => {
    if (msg.ref?.model !== model.id) return;
    status.textContent = msg.message;
    status.classList.add("wsbridge-error");
  });
  listen(model, "change", sync);
  sync();
}

/** The views of this module, by model type (registered by index.js). */
export const FILE_VIEWS = Object.freeze({
  FileInput: fileInput,
  FileDownload: fileDownload,
});
