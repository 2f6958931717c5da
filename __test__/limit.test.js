'use strict';
// pLimit / limitFunction: p-limit 7.3's semantics, checklist by checklist
// (../shared/reference/peers.md, section 4).

const test = require('node:test');
const assert = require('node:assert/strict');
const {AsyncLocalStorage} = require('node:async_hooks');
const {pLimit, limitFunction} = require('..');
const asyncShape = require('..');
const {delay, ticks, stateOf, deferred, runScript, noUnhandledRejections, floorGrowthInChild} = require('./helpers');

const CONCURRENCY_MESSAGE = 'Expected `concurrency` to be a number from 1 and up';

test('module surface: CommonJS named exports and default', () => {
  assert.equal(typeof asyncShape.pLimit, 'function');
  assert.equal(asyncShape.default, asyncShape.pLimit);
  assert.equal(typeof asyncShape.limitFunction, 'function');
});

test('accepts integers from 1 up and Infinity', () => {
  for (const c of [1, 2, 1000, 2 ** 53, Number.MAX_VALUE, Infinity]) {
    assert.equal(pLimit(c).concurrency, c);
    assert.equal(pLimit({concurrency: c}).concurrency, c);
  }
});

test('rejects bad concurrency with p-limit’s TypeError', () => {
  for (const c of [0, -1, 1.5, NaN, '2', true, undefined, 2n, -Infinity, {}]) {
    assert.throws(() => pLimit(c), {name: 'TypeError', message: CONCURRENCY_MESSAGE}, String(c));
  }
  assert.throws(() => pLimit({concurrency: 0}), {name: 'TypeError', message: CONCURRENCY_MESSAGE});
  assert.throws(() => pLimit(null), TypeError);
});

test('rejectOnClear must be a boolean, checked after concurrency', () => {
  assert.throws(() => pLimit({concurrency: 1, rejectOnClear: 'yes'}), {
    name: 'TypeError',
    message: 'Expected `rejectOnClear` to be a boolean',
  });
  assert.throws(() => pLimit({concurrency: 0, rejectOnClear: 'yes'}), {message: CONCURRENCY_MESSAGE});
});

test('returns a fresh native promise, never fn’s own', async () => {
  const limit = pLimit(1);
  const own = Promise.resolve(1);
  const result = limit(() => own);
  assert.ok(result instanceof Promise);
  assert.notEqual(result, own);
  assert.equal(await result, 1);
});

test('fn runs asynchronously, with this undefined and exactly the arguments', async () => {
  const limit = pLimit(5);
  let called = false;
  let seen;
  const p = limit(
    function (...args) {
      called = true;
      seen = {self: this, args};
    },
    'a',
    2,
  );
  assert.equal(called, false, 'not called synchronously even with a free slot');
  await p;
  assert.deepEqual(seen, {self: undefined, args: ['a', 2]});
  await limit((...args) => assert.equal(args.length, 0));
});

test('counters are synchronous (p-limit 7)', async () => {
  const limit = pLimit(2);
  const gates = [deferred(), deferred(), deferred()];
  const ps = gates.map(g => limit(() => g.promise));
  assert.equal(limit.activeCount, 2);
  assert.equal(limit.pendingCount, 1);
  gates.forEach(g => g.resolve());
  await Promise.all(ps);
  assert.equal(limit.activeCount, 0);
  assert.equal(limit.pendingCount, 0);
});

test('adoption: when the caller resumes, the slot is freed and the next task started', async () => {
  const limit = pLimit(5);
  const first = Array.from({length: 5}, () => limit(() => delay(20)));
  const second = Array.from({length: 3}, () => limit(() => delay(200)));
  assert.equal(limit.activeCount, 5);
  assert.equal(limit.pendingCount, 3);
  await Promise.all(first);
  assert.equal(limit.activeCount, 3);
  assert.equal(limit.pendingCount, 0);
  await Promise.all(second);
  assert.equal(limit.activeCount, 0);
});

test('sync throws and non-functions reject, and release the slot', async () => {
  const limit = pLimit(1);
  const error = new Error('boom');
  const a = limit(() => {
    throw error;
  });
  const b = limit('not a function');
  const c = limit(() => 'still runs');
  await assert.rejects(a, error);
  await assert.rejects(b, TypeError);
  assert.equal(await c, 'still runs');
  assert.equal(limit.activeCount, 0);
});

test('thenables are assimilated, calling their then once', async () => {
  const limit = pLimit(1);
  let thenCalls = 0;
  const thenable = {
    then(resolve) {
      thenCalls++;
      setTimeout(() => resolve('from thenable'), 5);
    },
  };
  assert.equal(await limit(() => thenable), 'from thenable');
  assert.equal(thenCalls, 1);
  assert.deepEqual(await limit(() => ({plain: true})), {plain: true});
});

test('strict FIFO start order; a slot frees only when fn settles', async () => {
  const limit = pLimit(2);
  const started = [];
  const gates = Array.from({length: 6}, () => deferred());
  const ps = gates.map((g, i) =>
    limit(async () => {
      started.push(i);
      return g.promise;
    }),
  );
  const settled = Promise.allSettled(ps);
  await ticks();
  assert.deepEqual(started, [0, 1]);
  gates[1].reject(new Error('x'));
  await ticks();
  assert.deepEqual(started, [0, 1, 2]);
  gates[0].resolve();
  await ticks();
  assert.deepEqual(started, [0, 1, 2, 3]);
  gates.forEach(g => g.resolve());
  await settled;
  assert.deepEqual(started, [0, 1, 2, 3, 4, 5]);
});

test('a rejection the caller ignores is an unhandledRejection; internals add none', () => {
  // In a child process: node:test turns any unhandled rejection into a failure of its own.
  const {status, stdout, stderr} = runScript(`
    const {pLimit} = require('.');
    const seen = [];
    process.on('unhandledRejection', reason => seen.push(reason.message));
    const limit = pLimit(1);
    limit(() => Promise.reject(new Error('async')));
    limit(() => { throw new Error('sync'); });
    limit(() => Promise.reject(new Error('handled'))).catch(() => {});
    setTimeout(() => console.log(JSON.stringify(seen.sort())), 50);
  `);
  assert.equal(status, 0, stderr);
  assert.deepEqual(JSON.parse(stdout), ['async', 'sync']);
});

test('clearQueue: queued promises never settle; running ones go on', async () => {
  const limit = pLimit(1);
  const running = limit(() => delay(30).then(() => 'ran'));
  const queued = [limit(() => 1), limit(() => 2), limit(() => 3)];
  await Promise.resolve();
  assert.equal(limit.pendingCount, 3);
  limit.clearQueue();
  assert.equal(limit.pendingCount, 0);
  assert.equal(limit.activeCount, 1);
  assert.equal(await running, 'ran');
  for (const p of queued) assert.equal(await stateOf(p), 'pending');
  // The limit keeps working in order after a clear.
  assert.deepEqual(await Promise.all([limit(() => 'a'), limit(() => 'b')]), ['a', 'b']);
});

test('clearQueue with rejectOnClear: one shared AbortError, FIFO', async () => {
  const limit = pLimit({concurrency: 1, rejectOnClear: true});
  const running = limit(() => delay(20));
  const order = [];
  const queued = [0, 1, 2].map(i =>
    limit(() => 'never').catch(error => {
      order.push(i);
      return error;
    }),
  );
  limit.clearQueue();
  const errors = await Promise.all(queued);
  assert.deepEqual(order, [0, 1, 2]);
  assert.equal(errors[0].name, 'AbortError');
  assert.equal(errors[0].code, 20);
  assert.equal(errors[0].message, 'This operation was aborted');
  assert.ok(errors[0] instanceof DOMException);
  assert.equal(errors[1], errors[0]);
  assert.equal(errors[2], errors[0]);
  await running;
});

test('concurrency setter: validates, raises in a microtask, lowers gently', async () => {
  const limit = pLimit(1);
  assert.throws(() => {
    limit.concurrency = 0;
  }, {message: CONCURRENCY_MESSAGE});
  const started = [];
  const gates = Array.from({length: 4}, () => deferred());
  gates.forEach((g, i) => limit(() => (started.push(i), g.promise)));
  await ticks();
  assert.deepEqual(started, [0]);
  limit.concurrency = 3;
  assert.equal(limit.concurrency, 3);
  assert.equal(limit.activeCount, 1, 'not started synchronously inside the setter');
  await Promise.resolve();
  assert.equal(limit.activeCount, 3);
  await ticks();
  assert.deepEqual(started, [0, 1, 2]);
  limit.concurrency = 1;
  gates[0].resolve();
  gates[1].resolve();
  await ticks();
  assert.deepEqual(started, [0, 1, 2], 'still 1 running, above the new limit of 1');
  gates[2].resolve();
  await ticks();
  assert.deepEqual(started, [0, 1, 2, 3]);
  gates[3].resolve();
});

test('lowering concurrency: the p-limit log', async () => {
  const limit = pLimit(4);
  let running = 0;
  const log = [];
  const ps = Array.from({length: 10}, () =>
    limit(async () => {
      log.push(++running);
      await delay(30);
      running--;
    }),
  );
  await delay(0);
  limit.concurrency = 2;
  await Promise.all(ps);
  assert.deepEqual(log, [1, 2, 3, 4, 2, 2, 2, 2, 2, 2]);
});

test('map: index, order, iterables, detached', async () => {
  const limit = pLimit(2);
  assert.deepEqual(await limit.map([10, 10, 10], async (v, i) => (await delay((3 - i) * 5), v + i)), [10, 11, 12]);
  assert.deepEqual(await limit.map(new Set([1, 2]), x => x * 2), [2, 4]);
  assert.deepEqual(await limit.map([1, 2].values(), x => x * 3), [3, 6]);
  const {map} = limit;
  assert.deepEqual(await map([1], x => x), [1]);
  assert.ok(limit.map([], x => x) instanceof Promise);
});

test('map: an iterable that throws rejects; scheduled tasks still run, nothing unhandled', async () => {
  const limit = pLimit(1);
  const ran = [];
  const error = new Error('iteration failed');
  function* items() {
    yield 1;
    yield 2;
    throw error;
  }
  const seen = await noUnhandledRejections(async () => {
    await assert.rejects(
      limit.map(items(), async x => {
        ran.push(x);
        throw new Error(`mapper ${x}`);
      }),
      error,
    );
    await delay(10);
  });
  assert.deepEqual(ran, [1, 2]);
  assert.deepEqual(seen, []);
});

test('property descriptors match p-limit', () => {
  const limit = pLimit(1);
  for (const key of ['activeCount', 'pendingCount']) {
    const d = Object.getOwnPropertyDescriptor(limit, key);
    assert.equal(typeof d.get, 'function');
    assert.equal(d.set, undefined);
    assert.equal(d.enumerable, false);
    assert.equal(d.configurable, false);
    assert.throws(() => {
      limit[key] = 5;
    }, TypeError);
  }
  const c = Object.getOwnPropertyDescriptor(limit, 'concurrency');
  assert.equal(typeof c.set, 'function');
  assert.equal(c.enumerable, false);
  for (const key of ['clearQueue', 'map']) {
    const d = Object.getOwnPropertyDescriptor(limit, key);
    assert.equal(d.enumerable, false);
    assert.equal(d.writable, false);
  }
  assert.deepEqual(Object.keys(limit), []);
});

test('limitFunction: forwards options, exposes only clearQueue', async () => {
  let running = 0;
  let max = 0;
  const limited = limitFunction(
    async x => {
      max = Math.max(max, ++running);
      await delay(5);
      running--;
      return x * 2;
    },
    {concurrency: 2},
  );
  assert.deepEqual(await Promise.all([1, 2, 3, 4, 5].map(x => limited(x))), [2, 4, 6, 8, 10]);
  assert.equal(max, 2);
  assert.equal(limited.length, 0);
  assert.equal(Object.getOwnPropertyDescriptor(limited, 'clearQueue').enumerable, false);
  assert.equal(limited.activeCount, undefined);
  assert.equal(limited.map, undefined);
  assert.throws(() => limitFunction(async () => {}), {message: CONCURRENCY_MESSAGE});
  assert.equal(await limitFunction(async () => 'n', 1)(), 'n');
});

test('fn sees the AsyncLocalStorage store of its limit() caller', async () => {
  const limit = pLimit(2);
  const store = new AsyncLocalStorage();
  const mismatches = [];
  const check = async id => {
    await Promise.resolve();
    if (store.getStore()?.id !== id) mismatches.push(id);
  };
  await Promise.all(Array.from({length: 100}, (_, id) => store.run({id}, () => limit(check, id))));
  assert.deepEqual(mismatches, []);
});

test('a million tasks: memory stays flat', {timeout: 180_000}, () => {
  const {growth, samples, report} = floorGrowthInChild(`
    const limit = require('async-shape').pLimit(16);
    const batch = async () => {
      const ps = new Array(100_000);
      for (let i = 0; i < ps.length; i++) ps[i] = limit(() => Promise.resolve(i));
      await Promise.all(ps);
    };
    const report = () => [limit.activeCount, limit.pendingCount];
  `);
  const mib = (growth / 1048576).toFixed(1);
  assert.ok(growth < 4 * 1024 * 1024, `floor grew ${mib} MiB over 1,100,000 tasks; MiB after each batch: ${samples.join(' ')}`);
  assert.deepEqual(report, [0, 0]);
});

test('map survives garbage collection of everything but the limit', async () => {
  const limit = pLimit(1);
  const first = limit.map([1, 2, 3], async x => (await delay(1), x));
  global.gc();
  global.gc();
  const second = limit.map([4, 5], async x => {
    global.gc();
    return x;
  });
  assert.deepEqual(await Promise.all([first, second]), [[1, 2, 3], [4, 5]]);
});

test('map: items share the limit FIFO with plain calls, and clearQueue reaches them', async () => {
  const limit = pLimit({concurrency: 1, rejectOnClear: true});
  const order = [];
  const gate = deferred();
  const first = limit(() => gate.promise);
  const mapped = limit.map(['a', 'b'], x => order.push(x));
  const after = limit(() => order.push('after'));
  assert.equal(limit.pendingCount, 3);
  gate.resolve();
  await Promise.all([first, mapped, after]);
  assert.deepEqual(order, ['a', 'b', 'after']);
  const g2 = deferred();
  const running = limit(() => g2.promise);
  const cleared = limit.map([1, 2, 3], x => x);
  limit.clearQueue();
  await assert.rejects(cleared, {name: 'AbortError'});
  g2.resolve();
  await running;
  const plain = pLimit(1);
  const g3 = deferred();
  plain(() => g3.promise);
  const never = plain.map([1], x => x);
  plain.clearQueue();
  assert.equal(await stateOf(never), 'pending');
  g3.resolve();
});

test('map: first rejection rejects, the others keep running; the store is the caller’s', async () => {
  const limit = pLimit(2);
  const store = new AsyncLocalStorage();
  const ran = [];
  const seen = [];
  const error = new Error('item 1');
  await assert.rejects(
    store.run('caller', () =>
      limit.map([0, 1, 2, 3], async x => {
        seen.push(store.getStore());
        await delay(5);
        ran.push(x);
        if (x === 1) throw error;
        return x;
      }),
    ),
    e => e === error,
  );
  await delay(30);
  assert.deepEqual(ran.sort(), [0, 1, 2, 3]);
  assert.deepEqual(seen, ['caller', 'caller', 'caller', 'caller']);
});
