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

  /**
   * `expire()` handles what is due and returns ms until the next deadline, or a negative number
   * when there is none (the rooms' `NO_DEADLINE`, -1).
   */
  constructor(expire) {
    this.#expire = expire;
  }

  /**
   * Arms for `ms` from now when `ms >= 0` (an earlier deadline than the armed one); a negative `ms`
   * (`NO_DEADLINE`) arms nothing.
   */
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

// Timers in Node take at most 2^31-1 ms; a longer timeout never fires (as with p-timeout).
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The rejection reason of a task that ran out of time, also its signal's abort reason. */
const timeoutError = ms => new DOMException(`The task timed out after ${ms} ms`, 'TimeoutError');

module.exports = {DeadlineTimer, MAX_TIMER_MS, timeoutError};
