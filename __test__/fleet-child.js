'use strict';
// One process of a test fleet (__test__/fleet.test.js): started with fork(), configured by the
// JSON in argv[2], talks to the test over IPC. Every task records when it really started and
// stopped, on the machine's monotonic clock (`process.hrtime`, one clock for every process), so
// the test computes the fleet's largest overlap offline.
//
// Scenarios (`config.scenario`):
// - workload: `tasks` tasks of random durations (0–`maxMs` ms), random priorities, a tenth of
//   them aborted at a random moment (queued or running); on a Pool, or on a pLimit (`api:
//   'limit'`: no priorities, no aborts). Waits for 'go'; replies {intervals, settled, ...}.
// - hold: starts `hold` tasks that stop only when their signal aborts or on 'release'; replies
//   {holding} once they all run, and {aborted} when the lease is lost.
// - one: runs one task when told 'go' and replies {started} when it starts.
// - stall: one running task, then the event loop blocked for `stallMs`; replies what happened.
// - exit: runs a task on a shared pLimit, then ends without close().

const {Pool, pLimit} = require('..');

const config = JSON.parse(process.argv[2]);
// One clock for every process: CLOCK_MONOTONIC (process.hrtime), in ms. Not
// `performance.timeOrigin + performance.now()`: Node reads the wall clock and the monotonic clock
// one after the other at startup, and a process descheduled between the two keeps that gap as an
// offset for life (seen: 1 in 40 processes forked four at a time, 4.5–8 ms off; it made a run of
// the fleet benchmark show 64 tasks in flight under a limit of 32).
const now = () => Number(process.hrtime.bigint()) / 1e6;
const events = [];
const shared = {redis: config.url, key: config.key, onEvent: event => events.push({type: event.type, at: now(), error: event.error?.name})};
if (config.leaseMs !== undefined) shared.leaseMs = config.leaseMs;
if (config.onStoreDown !== undefined) shared.onStoreDown = config.onStoreDown;
if (config.localConcurrency !== undefined) shared.localConcurrency = config.localConcurrency;

let seed = config.seed ?? 1;
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};

const send = message => new Promise(resolve => process.send(message, resolve));
const message = type =>
  new Promise(resolve => {
    const on = m => {
      if (m === type || m?.type === type) {
        process.off('message', on);
        resolve(m);
      }
    };
    process.on('message', on);
  });

/** A task that runs `ms` ms, or until `signal` aborts; records its interval. */
function timed(intervals, ms, signal) {
  return new Promise(resolve => {
    const start = now();
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      intervals.push(start, now());
      resolve();
    };
    const timer = setTimeout(finish, ms);
    signal?.addEventListener('abort', finish, {once: true});
  });
}

async function workload() {
  const api = config.api ?? 'pool';
  const limiter = api === 'pool' ? new Pool({concurrency: config.limit, shared}) : pLimit({concurrency: config.limit, shared});
  await limiter.ready();
  await send({type: 'ready'});
  await message('go');
  const intervals = [];
  const outcomes = {fulfilled: 0, rejected: 0, reasons: {}};
  const all = [];
  for (let i = 0; i < config.tasks; i++) {
    const ms = Math.floor(random() * (config.maxMs ?? 5));
    let promise;
    if (api === 'pool') {
      const priority = config.priorities === false ? 0 : Math.floor(random() * 5) - 2;
      let signal;
      if (random() < (config.abortRate ?? 0.1)) {
        const controller = new AbortController();
        setTimeout(() => controller.abort(new Error('test abort')), Math.floor(random() * 20));
        signal = controller.signal;
      }
      promise = limiter.run(({signal: taskSignal}) => timed(intervals, ms, taskSignal), {priority, ...(signal ? {signal} : {})});
    } else {
      promise = limiter(() => timed(intervals, ms, undefined));
    }
    all.push(
      promise.then(
        () => outcomes.fulfilled++,
        error => {
          outcomes.rejected++;
          const name = error?.name === 'Error' ? error.message : error?.name;
          outcomes.reasons[name] = (outcomes.reasons[name] ?? 0) + 1;
        },
      ),
    );
    // Spread the submissions over a few turns, so that the fleet's queue moves meanwhile.
    if (i % 50 === 49) await new Promise(resolve => setImmediate(resolve));
  }
  await Promise.all(all);
  const fleet = api === 'pool' ? limiter.stats().fleet : limiter.fleet;
  await limiter.close();
  await send({type: 'done', intervals, ...outcomes, settled: all.length, fleet, events});
}

async function hold() {
  const pool = new Pool({concurrency: config.limit, shared});
  await pool.ready();
  const intervals = [];
  let running = 0;
  const stops = [];
  const aborted = [];
  const tasks = [];
  for (let i = 0; i < config.hold; i++) {
    tasks.push(
      pool
        .run(({signal}) => {
          running++;
          if (running === config.hold) send({type: 'holding', held: pool.stats().fleet.held});
          return new Promise(resolve => {
            const start = now();
            const stop = () => {
              intervals.push(start, now());
              resolve();
            };
            stops.push(stop);
            signal.addEventListener('abort', () => {
              aborted.push(signal.reason?.name);
              stop();
            }, {once: true});
          });
        })
        .catch(error => error?.name),
    );
  }
  process.on('message', m => {
    if (m === 'release') for (const stop of stops.splice(0)) stop();
  });
  const outcomes = await Promise.all(tasks);
  await send({type: 'released', outcomes, aborted, intervals, events});
  await pool.close();
  process.exit(0);
}

async function one() {
  const pool = new Pool({concurrency: config.limit, shared});
  await pool.ready();
  await send({type: 'ready'});
  await message('go');
  const asked = now();
  await pool.run(async () => {
    await send({type: 'started', at: now(), asked});
  });
  await pool.close();
  await send({type: 'done'});
}

async function stall() {
  const pool = new Pool({concurrency: config.limit, shared});
  await pool.ready();
  let reason;
  let abortedAt;
  const task = pool.run(
    ({signal}) =>
      new Promise(resolve => {
        signal.addEventListener('abort', () => {
          reason = signal.reason;
          abortedAt = now();
          resolve('stopped');
        }, {once: true});
      }),
  );
  const outcome = task.then(
    value => ({ok: true, value}),
    error => ({ok: false, name: error?.name, code: error?.code}),
  );
  // Let it start, then block the event loop for longer than the lease.
  await new Promise(resolve => setTimeout(resolve, 50));
  const started = pool.activeCount;
  const until = Date.now() + config.stallMs;
  while (Date.now() < until) {
    // blocked
  }
  const settled = await outcome;
  // After the stall the pool works again: a new task runs once the lease is back.
  const after = await pool.run(({signal}) => (signal.aborted ? 'aborted' : 'ran'));
  const fleet = pool.stats().fleet;
  await pool.close();
  await send({type: 'done', started, settled, reason: reason?.name, reasonCode: reason?.code, abortedAt, after, fleet, events});
}

async function exit() {
  const limit = pLimit({concurrency: config.limit, shared});
  await limit.ready();
  await limit(() => new Promise(resolve => setTimeout(resolve, 10)));
  await send({type: 'ran', held: limit.fleet.held});
  // No close(): the process ends by itself, and gives its permits back on the way out.
  process.disconnect();
}

const scenarios = {workload, hold, one, stall, exit};
scenarios[config.scenario]().catch(async error => {
  await send({type: 'error', message: String(error?.stack ?? error)}).catch(() => {});
  process.exit(1);
});
// The test ends us (or we end) on disconnect.
process.on('disconnect', () => {
  if (config.scenario !== 'exit') process.exit(0);
});
