'use strict';
// all / allSettled / race / any / timeout that cancel: every task gets an AbortSignal, and the
// losers and leftovers are aborted once the outcome is decided.
//
// The rules (which task starts when, who won, what is left running) live in Rust
// (`core/src/combinators.rs`, bound by `src/combinators.rs`); JS holds the tasks, their results
// and their AbortControllers. A controller is made only when a task reads its `signal`, so tasks
// that ignore cancellation cost none. Plain promises and values are accepted too; they cannot be cancelled, and an input of
// only those goes to the native Promise method (with the outer signal still honoured).

const {groupApi} = require('../internal/native');
const {room} = require('../internal/wire');
const {asPromise} = require('../internal/outcome');
const {state: reaction, REACTION_FLAG, REACTION_COUNTER} = require('../internal/reactions');
const {onAbort} = require('../internal/signals');
const {DeadlineTimer, MAX_TIMER_MS, timeoutError} = require('../internal/deadline-timer');
const {
  describe,
  validateConcurrency,
  validateSignal,
  validateTimeout,
  validateOptionsObject,
  readIterable,
} = require('../internal/validate');

const group = groupApi();
// The policies a group is made with, and settle's answers (an index >= 0: the next task to start).
const {ALL, ALL_SETTLED, RACE, ANY, NO_LIMIT, WAIT, FULFIL, REJECT_WITH_THIS, REJECT_ALL, IGNORED, NO_DEADLINE, ABORT_DECIDED, TASK_FULFILLED, TASK_REJECTED} = room('combinators');
const noop = () => {};

// Without a function among the inputs there is nothing to cancel or schedule: the native method
// decides exactly as the group would, at V8's speed.
const NATIVE = {
  [ALL]: items => Promise.all(items),
  [ALL_SETTLED]: items => Promise.allSettled(items),
  [RACE]: items => Promise.race(items),
  [ANY]: items => Promise.any(items),
};

function nativeGroup(policy, items, signal) {
  const settled = NATIVE[policy](items);
  if (signal === undefined) return settled;
  return new Promise((resolve, reject) => {
    const unlisten = onAbort(signal, reject);
    settled.then(
      value => {
        unlisten();
        resolve(value);
      },
      error => {
        unlisten();
        reject(error);
      },
    );
  });
}
const loserReason = {
  [ALL]: () => new DOMException('Another task of the group failed', 'AbortError'),
  [ALL_SETTLED]: () => new DOMException('The group was aborted', 'AbortError'),
  [RACE]: () => new DOMException('Another task won the race', 'AbortError'),
  [ANY]: () => new DOMException('Another task fulfilled first', 'AbortError'),
};

/** What a task receives: `{signal}`, whose controller is made on first read. */
class TaskContext {
  #controller;
  #reason;
  #aborted = false;

  get signal() {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  abort(reason) {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}

function toArray(tasks, name) {
  if (tasks === null || tasks === undefined || typeof tasks[Symbol.iterator] !== 'function') {
    throw new TypeError(`Expected \`tasks\` to be an iterable of tasks, promises or values, got ${describe(tasks)} in ${name}()`);
  }
  // One pass: a one-shot iterator (a generator) is read exactly once. Arrays are used as they are
  // (the group path copies before it writes).
  if (Array.isArray(tasks)) return tasks;
  const read = [];
  try {
    return readIterable(tasks, 'tasks', read);
  } catch (error) {
    // Promise.all observes what it read before the iterable threw: so do we.
    observe(read);
    throw error;
  }
}

function readOptions(options, {concurrency: allowConcurrency, timeout: allowTimeout}) {
  validateOptionsObject(options);
  const {signal, concurrency = Number.POSITIVE_INFINITY, timeout} = options ?? {};
  validateSignal(signal);
  if (allowConcurrency) validateConcurrency(concurrency);
  if (allowTimeout) validateTimeout(timeout);
  return {signal, concurrency, timeout: allowTimeout && timeout !== undefined && timeout <= MAX_TIMER_MS ? timeout : undefined};
}

/**
 * Marks every promise among `items` handled, as Promise.all/race would by awaiting it: inputs the
 * group will not wait for must not be reported as unhandled rejections.
 */
function observe(items) {
  for (const item of items) if (typeof item !== 'function') asPromise(item)?.then(noop, noop);
}

// A combinator returns a promise and never throws, even when a hostile input (a Proxy whose
// `length` or elements throw) breaks it half-way: Promise.all does the same.
function runGroup(policy, name, tasks, options, optionKinds) {
  try {
    return runGroupUnchecked(policy, name, tasks, options, optionKinds);
  } catch (error) {
    return Promise.reject(error);
  }
}

function runGroupUnchecked(policy, name, tasks, options, optionKinds) {
  let items;
  let signal;
  let concurrency;
  let timeout;
  try {
    items = toArray(tasks, name);
    ({signal, concurrency, timeout} = readOptions(options, optionKinds));
  } catch (error) {
    if (items !== undefined) observe(items);
    return Promise.reject(error);
  }
  if (signal?.aborted) {
    observe(items);
    return Promise.reject(signal.reason);
  }
  const n = items.length;
  if (policy === RACE && n === 0) {
    // Promise.race([]) never settles; a race with no runners is a bug at the call site.
    return Promise.reject(new RangeError('Expected `tasks` to contain at least one task in race()'));
  }

  if (timeout === undefined && !items.some(item => typeof item === 'function')) {
    return nativeGroup(policy, items, signal);
  }
  if (items === tasks) items = items.slice();

  return new Promise((resolve, reject) => {
    // A limit at or above the number of tasks is no limit: it never wraps to 32 bits.
    const h = group.create(policy, n, concurrency >= n ? NO_LIMIT : concurrency);
    const observedUpFront = concurrency < n;
    const results = new Array(n);
    const contexts = new Array(n);
    let done = false;
    let unlisten;
    const deadlines = timeout === undefined ? undefined : new DeadlineTimer(() => expire());

    const close = () => {
      done = true;
      unlisten?.();
      deadlines?.clear();
      group.free(h);
      // Inputs never started are plain promises or values (or tasks, which never run now). Like
      // Promise.race, observe every promise, so that one rejecting later is never unhandled.
      if (!observedUpFront) observe(items);
    };

    const abortRunning = reason => {
      for (const i of group.running(h)) contexts[i]?.abort(reason);
    };

    const settled = (i, ok, value) => {
      if (done) return;
      const code = group.settle(h, i, ok ? TASK_FULFILLED : TASK_REJECTED);
      if (code === IGNORED) return;
      if (policy === ALL_SETTLED) {
        results[i] = ok ? {status: 'fulfilled', value} : {status: 'rejected', reason: value};
      } else if (ok ? policy === ALL : policy === ANY) {
        results[i] = value;
      }
      if (code >= 0) {
        launch(code);
        return;
      }
      if (code === WAIT) return;
      // Decided: abort what still runs before the caller sees the outcome.
      abortRunning(loserReason[policy]());
      close();
      if (code === FULFIL) resolve(policy === RACE || policy === ANY ? value : results);
      else if (code === REJECT_WITH_THIS) reject(value);
      else if (code === REJECT_ALL) reject(new AggregateError(results, 'All tasks rejected'));
    };

    const expire = () => {
      for (const i of group.expire(h)) {
        const error = timeoutError(timeout);
        contexts[i]?.abort(error);
        settled(i, false, error);
        if (done) return NO_DEADLINE;
      }
      return group.nextDeadline(h);
    };

    const start = i => {
      const item = items[i];
      items[i] = undefined;
      let result = item;
      // Plain promises time out too (they just cannot be stopped).
      if (deadlines !== undefined) deadlines.arm(group.armDeadline(h, i, timeout));
      if (typeof item === 'function') {
        const context = new TaskContext();
        contexts[i] = context;
        reaction[REACTION_COUNTER]++;
        reaction[REACTION_FLAG] = 1;
        try {
          result = item(context);
        } catch (error) {
          reaction[REACTION_FLAG] = 0;
          settled(i, false, error);
          return;
        }
        reaction[REACTION_FLAG] = 0;
      }
      const pending = asPromise(result);
      if (pending === undefined) settled(i, true, result);
      else {
        pending.then(
          value => settled(i, true, value),
          error => settled(i, false, error),
        );
      }
    };

    // Starts run from one loop, so that synchronous tasks do not recurse start → settled → start.
    const toStart = [];
    let starting = false;
    const launch = i => {
      toStart.push(i);
      if (starting) return;
      starting = true;
      for (let k = 0; k < toStart.length && !done; k++) start(toStart[k]);
      toStart.length = 0;
      starting = false;
    };

    if (n === 0) {
      close();
      if (policy === ANY) reject(new AggregateError([], 'All tasks rejected'));
      else resolve(results);
      return;
    }

    if (observedUpFront) {
      // Plain promises waiting for a turn are already running: observe them now so that an
      // early rejection is never reported as unhandled.
      observe(items);
    }

    if (signal !== undefined) {
      unlisten = onAbort(signal, reason => {
        if (done || group.abort(h) !== ABORT_DECIDED) return;
        abortRunning(reason);
        close();
        reject(reason);
      });
    }

    const k = group.startInitial(h);
    for (let i = 0; i < k; i++) launch(i);
  });
}

/**
 * Like Promise.all over tasks `({signal}) => value`, with at most `concurrency` running. On the
 * first rejection, aborts every running task's signal, starts no queued task and rejects.
 */
function all(tasks, options) {
  return runGroup(ALL, 'all', tasks, options, {concurrency: true, timeout: true});
}

/** Every outcome, `{status, value | reason}`, in input order. */
function allSettled(tasks, options) {
  return runGroup(ALL_SETTLED, 'allSettled', tasks, options, {concurrency: true, timeout: true});
}

/** The first task to settle wins; every loser's signal aborts, also when the winner rejects. */
function race(tasks, options) {
  return runGroup(RACE, 'race', tasks, options, {concurrency: false, timeout: false});
}

/** The first fulfilment wins and the others abort; all rejected: an AggregateError in input order. */
function any(tasks, options) {
  return runGroup(ANY, 'any', tasks, options, {concurrency: false, timeout: false});
}

/**
 * Runs `task({signal})` (or awaits a promise) for at most `ms` milliseconds. At the deadline the
 * task's signal aborts and the promise rejects with a `TimeoutError` DOMException. The timer keeps
 * the process alive while the task runs and is cleared as soon as it settles.
 */
// A promise handed to timeout() that will not be awaited is still observed, so that its
// rejection is not an unhandledRejection (a thenable's `then` is not called for nothing).
function observeTask(task) {
  if (task instanceof Promise) task.then(noop, noop);
}

function timeout(task, ms, options) {
  let signal;
  try {
    if (typeof task !== 'function' && !isThenable(task)) {
      throw new TypeError(`Expected \`task\` to be a function or a promise, got ${describe(task)}`);
    }
    if (typeof ms !== 'number' || Number.isNaN(ms)) {
      throw new TypeError(`Expected \`ms\` to be a number of milliseconds, got ${describe(ms)}`);
    }
    validateTimeout(ms, 'ms');
    ({signal} = readOptions(options, {concurrency: false, timeout: false}));
  } catch (error) {
    observeTask(task);
    return Promise.reject(error);
  }
  if (signal?.aborted) {
    observeTask(task);
    return Promise.reject(signal.reason);
  }

  return new Promise((resolve, reject) => {
    const context = new TaskContext();
    let timer;
    let unlisten;
    let done = false;
    const finish = (ok, value) => {
      if (done) return;
      done = true;
      if (timer !== undefined) clearTimeout(timer);
      unlisten?.();
      if (ok) resolve(value);
      else reject(value);
    };
    if (ms <= MAX_TIMER_MS) {
      timer = setTimeout(() => {
        const error = timeoutError(ms);
        context.abort(error);
        finish(false, error);
      }, ms);
    }
    if (signal !== undefined) {
      unlisten = onAbort(signal, reason => {
        context.abort(reason);
        finish(false, reason);
      });
    }
    let result = task;
    if (typeof task === 'function') {
      try {
        result = task(context);
      } catch (error) {
        finish(false, error);
        return;
      }
    }
    const pending = asPromise(result);
    if (pending === undefined) finish(true, result);
    else {
      pending.then(
        value => finish(true, value),
        error => finish(false, error),
      );
    }
  });
}

/** A promise or an object with a `then` method (reading `then` may throw: the caller rejects). */
const isThenable = value => value instanceof Promise || (value !== null && typeof value === 'object' && typeof value.then === 'function');

/** Groups not yet freed: for leak tests. */
const liveGroups = () => group.live();

module.exports = {all, allSettled, race, any, timeout, liveGroups, TaskContext};
