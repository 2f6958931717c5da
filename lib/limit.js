'use strict';
// pLimit and limitFunction: p-limit 7.3's API and semantics on the Rust pool core.
//
// Per task, JS does only what must be JS: it keeps `fn` and its arguments, and attaches the start
// of `fn` to a promise in the caller's async context (so AsyncLocalStorage sees the `limit()`
// caller's store, as p-limit's gate promise does). Rust owns the queue, the counters, the limit
// and the order. A free slot starts a task from a shared resolved promise; a queued task waits on
// a gate promise whose deferred sits in the Rust queue and is resolved by the same native call
// that frees a slot.
//
// p-limit has one priority and no removal, so tasks start in the order they were submitted: `fn`
// and its arguments wait in a FIFO ring rather than in a closure per task (16 bytes, not ~100).
//
// `limit.map` queues its items as one batch entry in Rust. Rust starts each item by calling the
// pool's `onBatch(id)`, synchronously inside the native call that freed a slot; the item then runs
// in the map caller's async context through one AsyncResource per map call. No promise, gate or
// Promise.all element per item.

const {createPool} = require('./native');
const {asPromise} = require('./outcome');
const {state: reaction} = require('./reactions');
const {isDropped} = require('./dropped');
const {describe, parseConcurrency, validateLimitConcurrency} = require('./validate');

const RESOLVED = Promise.resolve();
const noop = () => {};
let AsyncResource;

// A gate rejected with 0 was cleared without `rejectOnClear`: like p-limit, the task's promise
// never settles. Adopting a fresh pending promise keeps it collectable once the caller drops it.
function onGateShut(reason) {
  if (reason === 0) return new Promise(noop);
  throw reason;
}

function pLimit(concurrency) {
  let rejectOnClear = false;
  let onLimitChange;

  if (typeof concurrency === 'object') {
    ({concurrency, rejectOnClear = false, onLimitChange} = concurrency);
  }

  // A number (p-limit's exact check), or 'adaptive' / {adaptive, min, max, initial}.
  const {limit: initialLimit, adaptive} = parseConcurrency(concurrency, validateLimitConcurrency);

  if (typeof rejectOnClear !== 'boolean') {
    throw new TypeError('Expected `rejectOnClear` to be a boolean');
  }
  if (onLimitChange !== undefined && typeof onLimitChange !== 'function') {
    throw new TypeError(`Expected \`onLimitChange\` to be a function, got ${describe(onLimitChange)}`);
  }

  // Batches of limit.map, by id; Rust starts their items through onBatch.
  const batches = new Map();
  let nextBatchId = 0;
  const onBatch = id => {
    const batch = batches.get(id);
    if (batch !== undefined) batch.resource.runInAsyncScope(runItem, undefined, batch);
  };

  const core = createPool(initialLimit, false, onBatch, adaptive);
  const {submitPlain, submitBatch, release, releaseTimed, active, pending, drain, clear, setConcurrency} = core;
  const getConcurrency = core.concurrency;

  // An adaptive limit learns from each task's running time: those tasks release through here.
  const releaseAfter = (startedAt, outcome) => {
    if (releaseTimed(performance.now() - startedAt, outcome) === 2) onLimitChange?.(getConcurrency());
  };
  const outcomeOf = error => (isDropped(error) ? 2 : 1);

  // Runs the next item of a batch in the current slot.
  const runItem = batch => {
    const startedAt = adaptive === undefined ? 0 : performance.now();
    const i = batch.next++;
    const value = batch.values[i];
    batch.values[i] = undefined;
    if (batch.next === batch.values.length) batches.delete(batch.id);
    let result;
    reaction[1]++;
    reaction[0] = 1;
    try {
      result = batch.fn(value, i);
    } catch (error) {
      reaction[0] = 0;
      itemSettled(batch, i, false, error, startedAt);
      return;
    }
    reaction[0] = 0;
    const pending = asPromise(result);
    if (pending === undefined) {
      itemSettled(batch, i, true, result, startedAt);
    } else {
      pending.then(
        value => itemSettled(batch, i, true, value, startedAt),
        error => itemSettled(batch, i, false, error, startedAt),
      );
    }
  };

  // Promise.all's rules: the first rejection rejects, the rest keep running.
  const itemSettled = (batch, i, ok, value, startedAt) => {
    if (ok) {
      batch.results[i] = value;
      if (--batch.remaining === 0 && !batch.failed) batch.resolve(batch.results);
    } else if (!batch.failed) {
      batch.failed = true;
      batch.reject(value);
    }
    if (adaptive === undefined) release();
    else releaseAfter(startedAt, ok ? 0 : outcomeOf(value));
  };

  const runBatch = (values, fn) =>
    new Promise((resolve, reject) => {
      AsyncResource ??= require('node:async_hooks').AsyncResource;
      const id = nextBatchId;
      nextBatchId = (nextBatchId + 1) % 0x7fffffff;
      const batch = {
        id,
        values,
        fn,
        results: new Array(values.length),
        next: 0,
        remaining: values.length,
        failed: false,
        resolve,
        reject,
        resource: new AsyncResource('async-shape:limit.map'),
        // Rust holds onBatch weakly (a strong handle would be a cycle through this closure);
        // referencing it here keeps it alive with this scope.
        onBatch,
      };
      batches.set(id, batch);
      const startedNow = submitBatch(id, values.length);
      if (startedNow > 0) {
        // Registered here, so these items run in this caller's context; the rest through onBatch.
        RESOLVED.then(() => {
          for (let k = 0; k < startedNow; k++) runItem(batch);
        });
      }
    });

  // The FIFO ring of tasks that have been submitted but have not started.
  let fns = new Array(16);
  let argLists = new Array(16);
  let mask = 15;
  let head = 0;
  let tail = 0;

  const grow = () => {
    const size = mask + 1;
    const nextFns = new Array(size * 2);
    const nextArgs = new Array(size * 2);
    for (let i = 0; i < size; i++) {
      nextFns[i] = fns[(head + i) & mask];
      nextArgs[i] = argLists[(head + i) & mask];
    }
    fns = nextFns;
    argLists = nextArgs;
    mask = size * 2 - 1;
    tail -= head;
    head = 0;
  };

  // Takes the oldest submitted task off the ring and calls it (this undefined, its arguments).
  const callOldest = () => {
    const i = head & mask;
    head++;
    const fn = fns[i];
    const args = argLists[i];
    fns[i] = undefined;
    argLists[i] = undefined;
    return args === undefined ? fn() : fn(...args);
  };

  // Runs the oldest submitted task; called from a microtask in that task's caller's context.
  // `reaction` marks the user code as a promise reaction for the event-loop monitor.
  const startFixed = () => {
    let result;
    reaction[1]++;
    reaction[0] = 1;
    try {
      result = callOldest();
    } catch (error) {
      reaction[0] = 0;
      release();
      throw error;
    }
    reaction[0] = 0;

    const pending = asPromise(result);
    if (pending === undefined) {
      release();
      return result;
    }
    pending.then(release, release);
    return pending;
  };

  // The same for an adaptive limit, which needs each task's running time and outcome.
  const startTimed = () => {
    const startedAt = performance.now();
    let result;
    reaction[1]++;
    reaction[0] = 1;
    try {
      result = callOldest();
    } catch (error) {
      reaction[0] = 0;
      releaseAfter(startedAt, outcomeOf(error));
      throw error;
    }
    reaction[0] = 0;
    const pending = asPromise(result);
    if (pending === undefined) {
      releaseAfter(startedAt, 0);
      return result;
    }
    pending.then(
      () => releaseAfter(startedAt, 0),
      error => releaseAfter(startedAt, outcomeOf(error)),
    );
    return pending;
  };

  const start = adaptive === undefined ? startFixed : startTimed;

  // A plain function reading `arguments`: a rest parameter would allocate an array per call even
  // when there are no arguments, which is the common case.
  const limit = function limit(fn) {
    if (tail - head > mask) grow();
    const i = tail & mask;
    fns[i] = fn;
    const n = arguments.length;
    if (n > 1) {
      const args = new Array(n - 1);
      for (let k = 1; k < n; k++) args[k - 1] = arguments[k];
      argLists[i] = args;
    }
    tail++;
    const gate = submitPlain();
    return gate === undefined ? RESOLVED.then(start) : gate.then(start, onGateShut);
  };

  Object.defineProperties(limit, {
    activeCount: {
      get: active,
    },
    pendingCount: {
      get: pending,
    },
    clearQueue: {
      value() {
        if (pending() === 0) return;
        const error = rejectOnClear ? AbortSignal.abort().reason : undefined;
        const cleared = clear(error);
        for (const id of cleared) {
          if (id === -1) {
            // A plain task: the queued ones are the newest entries of the ring.
            tail--;
            fns[tail & mask] = undefined;
            argLists[tail & mask] = undefined;
            continue;
          }
          // A map that lost items never settles (p-limit's Promise.all), or rejects with the error.
          const batch = batches.get(id);
          if (batch === undefined) continue;
          batches.delete(id);
          if (rejectOnClear && !batch.failed) {
            batch.failed = true;
            batch.reject(error);
          }
        }
      },
    },
    concurrency: {
      get: getConcurrency,
      set(newConcurrency) {
        if (adaptive !== undefined) {
          throw new TypeError('This limit is adaptive: it moves by itself (make a new pLimit for a fixed one)');
        }
        validateLimitConcurrency(newConcurrency);
        setConcurrency(newConcurrency);
        queueMicrotask(drain);
      },
    },
    map: {
      async value(iterable, fn) {
        // Read eagerly, as p-limit's Array.from does.
        const values = [];
        try {
          for (const value of iterable) values.push(value);
        } catch (error) {
          // p-limit had already scheduled the items read so far: they still run, and their
          // outcomes are observed so that none goes unhandled.
          if (values.length > 0) runBatch(values, fn).catch(noop);
          throw error;
        }
        if (values.length === 0) return [];
        return runBatch(values, fn);
      },
    },
  });

  return limit;
}

function limitFunction(fn, options) {
  const limit = pLimit(options);
  const limitedFunction = (...args) => limit(() => fn(...args));
  Object.defineProperty(limitedFunction, 'clearQueue', {
    value: limit.clearQueue,
  });
  return limitedFunction;
}

module.exports = {pLimit, limitFunction};
