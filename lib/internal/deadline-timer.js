'use strict';
// One JS timer for many deadlines: Rust keeps the deadlines in a heap; this keeps a single timer
// armed for the earliest. Ref'd on purpose: a task with a timeout keeps the process alive until it
// settles or expires. Callers clear it once no deadline is left, so an idle owner holds no handle.

const {room} = require('./wire');

// "No deadline to arm a timer for": the pool room's, one definition for every room that arms
// deadlines (core/src/pool/wire.rs; the combinators' NO_DEADLINE is the same constant).
const {NO_DEADLINE, MAX_TIMER_MS} = room('pool');

class DeadlineTimer {
  #timer;
  #expire;
  #fire = () => {
    this.#timer = undefined;
    const next = this.#expire();
    if (next !== NO_DEADLINE && this.#timer === undefined) this.arm(next);
  };

  /**
   * `expire()` handles what is due and returns ms until the next deadline, or `NO_DEADLINE` when
   * there is none.
   */
  constructor(expire) {
    this.#expire = expire;
  }

  /**
   * Arms for `ms` from now (an earlier deadline than the armed one); `NO_DEADLINE` arms nothing.
   */
  arm(ms) {
    if (ms === NO_DEADLINE) return;
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

// Timers in Node take at most MAX_TIMER_MS (2^31-1) ms; a longer timeout never fires (as with
// p-timeout). One definition, the pool room's wire, which armDeadline clamps to as well.

/** The rejection reason of a task that ran out of time, also its signal's abort reason. */
const timeoutError = ms => new DOMException(`The task timed out after ${ms} ms`, 'TimeoutError');

module.exports = {DeadlineTimer, MAX_TIMER_MS, NO_DEADLINE, timeoutError};
