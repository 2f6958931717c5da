'use strict';
// pLimit / limitFunction: p-limit 7.3.3's semantics, checklist by checklist (p-limit 7.3.3 is a
// devDependency: its source in node_modules/p-limit is the reference; limit-diff.test.js compares traces).

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

// Regression tests for issue 11: each also runs on p-limit 7.3.3 and must match it.

/** Runs `scenario(pLimit)` on p-limit and on this pLimit; returns both results. */
async function bothWays(scenario) {
  const {default: reference} = await import('p-limit');
  return {expected: await scenario(reference), actual: await scenario(pLimit)};
}

test('raising concurrency while a map item waits keeps every outcome with its caller', async () => {
  const {expected, actual} = await bothWays(async pLimit => {
    const limit = pLimit(1);
    const first = limit(() => delay(30));
    const mapped = limit.map([1], x => x);
    const a = limit(() => 'A');
    const b = limit(() => 'B');
    limit.concurrency = 3;
    return [await a, await b, await mapped, await first];
  });
  assert.deepEqual(actual, ['A', 'B', [1], undefined]);
  assert.deepEqual(actual, expected);
});

test('map: 200,000 items with a synchronous mapper, no recursion through the native core', async () => {
  const limit = pLimit(2);
  const items = Array.from({length: 200_000}, (_, i) => i);
  const results = await limit.map(items, x => x * 2);
  assert.equal(results.length, 200_000);
  assert.equal(results[199_999], 399_998);
  assert.deepEqual([limit.activeCount, limit.pendingCount], [0, 0]);
  // The same through the iterator protocol, and with a mapper that throws at the end.
  assert.equal((await limit.map(items.values(), x => x)).length, 200_000);
  await assert.rejects(
    limit.map(items, x => {
      if (x === 199_999) throw new Error('last');
      return x;
    }),
    {message: 'last'},
  );
});

test('several slots free at once: queued work starts in submission order, plain or mapped', async () => {
  const {expected, actual} = await bothWays(async pLimit => {
    const limit = pLimit(2);
    const order = [];
    const gates = [deferred(), deferred()];
    limit(() => gates[0].promise);
    limit(() => gates[1].promise);
    const plain = limit(() => order.push('plain'));
    const mapped = limit.map(['a', 'b'], x => order.push(x));
    await ticks();
    gates[0].resolve();
    gates[1].resolve();
    await Promise.all([plain, mapped]);
    return order;
  });
  assert.deepEqual(actual, ['plain', 'a', 'b']);
  assert.deepEqual(actual, expected);
});

test('a map item’s mapper never runs inside another caller’s limit() call', async () => {
  const {expected, actual} = await bothWays(async pLimit => {
    const limit = pLimit(1);
    const gate = deferred();
    const log = [];
    limit(() => gate.promise);
    const mapped = limit.map([1], () => log.push('mapper'));
    await ticks();
    limit.concurrency = 2;
    const plain = limit(() => 'x');
    log.push(`after limit(): ${limit.activeCount}/${limit.pendingCount}`);
    gate.resolve();
    await Promise.all([mapped, plain]);
    return log;
  });
  assert.deepEqual(actual, ['after limit(): 2/1', 'mapper']);
  assert.deepEqual(actual, expected);
});

test('map rejects with the error that p-limit’s Promise.all sees first', async () => {
  const {expected, actual} = await bothWays(async pLimit => {
    const limit = pLimit(1);
    const gate = deferred();
    const mapped = limit.map(['a', 'b'], x => {
      if (x === 'a') return gate.promise;
      throw new Error('b, synchronously, later');
    });
    await ticks();
    // The raise starts 'b' in a microtask before 'a''s rejection reaches Promise.all; still,
    // 'a''s item promise rejects first.
    limit.concurrency = 2;
    gate.reject(new Error('a'));
    return mapped.then(
      () => 'fulfilled',
      error => error.message,
    );
  });
  assert.equal(actual, 'a');
  assert.equal(actual, expected);
});

test('map reads its input as Array.from does: array-likes, strings, numbers', async () => {
  const {expected, actual} = await bothWays(async pLimit => {
    const limit = pLimit(2);
    const withIndex = (x, i) => `${String(x)}${i}`;
    return [
      await limit.map({length: 2, 0: 'a', 1: 'b'}, withIndex),
      await limit.map({length: '3', 1: 'x'}, withIndex),
      await limit.map('hé', withIndex),
      await limit.map(5, withIndex),
      await limit.map(new Map([[1, 2]]), pair => pair.join('-')),
      await limit.map(new Uint8Array([7, 8]), withIndex),
      await limit.map([], 'not called'),
    ];
  });
  assert.deepEqual(actual, [['a0', 'b1'], ['undefined0', 'x1', 'undefined2'], ['h0', 'é1'], [], ['1-2'], ['70', '81'], []]);
  assert.deepEqual(actual, expected);
});

test('map: bad arguments are TypeErrors (or p-limit’s RangeError) naming the argument', async () => {
  const limit = pLimit(1);
  const fn = x => x;
  await assert.rejects(limit.map([1], 5), {
    name: 'TypeError',
    message: 'Expected `mapper` to be a function, got `5` (number)',
  });
  await assert.rejects(limit.map(null, fn), {
    name: 'TypeError',
    message: 'Expected `iterable` to be an iterable or an array-like object, got `null`',
  });
  await assert.rejects(limit.map(undefined, fn), {name: 'TypeError', message: /`iterable`/});
  await assert.rejects(limit.map({[Symbol.iterator]: 5}, fn), {
    name: 'TypeError',
    message: 'Expected `iterable[Symbol.iterator]` to be a method, got `5` (number)',
  });
  await assert.rejects(limit.map({[Symbol.iterator]: () => 5}, fn), {name: 'TypeError', message: /`iterable\[Symbol\.iterator\]\(\)`/});
  await assert.rejects(limit.map({[Symbol.iterator]: () => ({next: 1})}, fn), {name: 'TypeError', message: /`iterable`.*`next`/});
  await assert.rejects(limit.map({length: Symbol('n')}, fn), {name: 'TypeError', message: /`iterable.length`/});
  await assert.rejects(limit.map({length: 2 ** 32}, fn), {name: 'RangeError', message: /`iterable`'s length/});
  // The same error types as p-limit's.
  const {default: reference} = await import('p-limit');
  const peer = reference(1);
  await assert.rejects(peer.map([1], 5), TypeError);
  await assert.rejects(peer.map(null, fn), TypeError);
  await assert.rejects(peer.map({length: 2 ** 32}, fn), RangeError);
  assert.deepEqual(await peer.map(5, fn), await limit.map(5, fn));
  // A non-function mapper fails per item, as in p-limit: the item took its slot in order.
  assert.deepEqual([limit.activeCount, limit.pendingCount], [0, 0]);
});

test('clearQueue from inside the map’s own input: later items still run, as in p-limit', async () => {
  for (const rejectOnClear of [false, true]) {
    const {expected, actual} = await bothWays(async pLimit => {
      const limit = pLimit({concurrency: 1, rejectOnClear});
      const log = [];
      function* items() {
        yield 'a';
        yield 'b';
        limit.clearQueue();
        log.push(`cleared ${limit.activeCount}/${limit.pendingCount}`);
        yield 'c';
      }
      const mapped = limit.map(items(), x => (log.push(x), x));
      const state = mapped.then(
        value => `fulfilled ${value}`,
        error => `rejected ${error.name}`,
      );
      await ticks();
      log.push(await Promise.race([state, ticks().then(() => 'pending')]));
      return log;
    });
    assert.deepEqual(actual, expected, `rejectOnClear ${rejectOnClear}`);
  }
});

test('a map whose limit is dropped still finishes, and nothing is kept once it has', async () => {
  let limit = pLimit(1);
  const gate = deferred();
  limit(() => gate.promise);
  const mapped = limit.map([1, 2, 3], async x => x);
  limit = undefined;
  global.gc();
  global.gc();
  await ticks();
  gate.resolve();
  assert.deepEqual(await mapped, [1, 2, 3]);
});

test('map items run in the map caller’s async context, even when another caller’s task frees the slot', async () => {
  const limit = pLimit(1);
  const store = new AsyncLocalStorage();
  const gate = deferred();
  const seen = [];
  store.run('other', () => limit(() => gate.promise));
  const mapped = store.run('mapper', () => limit.map([1, 2], () => seen.push(store.getStore())));
  const plain = store.run('plain', () => limit(() => seen.push(store.getStore())));
  gate.resolve();
  await Promise.all([mapped, plain]);
  assert.deepEqual(seen, ['mapper', 'mapper', 'plain']);
});

test('every queued task starts its own function, through clears, refills and a table that grows and shrinks', async () => {
  for (const rejectOnClear of [false, true]) {
    const limit = pLimit({concurrency: 1, rejectOnClear});
    const gate = deferred();
    limit(() => gate.promise);
    const started = [];
    const submit = i => (i % 3 === 0 ? limit((x, y) => (started.push(x), y), i, `r${i}`) : limit(() => (started.push(i), `r${i}`)));
    const cleared = Array.from({length: 5000}, (_, i) => submit(i));
    cleared.forEach(p => p.catch(() => {}));
    await ticks(1);
    limit.clearQueue();
    const kept = Array.from({length: 5000}, (_, i) => submit(5000 + i));
    const mapped = limit.map([1, 2], x => `m${x}`);
    limit.concurrency = 7;
    gate.resolve();
    const results = await Promise.all(kept);
    assert.deepEqual(results, kept.map((_, i) => `r${5000 + i}`));
    assert.deepEqual(started, kept.map((_, i) => 5000 + i));
    assert.deepEqual(await mapped, ['m1', 'm2']);
    for (const p of cleared.slice(0, 3)) assert.equal(await stateOf(p), rejectOnClear ? 'rejected' : 'pending');
    // Again, with the table shrunk back.
    assert.deepEqual(await Promise.all([limit(() => 'a'), limit(() => 'b'), limit(x => x, 'c')]), ['a', 'b', 'c']);
  }
});

test('map calls its mapper as p-limit does: this undefined, (value, index), one microtask after the start', async () => {
  const {expected, actual} = await bothWays(async pLimit => {
    const limit = pLimit(1);
    const seen = [];
    const mapped = limit.map(['a', 'b'], function (...args) {
      seen.push([this === undefined, ...args]);
    });
    seen.push(`sync ${limit.activeCount}/${limit.pendingCount}`);
    await mapped;
    return seen;
  });
  assert.deepEqual(actual, ['sync 1/1', [true, 'a', 0], [true, 'b', 1]]);
  assert.deepEqual(actual, expected);
});

test('a task that settles at once frees its slot after its own promise is adopted, as in p-limit', async () => {
  const {default: reference} = await import('p-limit');
  const run = async (make, kind) => {
    const log = [];
    const limit = make(1);
    const a = limit(kind === 'value' ? () => 'a' : kind === 'object' ? () => ({a: 1}) : () => {
      throw new Error('a');
    });
    limit(() => {
      log.push('b start');
      return 'b';
    });
    a.then(
      () => {},
      () => {},
    ).then(() => {
      log.push(`a settled: active ${limit.activeCount}, pending ${limit.pendingCount}`);
      limit(() => log.push('c ran'));
      limit.clearQueue();
    });
    await ticks();
    return log;
  };
  for (const kind of ['value', 'object', 'throw']) {
    assert.deepEqual(await run(pLimit, kind), await run(reference, kind), kind);
  }
});

test('a limit() made from an async_hooks init hook while the gate is made gets its own task', async () => {
  const {createHook} = require('node:async_hooks');
  const limit = pLimit(1);
  const first = deferred();
  limit(() => first.promise);
  let armed = true;
  const ran = [];
  const hook = createHook({
    init(id, type) {
      if (armed && type === 'PROMISE') {
        armed = false;
        limit(() => ran.push('nested'));
      }
    },
  });
  hook.enable();
  let outer;
  try {
    outer = limit(() => ran.push('outer'));
  } finally {
    hook.disable();
  }
  first.resolve();
  await outer;
  await ticks();
  assert.deepEqual(ran.sort(), ['nested', 'outer']);
  assert.equal(limit.activeCount + limit.pendingCount, 0);
});

test('an onLimitChange that throws leaves the adaptive limit working: the map settles', () => {
  const {status, stdout, stderr} = runScript(`
    const {pLimit} = require('.');
    const seen = [];
    process.on('uncaughtException', error => seen.push(error.message));
    process.on('unhandledRejection', error => seen.push('unhandled ' + error.message));
    const limit = pLimit({
      concurrency: {adaptive: 'aimd', min: 1, max: 50, initial: 1},
      onLimitChange() { throw new Error('hook'); },
    });
    limit.map(Array.from({length: 300}, (_, i) => i), async i => {
      await new Promise(resolve => setImmediate(resolve));
      return i;
    }).then(out => setImmediate(() => console.log(JSON.stringify({
      length: out.length, left: limit.activeCount + limit.pendingCount, kinds: [...new Set(seen)],
    }))));
  `);
  assert.equal(status, 0, stderr);
  const {length, left, kinds} = JSON.parse(stdout);
  assert.equal(length, 300);
  assert.equal(left, 0);
  assert.ok(kinds.length === 0 || (kinds.length === 1 && kinds[0] === 'hook'), JSON.stringify(kinds));
});

test('limit is not a constructor, as p-limit’s arrow function is not', () => {
  const limit = pLimit(1);
  assert.equal(limit.prototype, undefined);
  assert.throws(() => new limit(() => 1), TypeError);
  assert.equal(limit.length, 1);
});

test('a thenable returned by a task or a mapper is called with itself as this, as p-limit does', async () => {
  const {default: reference} = await import('p-limit');
  class Lazy {
    constructor(value) {
      this.value = value;
    }

    then(resolve) {
      resolve(this.value);
    }
  }
  for (const make of [pLimit, reference]) {
    const limit = make(1);
    assert.equal(await limit(() => new Lazy(42)), 42);
    assert.equal(await limit(x => new Lazy(x), 43), 43);
    assert.deepEqual(await limit.map([1, 2], x => new Lazy(x * 10)), [10, 20]);
  }
});
