'use strict';
// Pool: the full bounded pool on the same Rust core as pLimit, with per-task AbortSignal,
// timeouts that abort, priority, a hard queue cap, idle/empty/size waits, Little's-law statistics,
// lazy `map` over (async) iterables, and opt-in detection of a pool that waits on itself.
//
// Rust owns the queue, the counters, the limit, the order, the deadlines and the statistics, and
// keeps every task in a slot from submission to settlement. JS keeps, per slot, the record of what
// must stay a JS object: the task function, its promise's resolvers and its AbortController. A
// task's one identity is its token (slot and generation); every start, abort, timeout and clear goes
// through it, so nothing stale can reach a reused slot's new task.

const {createPool} = require('../internal/native');
const {
  FULFILLED,
  REJECTED,
  DROPPED,
  LIMIT_CHANGED,
  NO_DEADLINE,
  TOKEN_SLOT_UNIT,
  HISTORY_TIME,
  HISTORY_LIMIT,
} = require('../internal/wire').room('pool');
const {asPromise} = require('../internal/outcome');
const {state: reaction, REACTION_FLAG, REACTION_COUNTER} = require('../internal/reactions');
const {DeadlineTimer, MAX_TIMER_MS, timeoutError} = require('../internal/deadline-timer');
const {createStream, readStreamOptions, readStreamBounds} = require('./stream');
const {Puller} = require('../internal/pull');
const {DroppedError, isDropped} = require('./dropped');
const {pMapSkip, isSkip, elementAwaiter} = require('./skip');
const {onAbort} = require('../internal/signals');
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
} = require('../internal/validate');

const noop = () => {};

/** Raised when the queue is at `maxQueue`. */
class QueueFullError extends RangeError {
  constructor(maxQueue) {
    const wait = maxQueue === 0 ? 'wait for a running task to settle' : `wait with \`pool.onSizeLessThan(${maxQueue})\``;
    super(`The pool's queue is full (maxQueue: ${maxQueue}); ${wait} before adding`);
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

// Where a record stands with the core. WAITING: queued, as far as JS knows (its gate may have
// opened since; `remove` tells). HOLDING: it holds a slot. FREE: the core has nothing of it any
// more (finished, removed or cleared), or never had (map items that go through run()).
const WAITING = 0;
const HOLDING = 1;
const FREE = 2;

// A token is `slot · TOKEN_SLOT_UNIT + generation` (core/src/pool/scheduler.rs): a small integer
// while the slot is below 1024. Records are indexed by slot.
const slotOf = token => Math.floor(token / TOKEN_SLOT_UNIT);

/**
 * What `pool.run`'s task receives: its `signal`, and `drop()` to mark itself dropped. `drop` works
 * detached (`({signal, drop}) => …`); the function is made only when a task asks for it.
 *
 * `signal` is an own property, as p-queue passes it: the run's `signal`, or the task's
 * controller's when it has a timeout (it aborts at the timeout, or with the run's `signal`);
 * `undefined` when the run was given neither (p-queue passes `{signal: undefined}` then). A plain
 * field, so `{...context}` keeps it and `({signal})` costs nothing.
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

// One run() task, from submission to settlement. `token` is its identity in the core, valid from
// submission until the core lets the task go; the pool's table holds the record at its slot
// exactly that long.
class Task {
  constructor(fn, signal, timeout, resolve, reject) {
    this.token = -1;
    this.state = WAITING;
    this.started = false;
    this.done = false;
    this.fn = fn;
    this.signal = signal;
    this.timeout = timeout;
    this.resolve = resolve;
    this.reject = reject;
    this.controller = undefined;
    this.unlisten = undefined;
    this.dropped = false;
  }
}

// One Pool#map item, in the same table as run() tasks (so that clear() and stale starts treat
// both alike). `map` is its map's {start(item), cleared(item, reason)}; `prev`/`next` link the
// map's items in flight.
class MapItem {
  constructor(map, index, value) {
    this.token = -1;
    this.state = WAITING;
    this.started = false;
    this.done = false;
    this.map = map;
    this.index = index;
    this.value = value;
    this.prev = undefined;
    this.next = undefined;
  }
}

class Pool {
  #core;
  // The live records by slot: every Task, and every MapItem that waits for a slot (one that got a
  // slot at once is never looked up), each at the slot its token holds in the core.
  #tasks = [];
  #maxQueue;
  #defaultTimeout;
  #context;
  #deadlines = new DeadlineTimer(() => this.#expire());
  #waiters = [];
  #onLimitChange;
  // Bumped whenever the limit changes, so maps can cache it instead of asking Rust per item.
  #limitVersion = 0;
  // A record's start, bound once per pool: the reaction of its gate (or, for a task that got a
  // slot at once, of a resolved promise) in the submitter's async context. A stale token (its
  // task was aborted, cleared or settled since, its slot maybe reused) finds no record and does
  // nothing; a record starts at most once.
  #startById = token => {
    const record = this.#tasks[slotOf(token)];
    if (record === undefined || record.token !== token || record.started || record.done) return;
    record.state = HOLDING;
    if (record instanceof Task) this.#start(record);
    else record.map.start(record);
  };
  // Starts what a raised limit allows, then re-checks the waits (the queue shrank).
  #drain = () => {
    this.#core.drain();
    if (this.#waiters.length > 0) this.#notify();
  };
  // A pool shared by a fleet (`shared`): the fleet module, the user's onEvent, the addon's event
  // callback (held here: the addon holds it weakly). Undefined for a local pool. Each task of a
  // shared pool gets an AbortController of its own (fencing aborts it), and its signal aborts
  // BEFORE its permit goes back (abort, timeout, lease lost), so that a task that stops on its
  // signal never overlaps the task another process starts with that permit.
  #fleet;
  // Once closed (or failed for good): the reason every later run() rejects with.
  #refused;
  #closing;

  /**
   * @param {object} [options]
   * @param {number} [options.concurrency=Infinity]
   * @param {number} [options.maxQueue=Infinity]
   * @param {number} [options.timeout] default per-task timeout in ms
   * @param {boolean} [options.detectDeadlock=false]
   * @param {object} [options.shared] a limit for the whole fleet: {redis, key, leaseMs, onStoreDown, localConcurrency, onEvent}
   */
  constructor(options = {}) {
    validateOptionsObject(options);
    const {
      concurrency = Number.POSITIVE_INFINITY,
      maxQueue = Number.POSITIVE_INFINITY,
      timeout,
      detectDeadlock = false,
      onLimitChange,
      shared,
    } = options;
    const {limit, adaptive} = parseConcurrency(concurrency, value => validateConcurrency(value));
    let nativeShared;
    if (shared !== undefined) {
      const fleet = require('../fleet/shared');
      const read = fleet.readShared(shared, limit, adaptive);
      // Called by the addon on the JS thread, outside any other native call. The addon holds it
      // weakly: the pool keeps it (in #fleet).
      const onNativeEvent = (kind, detail) => this.#fleetEvent(kind, detail);
      this.#fleet = {module: fleet, onEvent: read.onEvent, leaseMs: read.leaseMs, local: read.local, ready: undefined, onNativeEvent};
      nativeShared = {...read.native, onEvent: onNativeEvent};
    }
    if (onLimitChange !== undefined) validateFunction(onLimitChange, 'onLimitChange');
    validateCount(maxQueue, 'maxQueue');
    validateTimeout(timeout, 'timeout', true);
    if (typeof detectDeadlock !== 'boolean') {
      throw new TypeError(`Expected \`detectDeadlock\` to be a boolean, got ${describe(detectDeadlock)}`);
    }
    this.#core = createPool(limit, true, undefined, adaptive, nativeShared);
    this.#onLimitChange = onLimitChange;
    this.#maxQueue = maxQueue;
    this.#defaultTimeout = timeout;
    if (detectDeadlock) {
      // Loaded only when asked for: it marks each task's async context with its record.
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
    if (this.#fleet !== undefined) {
      throw new TypeError("This pool's limit is shared by its fleet: every process must use the same `concurrency` (make a new Pool with another `shared.key` to change it)");
    }
    if (this.#core.adaptiveInfo() !== undefined) {
      throw new TypeError('This pool is adaptive: its limit moves by itself (make a new Pool for a fixed limit)');
    }
    validateConcurrency(value);
    this.#core.setConcurrency(value);
    this.#limitVersion++;
    queueMicrotask(this.#drain);
  }

  /**
   * Runs `task({signal})` when a slot is free. Resolves or rejects with its outcome; rejects with
   * `signal.reason` when `signal` aborts (a queued task is removed, a running one loses its slot),
   * and with a `TimeoutError` DOMException after `timeout` ms of running (the task's signal aborts).
   */
  run(task, options) {
    return this.#run(task, options, this.#maxQueue);
  }

  // run() under a queue cap: `maxQueue` for run(), Infinity for map and stream items (bounded by
  // their own concurrency).
  #run(task, options, maxQueue) {
    let signal;
    let priority = 0;
    let timeout = this.#defaultTimeout;
    try {
      validateFunction(task, 'task');
      if (options !== undefined) {
        validateOptionsObject(options);
        signal = options.signal;
        validateSignal(signal);
        const requestedPriority = options.priority;
        if (requestedPriority !== undefined) {
          validatePriority(requestedPriority);
          priority = requestedPriority;
        }
        const requestedTimeout = options.timeout;
        if (requestedTimeout !== undefined) {
          validateTimeout(requestedTimeout, 'timeout', true);
          timeout = requestedTimeout;
        }
      }
    } catch (error) {
      return Promise.reject(error);
    }

    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#refused !== undefined) return Promise.reject(this.#refused);

    const core = this.#core;
    if (maxQueue !== Number.POSITIVE_INFINITY) {
      const pending = core.pending();
      if (pending >= maxQueue && (pending > 0 || core.active() >= core.concurrency())) {
        return Promise.reject(new QueueFullError(maxQueue));
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
    const parent = store !== undefined && store.state === HOLDING && this.#tasks[slotOf(store.token)] === store ? store.token : undefined;
    const gate = priority === 0 && parent === undefined ? core.submitPlain() : core.submit(priority, parent);
    if (typeof gate === 'number') {
      record.token = gate;
      record.state = HOLDING;
      this.#tasks[slotOf(gate)] = record;
      Promise.resolve(gate).then(this.#startById);
    } else {
      const token = core.lastId();
      record.token = token;
      this.#tasks[slotOf(token)] = record;
      gate.then(this.#startById, noop);
      if (parent !== undefined && core.deadlocked()) {
        this.#settle(record, false, new DeadlockError(core.concurrency()));
        return promise;
      }
    }

    if (signal !== undefined) {
      record.unlisten = onAbort(signal, reason => this.#abort(record, reason));
    }
    return promise;
  }

  #start(record) {
    record.started = true;
    let signal = record.signal;
    const {timeout} = record;
    if (timeout !== undefined && timeout <= MAX_TIMER_MS) {
      record.controller = new AbortController();
      signal = record.controller.signal;
      this.#deadlines.arm(this.#core.armDeadline(record.token, timeout));
    }
    if (this.#fleet !== undefined && record.controller === undefined) {
      // Fencing: a controller per task, aborted when this process loses its lease, and (as a
      // timeout's) when the run's signal aborts. Not one signal shared by every task: each task's
      // listeners (fetch's, the user's) would pile up on it for as long as the lease lives.
      record.controller = new AbortController();
      signal = record.controller.signal;
    }

    let result;
    reaction[REACTION_COUNTER]++;
    reaction[REACTION_FLAG] = 1;
    try {
      const context = new RunContext(record, signal);
      result = this.#context === undefined ? record.fn(context) : this.#context.run(record, record.fn, context);
    } catch (error) {
      reaction[REACTION_FLAG] = 0;
      this.#settle(record, false, error);
      return;
    }
    reaction[REACTION_FLAG] = 0;
    const pending = asPromise(result);
    if (pending === undefined) {
      this.#settle(record, true, result);
    } else {
      pending.then(
        value => this.#settle(record, true, value),
        error => this.#settle(record, false, error),
      );
    }
  }

  // Settles a task's promise once and lets the core go of it: a queued task leaves the queue, one
  // holding a slot frees it (which starts the next). Then the waits are re-checked.
  #settle(record, ok, value) {
    if (record.done) return;
    record.done = true;
    const slot = slotOf(record.token);
    if (this.#tasks[slot] === record) this.#tasks[slot] = undefined;
    if (record.unlisten !== undefined) {
      record.unlisten();
      record.unlisten = undefined;
    }
    // Settled before the slot frees, so that its callers' reactions run before the next task's
    // start (resolving runs no user code here: `value` is never a thenable).
    record.fn = undefined;
    if (ok) record.resolve(value);
    else record.reject(value);
    // Not removable from the queue: its gate opened and it holds a slot, though it may not have
    // been called yet.
    if (record.state === WAITING) record.state = this.#core.remove(record.token) ? FREE : HOLDING;
    let changed = false;
    if (record.state === HOLDING) {
      record.state = FREE;
      const outcome = record.dropped || (!ok && isDropped(value)) ? DROPPED : ok ? FULFILLED : REJECTED;
      changed = this.#core.finish(record.token, outcome) === LIMIT_CHANGED;
      if (record.controller !== undefined && this.#deadlines.armed && this.#core.nextDeadline() === NO_DEADLINE) {
        this.#deadlines.clear();
      }
    }
    if (changed) this.#limitChanged();
    if (this.#waiters.length > 0) this.#notify();
  }

  #limitChanged() {
    this.#limitVersion++;
    this.#onLimitChange?.(this.#core.concurrency());
  }

  // Its signal aborted: settle first (the pool is consistent again), then abort the task's own
  // signal, whose listeners run user code synchronously.
  #abort(record, reason) {
    if (record.done) return;
    const {controller} = record;
    if (this.#fleet !== undefined && controller !== undefined) {
      // Shared: the task hears first, then its permit goes back (see #fleet).
      controller.abort(reason);
      this.#settle(record, false, reason);
      return;
    }
    this.#settle(record, false, reason);
    controller?.abort(reason);
  }

  // Times out the due tasks; returns ms until the next deadline, or NO_DEADLINE.
  #expire() {
    for (const token of this.#core.expire()) {
      const record = this.#tasks[slotOf(token)];
      if (record === undefined || record.token !== token || record.done) {
        // No record owns it (cannot happen): free the slot rather than leak it.
        this.#core.finish(token, REJECTED);
        continue;
      }
      const error = timeoutError(record.timeout);
      const {controller} = record;
      if (this.#fleet !== undefined) controller?.abort(error);
      this.#settle(record, false, error);
      if (this.#fleet === undefined) controller?.abort(error);
    }
    return this.#core.nextDeadline();
  }

  /**
   * Empties the queue. Each queued task's promise rejects with `reason` (default: an `AbortError`
   * DOMException). Running tasks are not affected.
   */
  clear(reason = new DOMException('The pool was cleared', 'AbortError')) {
    const tokens = this.#core.clear(undefined);
    // Their slots are free now and may be reused by what the callbacks below do (a map pulls its
    // next item): take every cleared record out of the table first, then settle them.
    const cleared = [];
    for (const token of tokens) {
      const slot = slotOf(token);
      const record = this.#tasks[slot];
      if (record === undefined || record.token !== token || record.done) continue;
      this.#tasks[slot] = undefined;
      record.state = FREE;
      cleared.push(record);
    }
    for (const record of cleared) {
      if (record instanceof Task) this.#settle(record, false, reason);
      else record.map.cleared(record, reason);
    }
    if (this.#waiters.length > 0) this.#notify();
  }

  /**
   * Maps `input` (an iterable or async iterable) through `mapper(item, index, {signal})` with this
   * pool's concurrency, pulling items lazily: at most `concurrency` are read ahead. Each element
   * is awaited before its mapper runs, as p-map does. Resolves with the results in input order,
   * leaving out the items whose mapper returned `pMapSkip`. With `stopOnError` (default) the first
   * error (a mapper's, or a rejected element's) rejects the map, stops reading, and aborts the
   * signal given to its mappers; otherwise every item runs and the errors reject as one
   * `AggregateError` (no message, as p-map's), in input order.
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
  // straight from the core as a MapItem record (one identity, as run() tasks have) and its mapper
  // is called from the pull loop, or from its gate's reaction, in the map caller's async context;
  // pools with a default timeout or deadlock detection go through run().
  #mapLazily(input, mapper, outerSignal, stopOnError) {
    const core = this.#core;
    const tasks = this.#tasks;
    // Shared pools too go through run(): their mappers' signals follow the lease (fencing).
    const direct = this.#defaultTimeout === undefined && this.#context === undefined && this.#fleet === undefined;
    return new Promise((resolve, reject) => {
      const controller = new AbortController();
      const context = {signal: controller.signal};
      const results = [];
      const errors = [];
      // The direct path's items in flight, linked, so that a failing map frees their slots.
      let head;
      // Items read and not yet done: awaiting their element, waiting for a slot, or mapping.
      let inFlight = 0;
      let skipped = 0;
      let index = 0;
      let finished = false;
      let unlisten;
      let source;
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

      const unlink = item => {
        if (item.prev !== undefined) item.prev.next = item.next;
        else if (head === item) head = item.next;
        if (item.next !== undefined) item.next.prev = item.prev;
        item.prev = undefined;
        item.next = undefined;
      };

      // Lets the core go of a direct item: out of the queue, or its slot freed. True when the
      // limit changed.
      const release = (item, outcome) => {
        if (item.state === FREE) return false;
        const slot = slotOf(item.token);
        if (tasks[slot] === item) tasks[slot] = undefined;
        if (item.state === WAITING) item.state = core.remove(item.token) ? FREE : HOLDING;
        if (item.state !== HOLDING) return false;
        item.state = FREE;
        return core.finish(item.token, outcome) === LIMIT_CHANGED;
      };

      const finish = (ok, value) => {
        if (finished) return;
        finished = true;
        unlisten?.();
        if (ok) {
          resolve(skipped === 0 ? value : value.filter(v => v !== pMapSkip));
          return;
        }
        // Items still waiting for or holding a slot give it up now, as an aborted run() does.
        let changed = false;
        for (let item = head; item !== undefined; ) {
          const next = item.next;
          item.prev = undefined;
          item.next = undefined;
          item.done = true;
          item.value = undefined;
          if (release(item, REJECTED)) changed = true;
          item = next;
        }
        head = undefined;
        inFlight = 0;
        reject(value);
        if (changed) this.#limitChanged();
        if (this.#waiters.length > 0) this.#notify();
        controller.abort(value);
        source?.close();
      };

      const maybeDone = () => {
        if (finished || !source.exhausted || inFlight > 0 || source.pulling) return;
        if (errors.length === 0) {
          finish(true, results);
          return;
        }
        // As p-map: the errors in input order, and no message.
        errors.sort((a, b) => a.index - b.index);
        finish(false, new AggregateError(errors.map(e => e.error)));
      };

      // An item that failed before it had a record: its element rejected.
      const elementFailed = (i, error) => {
        if (finished) return;
        inFlight--;
        if (stopOnError) {
          finish(false, error);
          return;
        }
        errors.push({index: i, error});
        source.pump();
        maybeDone();
      };

      const itemDone = (item, ok, value) => {
        if (item.done) return;
        item.done = true;
        unlink(item);
        if (item.state !== FREE) {
          if (release(item, !ok && isDropped(value) ? DROPPED : ok ? FULFILLED : REJECTED)) this.#limitChanged();
          if (this.#waiters.length > 0) this.#notify();
        }
        if (finished) return;
        inFlight--;
        if (ok) {
          if (isSkip(value)) {
            skipped++;
            value = pMapSkip;
          }
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
        item.started = true;
        item.state = HOLDING;
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

      const owner = {start: startItem, cleared: (item, reason) => itemDone(item, false, reason)};

      // An element read: its mapper runs once it is awaited, as p-map's `await element`, in p-map's
      // order (see elementAwaiter; a value that is not a thenable costs no promise).
      const awaitThen = elementAwaiter(
        (i, value) => submit(i, value),
        (i, error) => elementFailed(i, error),
      );

      const launch = value => {
        // Belt and braces: the puller reads nothing once the map is finished.
        if (finished) return;
        inFlight++;
        awaitThen(index++, value);
      };

      const submit = (i, value) => {
        if (finished) return;
        if (!direct) {
          const item = new MapItem(owner, i, undefined);
          item.state = FREE;
          // The task's own signal follows the map's and also aborts at the item's timeout. Not
          // capped by maxQueue: the map bounds its own items.
          this.#run(({signal}) => mapper(value, item.index, {signal}), context, Number.POSITIVE_INFINITY).then(
            v => itemDone(item, true, v),
            e => itemDone(item, false, e),
          );
          return;
        }
        const item = new MapItem(owner, i, value);
        item.next = head;
        if (head !== undefined) head.prev = item;
        head = item;
        const gate = core.submitPlain();
        if (typeof gate === 'number') {
          // It holds a slot and starts now: nothing (no gate, clear() or timer) will look it up.
          item.token = gate;
          startItem(item);
          return;
        }
        // Queued behind other tasks of the pool: its gate starts it; pool.clear() may reject it.
        const token = core.lastId();
        item.token = token;
        tasks[slotOf(token)] = item;
        gate.then(this.#startById, noop);
      };

      source = new Puller(input, {
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
   * An async iterable of `mapper(item, index, {signal})` over `input`, run on this pool, as p-map's
   * `pMapIterable`: `concurrency` (default: the pool's now, or `backpressure` when that is lower)
   * bounds this stream's mappers running and its elements read ahead of them; `backpressure`
   * (default: `concurrency`) bounds everything in flight plus the results not yet taken. `ordered`
   * (default true) yields in input order, otherwise as results land.
   */
  stream(input, mapper, options) {
    const {ordered, signal} = readStreamOptions(input, mapper, options);
    const {concurrency, backpressure} = readStreamBounds(options, this.concurrency);
    return createStream(this.#uncapped, input, mapper, concurrency, backpressure, ordered, signal);
  }

  // What stream() runs its mappers on: run() without the maxQueue cap (the stream bounds its own
  // items, as map does).
  #uncapped = {run: (task, options) => this.#run(task, options, Number.POSITIVE_INFINITY)};

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
    const fleet = this.#fleet === undefined ? undefined : this.#fleet.module.statsOf(this.#core.fleetStats());
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
              history: adaptive.history.map(pair => ({time: pair[HISTORY_TIME], limit: pair[HISTORY_LIMIT]})),
            },
          }),
      ...(fleet === undefined ? {} : {fleet}),
    };
  }

  // --- a pool shared by a fleet ---

  #fleetEvent(kind, detail) {
    const fleet = this.#fleet;
    const {module: m} = fleet;
    if (m.isKind(kind, 'EVENT_LEASE_LOST')) {
      // Fencing: the addon starts nothing more; each running task's signal aborts with the
      // reason, then its promise rejects with it. Not under onStoreDown 'local' while Redis is
      // down: the user chose to run on under localConcurrency then (the addon goes on starting).
      const reason = new m.LeaseLostError(fleet.leaseMs);
      if (fleet.local && !m.statsOf(this.#core.fleetStats()).storeUp) {
        m.emit(fleet.onEvent, m.eventOf(kind, detail, reason));
        return;
      }
      const running = [];
      for (const record of this.#tasks) {
        if (record instanceof Task && record.state === HOLDING && !record.done) running.push(record);
      }
      m.emit(fleet.onEvent, m.eventOf(kind, detail, reason));
      for (const record of running) this.#abort(record, reason);
      return;
    }
    if (m.isKind(kind, 'EVENT_FATAL')) {
      const error = m.fatalOf(detail);
      this.#refused ??= error;
      m.emit(fleet.onEvent, m.eventOf(kind, detail, error));
      this.clear(error);
      return;
    }
    m.emit(fleet.onEvent, m.eventOf(kind, detail));
  }

  /**
   * Resolves once this pool is part of its fleet (registered in Redis); rejects with the reason
   * when it cannot be (a wrong password, an unreachable server after the connect timeout, …). A
   * local pool is always ready.
   */
  ready() {
    if (this.#fleet === undefined) return Promise.resolve();
    this.#fleet.ready ??= this.#fleet.module.readyOf(this.#core);
    return this.#fleet.ready;
  }

  /**
   * Closes the pool: tasks added from now on reject, queued tasks reject (an AbortError), and once
   * the running ones have settled, a shared pool returns its permits to the fleet and closes its
   * connection to Redis. Resolves when that is done; calling it again returns the same promise.
   */
  close() {
    if (this.#closing !== undefined) return this.#closing;
    const error = closedError('pool');
    this.#refused ??= error;
    this.clear(error);
    this.#closing = this.onIdle().then(() => (this.#fleet === undefined ? undefined : this.#core.close())).then(noop);
    return this.#closing;
  }
}

const closedError = what => new DOMException(`The ${what} was closed`, 'AbortError');

module.exports = {Pool, QueueFullError, DeadlockError, DroppedError};
