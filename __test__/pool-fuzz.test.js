'use strict';
// Invariant fuzz of Pool (issue 11): seeded random schedules of run() (priorities, shared and
// per-task signals, timeouts, maxQueue), outcomes settled by the schedule (sync values, throws,
// controlled promises), aborts before, while queued and while running, clear(reason), concurrency
// changes, map and stream with signals and stopOnError, and the waits. The clock is the schedule:
// one step is a batch of synchronous operations, then one setImmediate turn. Timeouts are either
// huge or 1 ms; nothing asserts when they fire.
//
// Invariants: a task or mapper runs at most once, never after its signal aborted while it waited,
// never after its promise (or its map) rejected; a rejection by clear() means it never ran; the
// pool's active count never exceeds the limits in force; queued tasks start by priority, then
// FIFO; at the end every promise has settled, nothing runs or waits, onIdle resolves, no abort
// listener is left on any signal, and the pool still works.
//
//   FUZZ_SEEDS=5000 node --test __test__/pool-fuzz.test.js     more seeds
//   FUZZ_SEED=1234 FUZZ_SEEDS=1 node --test __test__/pool-fuzz.test.js   one seed

const test = require('node:test');
const assert = require('node:assert/strict');
const {getEventListeners} = require('node:events');
const {Pool} = require('..');

const SEEDS = Number(process.env.FUZZ_SEEDS ?? 1500);
const FIRST = Number(process.env.FUZZ_SEED ?? 1);
const STEPS = 50;

function mulberry32(seed) {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const turn = () => new Promise(resolve => setImmediate(resolve));

async function runSeed(seed) {
  const rnd = mulberry32(seed);
  const int = n => Math.floor(rnd() * n);
  const chance = p => rnd() < p;
  const pick = xs => xs[int(xs.length)];
  const failures = [];
  const fail = what => {
    if (failures.length < 20) failures.push(what);
  };

  const maxQueue = chance(0.2) ? int(6) : Number.POSITIVE_INFINITY;
  const defaultTimeout = chance(0.1) ? (chance(0.5) ? 1 : 1e9) : undefined;
  let limit = 1 + int(4);
  const pool = new Pool({concurrency: limit, maxQueue, timeout: defaultTimeout});

  let step = 0;
  let seq = 0;
  // The highest limit in force during each step: tasks started before a lowering keep running.
  const limitAt = [limit];
  const shared = [new AbortController(), new AbortController()];
  const controllers = [...shared];
  const runs = []; // run() tasks: the order check's candidates
  const started = []; // everything that ran and has not been seen settling
  const pending = new Set(); // controlled outcomes not yet settled
  const musts = []; // {label, settled} for every promise that must settle
  const clearReasons = new Set();
  const maps = [];

  const mustSettle = (label, promise, onRejected) => {
    const entry = {label, settled: false};
    musts.push(entry);
    promise.then(
      () => {
        entry.settled = true;
      },
      error => {
        entry.settled = true;
        onRejected?.(error);
      },
    );
  };

  // What a task or mapper does when called.
  const act = unit => {
    const kind = unit.kind;
    if (kind === 0) return unit.seq;
    if (kind === 1) throw new Error(`throw ${unit.seq}`);
    let resolve;
    let reject;
    const promise = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    pending.add({unit, resolve, reject});
    return promise;
  };

  const settleSome = n => {
    for (let k = 0; k < n && pending.size > 0; k++) {
      const entries = [...pending];
      const entry = pick(entries);
      pending.delete(entry);
      if (chance(0.75)) entry.resolve(entry.unit.seq);
      else entry.reject(new Error(`reject ${entry.unit.seq}`));
    }
  };

  const onStart = unit => {
    unit.calls++;
    unit.startStep = step;
    if (unit.calls > 1) fail(`${unit.label} ran ${unit.calls} times`);
    if (unit.abortedWaiting) fail(`${unit.label} ran after its signal aborted while it waited`);
    if (unit.rejected) fail(`${unit.label} ran after its promise rejected`);
    if (unit.map?.rejected) fail(`${unit.label} ran after its map rejected`);
    started.push(unit);
    let oldest = step;
    for (const u of started) if (!u.settled && u.startStep < oldest) oldest = u.startStep;
    const bound = Math.max(...limitAt.slice(oldest, step + 1));
    if (pool.activeCount > bound) fail(`${unit.label} started with ${pool.activeCount} active, limit ${bound}`);
    // Priority, then FIFO: nothing that waited through this whole step may be passed over. A
    // task granted its slot first may still be called after a map item that got the next slot
    // (map items start in the pull loop, run() tasks a microtask later), so a task passed over
    // counts only if it is still not called when the step ends.
    for (const u of runs) {
      if (u === unit || u.calls > 0 || u.gone || u.step >= step) continue;
      if (u.priority > unit.priority || (u.priority === unit.priority && u.seq < unit.seq)) {
        passedOver.push([unit, u]);
      }
    }
  };
  const passedOver = [];
  const checkPassedOver = () => {
    for (const [unit, u] of passedOver) {
      if (u.calls === 0 && !u.gone) fail(`${unit.label} (priority ${unit.priority}) started before waiting ${u.label} (priority ${u.priority})`);
    }
    passedOver.length = 0;
  };

  const newUnit = (label, priority, signal, map) => {
    const unit = {label: `${label}#${++seq}`, seq, step, priority, signal, map, kind: int(3), calls: 0, startStep: -1, settled: false};
    unit.abortedWaiting = false;
    unit.rejected = false;
    unit.gone = false;
    return unit;
  };

  const abort = controller => {
    if (controller.signal.aborted) return;
    for (const u of [...runs, ...maps.flatMap(m => m.items)]) {
      if (u.signal === controller.signal && u.calls === 0) {
        u.abortedWaiting = true;
        u.gone = true;
      }
    }
    controller.abort(chance(0.5) ? new Error('aborted') : undefined);
  };

  const signalFor = () => {
    const r = rnd();
    if (r < 0.5) return undefined;
    if (r < 0.8) return pick(shared).signal;
    const c = new AbortController();
    controllers.push(c);
    return c.signal;
  };

  const submit = () => {
    const priority = chance(0.5) ? 0 : int(5) - 2;
    const signal = signalFor();
    const unit = newUnit('run', priority, signal);
    const options = {signal, priority};
    if (chance(0.15)) options.timeout = chance(0.5) ? 1 : 1e9;
    const queued = pool.pendingCount;
    if (maxQueue !== Number.POSITIVE_INFINITY && queued >= maxQueue && (queued > 0 || pool.activeCount >= pool.concurrency)) {
      unit.gone = true; // rejected with QueueFullError
    }
    if (signal?.aborted) unit.gone = true; // rejected at once
    runs.push(unit);
    const p = pool.run(() => {
      onStart(unit);
      return act(unit);
    }, options);
    mustSettle(unit.label, p, error => {
      unit.rejected = true;
      if (clearReasons.has(error) && unit.calls > 0) fail(`${unit.label} was rejected by clear() after it ran`);
    });
    p.then(
      () => (unit.settled = true),
      () => (unit.settled = true),
    );
  };

  const startMap = streamed => {
    const signal = chance(0.5) ? signalFor() : undefined;
    const map = {items: [], rejected: false};
    maps.push(map);
    const n = 1 + int(6);
    function* items() {
      for (let i = 0; i < n; i++) {
        const unit = newUnit(streamed ? 'stream' : 'map', 0, signal, map);
        map.items.push(unit);
        yield unit;
      }
    }
    const mapper = unit => {
      onStart(unit);
      const result = act(unit);
      if (result instanceof Promise) {
        result.then(
          () => (unit.settled = true),
          () => (unit.settled = true),
        );
      } else {
        unit.settled = true;
      }
      return result;
    };
    if (!streamed) {
      const p = pool.map(items(), mapper, {signal, stopOnError: chance(0.6)});
      mustSettle(`map of ${n}`, p, () => {
        map.rejected = true;
      });
      return;
    }
    const stream = pool.stream(items(), mapper, {signal, concurrency: 1 + int(3), ordered: chance(0.5)});
    const stopAfter = chance(0.3) ? int(n) : Infinity;
    const consumer = (async () => {
      let taken = 0;
      for await (const value of stream) {
        void value;
        if (++taken >= stopAfter) break;
      }
    })();
    mustSettle(`stream of ${n}`, consumer);
  };

  for (step = 0; step < STEPS; step++) {
    limitAt[step] = Math.max(limitAt[step] ?? 0, limit);
    const ops = 1 + int(5);
    for (let k = 0; k < ops; k++) {
      const r = rnd();
      if (r < 0.35) submit();
      else if (r < 0.55) settleSome(1 + int(3));
      else if (r < 0.65) abort(pick(controllers));
      else if (r < 0.7) {
        const reason = new Error('cleared');
        clearReasons.add(reason);
        for (const u of runs) if (u.calls === 0) u.gone = true; // cleared, or granted and about to run
        pool.clear(reason);
      } else if (r < 0.77) {
        limit = 1 + int(5);
        pool.concurrency = limit;
        limitAt[step] = Math.max(limitAt[step], limit);
        limitAt[step + 1] = limit;
      } else if (r < 0.85) startMap(false);
      else if (r < 0.9) startMap(true);
      else if (r < 0.93) mustSettle('onIdle', pool.onIdle());
      else if (r < 0.96) mustSettle('onEmpty', pool.onEmpty());
      else mustSettle('onSizeLessThan', pool.onSizeLessThan(1 + int(3)));
    }
    await turn();
    checkPassedOver();
  }

  // Wind down: settle every outcome until nothing is left, then wait for the promises.
  limitAt[step] = limit;
  for (let t = 0; t < 500 && (pending.size > 0 || musts.some(m => !m.settled)); t++) {
    settleSome(pending.size);
    await turn();
  }
  for (const m of musts) if (!m.settled) fail(`${m.label} never settled`);
  if (pool.activeCount !== 0 || pool.pendingCount !== 0) fail(`left ${pool.activeCount} active, ${pool.pendingCount} queued`);
  let idle = false;
  pool.onIdle().then(() => (idle = true));
  await turn();
  if (!idle) fail('onIdle did not resolve');
  for (const c of controllers) {
    const n = getEventListeners(c.signal, 'abort').length;
    if (n !== 0) fail(`${n} abort listener(s) left on a signal`);
  }
  if (failures.length === 0) {
    // The pool still works.
    pool.concurrency = 2;
    const works = await Promise.race([
      (async () => [await pool.run(() => 'ok'), await pool.map([1, 2, 3], x => x * 2)])(),
      (async () => {
        for (let t = 0; t < 100; t++) await turn();
        return 'hung';
      })(),
    ]);
    if (JSON.stringify(works) !== JSON.stringify(['ok', [2, 4, 6]])) fail(`the pool no longer works: ${JSON.stringify(works)}`);
  }
  return failures;
}

test(`Pool invariant fuzz: ${SEEDS} seeds from ${FIRST}`, {timeout: 600_000}, async () => {
  const unhandled = [];
  const onUnhandled = reason => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    for (let seed = FIRST; seed < FIRST + SEEDS; seed++) {
      const failures = await runSeed(seed);
      assert.deepEqual(failures, [], `seed ${seed} failed (rerun: FUZZ_SEED=${seed} FUZZ_SEEDS=1)`);
    }
    await turn();
    assert.deepEqual(unhandled, [], 'internals caused no unhandled rejection');
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

// The timing windows of issue 11, forced deterministically in every combination of where the
// abort lands and what is submitted next.
test('forced windows: an abort between a slot freeing and the queued task’s start, then new work', {timeout: 30_000}, async () => {
  for (const next of ['run', 'queued run', 'map']) {
    for (const sharedSignal of [true, false]) {
      const pool = new Pool({concurrency: 1});
      const first = new AbortController();
      const second = sharedSignal ? first : new AbortController();
      const calls = {a: 0, b: 0, c: 0};
      const a = pool.run(() => (calls.a++, new Promise(() => {})), {signal: first.signal});
      const b = pool.run(() => (calls.b++, 'B'), {signal: second.signal});
      first.abort();
      second.abort();
      let c;
      if (next === 'run') c = pool.run(async () => (calls.c++, 'C'));
      else if (next === 'queued run') {
        const blocker = pool.run(() => 'blocker');
        c = Promise.all([blocker, pool.run(async () => (calls.c++, 'C'))]).then(([, v]) => v);
      } else c = pool.map([1], () => (calls.c++, 'C')).then(([v]) => v);
      await Promise.allSettled([a, b]);
      assert.equal(await c, 'C', `${next}, shared signal ${sharedSignal}`);
      for (let t = 0; t < 3; t++) await turn();
      assert.deepEqual(calls, {a: 0, b: 0, c: 1}, `${next}, shared signal ${sharedSignal}`);
      assert.equal(pool.activeCount + pool.pendingCount, 0);
      assert.equal(getEventListeners(first.signal, 'abort').length + getEventListeners(second.signal, 'abort').length, 0);
    }
  }
});
