// A tiny synchronous event emitter shared by the state, model and client
// layers. No DOM, no Node: `EventTarget` would force `Event` objects on every
// listener, and anywidget/Backbone callbacks take plain arguments.

/**
 * @callback Listener
 * @param {...any} args
 * @returns {void}
 */

export class Emitter {
  constructor() {
    /** @type {Map<string, Set<Listener>>} */
    this._listeners = new Map();
  }

  /**
   * Call `cb` on every `emit(name, ...)`; adding the same callback twice has
   * no effect.
   * @param {string} name
   * @param {Listener} cb
   * @returns {this}
   */
  on(name, cb) {
    if (typeof cb !== "function") throw new TypeError("listener must be a function");
    let set = this._listeners.get(name);
    if (!set) this._listeners.set(name, (set = new Set()));
    set.add(cb);
    return this;
  }

  /**
   * Remove listeners: `off()` all of them, `off(name)` those of one event,
   * `off(name, cb)` one, `off(undefined, cb)` that callback everywhere
   * (Backbone's semantics, which anywidget inherits).
   * @param {string} [name]
   * @param {Listener} [cb]
   * @returns {this}
   */
  off(name, cb) {
    if (name === undefined || name === null) {
      if (cb === undefined) this._listeners.clear();
      else for (const set of this._listeners.values()) set.delete(cb);
      return this;
    }
    const set = this._listeners.get(name);
    if (!set) return this;
    if (cb === undefined) set.clear();
    else set.delete(cb);
    if (set.size === 0) this._listeners.delete(name);
    return this;
  }

  /**
   * Call `cb` on the next `emit(name, ...)` only.
   * @param {string} name
   * @param {Listener} cb
   * @returns {this}
   */
  once(name, cb) {
    const wrapper = (/** @type {any[]} */ ...args) => {
      this.off(name, wrapper);
      cb(...args);
    };
    return this.on(name, wrapper);
  }

  /**
   * @param {string} name
   * @returns {boolean} whether anyone listens to `name`
   */
  has(name) {
    const set = this._listeners.get(name);
    return set !== undefined && set.size > 0;
  }

  /**
   * Call every listener of `name` in subscription order. A listener that
   * throws is reported with `console.error` and does not stop the others
   * (nor the state update that emitted the event). A listener removed by an
   * earlier one during this emit is not called (as with DOM events): a view
   * destroyed by a snapshot must not react to that snapshot.
   * @param {string} name
   * @param {...any} args
   */
  emit(name, ...args) {
    const set = this._listeners.get(name);
    if (!set || set.size === 0) return;
    for (const cb of [...set]) {
      if (!set.has(cb)) continue;
      try {
        cb(...args);
      } catch (err) {
        console.error(`wsbridge: a "${name}" listener failed`, err);
      }
    }
  }
}
