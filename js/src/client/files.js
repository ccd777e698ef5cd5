// File uploads from this client: files read in chunks and sent as binary
// `upload_chunk` frames, with a bounded window of unacknowledged bytes
// (docs/protocol.md "Files").
//
// Why a window: a WebSocket's send() never blocks, so sending a 20 MB file
// at once would queue all of it in the browser, ahead of this client's own
// slider moves, and leave the progress bar showing what was queued rather
// than what arrived. Here at most `WINDOW_BYTES` are in flight; the hub's
// `upload_ack`s move the window and the progress bar. Sans DOM: the socket
// is the connection's (connection.js), reached through `UploadHost`.

import { uploadChunk, uploadStart } from "../wire/codec.js";

/** Bytes per `upload_chunk` frame (the hub takes up to `limits.max_upload_chunk`). */
export const CHUNK_BYTES = 256 * 1024;
/** Bytes sent and not yet acknowledged by the hub, at most. */
export const WINDOW_BYTES = 2 * 1024 * 1024;

/**
 * What the uploader needs of its connection.
 * @typedef {object} UploadHost
 * @property {(msg: Record<string, any>) => boolean} send send a message now (false: not connected)
 * @property {(name: string, cb: (...args: any[]) => void) => void} on the connection's events
 * @property {() => Record<string, any>} limits the hub's limits (from `welcome`)
 */

/**
 * @typedef {(received: number, total: number) => void} Progress
 */

/** A file to send: a browser `File` (or any Blob with a name). */
/** @typedef {Blob & {name: string, lastModified?: number}} UploadFile */

class Upload {
  /**
   * @param {number} id
   * @param {UploadFile[]} files
   * @param {Progress} progress
   * @param {number} chunk
   */
  constructor(id, files, progress, chunk) {
    this.id = id;
    this.files = files;
    this.progress = progress;
    this.chunk = chunk;
    this.total = files.reduce((n, f) => n + f.size, 0);
    this.sent = 0;
    this.acked = 0;
    this.pumping = false;
    this.over = false;
    /** @type {(value?: any) => void} */
    this.resolve = () => {};
    /** @type {(e: Error) => void} */
    this.reject = () => {};
    this.done = new Promise((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
  }

  /**
   * The blob slice holding bytes [at, at + n) of the files back to back,
   * never crossing a file's end.
   * @param {number} at
   */
  slice(at) {
    let start = 0;
    for (const f of this.files) {
      if (at < start + f.size) {
        const from = at - start;
        return f.slice(from, Math.min(f.size, from + this.chunk));
      }
      start += f.size;
    }
    return null;
  }
}

/** The uploads of one connection. */
export class Uploads {
  /** @param {UploadHost} host */
  constructor(host) {
    this._host = host;
    this._next = 1;
    /** @type {Map<number, Upload>} */
    this._active = new Map();
    host.on("message", (/** @type {Record<string, any>} */ msg) => this._message(msg));
    host.on("error", (/** @type {Record<string, any>} */ msg) => this._error(msg));
    host.on("status", (/** @type {string} */ status) => {
      if (status !== "connected") this._failAll("the connection was lost; upload again");
    });
  }

  /**
   * Upload `files` to model `model` (a FileInput); resolves once Python has
   * handled them, rejects with the reason shown to the user (the hub's or
   * Python's refusal, or a lost connection).
   * @param {string} model
   * @param {UploadFile[]} files
   * @param {Progress} [progress] called as bytes are acknowledged
   * @returns {Promise<void>}
   */
  upload(model, files, progress = () => {}) {
    const max = Number(this._host.limits().max_upload_chunk) || CHUNK_BYTES;
    const up = new Upload(this._next++, files, progress, Math.min(CHUNK_BYTES, max));
    const meta = files.map((f) => ({
      name: f.name || "file",
      type: f.type || "",
      size: f.size,
      last_modified: typeof f.lastModified === "number" ? f.lastModified : null,
    }));
    if (!this._host.send(uploadStart(model, up.id, meta))) {
      return Promise.reject(new Error("not connected; try again once connected"));
    }
    this._active.set(up.id, up);
    progress(0, up.total);
    void this._pump(up);
    return up.done;
  }

  /** @param {Upload} up */
  async _pump(up) {
    if (up.pumping) return;
    up.pumping = true;
    try {
      while (!up.over && up.sent < up.total && up.sent - up.acked < WINDOW_BYTES) {
        const blob = up.slice(up.sent);
        if (blob === null) break;
        const bytes = new Uint8Array(await blob.arrayBuffer());
        if (up.over) return;
        if (!this._host.send(uploadChunk(up.id, up.sent, bytes))) {
          this._finish(up, new Error("the connection was lost; upload again"));
          return;
        }
        up.sent += bytes.byteLength;
      }
    } catch (err) {
      this._finish(up, new Error(`could not read the file: ${/** @type {Error} */ (err).message}`));
    } finally {
      up.pumping = false;
    }
  }

  /** @param {Record<string, any>} msg */
  _message(msg) {
    const up = this._active.get(msg.upload);
    if (!up) return;
    if (msg.type === "upload_ack") {
      up.acked = Math.max(up.acked, msg.received);
      up.progress(up.acked, up.total);
      void this._pump(up);
    } else if (msg.type === "upload_done") {
      up.progress(up.total, up.total);
      this._finish(up, null);
    }
  }

  /** @param {Record<string, any>} msg an `error` from the hub */
  _error(msg) {
    const ref = msg.ref;
    if (!ref || ref.type !== "upload") return;
    const up = this._active.get(ref.upload);
    if (up) this._finish(up, new Error(msg.message));
  }

  /** @param {string} why */
  _failAll(why) {
    for (const up of [...this._active.values()]) this._finish(up, new Error(why));
  }

  /**
   * @param {Upload} up
   * @param {Error | null} err
   */
  _finish(up, err) {
    if (up.over) return;
    up.over = true;
    this._active.delete(up.id);
    if (err) up.reject(err);
    else up.resolve();
  }
}
