'use strict';
// Shared helpers for the JS tests. Tests assert behaviour, order and counts; where time is needed
// the margins are wide.

const {spawnSync} = require('node:child_process');
const path = require('node:path');

const delay = ms => new Promise(resolve => setTimeout(resolve, ms));

/** Resolves once `check()` is true, polling every 10 ms; rejects naming `what` after `ms`. */
async function until(check, ms, what) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await delay(10);
  }
}

/** Holds the JS thread for `ms` (a busy loop). */
function busy(ms) {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/** `promise`'s value, or `fallback` if it has not settled within `ms` (the timer is cleared). */
async function orAfter(promise, ms, fallback) {
  let timer;
  try {
    return await Promise.race([promise, new Promise(resolve => (timer = setTimeout(resolve, ms, fallback)))]);
  } finally {
    clearTimeout(timer);
  }
}

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
 * (bytes): the lowest of the last three samples minus the lowest of the first three, so a leak,
 * which raises the floor with every batch, shows, and a one-round retention does not. Needs
 * --expose-gc. For batches of many promises, use floorGrowthInChild: node:test itself keeps some
 * of a batch's promises alive for a while, by an amount that varies with timing.
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
  floorGrowth.samples = samples;
  return Math.min(...samples.slice(-3)) - Math.min(...samples.slice(0, 3));
}

/**
 * floorGrowth in a fresh node with --expose-gc and no test runner, so that only the library's
 * memory is measured. `source` is CommonJS that defines `batch` (an async function) and may
 * define `report` (a function whose result comes back as `report`). Returns
 * {growth, samples (MiB), report}; throws with the child's stderr if it fails.
 */
function floorGrowthInChild(source, {rounds = 11, timeout = 150_000} = {}) {
  const script = `
    const {floorGrowth} = require(${JSON.stringify(__filename)});
    ${source}
    floorGrowth(batch, ${rounds}).then(growth => {
      const samples = floorGrowth.samples.map(b => +(b / 1048576).toFixed(2));
      console.log(JSON.stringify({growth, samples, report: typeof report === 'function' ? report() : null}));
    });
  `;
  const res = runScript(script, {timeout, args: ['--expose-gc']});
  if (res.status !== 0) throw new Error(`memory child failed (status ${res.status}, signal ${res.signal})\n${res.stderr}`);
  return JSON.parse(res.stdout.trim().split('\n').pop());
}

module.exports = {delay, until, busy, orAfter, ticks, stateOf, deferred, runScript, eventsDuring, noUnhandledRejections, floorGrowth, floorGrowthInChild};
