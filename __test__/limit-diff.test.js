'use strict';
// Differential fuzz: pLimit against p-limit 7.3.3 on seeded random schedules (./fuzz/limit-schedule.js):
// submits of every kind of task, limit.map batches over every kind of input, concurrency changes,
// clearQueue with and without rejectOnClear, on a deterministic clock (one tick = one setImmediate
// turn). The whole trace must match: the user code that ran in each tick, in order (starts with
// their `this`, arguments and the counts they saw, thenables' `then` calls, iterator reads), the
// counts after every call and at every tick, and which promise settled with what in which tick.
//
//   FUZZ_SEEDS=50000 node --test __test__/limit-diff.test.js    more seeds (default 4000)
//   FUZZ_SEED=1234 node --test __test__/limit-diff.test.js      one seed, its trace on failure
//   FUZZ_FROM=1000000 FUZZ_SEEDS=20000 node --test …              a fresh range
//
// A failing seed is shrunk (delta debugging of its steps) and printed with the first tick that
// differs.

const test = require('node:test');
const assert = require('node:assert/strict');
const {pLimit} = require('..');
const {makeSchedule, runSchedule, compare, shrink} = require('./fuzz/limit-schedule');

const SEEDS = Number(process.env.FUZZ_SEEDS ?? 4000);
// The first seed (a fresh range finds what the usual one hides).
const FROM = Number(process.env.FUZZ_FROM ?? 0);
const ONE = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

async function check(reference, seed) {
  const schedule = makeSchedule(seed);
  const difference = compare(await runSchedule(reference, schedule), await runSchedule(pLimit, schedule));
  if (difference === undefined) return;
  const minimal = await shrink(reference, pLimit, schedule);
  const first = compare(await runSchedule(reference, minimal), await runSchedule(pLimit, minimal)) ?? difference;
  assert.fail(
    `seed ${seed} differs from p-limit (rerun: FUZZ_SEED=${seed}).\n` +
      `minimal schedule: ${JSON.stringify(minimal)}\n` +
      `first difference at tick ${first.tick}:\n` +
      `  p-limit: ${JSON.stringify(first.expected)}\n` +
      `  pLimit:  ${JSON.stringify(first.actual)}`,
  );
}

test('the schedules are deterministic per seed', () => {
  assert.deepEqual(makeSchedule(7), makeSchedule(7));
  assert.notDeepEqual(makeSchedule(7), makeSchedule(8));
});

test('the harness sees a difference when there is one', async () => {
  const {default: reference} = await import('p-limit');
  // A limiter that starts queued tasks late by a microtask, and one that swaps two outcomes.
  const late = options => {
    const limit = reference(options);
    const wrapped = (fn, ...args) => limit(async (...a) => (await null, fn(...a)), ...args);
    return Object.defineProperties(wrapped, Object.getOwnPropertyDescriptors(limit));
  };
  let found = 0;
  for (let seed = 0; seed < 20 && found === 0; seed++) {
    const schedule = makeSchedule(seed);
    if (compare(await runSchedule(reference, schedule), await runSchedule(late, schedule))) found++;
  }
  assert.equal(found, 1);
});

test(`pLimit matches p-limit 7.3.3 on ${ONE === undefined ? SEEDS : 1} random schedules`, {timeout: 600_000}, async () => {
  const {default: reference} = await import('p-limit');
  if (ONE !== undefined) {
    await check(reference, ONE);
    return;
  }
  for (let seed = FROM; seed < FROM + SEEDS; seed++) await check(reference, seed);
});
