'use strict';
// Adaptive concurrency from JS: options, drop(), DroppedError, statistics, the hook, and a pool
// that finds the built-in downstream's knee by itself.

const test = require('node:test');
const assert = require('node:assert/strict');
const {Pool, pLimit, DroppedError} = require('..');
const {startDownstream} = require('../bin/downstream');
const {sweep} = require('../bin/sweep');
const {delay} = require('./helpers');

test('options: adaptive forms, bounds, and clear errors', () => {
  assert.equal(new Pool({concurrency: 'adaptive'}).concurrency, 4);
  assert.equal(new Pool({concurrency: {adaptive: 'gradient', min: 2, max: 50, initial: 10}}).concurrency, 10);
  assert.equal(pLimit('adaptive').concurrency, 4);
  assert.equal(pLimit({concurrency: {adaptive: 'aimd', initial: 7}}).concurrency, 7);
  assert.throws(() => new Pool({concurrency: {adaptive: 'bogus'}}), {name: 'TypeError', message: /'vegas', 'gradient' or 'aimd'/});
  assert.throws(() => new Pool({concurrency: {adaptive: 'vegas', min: 5, max: 2}}), {name: 'RangeError', message: /`concurrency.min`/});
  assert.throws(() => new Pool({concurrency: {adaptive: 'vegas', initial: 0}}), {message: /`concurrency.initial`/});
  assert.throws(() => new Pool({concurrency: 'adaptive', onLimitChange: 5}), {message: /`onLimitChange` to be a function/});
  assert.throws(() => pLimit({concurrency: 'adaptive', onLimitChange: 'x'}), {message: /`onLimitChange`/});
  // p-limit's own message still holds for everything that is not adaptive.
  assert.throws(() => pLimit('fast'), {message: 'Expected `concurrency` to be a number from 1 and up'});
  const pool = new Pool({concurrency: 'adaptive'});
  assert.throws(() => {
    pool.concurrency = 8;
  }, {name: 'TypeError', message: /adaptive/});
  const limit = pLimit('adaptive');
  assert.throws(() => {
    limit.concurrency = 8;
  }, {message: /adaptive/});
});

test('drop() and DroppedError: not a success, counted apart', async () => {
  const pool = new Pool({concurrency: 2});
  assert.equal(await pool.run(({drop}) => (drop(), 'refused but resolved')), 'refused but resolved');
  await assert.rejects(
    pool.run(() => {
      throw new DroppedError('429');
    }),
    e => e instanceof DroppedError && e.code === 'ASYNC_SHAPE_DROPPED',
  );
  await pool.run(() => 'ok');
  await assert.rejects(pool.run(() => Promise.reject(new Error('fail'))));
  const s = pool.stats();
  assert.deepEqual([s.completed, s.dropped, s.failed], [1, 2, 1]);
  assert.equal(s.adaptive, undefined, 'a fixed pool has no controller');
});

test('an overloaded adaptive pool lowers its limit and says so', async () => {
  const changes = [];
  const pool = new Pool({concurrency: {adaptive: 'vegas', initial: 50}, onLimitChange: limit => changes.push(limit)});
  // Every task is refused: congestion, window after window.
  for (let round = 0; round < 20; round++) {
    await Promise.allSettled(Array.from({length: 50}, () => pool.run(async () => Promise.reject(new DroppedError()))));
  }
  assert.ok(pool.concurrency < 50, `limit ${pool.concurrency}`);
  assert.ok(changes.length > 0);
  assert.equal(changes.at(-1), pool.concurrency);
  const s = pool.stats();
  assert.equal(s.adaptive.algorithm, 'vegas');
  assert.equal(s.adaptive.limit, pool.concurrency);
  assert.ok(Array.isArray(s.adaptive.history) && s.adaptive.history.length >= 2);
  assert.ok(s.adaptive.history.every(h => typeof h.time === 'number' && typeof h.limit === 'number'));
  assert.equal(s.dropped, 1000);
});

test('adaptive pLimit learns from its tasks’ running time, map items too', async () => {
  const changes = [];
  const limit = pLimit({concurrency: {adaptive: 'vegas', initial: 2, max: 64}, onLimitChange: l => changes.push(l)});
  // A downstream with room for 16: latency stays flat until 16 run at once, so the limit grows.
  let running = 0;
  const call = async () => {
    running++;
    await delay(running > 16 ? 40 : 10);
    running--;
  };
  await Promise.all(Array.from({length: 600}, () => limit(call)));
  assert.ok(limit.concurrency > 2, `grew to ${limit.concurrency}`);
  assert.ok(changes.length > 0);
  const before = limit.concurrency;
  await limit.map(Array.from({length: 200}, (_, i) => i), () => call());
  assert.ok(limit.concurrency >= 1 && limit.concurrency <= 64);
  assert.equal(limit.activeCount, 0);
  assert.equal(typeof before, 'number');
});

test('an adaptive pool ends near the knee the sweep finds on the built-in downstream', {timeout: 120_000}, async () => {
  const d = startDownstream({capacity: 400, latency: 20});
  try {
    assert.equal(d.knee, 8);
    const result = await sweep(d.url, {levels: [2, 4, 8, 16, 32], duration: 2, method: 'GET', headers: {}, adaptive: true});
    const {finalLimit} = result.adaptive;
    assert.ok(finalLimit >= result.knee / 2 && finalLimit <= result.knee * 2, `adaptive ${finalLimit}, sweep knee ${result.knee}`);
    assert.ok(result.adaptive.throughputVsBestFixed > 0.6, `throughput ${result.adaptive.throughputVsBestFixed}`);
    assert.equal(result.adaptive.errors, 0);
  } finally {
    d.close();
  }
});

test('a cold adaptive pool starts by slow start: its first step doubles the limit, then steps of 2√limit', async () => {
  // The first round trip has nothing to compare with, so it always counts as clean: from 4, the
  // limit doubles (TCP-like slow start), whatever the machine's speed. Tasks here never queue.
  for (const [initial, first] of [
    [4, 8],
    [10, 16],
  ]) {
    const changes = [];
    const pool = new Pool({concurrency: {adaptive: 'vegas', initial, max: 64}, onLimitChange: l => changes.push(l)});
    let done = 0;
    const client = async () => {
      while (done < 400) {
        await pool.run(() => delay(5));
        done++;
      }
    };
    await Promise.all(Array.from({length: 64}, client));
    assert.equal(changes[0], first, `from ${initial}: ${changes.join(', ')}`);
    assert.ok(pool.stats().adaptive.history[0].limit === initial);
  }
});
