'use strict';
// Shared helpers for the JS tests. Tests assert behaviour, order and counts; where time is needed
// the margins are wide.

const {spawnSync} = require('node:child_process');
const path = require('node:path');

const delay = ms => new Promise(resolve => setTimeout(resolve, ms));

/** Lets pending microtasks and a few loop turns run. */
const ticks = async (n = 3) => {
  for (let i = 0; i < n; i++) await new Promise(resolve => setImmediate(resolve));
};

/** 'pending', 'fulfilled' or 'rejected', observed after a few loop turns (marks it handled). */
async function stateOf(promise) {
  let state = 'pending';
  promise.then(
    () => {
      state = 'fulfilled';
    },
    () => {
      state = 'rejected';
    },
  );
  await ticks();
  return state;
}

/** A promise with its resolvers outside. */
function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return {promise, resolve, reject};
}

/**
 * Runs `source` as a CommonJS script in a fresh node (the same binary) and returns
 * {status, stdout, stderr, ms}. `async-shape` resolves to this package.
 */
function runScript(source, {timeout = 30_000, args = []} = {}) {
  const started = Date.now();
  const res = spawnSync(process.execPath, [...args, '-e', source], {
    cwd: path.join(__dirname, '..'),
    encoding: 'utf8',
    timeout,
    env: {...process.env, NODE_PATH: path.join(__dirname, '..', '..')},
  });
  return {status: res.status, signal: res.signal, stdout: res.stdout, stderr: res.stderr, ms: Date.now() - started};
}

/** What the process emitted as `event` while `fn` ran, and for a few loop turns after. */
async function eventsDuring(event, fn) {
  const seen = [];
  const listener = value => seen.push(value);
  process.on(event, listener);
  try {
    await fn();
    await ticks(5);
  } finally {
    process.off(event, listener);
  }
  return seen;
}

/** The rejections left unhandled while `fn` ran, or shortly after. */
const noUnhandledRejections = fn => eventsDuring('unhandledRejection', fn);

/**
 * Runs `batch()` `rounds` times and returns how much the floor of heap + external memory rose
 * (bytes). The test runner may keep the previous batch alive for one round, so floors are
 * compared: a leak raises the floor with every batch. Needs --expose-gc.
 */
async function floorGrowth(batch, rounds = 11) {
  const measure = async () => {
    await ticks();
    global.gc();
    global.gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.external;
  };
  const samples = [];
  for (let i = 0; i < rounds; i++) {
    await batch();
    samples.push(await measure());
  }
  return Math.min(...samples.slice(-3)) - Math.min(...samples.slice(0, 3));
}

module.exports = {delay, ticks, stateOf, deferred, runScript, eventsDuring, noUnhandledRejections, floorGrowth};
