'use strict';
// Lazy pulling from an iterable or async iterable under a bound, for Pool#map and stream():
// items are read only while `canPull()` allows, sync sources in a plain loop (no promise per
// item), async ones by awaiting `next()`; the source is closed (`return()`) when the consumer
// stops early.

const {openIterator, checkIteratorResult} = require('./validate');

class Puller {
  #iterator;
  #next;
  #isAsync;
  #canPull;
  #take;
  #after;
  #failed;
  #name;
  /** True while a pull loop runs (an async one may be awaiting `next()`). */
  pulling = false;
  /** True once the source is done, failed or closed. */
  exhausted = false;

  /**
   * Gets the iterator of `input` and its `next` method (read once, as `for…of` does). Throws a
   * TypeError naming `name` when the input breaks the iteration protocol here; an error thrown by
   * the input itself propagates as it is.
   *
   * @param input an Iterable or AsyncIterable (checked by the caller)
   * @param hooks `canPull()`: may another item be read now; `take(value)`: start it;
   *   `after()`: a loop ended normally; `failed(error)`: the source threw or broke the protocol.
   * @param name the argument's name, for error messages
   */
  constructor(input, {canPull, take, after, failed}, name = 'input') {
    const {iterator, next, isAsync} = openIterator(input, name, true);
    this.#iterator = iterator;
    this.#next = next;
    this.#isAsync = isAsync;
    this.#name = name;
    this.#canPull = canPull;
    this.#take = take;
    this.#after = after;
    this.#failed = failed;
  }

  /** Reads while allowed. Re-entrant calls (from `take`) return at once. */
  pump() {
    if (this.pulling || this.exhausted) return;
    if (this.#isAsync) {
      this.#pumpAsync();
      return;
    }
    this.pulling = true;
    try {
      while (!this.exhausted && this.#canPull() && this.#step(this.#next.call(this.#iterator)));
    } catch (error) {
      this.#fail(error);
      return;
    }
    this.pulling = false;
    this.#after();
  }

  async #pumpAsync() {
    this.pulling = true;
    try {
      while (!this.exhausted && this.#canPull()) {
        const next = await this.#next.call(this.#iterator);
        if (this.exhausted || !this.#step(next)) break;
      }
    } catch (error) {
      this.#fail(error);
      return;
    }
    this.pulling = false;
    this.#after();
  }

  #step(next) {
    // Closed while `next()` ran (the source itself aborted or cleared what reads it): the value
    // is dropped, as p-map drops it.
    if (this.exhausted) return false;
    checkIteratorResult(next, this.#name);
    if (next.done) {
      this.exhausted = true;
      return false;
    }
    this.#take(next.value);
    return true;
  }

  #fail(error) {
    this.exhausted = true;
    this.pulling = false;
    this.#failed(error);
  }

  /** Stops reading and closes the source, unless it is already done. */
  close() {
    if (this.exhausted) return;
    this.exhausted = true;
    try {
      const closing = this.#iterator.return?.();
      if (closing && typeof closing.then === 'function') closing.then(undefined, () => {});
    } catch {}
  }
}

module.exports = {Puller};
