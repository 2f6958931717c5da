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

const {createPool} = require('./native');
const {validateLimitConcurrency} = require('./validate');

const RESOLVED = Promise.resolve();
const noop = () => {};

// A gate rejected with 0 was cleared without `rejectOnClear`: like p-limit, the task's promise
// never settles. Adopting a fresh pending promise keeps it collectable once the caller drops it.
function onGateShut(reason) {
  if (reason === 0) return new Promise(noop);
  throw reason;
}

function pLimit(concurrency) {
  let rejectOnClear = false;

  if (typeof concurrency === 'object') {
    ({concurrency, rejectOnClear = false} = concurrency);
  }

  validateLimitConcurrency(concurrency);

  if (typeof rejectOnClear !== 'boolean') {
    throw new TypeError('Expected `rejectOnClear` to be a boolean');
  }

  const core = createPool(concurrency, false);
  const {submit, release, active, pending, drain, clear, setConcurrency} = core;
  const getConcurrency = core.concurrency;

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

  // Runs the oldest submitted task; called from a microtask in that task's caller's context.
  const start = () => {
    const i = head & mask;
    head++;
    const fn = fns[i];
    const args = argLists[i];
    fns[i] = undefined;
    argLists[i] = undefined;

    let result;
    try {
      result = args === undefined ? fn() : fn(...args);
    } catch (error) {
      release();
      throw error;
    }

    if (result instanceof Promise) {
      result.then(release, release);
      return result;
    }

    if (result !== null && (typeof result === 'object' || typeof result === 'function')) {
      // Maybe a thenable: assimilate it once, then release when it settles.
      const assimilated = new Promise(resolve => {
        resolve(result);
      });
      assimilated.then(release, release);
      return assimilated;
    }

    release();
    return result;
  };

  const limit = (fn, ...args) => {
    if (tail - head > mask) grow();
    const i = tail & mask;
    fns[i] = fn;
    argLists[i] = args.length === 0 ? undefined : args;
    tail++;
    const gate = submit(0);
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
        const cleared = pending();
        if (cleared === 0) return;
        // The queued tasks are the newest entries of the ring.
        for (let k = 0; k < cleared; k++) {
          tail--;
          fns[tail & mask] = undefined;
          argLists[tail & mask] = undefined;
        }
        clear(rejectOnClear ? AbortSignal.abort().reason : undefined);
      },
    },
    concurrency: {
      get: getConcurrency,
      set(newConcurrency) {
        validateLimitConcurrency(newConcurrency);
        setConcurrency(newConcurrency);
        queueMicrotask(drain);
      },
    },
    map: {
      async value(iterable, fn) {
        const promises = [];
        try {
          for (const value of iterable) {
            promises.push(limit(fn, value, promises.length));
          }
        } catch (error) {
          // Promise.all never sees the promises already made: observe them so none goes unhandled.
          for (const promise of promises) promise.catch(noop);
          throw error;
        }
        return Promise.all(promises);
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
