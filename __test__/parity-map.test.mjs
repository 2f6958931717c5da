// Issue 14: Pool#map, stream() and Pool#stream against p-map 7.1.1, and Pool against p-queue 10,
// where a migrating user compares them. The peer is the oracle: each test runs the same program
// through a thin adapter that only renames options, and compares.
import test from 'node:test';
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';
import pMap, {pMapIterable, pMapSkip as pMapSkipOfPMap} from 'p-map';
import PQueue from 'p-queue';
import pLimitOfPLimit from 'p-limit';
import {Pool, stream, pLimit, pMapSkip} from 'async-shape';

const require = createRequire(import.meta.url);
const {ticks, deferred, delay} = require('./helpers.js');

// The adapters: p-map's call shapes on async-shape.
const poolMap = (input, mapper, {concurrency = Number.POSITIVE_INFINITY, ...options} = {}) =>
  new Pool({concurrency}).map(input, (element, index) => mapper(element, index), options);
const streamOf = (input, mapper, {preserveOrder = true, ...options} = {}) =>
  stream(input, (element, index) => mapper(element, index), {...options, ordered: preserveOrder});

const collect = async iterable => {
  const out = [];
  for await (const value of iterable) out.push(value);
  return out;
};

const settle = promise =>
  promise.then(
    value => ({status: 'fulfilled', value}),
    reason => ({status: 'rejected', reason}),
  );

/** An error as something deepEqual can compare across libraries. */
const shape = outcome =>
  outcome.status === 'fulfilled'
    ? outcome
    : {
        status: 'rejected',
        name: outcome.reason?.name,
        message: outcome.reason?.message,
        isAggregate: outcome.reason instanceof AggregateError,
        errors: outcome.reason?.errors?.map(e => (e instanceof Error ? e.message : e)),
      };

// Rejections of elements that a run never reads (after a stopOnError) are the caller's, in both
// libraries; the tests that make such elements observe them here.
const swallow = promise => {
  promise.catch(() => {});
  return promise;
};

test('map: a promise element is awaited before the mapper runs (the issue’s example), sync and async iterables', async () => {
  const input = () => [Promise.resolve(1), 2];
  assert.deepEqual(await pMap(input(), x => typeof x, {concurrency: 2}), ['number', 'number']);
  assert.deepEqual(await new Pool({concurrency: 2}).map(input(), x => typeof x), ['number', 'number']);

  // An async iterator that hands out promises as values (an async generator would await them).
  const asyncSource = () => {
    let i = 0;
    return {
      [Symbol.asyncIterator]() {
        return {
          next: async () => (i < 3 ? {value: Promise.resolve(i++ * 10), done: false} : {done: true}),
        };
      },
    };
  };
  const mapper = x => [typeof x, x];
  assert.deepEqual(await poolMap(asyncSource(), mapper, {concurrency: 2}), await pMap(asyncSource(), mapper, {concurrency: 2}));

  // A thenable that is not a promise is assimilated too.
  const thenable = {then: resolve => resolve('t')};
  assert.deepEqual(await poolMap([thenable, 'u'], x => x), await pMap([thenable, 'u'], x => x));
});

test('map: mappers are called in p-map’s order for plain values, settled promises, rejections and timer-scale promises', async () => {
  // Elements that are plain values, objects, settled promises, rejected promises or promises a
  // timer resolves: whatever the mix and the concurrency, the mappers run in p-map's order and the
  // outcome (results, or the AggregateError's errors) is p-map's. A seeded generator makes the
  // mixes. (Thenables that settle a few microtasks later race with p-map's pulling, two
  // microtasks per element, and may be mapped in another order: not compared.)
  let seed = 14;
  const random = n => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
  const kinds = [
    i => i,
    i => ({i}),
    i => Promise.resolve(i),
    i => swallow(Promise.reject(new Error(`element ${i}`))),
    // Timers 15 ms apart: 2 ms apart, a loaded machine fired them together in one run and not in
    // the other, and the two runs then pulled them in different orders.
    i => new Promise(resolve => setTimeout(resolve, 1 + 15 * (i % 3), i)),
  ];
  const name = x => (typeof x === 'object' ? `o${x.i}` : String(x));
  for (let run = 0; run < 120; run++) {
    const picks = Array.from({length: 1 + random(8)}, () => random(kinds.length));
    const concurrency = [1, 2, 3, Number.POSITIVE_INFINITY][random(4)];
    const stopOnError = random(2) === 0;
    const trace = async map => {
      const calls = [];
      const outcome = await settle(map(picks.map((k, i) => kinds[k](i)), x => calls.push(name(x)) && name(x), {concurrency, stopOnError}));
      return {calls, outcome: shape(outcome)};
    };
    const theirs = await trace(pMap);
    const ours = await trace(poolMap);
    assert.deepEqual(ours, theirs, `elements ${picks.join('')}, concurrency ${concurrency}, stopOnError ${stopOnError}`);
  }
});

test('map: a rejected element rejects the map, or is collected with stopOnError: false, as in p-map', async () => {
  const boom = new Error('element failed');
  const input = () => [1, swallow(Promise.reject(boom)), 3];
  const mapped = [];
  const ours = await settle(poolMap(input(), x => mapped.push(x) && x, {concurrency: 1}));
  assert.equal(ours.reason, boom);
  assert.deepEqual(shape(ours), shape(await settle(pMap(input(), x => x, {concurrency: 1}))));
  assert.deepEqual(mapped, [1], 'the map stopped at the rejected element');

  // The mappers' signal aborts as for a mapper's error.
  let aborted;
  const gate = deferred();
  const stopped = new Pool({concurrency: 2}).map([gate.promise.then(() => 1).catch(() => {}), swallow(Promise.reject(boom))], (x, i, {signal}) => {
    aborted = signal;
  });
  await assert.rejects(stopped, error => error === boom);
  gate.resolve();

  const lenient = () => [swallow(Promise.reject(new Error('a'))), 2, swallow(Promise.reject(new Error('c'))), 4];
  const theirs = await settle(pMap(lenient(), x => x * 10, {stopOnError: false}));
  const collected = await settle(poolMap(lenient(), x => x * 10, {stopOnError: false}));
  assert.deepEqual(shape(collected), shape(theirs));
  assert.deepEqual(shape(collected).errors, ['a', 'c']);
  assert.equal(aborted, undefined, 'no mapper of the stopped map had started past the rejection');
});

test('map: stopOnError: false rejects with new AggregateError(errors), as p-map: no message, errors in input order', async () => {
  const mapper = async x => {
    await delay(x * 3);
    if (x !== 2) throw new Error(`e${x}`);
    return x;
  };
  for (const concurrency of [1, 2, Number.POSITIVE_INFINITY]) {
    const theirs = (await settle(pMap([3, 0, 2, 1], mapper, {concurrency, stopOnError: false}))).reason;
    const ours = (await settle(poolMap([3, 0, 2, 1], mapper, {concurrency, stopOnError: false}))).reason;
    assert.ok(ours instanceof AggregateError);
    assert.equal(ours.message, theirs.message);
    assert.equal(ours.message, '');
    assert.deepEqual(ours.errors.map(e => e.message), theirs.errors.map(e => e.message));
    assert.deepEqual(ours.errors.map(e => e.message), ['e3', 'e0', 'e1']);
    assert.deepEqual(Object.keys(ours), Object.keys(theirs));
  }
});

test('pMapSkip: Pool#map, stream() and Pool#stream leave the item out, with ours or p-map’s symbol', async () => {
  assert.equal(typeof pMapSkip, 'symbol');
  assert.equal(pMapSkip.description, 'skip');
  assert.notEqual(pMapSkip, pMapSkipOfPMap, 'no dependency on p-map');
  const mapperWith = skip => async (x, i) => (x % 2 === 0 ? skip : `${x}@${i}`);
  const input = [1, 2, 3, 4, 5, 6];
  const expected = await pMap(input, mapperWith(pMapSkipOfPMap), {concurrency: 2});
  assert.deepEqual(expected, ['1@0', '3@2', '5@4']);
  for (const skip of [pMapSkip, pMapSkipOfPMap]) {
    // A synchronous mapper too.
    const syncMapper = (x, i) => (x % 2 === 0 ? skip : `${x}@${i}`);
    assert.deepEqual(await poolMap(input, mapperWith(skip), {concurrency: 2}), expected);
    assert.deepEqual(await poolMap(input, syncMapper), expected);
    assert.deepEqual(await collect(streamOf(input, mapperWith(skip), {concurrency: 2})), await collect(pMapIterable(input, mapperWith(pMapSkipOfPMap), {concurrency: 2})));
    assert.deepEqual((await collect(streamOf(input, mapperWith(skip), {concurrency: 2, preserveOrder: false}))).sort(), expected);
    assert.deepEqual(await collect(new Pool({concurrency: 2}).stream(input, syncMapper)), expected);
  }
  // All skipped, and a skip among errors.
  assert.deepEqual(await poolMap([1, 2], () => pMapSkip), await pMap([1, 2], () => pMapSkipOfPMap));
  assert.deepEqual(await collect(streamOf([1, 2], () => pMapSkip)), []);
  const lenient = await settle(poolMap([1, 2, 3], x => (x === 2 ? pMapSkip : Promise.reject(new Error(`e${x}`))), {stopOnError: false}));
  assert.deepEqual(shape(lenient).errors, ['e1', 'e3']);
  // A registered symbol, or another description, is a value like any other.
  const registered = Symbol.for('skip');
  assert.deepEqual(await poolMap([1], () => registered), [registered]);
  const other = Symbol('skipped');
  assert.deepEqual(await collect(streamOf([1], () => other)), [other]);
});

test('limit.map keeps p-limit\'s contract: a skip marker, ours or p-map\'s, is a result like any other', async () => {
  const input = [1, 2, 3];
  for (const skip of [pMapSkip, pMapSkipOfPMap]) {
    const mapper = x => (x === 2 ? skip : x);
    assert.deepEqual(await pLimit(2).map(input, mapper), await pLimitOfPLimit(2).map(input, mapper));
    assert.deepEqual(await pLimit(2).map(input, mapper), [1, skip, 3]);
  }
});

test('stream(): concurrency defaults to Infinity and backpressure to concurrency, as pMapIterable', async () => {
  // With no options every mapper starts at once, in both.
  const startedBeforeAnyResult = async make => {
    let started = 0;
    const gate = deferred();
    const iterator = make(
      Array.from({length: 40}, (_, i) => i),
      async x => {
        started++;
        await gate.promise;
        return x;
      },
    )[Symbol.asyncIterator]();
    const first = iterator.next();
    await ticks(5);
    const count = started;
    gate.resolve();
    assert.deepEqual(await first, {value: 0, done: false});
    await iterator.return();
    return count;
  };
  const theirs = await startedBeforeAnyResult((input, mapper) => pMapIterable(input, mapper));
  assert.equal(theirs, 40);
  assert.equal(await startedBeforeAnyResult((input, mapper) => stream(input, mapper)), theirs);
  assert.deepEqual(await collect(stream([1, Promise.resolve(2), 3], async x => x * 2)), [2, 4, 6]);
});

test('stream(): backpressure bounds what is read ahead of a consumer that stops pulling, as pMapIterable', async () => {
  const probe = async (make, options, slow) => {
    let pulled = 0;
    function* source() {
      for (;;) yield pulled++;
    }
    let running = 0;
    let maxRunning = 0;
    const hold = deferred();
    const mapper = slow
      ? async x => {
          maxRunning = Math.max(maxRunning, ++running);
          await hold.promise;
          running--;
          return x;
        }
      : x => x;
    const iterator = make(source(), mapper, options)[Symbol.asyncIterator]();
    const first = iterator.next();
    if (!slow) await first;
    await ticks(10);
    const seen = {pulled, maxRunning};
    hold.resolve();
    await first;
    await iterator.return();
    return seen;
  };
  for (const options of [{concurrency: 2, backpressure: 6}, {concurrency: 3}, {concurrency: 1, backpressure: 4}, {concurrency: 2, backpressure: 10}]) {
    for (const slow of [false, true]) {
      const theirs = await probe(pMapIterable, options, slow);
      const ours = await probe(streamOf, options, slow);
      assert.deepEqual(ours, theirs, `${JSON.stringify(options)}, ${slow ? 'mappers that wait' : 'instant mappers'}`);
    }
  }
});

test('stream(): concurrency and backpressure are validated as pMapIterable validates them', async () => {
  const cases = [
    {concurrency: 0},
    {concurrency: -1},
    {concurrency: 1.5},
    {concurrency: Number.NaN},
    {concurrency: null},
    {concurrency: 2, backpressure: 1},
    {concurrency: 2, backpressure: 0},
    {concurrency: 2, backpressure: 2.5},
    {backpressure: 5},
    {backpressure: null},
    {concurrency: Number.POSITIVE_INFINITY, backpressure: 100},
  ];
  for (const options of cases) {
    let theirs;
    try {
      pMapIterable([1], x => x, options);
    } catch (error) {
      theirs = error;
    }
    assert.ok(theirs instanceof TypeError, `p-map refuses ${JSON.stringify(options)}`);
    assert.throws(
      () => stream([1], x => x, options),
      error => error instanceof TypeError && error.message === theirs.message,
      JSON.stringify(options),
    );
  }
  for (const options of [{}, {concurrency: 1}, {concurrency: 2, backpressure: 2}, {concurrency: 2, backpressure: Number.POSITIVE_INFINITY}, {concurrency: Number.POSITIVE_INFINITY}, {backpressure: Number.POSITIVE_INFINITY}]) {
    assert.deepEqual(await collect(stream([1, 2, 3], x => x * 2, options)), await collect(pMapIterable([1, 2, 3], x => x * 2, options)));
  }
});

test('Pool#stream: backpressure bounds the read-ahead on the pool’s concurrency; an unbounded pool streams', async () => {
  let pulled = 0;
  function* source() {
    for (;;) yield pulled++;
  }
  const pool = new Pool({concurrency: 2});
  const iterator = pool.stream(source(), x => x, {backpressure: 5})[Symbol.asyncIterator]();
  assert.deepEqual(await iterator.next(), {value: 0, done: false});
  await ticks(10);
  assert.equal(pulled, 1 + 5, 'the value taken, and backpressure more');
  await iterator.return();

  // Without options the bound is the pool's concurrency, as before.
  pulled = 0;
  const bounded = pool.stream(source(), x => x)[Symbol.asyncIterator]();
  await bounded.next();
  await ticks(10);
  assert.equal(pulled, 1 + 2);
  await bounded.return();

  // backpressure from the pool's concurrency up; below it, concurrency follows it down.
  const running = [];
  let now = 0;
  const gate = deferred();
  const wide = new Pool({concurrency: 8});
  const narrow = wide.stream([1, 2, 3, 4, 5, 6], async x => {
    running.push(++now);
    await gate.promise;
    now--;
    return x;
  }, {backpressure: 3});
  const all = collect(narrow);
  await ticks(5);
  assert.equal(Math.max(...running), 3);
  gate.resolve();
  assert.deepEqual(await all, [1, 2, 3, 4, 5, 6]);
  assert.throws(() => wide.stream([1], x => x, {concurrency: 4, backpressure: 2}), {name: 'TypeError', message: /`backpressure`/});
  assert.throws(() => wide.stream([1], x => x, {backpressure: 0}), {name: 'TypeError', message: /`backpressure`/});

  // A pool of unbounded concurrency streams (unbounded read-ahead, as stream()'s default).
  assert.deepEqual(await collect(new Pool().stream([Promise.resolve(1), 2], async x => x + 1)), [2, 3]);
});

test('TaskContext.signal: own property, the run’s signal or the timeout’s, else undefined (as p-queue)', async () => {
  const pool = new Pool({concurrency: 2});
  const queue = new PQueue({concurrency: 2});
  // Neither signal nor timeout: undefined, an own property, as p-queue passes `{signal: undefined}`.
  const ours = await pool.run(context => ({own: Object.hasOwn(context, 'signal'), signal: context.signal}));
  const theirs = await queue.add(context => ({own: Object.hasOwn(context, 'signal'), signal: context.signal}));
  assert.deepEqual(ours, theirs);
  assert.deepEqual(ours, {own: true, signal: undefined});

  // Destructuring in a task given neither (p-queue's usual style) makes no AbortController.
  const Original = globalThis.AbortController;
  let made = 0;
  globalThis.AbortController = class extends Original {
    constructor() {
      super();
      made++;
    }
  };
  let destructured;
  try {
    destructured = await Promise.all([pool.run(({signal}) => signal), pool.run(({signal}) => signal)]);
  } finally {
    globalThis.AbortController = Original;
  }
  assert.deepEqual(destructured, [undefined, undefined]);
  assert.equal(made, 0, 'no AbortController per task');

  // A spread context keeps the given signal, as p-queue's does.
  const ac = new AbortController();
  const spread = await pool.run(context => ({...context}), {signal: ac.signal});
  const spreadOfPQueue = await queue.add(context => ({...context}), {signal: ac.signal});
  assert.equal(spread.signal, ac.signal);
  assert.equal(spreadOfPQueue.signal, ac.signal);
  const timedSpread = await pool.run(context => ({...context}), {timeout: 60_000});
  assert.ok(timedSpread.signal instanceof AbortSignal, 'a timeout’s signal survives a spread');

  // The run's signal is the task's.
  const reason = new Error('stop');
  let seen;
  const running = pool.run(({signal}) => {
    seen = signal;
    return new Promise(() => {});
  }, {signal: ac.signal});
  await ticks();
  assert.equal(seen, ac.signal);
  ac.abort(reason);
  await assert.rejects(running, error => error === reason);

  // A timeout aborts it with the TimeoutError.
  let timed;
  await assert.rejects(
    pool.run(({signal}) => {
      timed = signal;
      return new Promise(() => {});
    }, {timeout: 5}),
    {name: 'TimeoutError'},
  );
  assert.equal(timed.aborted, true);
  assert.equal(timed.reason.name, 'TimeoutError');

  // Map items' tasks get the map's signal, as before.
  const [mapSignal] = await pool.map([1], (x, i, {signal}) => signal);
  assert.ok(mapSignal instanceof AbortSignal);
});

test('Pool options validated as p-queue 10: timeout 0 is a TypeError; concurrency undefined keeps the default', async () => {
  const peer = options => {
    try {
      return {ok: true, concurrency: new PQueue(options).concurrency};
    } catch (error) {
      return {ok: false, name: error.name};
    }
  };
  const ours = options => {
    try {
      return {ok: true, concurrency: new Pool(options).concurrency};
    } catch (error) {
      return {ok: false, name: error.name};
    }
  };
  for (const options of [{timeout: 0}, {timeout: -0}, {concurrency: undefined}, {timeout: undefined}, {timeout: 1}, {}, {concurrency: 0}, {concurrency: null}]) {
    assert.deepEqual(ours(options), peer(options), JSON.stringify(options));
  }
  assert.throws(() => new Pool({timeout: 0}), {name: 'TypeError', message: /`timeout`/});
  // Per task too: p-queue's add() rejects, and so does run().
  const queue = new PQueue();
  const pool = new Pool();
  await assert.rejects(queue.add(() => 1, {timeout: 0}), TypeError);
  await assert.rejects(pool.run(() => 1, {timeout: 0}), {name: 'TypeError', message: /`timeout`/});
});

test('onSizeLessThan resolves as soon as the queue shrinks: a concurrency raise, an abort, a clear (as p-queue)', async () => {
  // The example, with gates instead of sleeps: no task settles while we look.
  const scenario = async (make, add, raise, size) => {
    const queue = make();
    const gate = deferred();
    const tasks = [];
    for (let i = 0; i < 5; i++) tasks.push(add(queue, () => gate.promise));
    let resolved = false;
    const waiting = queue.onSizeLessThan(2).then(() => {
      resolved = true;
    });
    await ticks();
    const before = resolved;
    raise(queue);
    await ticks();
    const after = resolved;
    const left = size(queue);
    gate.resolve();
    await Promise.all(tasks);
    await waiting;
    return {before, after, left};
  };
  const theirs = await scenario(() => new PQueue({concurrency: 1}), (q, fn) => q.add(fn), q => (q.concurrency = 4), q => q.size);
  const ours = await scenario(() => new Pool({concurrency: 1}), (p, fn) => p.run(fn), p => (p.concurrency = 4), p => p.pendingCount);
  assert.deepEqual(theirs, {before: false, after: true, left: 1});
  assert.deepEqual(ours, theirs);

  // An abort and a clear shrink the queue too.
  const pool = new Pool({concurrency: 1});
  const gate = deferred();
  const busy = pool.run(() => gate.promise);
  const ac = new AbortController();
  const aborted = pool.run(() => 1, {signal: ac.signal});
  const kept = [pool.run(() => 2), pool.run(() => 3)];
  let belowThree = false;
  pool.onSizeLessThan(3).then(() => (belowThree = true));
  let belowOne = false;
  pool.onSizeLessThan(1).then(() => (belowOne = true));
  await ticks();
  assert.equal(belowThree, false);
  ac.abort();
  await assert.rejects(aborted, {name: 'AbortError'});
  await ticks();
  assert.equal(belowThree, true, 'the abort made room');
  assert.equal(belowOne, false);
  pool.clear();
  await Promise.allSettled(kept);
  await ticks();
  assert.equal(belowOne, true, 'the clear emptied the queue');
  gate.resolve();
  await busy;
});

test('stream bounds refuse unsafe integers with p-map’s TypeError and message', () => {
  const error = call => {
    try {
      call();
    } catch (caught) {
      return {name: caught.name, message: caught.message};
    }
    return 'accepted';
  };
  for (const options of [
    {concurrency: 2 ** 60},
    {concurrency: 2 ** 53},
    {concurrency: Number.MAX_SAFE_INTEGER},
    {concurrency: 2, backpressure: 2 ** 60},
    {concurrency: 2, backpressure: 2 ** 53},
    {concurrency: 2, backpressure: Number.MAX_SAFE_INTEGER},
  ]) {
    const peer = error(() => pMapIterable([1], x => x, options));
    assert.deepEqual(error(() => stream([1], x => x, options)), peer, JSON.stringify(options));
    assert.deepEqual(error(() => new Pool({concurrency: 2}).stream([1], x => x, options)), peer, JSON.stringify(options));
  }
});

test('stream: an input that throws part-way yields what pMapIterable yields before the error, then throws', async () => {
  const sources = {
    sync: function* () {
      yield 1;
      yield 2;
      yield 3;
      throw new Error('input broke');
    },
    async: async function* () {
      yield 1;
      yield 2;
      yield 3;
      throw new Error('input broke');
    },
  };
  const mappers = {
    plain: x => x * 10,
    promised: async x => x * 10,
    slow: async x => {
      await delay(10);
      return x * 10;
    },
  };
  const run = async iterable => {
    const values = [];
    try {
      for await (const value of iterable) values.push(value);
    } catch (error) {
      return {values, error: error.message};
    }
    return {values};
  };
  for (const [sourceName, source] of Object.entries(sources)) {
    for (const concurrency of [1, 2, Number.POSITIVE_INFINITY]) {
      for (const preserveOrder of [true, false]) {
        for (const [mapperName, mapper] of Object.entries(mappers)) {
          const label = `${sourceName} source, concurrency ${concurrency}, ${preserveOrder ? 'ordered' : 'unordered'}, ${mapperName} mapper`;
          const peer = await run(pMapIterable(source(), mapper, {concurrency, preserveOrder}));
          const ours = await run(streamOf(source(), mapper, {concurrency, preserveOrder}));
          const onPool = await run(new Pool({concurrency: 4}).stream(source(), mapper, {concurrency, ordered: preserveOrder}));
          assert.equal(peer.error, 'input broke', label);
          if (preserveOrder || mapperName === 'slow') {
            assert.deepEqual(ours, peer, label);
            assert.deepEqual(onPool, peer, `${label} (Pool#stream)`);
            continue;
          }
          // Unordered with mappers that settle within microtasks: the error lands when it is read,
          // among results landing in the same few microtasks, so which of those come before it is
          // a microtask race in p-map too (it reads later than we do). Same contract: the error is
          // thrown, after some of the results, each at most once.
          for (const [what, outcome] of [[label, ours], [`${label} (Pool#stream)`, onPool]]) {
            assert.equal(outcome.error, 'input broke', what);
            assert.ok(outcome.values.length > 0 || concurrency === Number.POSITIVE_INFINITY, what);
            assert.deepEqual([...new Set(outcome.values)].sort(), [...outcome.values].sort(), what);
            for (const value of outcome.values) assert.ok([10, 20, 30].includes(value), what);
          }
        }
      }
    }
  }
  // The reviewer's repro, by value.
  const bad = function* () {
    yield 1;
    yield 2;
    throw new Error('input broke');
  };
  assert.deepEqual(await run(stream(bad(), x => x, {concurrency: 2})), {values: [1, 2], error: 'input broke'});
  assert.deepEqual(await run(stream(bad(), x => x)), {values: [1, 2], error: 'input broke'});
});

test('stream: after a failure nothing more is read, and no element past it waiting for a mapper is mapped (as pMapIterable’s stopIndex)', async () => {
  const swallow = promise => {
    promise.catch(() => {});
    return promise;
  };
  const outcome = async (make, kind) => {
    const pulled = [];
    const mapped = [];
    const source = function* () {
      for (let i = 0; i < 20; i++) {
        pulled.push(i);
        yield kind === 'element' && i === 1 ? swallow(delay(5).then(() => Promise.reject(new Error('e1')))) : i;
      }
    };
    const mapper = async x => {
      mapped.push(x);
      if (x === 1) {
        await delay(5);
        throw new Error('m1');
      }
      await delay(100);
      return x;
    };
    const values = [];
    try {
      for await (const value of make(source(), mapper)) values.push(value);
    } catch (error) {
      return {values, error: error.message, pulled: pulled.length, mapped};
    }
    return {values, pulled: pulled.length, mapped};
  };
  for (const preserveOrder of [true, false]) {
    for (const kind of ['mapper', 'element']) {
      for (const concurrency of [1, 2, 3, Number.POSITIVE_INFINITY]) {
        const backpressure = Math.max(concurrency, 8);
        const label = `${preserveOrder ? 'ordered' : 'unordered'}, ${kind} fails, concurrency ${concurrency}`;
        const peer = await outcome((input, mapper) => pMapIterable(input, mapper, {concurrency, backpressure, preserveOrder}), kind);
        assert.equal(peer.error, kind === 'mapper' ? 'm1' : 'e1', label);
        assert.deepEqual(await outcome((input, mapper) => streamOf(input, mapper, {concurrency, backpressure, preserveOrder}), kind), peer, label);
        assert.deepEqual(
          await outcome((input, mapper) => new Pool().stream(input, mapper, {concurrency, backpressure, ordered: preserveOrder}), kind),
          peer,
          `${label} (Pool#stream)`,
        );
      }
    }
  }
});
