'use strict';
// Pool: signal, timeout, priority, maxQueue, waits, clear, stats, lazy map, deadlock detection,
// bad input, and hygiene (listeners, handles, unhandled rejections).

const test = require('node:test');
const assert = require('node:assert/strict');
const {AsyncLocalStorage} = require('node:async_hooks');
const {getEventListeners} = require('node:events');
const {Pool, QueueFullError, DeadlockError} = require('..');
const {delay, ticks, stateOf, deferred, runScript, noUnhandledRejections, floorGrowthInChild} = require('./helpers');

test('run: calls task({signal}) asynchronously and resolves with its value', async () => {
  const pool = new Pool({concurrency: 2});
  let called = false;
  let context;
  const p = pool.run(ctx => {
    called = true;
    context = ctx;
    return 42;
  });
  assert.equal(called, false);
  assert.equal(pool.activeCount, 1);
  assert.equal(await p, 42);
  assert.deepEqual(Object.keys(context), ['signal']);
  assert.equal(typeof context.drop, 'function', 'drop() is there, and works detached');
  assert.equal(context.signal, undefined);
  const ac = new AbortController();
  await pool.run(({signal}) => assert.equal(signal, ac.signal), {signal: ac.signal});
  await assert.rejects(pool.run(() => Promise.reject(new Error('no'))), {message: 'no'});
  await assert.rejects(
    pool.run(() => {
      throw new TypeError('sync');
    }),
    TypeError,
  );
  assert.equal(pool.activeCount, 0);
});

test('priority: higher first, FIFO within a priority', async () => {
  const pool = new Pool({concurrency: 1});
  const order = [];
  const gate = deferred();
  const first = pool.run(() => gate.promise);
  const tasks = [
    ['low-a', 0],
    ['high-a', 5],
    ['low-b', 0],
    ['high-b', 5],
    ['neg', -1],
    ['top', 9],
  ].map(([name, priority]) => pool.run(() => order.push(name), {priority}));
  assert.equal(pool.pendingCount, 6);
  gate.resolve();
  await Promise.all([first, ...tasks]);
  assert.deepEqual(order, ['top', 'high-a', 'high-b', 'low-a', 'low-b', 'neg']);
});

test('signal: an already-aborted signal rejects with its reason; the task never runs', async () => {
  const pool = new Pool({concurrency: 1});
  let ran = false;
  const reason = new Error('already');
  await assert.rejects(
    pool.run(() => (ran = true), {signal: AbortSignal.abort(reason)}),
    e => e === reason,
  );
  await ticks();
  assert.equal(ran, false);
  assert.equal(pool.activeCount + pool.pendingCount, 0);
});

test('signal: aborting a queued task removes it', async () => {
  const pool = new Pool({concurrency: 1});
  const gate = deferred();
  const running = pool.run(() => gate.promise);
  const ac = new AbortController();
  let ran = false;
  const queued = pool.run(() => (ran = true), {signal: ac.signal});
  const after = pool.run(() => 'after');
  assert.equal(pool.pendingCount, 2);
  ac.abort(new Error('stop'));
  assert.equal(pool.pendingCount, 1);
  await assert.rejects(queued, {message: 'stop'});
  gate.resolve('first');
  assert.equal(await running, 'first');
  assert.equal(await after, 'after');
  assert.equal(ran, false);
});

test('signal: aborting a running task rejects it at once and frees its slot', async () => {
  const pool = new Pool({concurrency: 1});
  const ac = new AbortController();
  let sawAbort = false;
  const slow = pool.run(
    ({signal}) =>
      new Promise(resolve => {
        signal.addEventListener('abort', () => {
          sawAbort = true;
          setTimeout(resolve, 20, 'late result, ignored');
        });
      }),
    {signal: ac.signal},
  );
  const next = pool.run(() => 'next');
  await ticks();
  ac.abort(new Error('cancel'));
  await assert.rejects(slow, {message: 'cancel'});
  assert.equal(sawAbort, true);
  assert.equal(await next, 'next', 'the slot was freed while the aborted task still ran');
  await delay(40);
  assert.equal(pool.activeCount, 0);
  assert.equal(pool.stats().failed, 1);
});

test('signal: aborting between the gate opening and the task starting frees the slot', async () => {
  const pool = new Pool({concurrency: 1});
  const gate = deferred();
  const first = pool.run(() => gate.promise);
  const ac = new AbortController();
  let ran = false;
  const second = pool.run(() => (ran = true), {signal: ac.signal});
  gate.resolve();
  await first;
  // The second task's gate has opened (it holds the slot) but it may not have been called yet.
  ac.abort(new Error('late abort'));
  await assert.rejects(second, {message: 'late abort'});
  assert.equal(await pool.run(() => 'third'), 'third');
  assert.equal(pool.activeCount, 0);
  assert.equal(typeof ran, 'boolean');
});

test('timeout: aborts the task’s signal and rejects with a TimeoutError DOMException', async () => {
  const pool = new Pool({concurrency: 1});
  let seenReason;
  const p = pool.run(
    ({signal}) =>
      new Promise((_, reject) => {
        signal.addEventListener('abort', () => {
          seenReason = signal.reason;
          reject(signal.reason);
        });
      }),
    {timeout: 30},
  );
  const next = pool.run(() => 'next');
  await assert.rejects(p, e => e instanceof DOMException && e.name === 'TimeoutError');
  assert.equal(seenReason.name, 'TimeoutError');
  assert.equal(await next, 'next');
  // A pool-wide default, overridable per task.
  const strict = new Pool({concurrency: 2, timeout: 20});
  await assert.rejects(strict.run(() => delay(2000)), {name: 'TimeoutError'});
  assert.equal(await strict.run(() => delay(40).then(() => 'ok'), {timeout: 5000}), 'ok');
  assert.equal(await strict.run(() => 'no timer', {timeout: Infinity}), 'no timer');
});

test('timeout and signal together: the task sees the user’s abort reason', async () => {
  const pool = new Pool({concurrency: 1});
  const ac = new AbortController();
  let seen;
  const p = pool.run(({signal}) => new Promise(() => signal.addEventListener('abort', () => (seen = signal.reason))), {
    signal: ac.signal,
    timeout: 10_000,
  });
  await ticks();
  ac.abort(new Error('user'));
  await assert.rejects(p, {message: 'user'});
  assert.equal(seen.message, 'user');
});

test('maxQueue: a hard cap that rejects at once with a clear error', async () => {
  const pool = new Pool({concurrency: 1, maxQueue: 2});
  const gate = deferred();
  const ps = [pool.run(() => gate.promise), pool.run(() => 1), pool.run(() => 2)];
  await assert.rejects(pool.run(() => 3), e => e instanceof QueueFullError && e instanceof RangeError && /maxQueue: 2/.test(e.message));
  gate.resolve();
  await Promise.all(ps);
  const zero = new Pool({concurrency: 1, maxQueue: 0});
  const g2 = deferred();
  const a = zero.run(() => g2.promise);
  await assert.rejects(zero.run(() => 1), {code: 'ASYNC_SHAPE_QUEUE_FULL'});
  g2.resolve();
  await a;
});

test('onIdle, onEmpty, onSizeLessThan', async () => {
  const pool = new Pool({concurrency: 1});
  await pool.onIdle();
  await pool.onEmpty();
  const gates = [deferred(), deferred(), deferred()];
  const ps = gates.map(g => pool.run(() => g.promise));
  const idle = pool.onIdle();
  const empty = pool.onEmpty();
  const lessThan2 = pool.onSizeLessThan(2);
  assert.equal(await stateOf(lessThan2), 'pending');
  gates[0].resolve();
  await ticks();
  assert.equal(await stateOf(lessThan2), 'fulfilled');
  assert.equal(await stateOf(empty), 'pending');
  gates[1].resolve();
  await ticks();
  assert.equal(await stateOf(empty), 'fulfilled');
  assert.equal(await stateOf(idle), 'pending');
  gates[2].resolve();
  await Promise.all(ps);
  await idle;
  await assert.rejects(pool.onSizeLessThan(0), TypeError);
});

test('clear: rejects what is queued, leaves what runs', async () => {
  const pool = new Pool({concurrency: 1});
  const gate = deferred();
  const running = pool.run(() => gate.promise);
  const a = pool.run(() => 'a');
  const b = pool.run(() => 'b');
  pool.clear();
  assert.equal(pool.pendingCount, 0);
  await assert.rejects(a, e => e instanceof DOMException && e.name === 'AbortError');
  await assert.rejects(b, {name: 'AbortError'});
  const reason = new Error('shutdown');
  const c = pool.run(() => 'c');
  pool.clear(reason);
  await assert.rejects(c, e => e === reason);
  gate.resolve('ran');
  assert.equal(await running, 'ran');
});

test('concurrency: get and set, raising starts queued tasks', async () => {
  const pool = new Pool({concurrency: 1});
  assert.equal(pool.concurrency, 1);
  assert.equal(new Pool().concurrency, Infinity);
  const gates = [deferred(), deferred(), deferred()];
  const ps = gates.map(g => pool.run(() => g.promise));
  assert.equal(pool.activeCount, 1);
  pool.concurrency = 3;
  await ticks();
  assert.equal(pool.activeCount, 3);
  assert.throws(() => {
    pool.concurrency = 0;
  }, /Expected `concurrency` to be an integer from 1 and up or `Infinity`, got `0` \(number\)/);
  gates.forEach(g => g.resolve());
  await Promise.all(ps);
});

test('stats: counts, latency, and Little’s law', async () => {
  const pool = new Pool({concurrency: 4});
  await Promise.all(Array.from({length: 40}, (_, i) => pool.run(() => delay(10)).then(() => (i % 10 === 0 ? Promise.reject(new Error('x')) : i)).catch(() => {})));
  await assert.rejects(pool.run(() => Promise.reject(new Error('fail'))));
  const s = pool.stats();
  assert.equal(s.completed, 40);
  assert.equal(s.failed, 1);
  assert.equal(s.active, 0);
  assert.equal(s.concurrency, 4);
  assert.ok(s.throughput > 0);
  assert.ok(s.latency.p50 >= 5, `p50 ${s.latency.p50}`);
  assert.ok(s.latency.p99 >= s.latency.p50 && s.latency.max >= s.latency.p99);
  assert.ok(s.meanInFlight > 0 && s.meanInFlight <= 4);
  // Little's law: λ·W equals the time-averaged number in flight over the same window.
  assert.ok(Math.abs(s.littleConcurrency - s.meanInFlight) / s.meanInFlight < 0.05, JSON.stringify(s));
  const reset = pool.stats({reset: true});
  assert.equal(reset.completed, 40);
  assert.equal(pool.stats().completed, 0);
});

test('map: input order, index, lazy pulling with bounded read-ahead', async () => {
  const pool = new Pool({concurrency: 3});
  let pulled = 0;
  let done = 0;
  let maxAhead = 0;
  function* items() {
    for (let i = 0; i < 50; i++) {
      pulled++;
      maxAhead = Math.max(maxAhead, pulled - done);
      yield i;
    }
  }
  const results = await pool.map(items(), async (x, index) => {
    await delay((x * 7) % 5);
    done++;
    return [x, index];
  });
  assert.deepEqual(results, Array.from({length: 50}, (_, i) => [i, i]));
  assert.ok(maxAhead <= 4, `read ${maxAhead} items ahead of completion at concurrency 3`);
});

test('map: async iterables, and a pull that never reads the whole input', async () => {
  const pool = new Pool({concurrency: 2});
  async function* source() {
    for (let i = 0; i < 5; i++) {
      await delay(1);
      yield i;
    }
  }
  assert.deepEqual(await pool.map(source(), x => x * 2), [0, 2, 4, 6, 8]);
  let returned = false;
  let pulled = 0;
  const infinite = {
    [Symbol.iterator]() {
      return {
        next: () => ({done: false, value: pulled++}),
        return: () => {
          returned = true;
          return {done: true};
        },
      };
    },
  };
  const error = new Error('stop at 10');
  await assert.rejects(
    pool.map(infinite, async x => {
      await delay(1);
      if (x === 10) throw error;
      return x;
    }),
    e => e === error,
  );
  assert.equal(returned, true, 'the source was closed');
  assert.ok(pulled < 20, `pulled ${pulled}`);
});

test('map: stopOnError aborts the mappers’ signal; stopOnError false aggregates in input order', async () => {
  const pool = new Pool({concurrency: 4});
  const aborted = [];
  await assert.rejects(
    pool.map([0, 1, 2, 3], async (x, _i, {signal}) => {
      if (x === 1) throw new Error('one');
      await new Promise(resolve => signal.addEventListener('abort', resolve));
      aborted.push(x);
    }),
    {message: 'one'},
  );
  await ticks();
  assert.deepEqual(aborted.sort(), [0, 2, 3]);
  const err = await pool
    .map(
      [3, 0, 2, 1],
      async x => {
        await delay(x * 5);
        if (x !== 2) throw new Error(`e${x}`);
        return x;
      },
      {stopOnError: false},
    )
    .catch(e => e);
  assert.ok(err instanceof AggregateError);
  assert.deepEqual(
    err.errors.map(e => e.message),
    ['e3', 'e0', 'e1'],
  );
});

test('map: the outer signal rejects with its reason and stops reading', async () => {
  const pool = new Pool({concurrency: 1});
  const ac = new AbortController();
  let pulled = 0;
  function* items() {
    for (;;) yield pulled++;
  }
  const q = pool.map(items(), () => delay(5), {signal: ac.signal});
  setTimeout(() => ac.abort(new Error('enough')), 20);
  await assert.rejects(q, {message: 'enough'});
  const pulledAtAbort = pulled;
  await delay(30);
  assert.equal(pulled, pulledAtAbort, 'nothing is read after the abort');
  assert.ok(pulled < 100);
  assert.equal(pool.activeCount + pool.pendingCount, 0);
  await assert.rejects(pool.map([1], x => x, {signal: AbortSignal.abort(new Error('pre'))}), {message: 'pre'});
});

test('detectDeadlock: a task that would wait forever on its own pool rejects', async () => {
  const pool = new Pool({concurrency: 2, detectDeadlock: true});
  const outer = [1, 2].map(i =>
    pool.run(async () => {
      await delay(5);
      return pool.run(() => `inner ${i}`);
    }),
  );
  const results = await Promise.allSettled(outer);
  const errors = results.filter(r => r.status === 'rejected').map(r => r.reason);
  assert.ok(errors.length >= 1, 'at least the task that closed the cycle rejects');
  assert.ok(errors.every(e => e instanceof DeadlockError && e.code === 'ASYNC_SHAPE_DEADLOCK'));
  // Nested use that cannot deadlock passes: a free slot remains.
  const roomy = new Pool({concurrency: 3, detectDeadlock: true});
  const ok = await Promise.all([1, 2].map(i => roomy.run(() => roomy.run(() => i))));
  assert.deepEqual(ok, [1, 2]);
});

test('async context: the task sees the run() caller’s store', async () => {
  const pool = new Pool({concurrency: 2});
  const store = new AsyncLocalStorage();
  const bad = [];
  await Promise.all(
    Array.from({length: 50}, (_, id) =>
      store.run({id}, () =>
        pool.run(async () => {
          await Promise.resolve();
          if (store.getStore()?.id !== id) bad.push(id);
        }),
      ),
    ),
  );
  assert.deepEqual(bad, []);
});

test('bad input: clear errors that name the argument', async () => {
  assert.throws(() => new Pool({concurrency: 0}), {name: 'TypeError', message: /`concurrency`.*got `0` \(number\)/});
  assert.throws(() => new Pool({concurrency: '4'}), {message: /got `"4"` \(string\)/});
  assert.throws(() => new Pool({maxQueue: -1}), {message: /`maxQueue`/});
  assert.throws(() => new Pool({timeout: -5}), {name: 'RangeError', message: /`timeout`/});
  assert.throws(() => new Pool({detectDeadlock: 'yes'}), {message: /`detectDeadlock`/});
  assert.throws(() => new Pool(null), {message: /`options` to be an object/});
  const pool = new Pool({concurrency: 1});
  await assert.rejects(pool.run('nope'), {name: 'TypeError', message: /`task` to be a function, got `"nope"` \(string\)/});
  await assert.rejects(pool.run(() => 1, {priority: 1.5}), {message: /`priority`/});
  await assert.rejects(pool.run(() => 1, {signal: {}}), {message: /`signal` to be an AbortSignal/});
  await assert.rejects(pool.run(() => 1, {timeout: 'soon'}), {message: /`timeout`/});
  await assert.rejects(pool.map(42, x => x), {message: /`input` to be an Iterable or AsyncIterable/});
  await assert.rejects(pool.map([1]), {message: /`mapper` to be a function/});
  await assert.rejects(pool.map([1], x => x, {stopOnError: 1}), {message: /`stopOnError`/});
  assert.throws(() => pool.stats({reset: 'yes'}), {message: /`reset`/});
  assert.equal(pool.activeCount + pool.pendingCount, 0, 'bad calls leave no trace');
});

test('10,000 tasks on one signal: one listener, none left, no MaxListeners warning', async () => {
  const warnings = [];
  const onWarning = w => warnings.push(w);
  process.on('warning', onWarning);
  const pool = new Pool({concurrency: 16});
  const ac = new AbortController();
  const ps = Array.from({length: 10_000}, (_, i) => pool.run(() => i, {signal: ac.signal, timeout: 60_000}));
  assert.equal(getEventListeners(ac.signal, 'abort').length, 1);
  await Promise.all(ps);
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
  // Combinators of the pool reuse the same rule: map's internal signal and the user's.
  await pool.map(Array.from({length: 1000}, (_, i) => i), x => x, {signal: ac.signal});
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
  await ticks();
  process.off('warning', onWarning);
  assert.deepEqual(warnings.filter(w => w.name === 'MaxListenersExceededWarning'), []);
});

test('internals cause no unhandledRejection (abort, timeout, clear, map, deadlock)', async () => {
  const {status, stdout, stderr} = runScript(`
    const {Pool} = require('.');
    const seen = [];
    process.on('unhandledRejection', r => seen.push(String(r && r.message)));
    (async () => {
      const pool = new Pool({concurrency: 1, detectDeadlock: true});
      const ac = new AbortController();
      const all = [];
      all.push(pool.run(() => new Promise(r => setTimeout(r, 30)), {signal: ac.signal}));
      all.push(pool.run(() => 1, {signal: ac.signal}));
      all.push(pool.run(() => new Promise(() => {}), {timeout: 5}));
      all.push(pool.run(() => 2));
      ac.abort(new Error('abort'));
      pool.clear(new Error('clear'));
      all.push(pool.map([1, 2, 3], async x => { if (x === 2) throw new Error('map'); return x; }));
      all.push(pool.run(() => pool.run(() => 3)));
      await Promise.allSettled(all);
      await new Promise(r => setTimeout(r, 50));
      console.log(JSON.stringify(seen));
    })();
  `);
  assert.equal(status, 0, stderr);
  assert.deepEqual(JSON.parse(stdout), []);
});

test('no handle keeps the process alive once the pool is idle', () => {
  const {status, stderr, ms} = runScript(
    `
    const {Pool, pLimit} = require('.');
    const pool = new Pool({concurrency: 2, timeout: 600000});
    const limit = pLimit(2);
    (async () => {
      await Promise.all([1, 2, 3].map(x => pool.run(() => x, {timeout: 600000})));
      await Promise.all([1, 2, 3].map(x => limit(() => x)));
      await pool.map([1, 2, 3], x => x);
      // Never settles, without a timeout: holds no handle either.
      pool.run(() => new Promise(() => {}), {timeout: Infinity});
    })();
  `,
    {timeout: 20_000},
  );
  assert.equal(status, 0, stderr);
  assert.ok(ms < 15_000, `exited after ${ms} ms`);
});

test('a running task with a timeout does keep the process alive until it expires', () => {
  const {status, stdout, stderr} = runScript(`
    const {Pool} = require('.');
    new Pool().run(() => new Promise(() => {}), {timeout: 300})
      .catch(e => console.log(e.name));
  `);
  assert.equal(status, 0, stderr);
  assert.equal(stdout.trim(), 'TimeoutError');
});

test('a million pool tasks: memory stays flat', {timeout: 180_000}, () => {
  const {growth, samples, report} = floorGrowthInChild(`
    const pool = new (require('async-shape').Pool)({concurrency: 16});
    const batch = async () => {
      const ps = new Array(100_000);
      for (let i = 0; i < ps.length; i++) ps[i] = pool.run(() => Promise.resolve(i));
      await Promise.all(ps);
    };
    const report = () => pool.stats().completed;
  `);
  const mib = (growth / 1048576).toFixed(1);
  assert.ok(growth < 4 * 1024 * 1024, `floor grew ${mib} MiB over 1,100,000 tasks; MiB after each batch: ${samples.join(' ')}`);
  assert.equal(report, 1_100_000);
});

test('unhandled-rejection guard helper sees nothing here', async () => {
  const seen = await noUnhandledRejections(async () => {
    const pool = new Pool({concurrency: 1});
    await assert.rejects(pool.run(() => Promise.reject(new Error('handled'))));
  });
  assert.deepEqual(seen, []);
});

test('map shares the pool: items queue behind other tasks, and an abort frees their places', async () => {
  const pool = new Pool({concurrency: 2});
  const gates = [deferred(), deferred()];
  const busy = gates.map(g => pool.run(() => g.promise));
  const ac = new AbortController();
  const order = [];
  const mapped = pool.map([1, 2, 3], x => order.push(x), {signal: ac.signal});
  await ticks();
  assert.equal(pool.pendingCount, 2, 'two items wait behind the busy tasks (read-ahead = concurrency)');
  ac.abort(new Error('stop'));
  await assert.rejects(mapped, {message: 'stop'});
  assert.equal(pool.pendingCount, 0);
  gates.forEach(g => g.resolve());
  await Promise.all(busy);
  assert.deepEqual(order, []);
  assert.deepEqual(await pool.map([1, 2, 3], x => x * 2), [2, 4, 6]);
  const s = pool.stats();
  assert.equal(s.completed, 5);
  assert.equal(pool.activeCount + pool.pendingCount, 0);
});

test('map on a pool with a default timeout times out its items', async () => {
  const pool = new Pool({concurrency: 2, timeout: 30});
  assert.deepEqual(await pool.map([1, 2], async x => x), [1, 2]);
  await assert.rejects(
    pool.map([1, 2], (x, _i, {signal}) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)))),
    {name: 'TimeoutError'},
  );
});

test('clear() reaches Pool#map items queued behind other tasks: the map rejects, nothing hangs', async () => {
  const pool = new Pool({concurrency: 1});
  const gate = deferred();
  const busy = pool.run(() => gate.promise);
  const mapped = pool.map([1, 2, 3], x => x * 2);
  const lenient = pool.map([4, 5], x => x, {stopOnError: false});
  await ticks();
  assert.ok(pool.pendingCount >= 2);
  const reason = new Error('cleared');
  // An abort listener that submits at once may reuse the freed slots: the cleared items must not
  // touch them.
  pool.clear(reason);
  const late = pool.run(() => 'late');
  await assert.rejects(mapped, e => e === reason);
  // Without stopOnError the other map goes on with its next item, which queues behind `busy`.
  gate.resolve();
  await busy;
  const aggregate = await lenient.catch(e => e);
  assert.ok(aggregate instanceof AggregateError);
  assert.deepEqual(aggregate.errors, [reason], 'only the cleared item failed');
  assert.equal(await late, 'late');
  assert.equal(pool.activeCount + pool.pendingCount, 0);
  assert.deepEqual(await pool.map([1, 2], x => x + 1), [2, 3], 'the pool still works');
});

// Issue 11: one identity per task. Each of these was a timing window in which a slot freed by an
// abort was reused while a stale start still referred to it.

test('regression: an abort between a slot freeing and the queued task’s start never runs a task twice', async () => {
  const pool = new Pool({concurrency: 1});
  const ac = new AbortController();
  let calls = 0;
  const a = pool.run(() => new Promise(() => {}), {signal: ac.signal});
  const b = pool.run(() => 'B', {signal: ac.signal});
  ac.abort();
  const c = pool.run(async () => {
    calls++;
    await ticks(1);
    return 'C';
  });
  await assert.rejects(a, {name: 'AbortError'});
  await assert.rejects(b, {name: 'AbortError'});
  assert.equal(await c, 'C');
  await ticks();
  assert.equal(calls, 1);
  assert.equal(pool.activeCount + pool.pendingCount, 0);
});

test('regression: a queued task never runs while counted as queued, and activeCount returns to 0', async () => {
  const pool = new Pool({concurrency: 1});
  const ac = new AbortController();
  const x = pool.run(() => new Promise(() => {}), {signal: ac.signal});
  const a = pool.run(() => 'A', {signal: ac.signal});
  ac.abort();
  const blocker = deferred();
  const y = pool.run(() => blocker.promise);
  const seen = [];
  const d = pool.run(() => {
    seen.push({active: pool.activeCount, pending: pool.pendingCount});
    return 'D';
  });
  await Promise.allSettled([x, a]);
  await ticks();
  assert.deepEqual(seen, [], 'D waits for the one slot, which Y holds');
  assert.equal(pool.pendingCount, 1);
  blocker.resolve('Y');
  assert.equal(await y, 'Y');
  assert.equal(await d, 'D');
  assert.deepEqual(seen, [{active: 1, pending: 0}]);
  await ticks();
  assert.equal(pool.activeCount, 0);
  await pool.onIdle();
});

test('regression: Pool#map settles after pool.clear() even when its item reuses a stale slot', async () => {
  const pool = new Pool({concurrency: 2});
  const ac0 = new AbortController();
  const ac1 = new AbortController();
  const acMap = new AbortController();
  const busy0 = pool.run(() => new Promise(() => {}), {signal: ac0.signal});
  const busy1 = pool.run(() => new Promise(() => {}), {signal: ac1.signal});
  const settled = Promise.allSettled([busy0, busy1]);
  const calls = [];
  const m1 = pool.map([1], x => calls.push(x), {signal: acMap.signal});
  // busy0's slot frees: m1's item takes it (its start is a microtask away).
  ac0.abort();
  const blocker = pool.run(() => new Promise(() => {}), {signal: ac1.signal});
  blocker.catch(() => {});
  m1.catch(() => {});
  // m1 rejects and gives its item's slot up: the blocker starts.
  acMap.abort(new Error('map aborted'));
  const m2 = pool.map([2], x => calls.push(x));
  await ticks();
  const reason = new Error('cleared');
  pool.clear(reason);
  await assert.rejects(m1, {message: 'map aborted'});
  await assert.rejects(m2, e => e === reason);
  assert.deepEqual(calls, [], 'no mapper ran: neither map’s item ever had a slot to itself');
  ac1.abort();
  await Promise.allSettled([settled, blocker]);
  await ticks();
  assert.equal(pool.activeCount + pool.pendingCount, 0);
  assert.deepEqual(await pool.map([1, 2], x => x * 3), [3, 6]);
});

test('regression: a map item’s mapper is never called after its map rejected', async () => {
  const pool = new Pool({concurrency: 2});
  const ac = new AbortController();
  const acMap = new AbortController();
  const busy = [pool.run(() => new Promise(() => {}), {signal: ac.signal}), pool.run(() => new Promise(() => {}), {signal: ac.signal})];
  const busySettled = Promise.allSettled(busy);
  let rejected = false;
  const late = [];
  const mapped = pool.map(
    [1, 2, 3, 4],
    x => {
      if (rejected) late.push(x);
      return new Promise(() => {});
    },
    {signal: acMap.signal},
  );
  mapped.catch(() => {
    rejected = true;
  });
  // Both slots free at once: two items' gates open, their starts a microtask away.
  ac.abort();
  acMap.abort(new Error('stop'));
  rejected = true;
  // New work reuses the freed slots right away.
  const after = [pool.run(() => 'a'), pool.run(() => 'b'), pool.map([5, 6], x => x)];
  await assert.rejects(mapped, {message: 'stop'});
  await busySettled;
  assert.deepEqual(await Promise.all(after), ['a', 'b', [5, 6]]);
  await ticks();
  assert.deepEqual(late, []);
  assert.equal(pool.activeCount + pool.pendingCount, 0);
});

test('regression: pool.clear() during a map leaves nothing hanging, and the waits resolve', async () => {
  const pool = new Pool({concurrency: 1});
  const gate = deferred();
  const busy = pool.run(() => gate.promise);
  const idle = pool.onIdle();
  const empty = pool.onEmpty();
  const mapped = pool.map([1, 2, 3], x => x);
  const lenient = pool.map([4, 5, 6], x => x, {stopOnError: false});
  await ticks();
  pool.clear();
  await assert.rejects(mapped, {name: 'AbortError'});
  // The lenient map goes on: its next item queues behind `busy`.
  gate.resolve();
  await busy;
  const error = await lenient.catch(e => e);
  assert.ok(error instanceof AggregateError);
  assert.equal(error.errors.length, 1);
  await empty;
  await idle;
  assert.equal(pool.activeCount + pool.pendingCount, 0);
});

test('regression: raising the concurrency with a queue starts it in priority order and resolves onEmpty', async () => {
  const pool = new Pool({concurrency: 1});
  const gate = deferred();
  const busy = pool.run(() => gate.promise);
  const order = [];
  const ps = [3, 1, 2, 3, 1].map((priority, i) => pool.run(() => order.push(`${priority}:${i}`), {priority}));
  const empty = pool.onEmpty();
  pool.concurrency = 10;
  await empty;
  assert.deepEqual(order, ['3:0', '3:3', '2:2', '1:1', '1:4']);
  gate.resolve();
  await Promise.all([busy, ...ps]);
});

test('pool.stream: a concurrency of null is a TypeError naming `concurrency`', () => {
  const pool = new Pool({concurrency: 2});
  for (const concurrency of [null, 0, 1.5, '2', Number.NaN]) {
    assert.throws(() => pool.stream([1], x => x, {concurrency}), {name: 'TypeError', message: /`concurrency`/});
  }
  assert.ok(pool.stream([1], x => x, {concurrency: undefined}));
});

test('regression: a stale start never reaches a later task, however many times its slot is reused (no token wrap)', {timeout: 180_000}, () => {
  // In a child: 2^21 run/clear cycles, without the test runner's async hooks on every promise.
  const {status, stdout, stderr} = runScript(
    `
    const assert = require('node:assert/strict');
    const {Pool} = require('.');
    const noop = () => {};
    const turn = () => new Promise(resolve => setImmediate(resolve));
    (async () => {
      const pool = new Pool({concurrency: 2});
      let releaseHolder, releaseSecond;
      const holder = pool.run(() => new Promise(r => (releaseHolder = r)));
      const second = pool.run(() => new Promise(r => (releaseSecond = r)));
      const acX = new AbortController();
      let xCalls = 0, yCalls = 0, y;
      const x = pool.run(() => { xCalls++; }, {signal: acX.signal});
      x.catch(noop);
      await turn();
      const wrapped = second.then(() => {
        // X's gate has opened (it holds its slot in the core); its start is a microtask away.
        // Abort it, then reuse its slot 2^21 times before that start runs.
        acX.abort(new Error('abort X'));
        pool.concurrency = 1;
        const reason = new Error('cleared');
        for (let i = 0; i < 2 ** 21; i++) {
          pool.run(noop).catch(noop);
          pool.clear(reason);
        }
        y = pool.run(() => { yCalls++; return 'Y'; });
      });
      releaseSecond();
      await wrapped;
      for (let i = 0; i < 3; i++) await turn();
      assert.equal(xCalls, 0, 'the aborted task never runs');
      assert.equal(yCalls, 0, 'Y waits for the one slot, which the holder has');
      assert.deepEqual([pool.activeCount, pool.pendingCount], [1, 1]);
      await assert.rejects(x, {message: 'abort X'});
      releaseHolder();
      await holder;
      assert.equal(await y, 'Y');
      assert.equal(yCalls, 1);
      await pool.onIdle();
      assert.deepEqual([pool.activeCount, pool.pendingCount], [0, 0]);
      console.log('ok');
    })().catch(error => { console.error(error); process.exitCode = 1; });
  `,
    {timeout: 170_000},
  );
  assert.equal(status, 0, stderr);
  assert.equal(stdout.trim(), 'ok');
});

test('regression: Pool#map drops an item read after its map rejected (the input aborts or clears)', async () => {
  // The input aborts the map's signal while yielding: the yielded item is dropped, as p-map does.
  const pool = new Pool({concurrency: 1});
  const ac = new AbortController();
  const calls = [];
  function* aborting() {
    yield 1;
    ac.abort(new Error('stop'));
    yield 2;
    yield 3;
  }
  const mapped = pool.map(aborting(), (x, i, {signal}) => calls.push([x, signal.aborted]), {signal: ac.signal});
  await assert.rejects(mapped, {message: 'stop'});
  await ticks();
  assert.deepEqual(calls, [[1, false]]);

  // The input clears the pool while an item of the map is queued: the map rejects, the item read
  // meanwhile is never mapped, and nothing stays behind.
  const busy = new Pool({concurrency: 3});
  const release = [];
  const holders = [busy.run(() => new Promise(r => release.push(r))), busy.run(() => new Promise(r => release.push(r)))];
  let rejected = false;
  const late = [];
  function* clearing() {
    yield 1;
    yield 2;
    busy.clear(new Error('cleared'));
    yield 3;
    yield 4;
  }
  const cleared = busy.map(clearing(), x => {
    if (rejected) late.push(x);
    return ticks(1).then(() => x);
  });
  await assert.rejects(
    cleared.finally(() => {
      rejected = true;
    }),
    {message: 'cleared'},
  );
  for (const r of release) r();
  await Promise.all(holders);
  await busy.onIdle();
  await ticks();
  assert.deepEqual(late, []);
  assert.deepEqual([busy.activeCount, busy.pendingCount], [0, 0]);

  // The same through an async input and through stream().
  const ac2 = new AbortController();
  const seen = [];
  async function* asyncAborting() {
    yield 1;
    ac2.abort(new Error('async stop'));
    yield 2;
  }
  await assert.rejects(pool.map(asyncAborting(), x => seen.push(x), {signal: ac2.signal}), {message: 'async stop'});
  const ac3 = new AbortController();
  function* streamAborting() {
    yield 1;
    ac3.abort(new Error('stream stop'));
    yield 2;
  }
  await assert.rejects(async () => {
    for await (const v of pool.stream(streamAborting(), x => seen.push(x * 10), {signal: ac3.signal})) assert.ok(v);
  }, {message: 'stream stop'});
  await ticks();
  assert.deepEqual(seen, [1, 10]);
});

test('regression: detectDeadlock rejects a nested wait chain (run(() => run(() => run(…))))', async () => {
  const pool = new Pool({concurrency: 2, detectDeadlock: true});
  await assert.rejects(
    pool.run(() => pool.run(() => pool.run(() => 'deep'))),
    e => e instanceof DeadlockError,
  );
  await pool.onIdle();
  assert.deepEqual([pool.activeCount, pool.pendingCount], [0, 0]);
  // Three deep on a pool of 3.
  const three = new Pool({concurrency: 3, detectDeadlock: true});
  await assert.rejects(three.run(() => three.run(() => three.run(() => three.run(() => 'deeper')))), DeadlockError);
  // A chain that fits runs; an unrelated running task keeps the pool out of deadlock.
  assert.equal(await three.run(() => three.run(() => three.run(() => 'fits'))), 'fits');
  const gate = deferred();
  const other = pool.run(() => gate.promise);
  const nested = pool.run(() => pool.run(() => 'inner'));
  await ticks();
  assert.deepEqual([pool.activeCount, pool.pendingCount], [2, 1], 'inner waits for `other`: not a deadlock');
  gate.resolve('other');
  assert.deepEqual(await Promise.all([other, nested]), ['other', 'inner']);
});

test('maxQueue bounds run() only: map and stream items never get a QueueFullError', async () => {
  for (const options of [{}, {timeout: 60_000}]) {
    const pool = new Pool({concurrency: 1, maxQueue: 0, ...options});
    const gate = deferred();
    const busy = pool.run(() => gate.promise);
    await assert.rejects(pool.run(() => 1), QueueFullError);
    const mapped = pool.map([1, 2, 3], x => x * 2);
    const streamed = (async () => {
      const out = [];
      for await (const v of pool.stream([1, 2, 3], x => x * 3, {concurrency: 2})) out.push(v);
      return out;
    })();
    await ticks();
    assert.ok(pool.pendingCount >= 1, 'their items wait in the queue');
    await assert.rejects(pool.run(() => 1), QueueFullError, 'and count toward run()’s cap');
    gate.resolve();
    assert.deepEqual(await Promise.all([busy, mapped, streamed]), [undefined, [2, 4, 6], [3, 6, 9]]);
    await pool.onIdle();
  }
});

test('the native pool functions throw instead of crashing on wrong arguments', () => {
  const {createPool} = require('../lib/internal/native');
  const core = createPool(1, true, undefined, undefined);
  for (const name of Object.keys(core)) {
    for (const args of [[], [Symbol('s'), {}], ['x', -1, null], [2 ** 64, Number.NaN]]) {
      try {
        const result = core[name](...args);
        if (result instanceof Promise) result.catch(() => {});
      } catch (error) {
        assert.ok(error instanceof Error, `${name} threw ${error}`);
      }
    }
  }
  assert.throws(() => core.stats('yes'), {name: 'TypeError', message: /`reset`/});
  const fresh = createPool(2, true, undefined, undefined);
  assert.equal(fresh.active(), 0);
  assert.equal(typeof fresh.stats(false).completed, 'number');
});

test('a throwing onBatch strands nothing: the rest of a drain still starts, then the error is thrown', async () => {
  const {createPool} = require('../lib/internal/native');
  const calls = [];
  const onBatch = id => {
    calls.push(id);
    if (calls.length === 1) throw new Error('boom');
  };
  const core = createPool(1, false, onBatch, undefined);
  assert.equal(core.submitPlain(), undefined, 'the first task runs at once');
  assert.equal(core.submitBatch(7, 2), 0, 'both items wait');
  const gate = core.submitPlain();
  assert.ok(gate instanceof Promise, 'a task waits behind them');
  let opened = false;
  gate.then(() => {
    opened = true;
  });
  core.setConcurrency(4);
  assert.throws(() => core.drain(), /boom/);
  assert.deepEqual(calls, [7, 7], 'the second item started too');
  assert.equal(core.active(), 4);
  assert.equal(core.pending(), 0);
  await null;
  assert.ok(opened, "the task's gate opened");
});

test('a promiseResolve hook that reads the pool while a gate opens finds it consistent', () => {
  // Resolving a gate runs async_hooks' promiseResolve hooks synchronously, inside the native call
  // that freed the slot: the core must not be borrowed then (a hook that throws ends the process).
  const {status, stdout, stderr} = runScript(`
    const {createHook} = require('node:async_hooks');
    const {Pool, pLimit} = require('.');
    const pool = new Pool({concurrency: 1});
    const limit = pLimit(1);
    const seen = [];
    let on = false;
    createHook({
      promiseResolve() {
        if (on) seen.push(pool.activeCount + pool.pendingCount + limit.activeCount + limit.pendingCount);
      },
    }).enable();
    on = true;
    (async () => {
      await Promise.all([
        pool.run(() => 1), pool.run(() => 2), pool.run(() => 3),
        limit(() => 1), limit(() => 2), limit.map([1, 2, 3], x => x),
      ]);
      on = false;
      console.log(JSON.stringify({ok: true, hooks: seen.length > 0}));
    })();
  `);
  assert.equal(status, 0, stderr);
  assert.deepEqual(JSON.parse(stdout), {ok: true, hooks: true});
});
