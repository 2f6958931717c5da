'use strict';
// One JS timer for many deadlines: Rust keeps the deadlines in a heap; this keeps a single timer
// armed for the earliest. Ref'd on purpose: a task with a timeout keeps the process alive until it
// settles or expires. Callers clear it once no deadline is left, so an idle owner holds no handle.

class DeadlineTimer {
  #timer;
  #expire;
  #fire = () => {
    this.#timer = undefined;
    const next = this.#expire();
    if (next >= 0 && this.#timer === undefined) this.arm(next);
  };

  /** `expire()` handles what is due and returns ms until the next deadline, or -1. */
  constructor(expire) {
    this.#expire = expire;
  }

  /** Arms for `ms` from now when `ms >= 0` (an earlier deadline than the armed one). */
  arm(ms) {
    if (ms < 0) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(this.#fire, Math.ceil(ms));
  }

  get armed() {
    return this.#timer !== undefined;
  }

  clear() {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

module.exports = {DeadlineTimer};
