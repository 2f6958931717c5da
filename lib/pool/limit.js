'use strict';
// pLimit and limitFunction: p-limit 7.3's API and semantics on the Rust pool core.
//
// Rust owns the queue, the counters, the limit and the order (an untracked pool: one FIFO). JS
// keeps only what must be JS, bound to the queue entry that starts it, so that a start can never
// run another task's function (no second queue kept in step with Rust's):
//
// - A plain task is a gate promise whose deferred waits in the Rust queue. `limit()` attaches the
//   task's start to the gate in the caller's async context (as p-limit's gate promise does, so
//   AsyncLocalStorage sees the `limit()` caller's store). A task without arguments is named by a
//   token: its gate resolves with the token, and the start takes the function kept under that
//   name. A task with arguments (or one that starts at once) starts through a function bound to
//   `fn` and its arguments. The promise `limit()` returns is the start's reaction promise, which
//   adopts the task's result.
// - `limit.map` queues its items as run entries (one per map call over an array; a run id names
//   one JS record `{batch, next, end}`). Rust pops a run's items in order; for each, `onBatch(id)`
//   runs (called by Rust inside a drain, or by `release` with the id Rust hands back) and only
//   schedules the item's start (item `run.next++`, bound to it) in the map caller's async
//   context: no user code runs inside a native call, so nothing re-enters the pool, and starting
//   queued work never recurses through the boundary.
//
// Timing follows p-limit's microtask by microtask: a task starts one microtask after it leaves
// the queue; its result is p-limit's `(async () => fn(...args))()` (`callTask`, `finishStart`); the
// slot frees one microtask after that settles (p-limit's `await result`), and the returned promise
// adopts it. A map item keeps the same timing with fewer promises (see `itemStep`), and the map
// settles by Promise.all's rules (the first rejection in microtask order, else all values). What
// may differ is the order of settlements inside one tick: a task dropped by `clearQueue` with
// `rejectOnClear` rejects one microtask later than p-limit's (its promise is its gate's
// reaction), and a map that fulfils may do so a microtask earlier or later.
// (__test__/limit-diff.test.js compares whole traces against p-limit 7.3.3.)

const {createPool} = require('../internal/native');
const {FULFILLED, REJECTED, DROPPED, LIMIT_CHANGED, LEFT_PENDING, UNNAMED, CLEARED_NAME_BASE} = require('../internal/wire').room('pool');
const {state: reaction, REACTION_FLAG, REACTION_COUNTER} = require('../internal/reactions');
const {isDropped} = require('./dropped');
const {describe, parseConcurrency, validateLimitConcurrency} = require('../internal/validate');

const RESOLVED = Promise.resolve();
const noop = () => {};
let AsyncResource;
let isProxy;

// Marks an item whose start has run (map items' inputs and results share one array).
const STARTED = Symbol('started');
// What a map item's promise fulfils with when its mapper returned a plain value, or threw.
const SYNC_OK = Object.freeze({});
const SYNC_ERR = Object.freeze({});
const PromiseThen = Promise.prototype.then;
const {bind} = Function.prototype;
const KEEP = Symbol('onBatch');

const ArrayValues = Array.prototype[Symbol.iterator];
const ArrayIteratorPrototype = Object.getPrototypeOf([][Symbol.iterator]());
const ArrayIteratorNext = ArrayIteratorPrototype.next;
const MAX_ARRAY_LENGTH = 2 ** 32 - 1;
// The first name of a queued task (`submitPlain(token)`): above UNNAMED, the name Rust gives a task
// without one (`clear` reports a task named `token` as `-token - 1`).
const FIRST_TOKEN = UNNAMED + 1;

// A gate rejected with LEFT_PENDING was cleared without `rejectOnClear`: like p-limit, the task's
// promise never settles. Adopting a fresh pending promise keeps it collectable once the caller
// drops it.
function onGateShut(reason) {
  if (reason === LEFT_PENDING) return new Promise(noop);
  throw reason;
}

// p-limit's `(async () => fn(...args))()` is `adopt(fn(...args))`, or `rejected(error)` when fn
// throws: a thenable is adopted through a job, a plain value fulfils at once.
const adopt = async value => value;
const rejected = async error => {
  throw error;
};

// Resolving a promise with `value` reads its `then` once; a start that must know whether `value`
// is settled already does that read itself. Returns undefined for a plain value (settled), else
// what to adopt in its place: the promise itself when its `then` is the built-in one, or a
// wrapper that calls the `then` read here, on `value`. Throws what reading `then` throws.
function adoptable(value) {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return undefined;
  const then = value.then;
  if (then === PromiseThen) return value;
  if (typeof then !== 'function') return undefined;
  return {then: (resolve, reject) => Reflect.apply(then, value, [resolve, reject])};
}

// A task whose result settled inside its start (a plain value, a non-thenable object, or a
// synchronous throw). p-limit resolves its promise with `result` (a job that adopts it) and then
// `await`s `result`, so its slot frees one microtask later, just after that job. The start hands
// this object to its promise instead of `result`: the promise's adoption job calls `then`, which
// adopts `result` and frees the slot there, in p-limit's order. (Freeing it from a reaction of
// `result` itself would free it before the adoption job: the next task could start, and even
// finish, before the first one's caller sees its value.)
class Settled {
  constructor(result, done, outcome) {
    this.result = result;
    this.done = done;
    this.outcome = outcome;
  }

  then(resolve, reject) {
    this.result.then(resolve, reject);
    this.done(this.outcome);
  }
}

// p-limit calls a non-function mapper per item, which rejects with a TypeError; so does this,
// naming the argument.
const notAFunction = mapper => () => {
  throw new TypeError(`Expected \`mapper\` to be a function, got ${describe(mapper)}`);
};


// ToLength, with ToNumber's errors (a Symbol or BigInt length throws a TypeError).
function lengthOf(arrayLike) {
  const length = arrayLike.length;
  if (typeof length === 'symbol' || typeof length === 'bigint') {
    throw new TypeError(`Expected \`iterable.length\` to be a number, got ${describe(length)}`);
  }
  const n = Math.trunc(+length);
  if (!(n > 0)) return 0;
  return Math.min(n, Number.MAX_SAFE_INTEGER);
}

/**
 * Feeds `iterable` to `add(value)` exactly as `Array.from(iterable, mapfn)` reads it (each property
 * read once, in the specified order, each value handed over before the next is read), which is
 * how p-limit's map reads its input. An array with the built-in iterator, which runs no user code
 * (unless an element is a getter), is read in one go and handed over whole to `addAll(values)`.
 */
function feed(iterable, add, addAll) {
  if (iterable === null || iterable === undefined) {
    throw new TypeError(`Expected \`iterable\` to be an iterable or an array-like object, got ${describe(iterable)}`);
  }
  const method = iterable[Symbol.iterator];
  if (method === undefined || method === null) {
    // Array-like: `length`, then each index.
    const arrayLike = Object(iterable);
    const length = lengthOf(arrayLike);
    if (length > MAX_ARRAY_LENGTH) {
      throw new RangeError(`Expected \`iterable\`'s length to be at most ${MAX_ARRAY_LENGTH}, got ${length}`);
    }
    for (let k = 0; k < length; k++) add(arrayLike[k]);
    return;
  }
  if (typeof method !== 'function') {
    throw new TypeError(`Expected \`iterable[Symbol.iterator]\` to be a method, got ${describe(method)}`);
  }
  if (method === ArrayValues && Array.isArray(iterable) && ArrayIteratorPrototype.next === ArrayIteratorNext) {
    isProxy ??= require('node:util').types.isProxy;
    if (!isProxy(iterable)) {
      const length = iterable.length;
      const values = new Array(length);
      for (let k = 0; k < length; k++) values[k] = iterable[k];
      addAll(values);
      return;
    }
  }
  const iterator = Reflect.apply(method, iterable, []);
  if (iterator === null || (typeof iterator !== 'object' && typeof iterator !== 'function')) {
    throw new TypeError(`Expected \`iterable[Symbol.iterator]()\` to return an iterator object, got ${describe(iterator)}`);
  }
  const next = iterator.next;
  for (;;) {
    if (typeof next !== 'function') {
      throw new TypeError(`Expected the iterator of \`iterable\` to have a \`next\` method, got ${describe(next)}`);
    }
    const step = Reflect.apply(next, iterator, []);
    if (step === null || (typeof step !== 'object' && typeof step !== 'function')) {
      throw new TypeError(`Expected the iterator of \`iterable\` to return result objects, got ${describe(step)}`);
    }
    if (step.done) return;
    add(step.value);
  }
}

function pLimit(concurrency) {
  let rejectOnClear = false;
  let onLimitChange;
  let shared;

  if (typeof concurrency === 'object') {
    ({concurrency, rejectOnClear = false, onLimitChange, shared} = concurrency);
  }

  // A number (p-limit's exact check), or 'adaptive' / {adaptive, min, max, initial}.
  const {limit: initialLimit, adaptive} = parseConcurrency(concurrency, validateLimitConcurrency);

  if (typeof rejectOnClear !== 'boolean') {
    throw new TypeError('Expected `rejectOnClear` to be a boolean');
  }
  if (onLimitChange !== undefined && typeof onLimitChange !== 'function') {
    throw new TypeError(`Expected \`onLimitChange\` to be a function, got ${describe(onLimitChange)}`);
  }
  // A limit for the whole fleet (see lib/fleet/shared.js): `concurrency` is the fleet's limit.
  let fleet;
  let nativeShared;
  if (shared !== undefined) {
    const m = require('../fleet/shared');
    const read = m.readShared(shared, initialLimit, adaptive);
    fleet = {module: m, onEvent: read.onEvent, leaseMs: read.leaseMs, ready: undefined};
    nativeShared = {...read.native, onEvent: (kind, detail) => onFleetEvent(kind, detail)};
  }
  // Once closed (or failed for good): what every later limit() rejects with.
  let refused;
  let closing;
  let onIdle;

  // The map runs waiting in the queue, by id. A run's items start in order: the next is `next`.
  const runs = new Map();
  let lastRunId = -1;
  const newRun = (batch, next, end) => {
    let id = lastRunId;
    do id = id === 0x7fffffff ? 0 : id + 1;
    while (runs.has(id));
    lastRunId = id;
    const run = {id, batch, next, end};
    runs.set(id, run);
    return run;
  };

  // The run that onBatch saw last (consecutive pops are mostly of one run).
  let lastRun;
  const dropRun = run => {
    runs.delete(run.id);
    if (lastRun === run) lastRun = undefined;
  };
  // Rust popped one item of run `id`. Schedules its start only, running no user code: Rust may be
  // calling (from a drain) with the pool mid-call.
  const onBatch = id => {
    const run = lastRun !== undefined && lastRun.id === id ? lastRun : (lastRun = runs.get(id));
    if (run === undefined) return;
    const index = run.next++;
    if (run.next === run.end) dropRun(run);
    const batch = run.batch;
    batch.resource.runInAsyncScope(scheduleItem, undefined, batch, index);
  };

  const core = createPool(initialLimit, false, onBatch, adaptive, nativeShared);
  if (fleet !== undefined) {
    // The addon holds onEvent weakly, as onBatch: what can still need it holds it (the limit's
    // own methods through `fleet`, running tasks through `release`, below).
    fleet.onNativeEvent = nativeShared.onEvent;
  }
  const {submitPlain, submitBatch, releaseTimed, active, pending, drain, clear, setConcurrency} = core;
  const getConcurrency = core.concurrency;
  // A task settled: frees its slot and starts the next task; when that is a map item, Rust hands
  // its run back instead of calling into JS.
  const releaseNative = core.release;
  const release = () => {
    const run = releaseNative();
    if (run !== undefined) onBatch(run);
    if (onIdle !== undefined && active() === 0) {
      const resolve = onIdle;
      onIdle = undefined;
      resolve();
    }
  };
  // Rust holds onBatch weakly (a strong handle would be a cycle through this closure). What can
  // pop a run holds it (a running task's `release` by closure; `releaseTimed` and the `drain` after
  // a raised limit by these properties), so queued items stay reachable exactly as long as
  // something can start them.
  releaseTimed[KEEP] = onBatch;
  drain[KEEP] = onBatch;
  if (fleet !== undefined) release[KEEP] = fleet.onNativeEvent;

  // An adaptive limit learns from each task's running time: those tasks release through here.
  // The hook runs after the bookkeeping, on its own: a throw is the hook's uncaught exception (as
  // a throwing event listener's is), never a limiter left half-updated.
  const notifyLimitChange = () => onLimitChange(getConcurrency());
  const releaseAfter = (startedAt, outcome) => {
    if (releaseTimed(performance.now() - startedAt, outcome) === LIMIT_CHANGED && onLimitChange !== undefined) {
      queueMicrotask(notifyLimitChange);
    }
  };
  const outcomeOf = error => (isDropped(error) ? DROPPED : REJECTED);

  // What a start returns for the task's promise to adopt, given what `fn` returned (`threw`: it
  // threw `value`). The slot frees one microtask after the result settles (p-limit's `await
  // result`); see Settled for a result that settled already.
  const finishStart = (value, threw, startedAt) => {
    let pending;
    if (!threw) {
      try {
        pending = adoptable(value);
      } catch (error) {
        value = error;
        threw = true;
      }
    }
    if (pending === undefined) {
      const done = adaptive === undefined ? release : outcome => releaseAfter(startedAt, outcome);
      return threw ? new Settled(rejected(value), done, outcomeOf(value)) : new Settled(adopt(value), done, FULFILLED);
    }
    const result = adopt(pending);
    if (adaptive === undefined) result.then(release, release);
    else {
      result.then(
        () => releaseAfter(startedAt, FULFILLED),
        error => releaseAfter(startedAt, outcomeOf(error)),
      );
    }
    return result;
  };

  // Calls a task's function with the reaction marks around it (they tell the event-loop monitor
  // that user code runs from a promise reaction).
  const callTask = (fn, args) => {
    const startedAt = adaptive === undefined ? 0 : performance.now();
    let value;
    reaction[REACTION_COUNTER]++;
    reaction[REACTION_FLAG] = 1;
    try {
      value = args === undefined ? fn() : fn(...args);
    } catch (error) {
      reaction[REACTION_FLAG] = 0;
      return finishStart(error, true, startedAt);
    }
    reaction[REACTION_FLAG] = 0;
    return finishStart(value, false, startedAt);
  };

  // A task's start, one microtask after it left the queue. `this` is the task's function (bound in
  // `limit()`).
  function startBare() {
    return callTask(this, undefined);
  }
  // Bound to the task's arguments too: the gate's value (undefined) comes after them.
  function startWith(...args) {
    args.length--;
    return callTask(this, args);
  }

  // Queued tasks without arguments wait here, named by a token (a Smi counting up, FIRST_TOKEN to
  // 2^30-1): Rust's queue holds each one's gate, which resolves with its token, so a start finds
  // its own task by name. Slot `token & mask` holds the task's function; `names` holds the token,
  // or -1 when the slot is free. The table doubles when a name would land on a live slot, and
  // shrinks back when it empties.
  const SMALL = 64;
  let fns = new Array(SMALL);
  let names = new Int32Array(SMALL).fill(-1);
  let mask = SMALL - 1;
  let named = 0;
  let nextToken = FIRST_TOKEN;

  const grow = () => {
    const size = (mask + 1) * 2;
    const nextFns = new Array(size);
    const nextNames = new Int32Array(size).fill(-1);
    for (let slot = 0; slot <= mask; slot++) {
      const token = names[slot];
      if (token === -1) continue;
      nextFns[token & (size - 1)] = fns[slot];
      nextNames[token & (size - 1)] = token;
    }
    fns = nextFns;
    names = nextNames;
    mask = size - 1;
  };

  const unname = slot => {
    fns[slot] = undefined;
    names[slot] = -1;
    if (--named === 0 && mask >= SMALL * 64) {
      fns = new Array(SMALL);
      names = new Int32Array(SMALL).fill(-1);
      mask = SMALL - 1;
    }
  };

  // A queued task's start: its gate opened with its token.
  function startNamed(token) {
    const slot = token & mask;
    if (names[slot] !== token) throw new Error(`async-shape: internal error: no queued task is named ${token}`);
    const fn = fns[slot];
    unname(slot);
    return callTask(fn, undefined);
  }

  // A method reading `arguments`: a rest parameter would allocate an array per call even when
  // there are no arguments, which is the common case; a method, so that `limit` is not a
  // constructor and has no `prototype`, like p-limit's arrow. A task that starts now, or has
  // arguments, starts through a function bound to it (`this` is `fn`).
  const {limit} = {
    limit(fn) {
      if (refused !== undefined) return Promise.reject(refused);
      if (arguments.length > 1) {
        const start = Reflect.apply(bind, startWith, arguments);
        const gate = submitPlain();
        return gate === undefined ? RESOLVED.then(start) : gate.then(start, onGateShut);
      }
      let token = nextToken;
      // A name still in use (after 2^30 others) is skipped, never shared.
      while (names[token & mask] === token) token = token === 0x3fffffff ? FIRST_TOKEN : token + 1;
      // Taken before the native call: a limit() made from inside it (an async_hooks init hook sees
      // the gate being made) must get another name.
      nextToken = token === 0x3fffffff ? FIRST_TOKEN : token + 1;
      const gate = submitPlain(token);
      if (gate === undefined) return RESOLVED.then(startBare.bind(fn));
      while (names[token & mask] !== -1) grow();
      fns[token & mask] = fn;
      names[token & mask] = token;
      named++;
      return gate.then(startNamed, onGateShut);
    },
  };

  // A map item's steps, bound to (batch, index). p-limit runs each item as `limit(mapper, value,
  // index)` and settles the map by Promise.all over those promises; this keeps its timing with
  // two promises per item (and none while it waits). The item's start is the reaction of its promise `item` (one
  // microtask after it left the queue), and `item` stands for p-limit's `result`: it adopts
  // what the mapper returned as `(async () => mapper(value, index))()` would, so a slot frees
  // one microtask after `item` settles (p-limit's `await result`), and Promise.all's element
  // step (one microtask after p-limit's item promise, which adopts `result`) comes one
  // microtask after that. A mapper that returns a plain value or throws settles `result` at
  // once: `item` then fulfils with SYNC_OK or SYNC_ERR (the outcome waits in `values`), the slot
  // frees one microtask later, and the element step two microtasks after that.
  function itemStep(index, value) {
    const values = this.values;
    if (value === SYNC_OK) {
      if (--this.remaining === 0 && !this.failed) RESOLVED.then(noop).then(() => this.resolve(values));
      releaseItem(this, index, FULFILLED);
      return undefined;
    }
    if (value === SYNC_ERR) {
      const error = values[index];
      values[index] = undefined;
      if (!this.failed) RESOLVED.then(noop).then(() => this.onReject(error));
      releaseItem(this, index, outcomeOf(error));
      return undefined;
    }
    if (values[index] === STARTED) {
      values[index] = value;
      releaseItem(this, index, FULFILLED);
      if (--this.remaining === 0 && !this.failed) RESOLVED.then(() => this.resolve(values));
      return undefined;
    }
    // The start.
    const input = values[index];
    const mapper = this.mapper;
    values[index] = STARTED;
    if (adaptive !== undefined) (this.startedAt ??= [])[index] = performance.now();
    let result;
    reaction[REACTION_COUNTER]++;
    reaction[REACTION_FLAG] = 1;
    try {
      result = mapper(input, index);
    } catch (error) {
      reaction[REACTION_FLAG] = 0;
      values[index] = error;
      return SYNC_ERR;
    }
    reaction[REACTION_FLAG] = 0;
    // `item` adopts a thenable; a plain value is the outcome already.
    let pending;
    try {
      pending = adoptable(result);
    } catch (error) {
      values[index] = error;
      return SYNC_ERR;
    }
    if (pending !== undefined) return pending;
    values[index] = result;
    return SYNC_OK;
  }

  // An item whose promise rejected: its slot frees now, its element step one microtask later.
  // (Only an adaptive limit needs the item's index: for its start time.)
  function itemRejected(index, error) {
    releaseItem(this, index, outcomeOf(error));
    if (!this.failed) RESOLVED.then(() => this.onReject(error));
  }

  // Frees an item's slot; an adaptive limit learns from the item's running time and outcome.
  const releaseItem =
    adaptive === undefined ? release : (batch, index, outcome) => releaseAfter(batch.startedAt[index], outcome);

  // Items that start later start from another caller's native call: they go back to the map
  // caller's async context.
  const withResource = batch => {
    if (batch.resource !== undefined) return;
    AsyncResource ??= require('node:async_hooks').AsyncResource;
    batch.resource = new AsyncResource('async-shape:limit.map');
  };

  function scheduleItem(batch, index) {
    const step = itemStep.bind(batch, index);
    RESOLVED.then(step).then(step, adaptive === undefined ? batch.onItemRejected : itemRejected.bind(batch, index));
  }

  // Queues `count` items of `batch` from `first` on, as p-limit's `limit()` per item does: each
  // joins the queue, and each starts the queue's head while a slot is free.
  const submitItems = (batch, first, count) => {
    // Items read one at a time extend the batch's run while it waits (Rust pops its entries in
    // order, each pop the run's next item).
    let run = batch.run;
    if (run !== undefined && run.end === first && runs.get(run.id) === run) run.end += count;
    else run = batch.run = newRun(batch, first, first + count);
    let started = 0;
    if (pending() === 0) {
      started = submitBatch(run.id, count);
      if (started < count) withResource(batch);
    } else {
      // Only between a raised concurrency and its drain (a microtask) can a slot be free while
      // tasks wait: then each item starts the queue's head, older tasks first.
      withResource(batch);
      submitBatch(run.id, count);
      const limitNow = getConcurrency();
      const room = limitNow - active();
      if (room > 0) {
        setConcurrency(active() + Math.min(room, count));
        try {
          drain();
        } finally {
          setConcurrency(limitNow);
        }
      }
    }
    for (let k = 0; k < started; k++) scheduleItem(batch, run.next++);
    if (run.next === run.end) dropRun(run);
  };

  const map = async (iterable, mapper) => {
    const batch = {
      values: undefined,
      mapper: typeof mapper === 'function' ? mapper : notAFunction(mapper),
      // Promise.all's count: 1 until the input is read, plus one per item not yet fulfilled.
      remaining: 1,
      failed: false,
      resolve: undefined,
      reject: undefined,
      onReject: undefined,
      onItemRejected: undefined,
      resource: undefined,
      run: undefined,
    };
    batch.onReject = error => {
      if (batch.failed) return;
      batch.failed = true;
      batch.reject(error);
    };
    batch.onItemRejected = itemRejected.bind(batch, -1);
    const all = new Promise((resolve, reject) => {
      batch.resolve = resolve;
      batch.reject = reject;
    });
    const add = value => {
      if (batch.values === undefined) batch.values = [];
      const index = batch.values.length;
      batch.values.push(value);
      batch.remaining++;
      submitItems(batch, index, 1);
    };
    const addAll = values => {
      batch.values = values;
      batch.remaining += values.length;
      if (values.length > 0) submitItems(batch, 0, values.length);
    };
    try {
      feed(iterable, add, addAll);
    } catch (error) {
      // p-limit had scheduled the items read so far: they still run, their outcomes unobserved.
      batch.failed = true;
      throw error;
    }
    if (batch.values === undefined) batch.values = [];
    if (--batch.remaining === 0) batch.resolve(batch.values);
    return all;
  };

  // Empties the queue: with `error`, each queued task's promise (and a map that lost items)
  // rejects with it; without, they never settle (p-limit's clearQueue without rejectOnClear).
  const clearWith = error => {
    if (pending() === 0) return;
    const cleared = clear(error);
    for (const id of cleared) {
      if (id <= CLEARED_NAME_BASE) {
        // A task named CLEARED_NAME_BASE - id (UNNAMED: one bound to its function, nothing kept here).
        const token = CLEARED_NAME_BASE - id;
        if (token !== UNNAMED && names[token & mask] === token) unname(token & mask);
        continue;
      }
      const run = runs.get(id);
      if (run === undefined) continue;
      dropRun(run);
      // Cleared items never start; a map that lost items never resolves (p-limit's
      // Promise.all), or rejects with the error one microtask later, as their promises do.
      const {batch} = run;
      for (let k = run.next; k < run.end; k++) batch.values[k] = undefined;
      if (error !== undefined && !batch.failed) RESOLVED.then(() => batch.onReject(error));
    }
  };

  // The addon's events for a shared limit. pLimit's tasks have no signal: when the lease is lost,
  // fencing stops new starts (in the addon) but cannot stop running tasks.
  const onFleetEvent = (kind, detail) => {
    const m = fleet.module;
    if (m.isKind(kind, 'EVENT_FATAL')) {
      const error = m.fatalOf(detail);
      refused ??= error;
      m.emit(fleet.onEvent, m.eventOf(kind, detail, error));
      clearWith(error);
      return;
    }
    m.emit(fleet.onEvent, m.eventOf(kind, detail, m.isKind(kind, 'EVENT_LEASE_LOST') ? new m.LeaseLostError(fleet.leaseMs) : undefined));
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
        clearWith(rejectOnClear ? AbortSignal.abort().reason : undefined);
      },
    },
    concurrency: {
      get: getConcurrency,
      set(newConcurrency) {
        if (fleet !== undefined) {
          throw new TypeError("This limit is shared by its fleet: every process must use the same `concurrency` (make a new pLimit with another `shared.key` to change it)");
        }
        if (adaptive !== undefined) {
          throw new TypeError('This limit is adaptive: it moves by itself (make a new pLimit for a fixed one)');
        }
        validateLimitConcurrency(newConcurrency);
        setConcurrency(newConcurrency);
        queueMicrotask(drain);
      },
    },
    map: {
      value: map,
    },
  });
  // A shared limit's own methods (a local limit keeps p-limit's shape exactly).
  if (fleet === undefined) return limit;
  Object.defineProperties(limit, {
    ready: {
      /** Resolves once the limit is part of its fleet (registered in Redis); rejects when it cannot be. */
      value() {
        fleet.ready ??= fleet.module.readyOf(core);
        return fleet.ready;
      },
    },
    close: {
      /**
       * Later calls reject, queued tasks reject (an AbortError), and once the running ones have
       * settled the limit returns its permits and closes its connection. Same promise again.
       */
      value() {
        if (closing !== undefined) return closing;
        const error = new DOMException('The limit was closed', 'AbortError');
        refused ??= error;
        clearWith(error);
        const idle = active() === 0 ? RESOLVED : new Promise(resolve => (onIdle = resolve));
        closing = idle.then(() => core.close()).then(noop);
        return closing;
      },
    },
    fleet: {
      /** The fleet's figures as this process sees them (see Pool#stats().fleet). */
      get() {
        return fleet.module.statsOf(core.fleetStats());
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
