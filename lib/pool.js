'use strict';
// Pool: the full bounded pool on the same Rust core as pLimit, with per-task AbortSignal,
// timeouts that abort, priority, a hard queue cap, idle/empty/size waits, Little's-law statistics,
// lazy `map` over (async) iterables, and opt-in detection of a pool that waits on itself.
//
// Rust owns the queue, the counters, the limit, the order, the deadlines and the statistics, and
// keeps every task in a slot from submission to settlement. JS keeps, per slot id, the record of
// what must stay a JS object: the task function, its promise's resolvers and its AbortController.

const {createPool} = require('./native');
const {asPromise} = require('./outcome');
const {state: reaction} = require('./reactions');
const {DeadlineTimer, MAX_TIMER_MS, timeoutError} = require('./deadline-timer');
const {createStream, readStreamOptions, validateBound} = require('./stream');
const {Puller} = require('./pull');
const {DroppedError, isDropped} = require('./dropped');
const {onAbort} = require('./signals');
const {
  describe,
  parseConcurrency,
  validateConcurrency,
  validateFunction,
  validateSignal,
  validateTimeout,
  validatePriority,
  validateCount,
  validateOptionsObject,
} = require('./validate');

const noop = () => {};

/** Raised when the queue is at `maxQueue`. */
class QueueFullError extends RangeError {
  constructor(maxQueue) {
    super(`The pool's queue is full (maxQueue: ${maxQueue}); wait with \`pool.onSizeLessThan(${maxQueue})\` before adding`);
    this.name = 'QueueFullError';
    this.code = 'ASYNC_SHAPE_QUEUE_FULL';
  }
}

/** Raised, with `detectDeadlock`, for a task that would wait forever on its own pool. */
class DeadlockError extends Error {
  constructor(concurrency) {
    super(
      `Deadlock: all ${concurrency} running tasks of this pool are waiting on tasks queued in the same pool. ` +
        'Run the inner work outside the pool, or give it a pool of its own.',
    );
    this.name = 'DeadlockError';
    this.code = 'ASYNC_SHAPE_DEADLOCK';
  }
}

// Outcome codes for the core: fulfilled, rejected (errors and timeouts), dropped.
const FULFILLED = 0;
const REJECTED = 1;
const DROPPED = 2;
const LIMIT_CHANGED = 2;

/**
 * What `pool.run`'s task receives: its `signal`, and `drop()` to mark itself dropped. `drop` works
 * detached (`({signal, drop}) => …`); the function is made only when a task asks for it.
 */
class RunContext {
  #record;
  constructor(record, signal) {
    this.#record = record;
    this.signal = signal;
  }

  /** Marks this task dropped (refused by the downstream): congestion, not a success. */
  get drop() {
    const record = this.#record;
    return () => {
      record.dropped = true;
    };
  }
}

// One task, from submission to settlement.
class Task {
  constructor(fn, signal, timeout, resolve, reject) {
    this.fn = fn;
    this.signal = signal;
    this.timeout = timeout;
    this.resolve = resolve;
    this.reject = reject;
    this.id = -1;
    this.controller = undefined;
    this.unlisten = undefined;
    this.running = false;
    this.done = false;
    this.dropped = false;
  }
}

class Pool {
  #core;
  #tasks = [];
  #maxQueue;
  #defaultTimeout;
  #context;
  #deadlines = new DeadlineTimer(() => this.#expire());
  #waiters = [];
  #onLimitChange;
  // Bumped whenever the limit changes, so maps can cache it instead of asking Rust per item.
  #limitVersion = 0;
  // Pool#map items waiting in the queue, by slot id, so that clear() reaches them too.
  #queuedMapItems = [];
  // Bound once per pool: started from a promise reaction in the run() caller's async context.
  #startById = id => this.#start(id);

  /**
   * @param {object} [options]
   * @param {number} [options.concurrency=Infinity]
   * @param {number} [options.maxQueue=Infinity]
   * @param {number} [options.timeout] default per-task timeout in ms
   * @param {boolean} [options.detectDeadlock=false]
   */
  constructor(options = {}) {
    validateOptionsObject(options);
    const {
      concurrency = Number.POSITIVE_INFINITY,
      maxQueue = Number.POSITIVE_INFINITY,
      timeout,
      detectDeadlock = false,
      onLimitChange,
    } = options;
    const {limit, adaptive} = parseConcurrency(concurrency, value => validateConcurrency(value));
    if (onLimitChange !== undefined) validateFunction(onLimitChange, 'onLimitChange');
    validateCount(maxQueue, 'maxQueue');
    validateTimeout(timeout);
    if (typeof detectDeadlock !== 'boolean') {
      throw new TypeError(`Expected \`detectDeadlock\` to be a boolean, got ${describe(detectDeadlock)}`);
    }
    this.#core = createPool(limit, true, undefined, adaptive);
    this.#onLimitChange = onLimitChange;
    this.#maxQueue = maxQueue;
    this.#defaultTimeout = timeout;
    if (detectDeadlock) {
      // Loaded only when asked for: it marks each task's async context with its slot id.
      const {AsyncLocalStorage} = require('node:async_hooks');
      this.#context = new AsyncLocalStorage();
    }
  }

  /** Tasks running now. */
  get activeCount() {
    return this.#core.active();
  }

  /** Tasks waiting for a slot. */
  get pendingCount() {
    return this.#core.pending();
  }

  /** The most tasks that run at once (an adaptive pool's current limit). Raising it starts queued tasks in a microtask. */
  get concurrency() {
    return this.#core.concurrency();
  }

  set concurrency(value) {
    if (this.#core.adaptiveInfo() !== undefined) {
      throw new TypeError('This pool is adaptive: its limit moves by itself (make a new Pool for a fixed limit)');
    }
    validateConcurrency(value);
    this.#core.setConcurrency(value);
    this.#limitVersion++;
    queueMicrotask(this.#core.drain);
  }

  /**
   * Runs `task({signal})` when a slot is free. Resolves or rejects with its outcome; rejects with
   * `signal.reason` when `signal` aborts (a queued task is removed, a running one loses its slot),
   * and with a `TimeoutError` DOMException after `timeout` ms of running (the task's signal aborts).
   */
  run(task, options) {
    let signal;
    let priority = 0;
    let timeout = this.#defaultTimeout;
    try {
      validateFunction(task, 'task');
      if (options !== undefined) {
        validateOptionsObject(options);
        signal = options.signal;
        validateSignal(signal);
        if (options.priority !== undefined) {
          validatePriority(options.priority);
          priority = options.priority;
        }
        if (options.timeout !== undefined) {
          validateTimeout(options.timeout);
          timeout = options.timeout;
        }
      }
    } catch (error) {
      return Promise.reject(error);
    }

    if (signal?.aborted) return Promise.reject(signal.reason);

    const core = this.#core;
    if (this.#maxQueue !== Number.POSITIVE_INFINITY) {
      const pending = core.pending();
      if (pending >= this.#maxQueue && (pending > 0 || core.active() >= core.concurrency())) {
        return Promise.reject(new QueueFullError(this.#maxQueue));
      }
    }

    let resolve;
    let reject;
    const promise = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const record = new Task(task, signal, timeout, resolve, reject);

    // With detectDeadlock, the running task (of this pool) that is submitting this one, if any.
    const store = this.#context?.getStore();
    const parent = store !== undefined && this.#tasks[store.id] === store && store.running ? store.id : undefined;
    const gate = priority === 0 && parent === undefined ? core.submitPlain() : core.submit(priority, parent);
    let id;
    if (typeof gate === 'number') {
      id = gate;
      record.id = id;
      this.#tasks[id] = record;
      Promise.resolve(id).then(this.#startById);
    } else {
      id = core.lastId();
      record.id = id;
      this.#tasks[id] = record;
      gate.then(this.#startById, noop);
      if (parent !== undefined && core.deadlocked()) {
        core.remove(id);
        this.#settle(id, record, false, new DeadlockError(core.concurrency()));
        return promise;
      }
    }

    if (signal !== undefined) {
      record.unlisten = onAbort(signal, reason => this.#abort(id, record, reason));
    }
    return promise;
  }

  #start(id) {
    const record = this.#tasks[id];
    if (record === undefined || record.done) return;
    record.running = true;
    let signal = record.signal;
    const {timeout} = record;
    if (timeout !== undefined && timeout <= MAX_TIMER_MS) {
      record.controller = new AbortController();
      signal = record.controller.signal;
      this.#deadlines.arm(this.#core.armDeadline(id, timeout));
    }

    let result;
    reaction[1]++;
    reaction[0] = 1;
    try {
      const context = new RunContext(record, signal);
      result = this.#context === undefined ? record.fn(context) : this.#context.run(record, record.fn, context);
    } catch (error) {
      reaction[0] = 0;
      this.#settle(id, record, false, error);
      return;
    }
    reaction[0] = 0;
    const pending = asPromise(result);
    if (pending === undefined) {
      this.#settle(id, record, true, result);
    } else {
      pending.then(
        value => this.#settle(id, record, true, value),
        error => this.#settle(id, record, false, error),
      );
    }
  }

  // Settles a task's promise once, frees its slot and starts the next one.
  #settle(id, record, ok, value) {
    if (record.done) return;
    record.done = true;
    this.#tasks[id] = undefined;
    record.unlisten?.();
    if (ok) record.resolve(value);
    else record.reject(value);
    if (record.running) {
      const outcome = record.dropped || (!ok && isDropped(value)) ? DROPPED : ok ? FULFILLED : REJECTED;
      if (this.#core.finish(id, outcome) === LIMIT_CHANGED) this.#limitChanged();
      if (record.controller !== undefined && this.#deadlines.armed && this.#core.nextDeadline() < 0) {
        this.#deadlines.clear();
      }
    }
    if (this.#waiters.length > 0) this.#notify();
  }

  #limitChanged() {
    this.#limitVersion++;
    this.#onLimitChange?.(this.#core.concurrency());
  }

  #abort(id, record, reason) {
    if (record.done) return;
    // Not removable from the queue: its gate opened and it holds a slot, though it may not have
    // been called yet.
    if (!record.running && !this.#core.remove(id)) record.running = true;
    record.controller?.abort(reason);
    this.#settle(id, record, false, reason);
  }

  // Times out the due tasks; returns ms until the next deadline, or -1.
  #expire() {
    for (const id of this.#core.expire()) {
      const record = this.#tasks[id];
      if (record === undefined || record.done) continue;
      const error = timeoutError(record.timeout);
      record.controller.abort(error);
      this.#settle(id, record, false, error);
    }
    return this.#core.nextDeadline();
  }

  /**
   * Empties the queue. Each queued task's promise rejects with `reason` (default: an `AbortError`
   * DOMException). Running tasks are not affected.
   */
  clear(reason = new DOMException('The pool was cleared', 'AbortError')) {
    const ids = this.#core.clear(undefined);
    // Their slots are free now and may be reused by the callbacks below: mark every cleared map
    // item first, so that none of them touches its old slot id again.
    const mapItems = [];
    for (const id of ids) {
      const item = this.#queuedMapItems[id];
      if (item === undefined) continue;
      this.#queuedMapItems[id] = undefined;
      item.cleared = true;
      mapItems.push(item);
    }
    for (const id of ids) {
      const record = this.#tasks[id];
      if (record !== undefined) this.#settle(id, record, false, reason);
    }
    for (const item of mapItems) item.onCleared(reason);
  }

  /**
   * Maps `input` (an iterable or async iterable) through `mapper(item, index, {signal})` with this
   * pool's concurrency, pulling items lazily: at most `concurrency` are read ahead. Resolves with
   * the results in input order. With `stopOnError` (default) the first error rejects the map,
   * stops reading, and aborts the signal given to its mappers; otherwise every item runs and the
   * errors reject as one `AggregateError`, in input order.
   */
  map(input, mapper, options = {}) {
    let signal;
    let stopOnError;
    try {
      const iterable = input !== null && input !== undefined && (typeof input[Symbol.iterator] === 'function' || typeof input[Symbol.asyncIterator] === 'function');
      if (!iterable) {
        throw new TypeError(`Expected \`input\` to be an Iterable or AsyncIterable, got ${describe(input)}`);
      }
      validateFunction(mapper, 'mapper');
      validateOptionsObject(options);
      ({signal, stopOnError = true} = options);
      validateSignal(signal);
      if (typeof stopOnError !== 'boolean') {
        throw new TypeError(`Expected \`stopOnError\` to be a boolean, got ${describe(stopOnError)}`);
      }
    } catch (error) {
      return Promise.reject(error);
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    return this.#mapLazily(input, mapper, signal, stopOnError);
  }

  // p-map's pull model over the pool: an item is read only while fewer than `concurrency` of this
  // map's items are in flight, so memory is O(concurrency), never O(input). Each item takes a slot
  // straight from the core and its mapper is called from the pull loop, which runs in the map
  // caller's async context; pools with a default timeout or deadlock detection go through run().
  #mapLazily(input, mapper, outerSignal, stopOnError) {
    const core = this.#core;
    const direct = this.#defaultTimeout === undefined && this.#context === undefined;
    const queuedMapItems = this.#queuedMapItems;
    return new Promise((resolve, reject) => {
      const controller = new AbortController();
      const context = {signal: controller.signal};
      const results = [];
      const errors = [];
      // Items holding or awaiting a slot: by slot id on the direct path (ids are small and
      // dense), by index through run().
      const items = [];
      let inFlight = 0;
      let index = 0;
      let finished = false;
      let unlisten;
      // The pool's limit, re-read from Rust only when it changed.
      let limit = core.concurrency();
      let limitVersion = this.#limitVersion;
      const canPull = () => {
        if (finished) return false;
        if (limitVersion !== this.#limitVersion) {
          limitVersion = this.#limitVersion;
          limit = core.concurrency();
        }
        return inFlight < limit;
      };

      const finish = (ok, value) => {
        if (finished) return;
        finished = true;
        unlisten?.();
        if (!ok) {
          // Items still holding or awaiting a slot give it up now, as an aborted run() does.
          for (const item of items) {
            if (item === undefined || item.done) continue;
            item.done = true;
            if (!direct || item.cleared) continue;
            if (!item.holdsSlot) {
              queuedMapItems[item.id] = undefined;
              if (core.remove(item.id)) continue;
            }
            // Its gate had opened (or it ran): it holds a slot.
            core.finish(item.id, REJECTED);
          }
          items.length = 0;
          inFlight = 0;
          if (direct && this.#waiters.length > 0) this.#notify();
          controller.abort(value);
          source.close();
          reject(value);
          return;
        }
        resolve(value);
      };

      const maybeDone = () => {
        if (finished || !source.exhausted || inFlight > 0 || source.pulling) return;
        if (errors.length === 0) {
          finish(true, results);
          return;
        }
        errors.sort((a, b) => a.index - b.index);
        finish(false, new AggregateError(errors.map(e => e.error), `${errors.length} of ${index} mappers failed`));
      };

      const itemDone = (item, ok, value) => {
        if (item.done) return;
        item.done = true;
        items[item.key] = undefined;
        inFlight--;
        if (direct && item.holdsSlot) {
          if (core.finish(item.id, !ok && isDropped(value) ? DROPPED : ok ? FULFILLED : REJECTED) === LIMIT_CHANGED) {
            this.#limitChanged();
          }
          if (this.#waiters.length > 0) this.#notify();
        }
        if (finished) return;
        if (ok) {
          results[item.index] = value;
        } else if (stopOnError) {
          finish(false, value);
          return;
        } else {
          errors.push({index: item.index, error: value});
        }
        source.pump();
        maybeDone();
      };

      const startItem = item => {
        if (item.done) return;
        item.started = true;
        const {value} = item;
        item.value = undefined;
        let result;
        try {
          result = mapper(value, item.index, context);
        } catch (error) {
          itemDone(item, false, error);
          return;
        }
        const pending = asPromise(result);
        if (pending === undefined) {
          itemDone(item, true, result);
        } else {
          pending.then(
            v => itemDone(item, true, v),
            e => itemDone(item, false, e),
          );
        }
      };

      const launch = value => {
        const item = {id: -1, key: index, index: index++, value, started: false, done: false, holdsSlot: false, cleared: false, onCleared: undefined};
        inFlight++;
        if (!direct) {
          items[item.key] = item;
          // The task's own signal follows the map's and also aborts at the item's timeout.
          this.run(({signal}) => mapper(value, item.index, {signal}), context).then(
            v => itemDone(item, true, v),
            e => itemDone(item, false, e),
          );
          return;
        }
        const gate = core.submitPlain();
        item.id = typeof gate === 'number' ? gate : core.lastId();
        item.key = item.id;
        items[item.key] = item;
        if (typeof gate === 'number') {
          item.holdsSlot = true;
          startItem(item);
          return;
        }
        // Queued behind other tasks of the pool: pool.clear() may reject it.
        queuedMapItems[item.id] = item;
        item.onCleared = reason => itemDone(item, false, reason);
        gate.then(() => {
          queuedMapItems[item.id] = undefined;
          item.holdsSlot = true;
          startItem(item);
        }, noop);
      };

      const source = new Puller(input, {
        canPull,
        take: launch,
        after: maybeDone,
        failed: error => finish(false, error),
      });

      if (outerSignal !== undefined) {
        unlisten = onAbort(outerSignal, reason => finish(false, reason));
      }
      source.pump();
    });
  }

  /**
   * An async iterable of `mapper(item, index, {signal})` over `input`, run on this pool: at most
   * `concurrency` (default: the pool's) mapped items in flight or waiting to be taken. `ordered`
   * (default true) yields in input order, otherwise as results land.
   */
  stream(input, mapper, options) {
    const {ordered, signal} = readStreamOptions(input, mapper, options);
    const bound = options?.concurrency ?? this.concurrency;
    validateBound(bound, 'pool.stream()');
    return createStream(this, input, mapper, bound, ordered, signal);
  }

  /** Resolves when nothing runs and nothing waits. */
  onIdle() {
    return this.#wait(() => this.#core.active() === 0 && this.#core.pending() === 0);
  }

  /** Resolves when nothing waits in the queue (tasks may still run). */
  onEmpty() {
    return this.#wait(() => this.#core.pending() === 0);
  }

  /** Resolves when fewer than `limit` tasks wait: backpressure for producers. */
  onSizeLessThan(limit) {
    try {
      validateCount(limit, 'limit', {min: 1, infinity: false});
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#wait(() => this.#core.pending() < limit);
  }

  #wait(condition) {
    if (condition()) return Promise.resolve();
    return new Promise(resolve => {
      this.#waiters.push({condition, resolve});
    });
  }

  #notify() {
    const waiting = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiting) {
      if (waiter.condition()) waiter.resolve();
      else this.#waiters.push(waiter);
    }
  }

  /**
   * Statistics over the window since the pool was made (or last reset): counts, throughput per
   * second, latency from start to settlement in ms, queue wait, mean tasks in flight, and
   * Little's law's `throughput × mean latency`, the concurrency this workload actually needs.
   */
  stats(options = {}) {
    validateOptionsObject(options);
    const {reset = false} = options;
    if (typeof reset !== 'boolean') {
      throw new TypeError(`Expected \`reset\` to be a boolean, got ${describe(reset)}`);
    }
    const s = this.#core.stats(reset);
    const adaptive = this.#core.adaptiveInfo();
    return {
      completed: s.completed,
      failed: s.failed,
      dropped: s.dropped,
      active: this.#core.active(),
      pending: this.#core.pending(),
      concurrency: this.#core.concurrency(),
      elapsedMs: s.elapsedMs,
      throughput: s.throughput,
      latency: {mean: s.latencyMean, p50: s.latencyP50, p90: s.latencyP90, p99: s.latencyP99, max: s.latencyMax},
      wait: {mean: s.waitMean, p99: s.waitP99},
      meanInFlight: s.meanInFlight,
      littleConcurrency: s.littleConcurrency,
      ...(adaptive === undefined
        ? {}
        : {
            adaptive: {
              algorithm: adaptive.algorithm,
              limit: adaptive.limit,
              minRtt: adaptive.minRtt,
              rtt: adaptive.rtt,
              [adaptive.algorithm === 'vegas' ? 'queue' : adaptive.algorithm === 'gradient' ? 'gradient' : 'latencyRatio']: adaptive.signal,
              history: adaptive.history.map(([time, limit]) => ({time, limit})),
            },
          }),
    };
  }
}

module.exports = {Pool, QueueFullError, DeadlockError, DroppedError};
