'use strict';
// A limit shared by a fleet (#16), against a real redis-server (Debian's, started by
// __test__/redis.js on a free loopback port) and real processes (__test__/fleet-child.js). No
// mocks. The fleet's largest overlap is computed from the intervals each process recorded on
// the machine's one clock; every wait is bounded; nothing is left running.

const test = require('node:test');
const {after} = require('node:test');
const assert = require('node:assert/strict');
const {fork} = require('node:child_process');
const path = require('node:path');
const {Pool, pLimit, LeaseLostError, FleetError} = require('..');
const {startRedis, stopAllRedis, skipWithoutRedis, freePort, RedisReplyError} = require('./redis');

after(stopAllRedis);
const noRedis = skipWithoutRedis();
const CHILD = path.join(__dirname, 'fleet-child.js');
// The children's clock (see __test__/fleet-child.js): CLOCK_MONOTONIC, the same in every process.
const now = () => Number(process.hrtime.bigint()) / 1e6;
const delay = ms => new Promise(resolve => setTimeout(resolve, ms));
let keys = 0;
const newKey = name => `${name}-${process.pid}-${++keys}`;

// --- children -------------------------------------------------------------------------------

const children = new Set();
after(() => {
  for (const c of children) c.kill('SIGKILL');
});

/** Forks a fleet process; `next(type)` resolves with its next message of that type (bounded). */
function spawnChild(config) {
  const child = fork(CHILD, [JSON.stringify(config)], {stdio: ['ignore', 'inherit', 'inherit', 'ipc']});
  children.add(child);
  const inbox = [];
  const waiting = [];
  child.on('message', m => {
    if (m?.type === 'error') {
      for (const w of waiting.splice(0)) w.reject(new Error(`fleet child failed: ${m.message}`));
      return;
    }
    const at = waiting.findIndex(w => w.type === m?.type);
    if (at >= 0) waiting.splice(at, 1)[0].resolve(m);
    else inbox.push(m);
  });
  const exited = new Promise(resolve => child.on('exit', (code, signal) => {
    children.delete(child);
    for (const w of waiting.splice(0)) w.reject(new Error(`fleet child exited (${signal ?? code}) while the test waited for '${w.type}'`));
    resolve({code, signal});
  }));
  return {
    child,
    exited,
    send: m => child.send(m),
    next(type, timeoutMs = 30_000) {
      const at = inbox.findIndex(m => m?.type === type);
      if (at >= 0) return Promise.resolve(inbox.splice(at, 1)[0]);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no '${type}' from a fleet child within ${timeoutMs} ms`)), timeoutMs);
        waiting.push({
          type,
          resolve: m => {
            clearTimeout(timer);
            resolve(m);
          },
          reject: e => {
            clearTimeout(timer);
            reject(e);
          },
        });
      });
    },
  };
}

/** The fleet's largest number of intervals open at once, and when (intervals: flat [start, end, …] per process). */
function maxOverlap(perProcess, from = -Infinity) {
  const events = [];
  for (const flat of perProcess) {
    for (let i = 0; i < flat.length; i += 2) {
      events.push([flat[i], 1], [flat[i + 1], -1]);
    }
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let max = 0;
  let at = NaN;
  for (const [t, d] of events) {
    open += d;
    if (t >= from && open > max) {
      max = open;
      at = t;
    }
  }
  return {max, at};
}

/** The error a promise rejects with (or {fulfilled: value}), observed at once so that it is never unhandled. */
const outcome = promise => promise.then(value => ({fulfilled: value}), error => error);

/** Bounds a promise in time, with a message saying what did not happen. */
function within(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    }),
  ]);
}

// --- the harness itself ------------------------------------------------------------------------

test('the harness: a real redis-server on a free port, paused, resumed, restarted empty, stopped', {skip: noRedis, timeout: 30_000}, async () => {
  const server = await startRedis({password: 'pa ss'});
  assert.match(server.url, /^redis:\/\/:pa%20ss@127\.0\.0\.1:\d+$/);
  assert.equal(await server.command('SET', 'k', 'v'), 'OK');
  assert.equal(await server.command('GET', 'k'), 'v');
  server.pause();
  await assert.rejects(server.pipeline([['PING']], {timeoutMs: 300}), /no reply within 300 ms/);
  server.resume();
  assert.equal(await server.command('PING'), 'PONG');
  const pid = server.pid;
  await server.restart();
  assert.notEqual(server.pid, pid);
  assert.equal(await server.command('GET', 'k'), null, 'a restart loses every key');
  const calls = await server.commandCalls();
  assert.ok(calls.get >= 1 && calls.auth >= 1);
  await server.stop();
  assert.throws(() => process.kill(server.pid, 0), /ESRCH/, 'the server process is gone');
});

// --- bad input: clear errors, no hang ---------------------------------------------------------

test('bad shared options are TypeErrors or RangeErrors naming the option', () => {
  const cases = [
    [{shared: 'redis://h'}, TypeError, /`shared` to be an object/],
    [{shared: null}, TypeError, /`shared` to be an object/],
    [{shared: {key: 'k'}}, TypeError, /`shared\.redis` to be a redis:\/\/ or rediss:\/\/ URL string, got `undefined`/],
    [{shared: {redis: 'not a url', key: 'k'}}, TypeError, /`shared\.redis`.*not a URL/],
    [{shared: {redis: 'http://127.0.0.1:6379', key: 'k'}}, TypeError, /`shared\.redis`.*scheme `"http"`/],
    [{shared: {redis: 'redis://127.0.0.1:6379', key: 42}}, TypeError, /`shared\.key` to be a string.*`42` \(number\)/],
    [{shared: {redis: 'redis://127.0.0.1:6379'}}, TypeError, /`shared\.key` to be a string.*`undefined`/],
    [{shared: {redis: 'redis://127.0.0.1:6379', key: ''}}, RangeError, /`shared\.key` to be 1 to 512 characters long, got an empty string/],
    [{shared: {redis: 'redis://h', key: 'k', leaseMs: '5000'}}, TypeError, /`shared\.leaseMs` to be an integer/],
    [{shared: {redis: 'redis://h', key: 'k', leaseMs: 10}}, RangeError, /`shared\.leaseMs` to be from 100 to 3600000 ms, got `10`/],
    [{shared: {redis: 'redis://h', key: 'k', leaseMs: Infinity}}, TypeError, /`shared\.leaseMs`/],
    [{shared: {redis: 'redis://h', key: 'k', onStoreDown: 'fail'}}, TypeError, /`shared\.onStoreDown` to be 'wait' or 'local'/],
    [{shared: {redis: 'redis://h', key: 'k', onStoreDown: 'local'}}, TypeError, /`shared\.localConcurrency` to be an integer from 1/],
    [{shared: {redis: 'redis://h', key: 'k', onStoreDown: 'local', localConcurrency: 9}}, RangeError, /`shared\.localConcurrency` \(9\) to be at most `concurrency` \(8\)/],
    [{shared: {redis: 'redis://h', key: 'k', localConcurrency: 2}}, TypeError, /`shared\.localConcurrency` goes with onStoreDown: 'local'/],
    [{shared: {redis: 'redis://h', key: 'k', onEvent: 'log'}}, TypeError, /`shared\.onEvent` to be a function/],
    [{shared: {redis: 'redis://h', key: 'k', quantumMs: 1.5}}, TypeError, /`shared\.quantumMs` to be an integer/],
    [{shared: {redis: 'redis://h', key: 'k', quantumMs: -1}}, RangeError, /`shared\.quantumMs` to be from 0 to 60000 ms, got `-1`/],
  ];
  for (const [options, type, message] of cases) {
    assert.throws(() => new Pool({concurrency: 8, ...options}), {name: type.name, message}, JSON.stringify(options));
    assert.throws(() => pLimit({concurrency: 8, ...options}), {name: type.name, message}, `pLimit ${JSON.stringify(options)}`);
  }
  // The fleet limit is a finite number, and an adaptive limit cannot be shared.
  const shared = {redis: 'redis://127.0.0.1:6379', key: 'k'};
  assert.throws(() => new Pool({shared}), {name: 'RangeError', message: /finite integer with `shared`/});
  assert.throws(() => pLimit({concurrency: Infinity, shared}), {name: 'RangeError', message: /finite integer with `shared`/});
  assert.throws(() => new Pool({concurrency: 'adaptive', shared}), {name: 'TypeError', message: /adaptive limit cannot be shared/});
  assert.throws(() => pLimit({concurrency: {adaptive: 'aimd'}, shared}), {name: 'TypeError', message: /adaptive limit cannot be shared/});
});

test('a local limit keeps p-limit\'s shape; close() on a local Pool rejects what waits and what comes later', async () => {
  const limit = pLimit(2);
  assert.equal(limit.close, undefined);
  assert.equal(limit.ready, undefined);
  const pool = new Pool({concurrency: 1});
  await pool.ready();
  let release;
  const running = pool.run(() => new Promise(resolve => (release = resolve)));
  const queued = pool.run(() => 'never');
  await delay(5);
  const closed = pool.close();
  assert.equal(pool.close(), closed, 'the same promise');
  await assert.rejects(queued, {name: 'AbortError', message: 'The pool was closed'});
  await assert.rejects(pool.run(() => 1), {name: 'AbortError'});
  release('done');
  assert.equal(await running, 'done', 'running tasks finish');
  await closed;
  assert.equal(pool.stats().fleet, undefined);
});

test('an unreachable server: ready() rejects naming the URL, close() settles every task, nothing hangs', {timeout: 30_000}, async () => {
  const port = await freePort(); // nothing listens there
  const url = `redis://127.0.0.1:${port}`;
  const pool = new Pool({concurrency: 4, shared: {redis: url, key: newKey('unreachable')}});
  // Observed from the start: it may settle while the test awaits something else.
  const task = outcome(pool.run(() => 'ran'));
  await assert.rejects(within(pool.ready(), 15_000, 'ready() to reject'), error => {
    assert.equal(error.name, 'FleetError');
    assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
    return true;
  });
  await within(pool.close(), 5000, 'close()');
  assert.equal((await task).name, 'AbortError');
});

test('a wrong password: ready() and every task reject with the server\'s refusal, no hang', {skip: noRedis, timeout: 30_000}, async () => {
  const server = await startRedis({password: 'right'});
  const url = `redis://:wrong@127.0.0.1:${server.port}`;
  const events = [];
  const pool = new Pool({concurrency: 4, shared: {redis: url, key: newKey('wrongpass'), onEvent: e => events.push(e)}});
  const queued = outcome(pool.run(() => 'ran'));
  await assert.rejects(within(pool.ready(), 15_000, 'ready() to reject'), {name: 'FleetError', message: /WRONGPASS|invalid username-password|NOAUTH|auth/i});
  assert.equal((await within(queued, 5000, 'the queued task to settle')).name, 'FleetError');
  await assert.rejects(pool.run(() => 'later'), {name: 'FleetError'});
  await delay(10);
  assert.ok(events.some(e => e.type === 'fatal' && e.error instanceof FleetError), JSON.stringify(events));
  await within(pool.close(), 5000, 'close()');
  // pLimit alike.
  const limit = pLimit({concurrency: 2, shared: {redis: url, key: newKey('wrongpass')}});
  const first = outcome(limit(() => 'ran'));
  await assert.rejects(within(limit.ready(), 15_000, 'ready()'), {name: 'FleetError'});
  assert.equal((await within(first, 5000, 'the queued task')).name, 'FleetError');
  await within(limit.close(), 5000, 'close()');
});

// --- one process ------------------------------------------------------------------------------

test('one process: tasks run under the fleet limit, stats().fleet reports it, close() gives the permits back; keys share one hash tag', {skip: noRedis, timeout: 30_000}, async () => {
  const server = await startRedis();
  const key = newKey('single');
  const pool = new Pool({concurrency: 3, shared: {redis: server.url, key}});
  await within(pool.ready(), 10_000, 'ready()');
  let running = 0;
  let max = 0;
  const results = await Promise.all(
    Array.from({length: 30}, (_, i) =>
      pool.run(async ({signal}) => {
        assert.ok(signal instanceof AbortSignal, 'a shared pool always gives a signal (fencing)');
        running++;
        max = Math.max(max, running);
        await delay(2);
        running--;
        return i;
      }),
    ),
  );
  assert.deepEqual(results, Array.from({length: 30}, (_, i) => i));
  assert.equal(max, 3);
  assert.throws(() => {
    pool.concurrency = 4;
  }, {name: 'TypeError', message: /shared by its fleet/});
  const fleet = pool.stats().fleet;
  assert.equal(fleet.limit, 3);
  assert.equal(fleet.ready, true);
  assert.equal(fleet.storeUp, true);
  assert.ok(fleet.held <= 3 && fleet.grants >= 3 && fleet.roundTrips >= 1, JSON.stringify(fleet));
  // Every key of the limiter carries the hash tag {key} (Redis Cluster keeps them on one node).
  const names = await server.command('KEYS', '*');
  assert.ok(names.length > 0);
  for (const name of names) assert.ok(name.startsWith(`async-shape:{${key}}:`), name);
  await within(pool.close(), 5000, 'close()');
  const permits = await server.command('HLEN', `async-shape:{${key}}:permits`);
  assert.equal(permits, 0, 'close() returned every permit');
  await assert.rejects(pool.run(() => 1), {name: 'AbortError'});
});

test('a process that ends without close() gives its permits back on the way out, and ends', {skip: noRedis, timeout: 30_000}, async () => {
  const server = await startRedis();
  const key = newKey('exit');
  const c = spawnChild({scenario: 'exit', url: server.url, key, limit: 4, leaseMs: 60_000});
  const ran = await c.next('ran');
  assert.ok(ran.held >= 1);
  const {code} = await within(c.exited, 10_000, 'the process to end by itself');
  assert.equal(code, 0);
  // The lease is a minute long: only the exit hook can have returned the permits this soon.
  assert.equal(await server.command('HLEN', `async-shape:{${key}}:permits`), 0);
});

// --- four processes ---------------------------------------------------------------------------

test('four processes sharing a limit of 8: never more than 8 in flight over thousands of tasks; every promise settles', {skip: noRedis, timeout: 60_000}, async () => {
  const server = await startRedis();
  const key = newKey('four');
  const fleet = [0, 1, 2, 3].map(i =>
    spawnChild({scenario: 'workload', api: i < 3 ? 'pool' : 'limit', url: server.url, key, limit: 8, tasks: 700, maxMs: 4, seed: 7 + i}),
  );
  await Promise.all(fleet.map(c => c.next('ready')));
  for (const c of fleet) c.send('go');
  const results = await Promise.all(fleet.map(c => c.next('done', 50_000)));
  let total = 0;
  for (const r of results) {
    assert.equal(r.settled, 700);
    assert.equal(r.fulfilled + r.rejected, 700, 'every promise settled');
    total += r.intervals.length / 2;
    for (const reason of Object.keys(r.reasons)) assert.equal(reason, 'test abort', `only the test's aborts reject: ${JSON.stringify(r.reasons)}`);
    assert.ok(r.fleet.held <= 8);
  }
  assert.ok(total >= 2500, `${total} tasks ran`);
  const {max} = maxOverlap(results.map(r => r.intervals));
  assert.ok(max <= 8, `the fleet ran ${max} tasks at once`);
  assert.ok(max >= 2, `the processes ran side by side (max ${max})`);
  // Every process got work done while the others were busy (fleet-wide FIFO by ticket).
  for (const r of results) assert.ok(r.fulfilled > 0);
});

test('SIGKILL of a process holding every permit: the others get them back within the lease', {skip: noRedis, timeout: 30_000}, async () => {
  const server = await startRedis();
  const key = newKey('sigkill');
  const leaseMs = 1000;
  const holder = spawnChild({scenario: 'hold', url: server.url, key, limit: 4, hold: 4, leaseMs});
  const {held} = await holder.next('holding');
  assert.equal(held, 4);
  const waiter = spawnChild({scenario: 'one', url: server.url, key, limit: 4, leaseMs});
  await waiter.next('ready');
  waiter.send('go');
  await delay(200);
  assert.equal(await server.command('HGET', `async-shape:{${key}}:meta`, 'used'), '4', 'the holder still holds all 4');
  const killedAt = now();
  holder.child.kill('SIGKILL');
  const {at} = await waiter.next('started', 15_000);
  const waited = at - killedAt;
  // Within the lease, plus a wide margin for a loaded machine (it is a bound, not a measurement).
  assert.ok(waited < leaseMs + 3000, `the waiter started ${waited.toFixed(0)} ms after the kill`);
  await waiter.next('done');
});

test('Redis stopped (SIGSTOP) for longer than the lease, then resumed: no overrun, every promise settles, the fleet goes on', {skip: noRedis, timeout: 60_000}, async () => {
  const server = await startRedis();
  const key = newKey('sigstop');
  const leaseMs = 600;
  const fleet = [0, 1, 2].map(i => spawnChild({scenario: 'workload', url: server.url, key, limit: 8, tasks: 500, maxMs: 20, leaseMs, seed: 31 + i}));
  await Promise.all(fleet.map(c => c.next('ready')));
  for (const c of fleet) c.send('go');
  await delay(150);
  server.pause();
  await delay(leaseMs * 3);
  server.resume();
  const results = await Promise.all(fleet.map(c => c.next('done', 45_000)));
  for (const r of results) {
    assert.equal(r.fulfilled + r.rejected, 500, 'every promise settled');
    for (const reason of Object.keys(r.reasons)) assert.ok(reason === 'test abort' || reason === 'LeaseLostError', reason);
    assert.ok(r.fulfilled > 0);
  }
  const {max} = maxOverlap(results.map(r => r.intervals));
  assert.ok(max <= 8, `the fleet ran ${max} tasks at once`);
  // Someone noticed: the store went down and came back, or a lease was lost and regained.
  const seen = new Set(results.flatMap(r => r.events.map(e => e.type)));
  assert.ok(seen.has('leaseLost') || seen.has('storeDown'), [...seen].join());
});

test('Redis restarted without its state: the limit holds again after one lease, every promise settles, the fleet recovers', {skip: noRedis, timeout: 60_000}, async () => {
  const server = await startRedis();
  const key = newKey('restart');
  const leaseMs = 600;
  const fleet = [0, 1, 2].map(i => spawnChild({scenario: 'workload', url: server.url, key, limit: 8, tasks: 500, maxMs: 20, leaseMs, seed: 71 + i}));
  await Promise.all(fleet.map(c => c.next('ready')));
  for (const c of fleet) c.send('go');
  await delay(150);
  const restartAt = now();
  await server.restart();
  const restarted = now();
  const results = await Promise.all(fleet.map(c => c.next('done', 45_000)));
  for (const r of results) {
    assert.equal(r.fulfilled + r.rejected, 500, 'every promise settled');
    for (const reason of Object.keys(r.reasons)) assert.ok(reason === 'test abort' || reason === 'LeaseLostError', reason);
  }
  const intervals = results.map(r => r.intervals);
  // The documented bound: an overrun lasts at most one lease after the state is lost (the old
  // holders fence when their renewal finds them gone), and is at most the limit again.
  const before = maxOverlap(intervals.map(flat => flat.filter((_, i) => flat[i - (i % 2)] < restartAt)));
  assert.ok(before.max <= 8, `before the restart: ${before.max}`);
  const all = maxOverlap(intervals);
  assert.ok(all.max <= 16, `at most twice the limit, briefly: ${all.max}`);
  const settledAfter = maxOverlap(intervals, restarted + leaseMs + 500);
  assert.ok(settledAfter.max <= 8, `one lease after the restart: ${settledAfter.max} at once`);
  // The fleet keeps working after the restart.
  const late = intervals.flat().filter((t, i) => i % 2 === 0 && t > restarted + leaseMs).length;
  assert.ok(late > 0, 'tasks started after the restart');
});

test('an event loop blocked for longer than the lease loses it: the running task\'s signal aborts with LeaseLostError, then the pool works again', {skip: noRedis, timeout: 30_000}, async () => {
  const server = await startRedis();
  const key = newKey('stall');
  const leaseMs = 300;
  const c = spawnChild({scenario: 'stall', url: server.url, key, limit: 2, leaseMs, stallMs: 1500});
  const r = await c.next('done', 20_000);
  assert.equal(r.started, 1);
  assert.equal(r.reason, 'LeaseLostError');
  assert.equal(r.reasonCode, 'ASYNC_SHAPE_LEASE_LOST');
  assert.deepEqual(r.settled, {ok: false, name: 'LeaseLostError', code: 'ASYNC_SHAPE_LEASE_LOST'});
  assert.equal(r.after, 'ran');
  assert.ok(r.fleet.fenced >= 1, JSON.stringify(r.fleet));
  const types = r.events.map(e => e.type);
  assert.ok(types.includes('leaseLost'), types.join());
  assert.ok(types.indexOf('leaseRegained') > types.indexOf('leaseLost'), types.join());
  assert.equal(r.events.find(e => e.type === 'leaseLost').error, 'LeaseLostError');
});

test('LeaseLostError and FleetError are exported with their codes', () => {
  const lost = new LeaseLostError(1000);
  assert.equal(lost.name, 'LeaseLostError');
  assert.equal(lost.code, 'ASYNC_SHAPE_LEASE_LOST');
  assert.match(lost.message, /1000 ms/);
  const fatal = new FleetError('WRONGPASS');
  assert.equal(fatal.name, 'FleetError');
  assert.equal(fatal.code, 'ASYNC_SHAPE_FLEET');
  assert.ok(RedisReplyError);
});

test('demo --fleet: separate limits overrun the downstream, one shared limit does not', {skip: noRedis, timeout: 60_000}, async () => {
  const {demoFleet} = require('../bin/fleet');
  const lines = [];
  const errors = [];
  const code = await demoFleet({requests: 40, fleet: 4, print: line => lines.push(line), printError: line => errors.push(line)});
  assert.equal(code, 0, errors.join('\n'));
  const text = lines.join('\n');
  const row = name => {
    const line = text.split('\n').find(l => l.startsWith(name));
    assert.ok(line, `${name} in\n${text}`);
    const [wall, served, refused, maxInService, failed] = line.slice(name.length).trim().split(/\s+/).map(Number);
    return {wall, served, refused, maxInService, failed};
  };
  const separate = row('4 × pLimit(20), one each');
  const shared = row('4 processes sharing one limit of 20');
  assert.ok(separate.refused > 0, `separate limits: ${separate.refused} 429s`);
  assert.equal(shared.refused, 0, 'one shared limit: no 429');
  assert.equal(shared.served, 160);
  assert.ok(shared.maxInService <= 20);
  assert.equal(separate.failed + shared.failed, 0);
});

test('rediss:// (TLS) is accepted; its tests against a TLS server are in fleet-tls.test.js', async () => {
  const pool = new Pool({concurrency: 2, shared: {redis: 'rediss://127.0.0.1:6380', key: 'k'}});
  const limit = pLimit({concurrency: 2, shared: {redis: 'rediss://127.0.0.1:6380', key: 'k'}});
  await within(Promise.all([pool.close(), limit.close()]), 5000, 'close()');
});

test('a shared pLimit: limit.fleet, map, close() waits for running tasks then returns the permits', {skip: noRedis, timeout: 30_000}, async () => {
  const server = await startRedis({password: 's3cret'});
  const key = newKey('plimit');
  const limit = pLimit({concurrency: 2, shared: {redis: server.url, key}});
  await within(limit.ready(), 10_000, 'ready()');
  assert.deepEqual(await limit.map([1, 2, 3, 4, 5], async x => x * 2), [2, 4, 6, 8, 10]);
  assert.equal(limit.fleet.limit, 2);
  assert.equal(limit.fleet.ready, true);
  assert.throws(() => {
    limit.concurrency = 3;
  }, {name: 'TypeError', message: /shared by its fleet/});
  let finish;
  const running = limit(() => new Promise(resolve => (finish = resolve)));
  const other = limit(() => 'other'); // the second permit
  assert.equal(await other, 'other');
  await delay(20);
  let blocker;
  const second = limit(() => new Promise(resolve => (blocker = resolve))); // both permits busy now
  await delay(20);
  const waiting = outcome(limit(() => 'never'));
  const queued = outcome(limit(() => 'never'));
  const closed = limit.close();
  let closedYet = false;
  closed.then(() => (closedYet = true));
  assert.equal((await waiting).name, 'AbortError');
  assert.equal((await queued).name, 'AbortError');
  await delay(50);
  assert.equal(closedYet, false, 'close() waits for the running task');
  finish('done');
  blocker('second');
  assert.equal(await running, 'done');
  assert.equal(await second, 'second');
  await within(closed, 5000, 'close()');
  assert.equal(await server.command('HLEN', `async-shape:{${key}}:permits`), 0);
  await assert.rejects(limit(() => 1), {name: 'AbortError', message: 'The limit was closed'});
});

test('a shared Pool: map and stream run under the fleet limit, with fenced signals', {skip: noRedis, timeout: 30_000}, async () => {
  const server = await startRedis();
  const pool = new Pool({concurrency: 3, shared: {redis: server.url, key: newKey('map')}});
  let running = 0;
  let max = 0;
  const mapper = async (x, _index, {signal}) => {
    assert.ok(signal instanceof AbortSignal);
    running++;
    max = Math.max(max, running);
    await delay(1);
    running--;
    return x + 1;
  };
  assert.deepEqual(await pool.map([1, 2, 3, 4, 5, 6, 7], mapper), [2, 3, 4, 5, 6, 7, 8]);
  const streamed = [];
  for await (const v of pool.stream([10, 20, 30, 40], mapper)) streamed.push(v);
  assert.deepEqual(streamed, [11, 21, 31, 41]);
  assert.ok(max <= 3);
  await within(pool.close(), 5000, 'close()');
});

test("onStoreDown 'local': while Redis is stopped, tasks run under localConcurrency; every promise settles", {skip: noRedis, timeout: 30_000}, async () => {
  const server = await startRedis();
  const events = [];
  const pool = new Pool({
    concurrency: 4,
    shared: {redis: server.url, key: newKey('local'), leaseMs: 400, onStoreDown: 'local', localConcurrency: 2, onEvent: e => events.push(e.type)},
  });
  await within(pool.ready(), 10_000, 'ready()');
  server.pause();
  try {
    // Wait until the pool has noticed (its lease renewal gets no answer).
    for (let i = 0; i < 100 && !events.includes('storeDown'); i++) await delay(50);
    assert.ok(events.includes('storeDown'), events.join());
    let running = 0;
    let max = 0;
    const done = await within(
      Promise.all(
        Array.from({length: 10}, (_, i) =>
          pool.run(async () => {
            running++;
            max = Math.max(max, running);
            // 5 rounds of 100 ms: longer than the lease, which runs out meanwhile (not fenced here).
            await delay(100);
            running--;
            return i;
          }),
        ),
      ),
      10_000,
      'the tasks to run while Redis is down',
    );
    assert.equal(done.length, 10);
    assert.ok(max <= 2, `ran ${max} at once under localConcurrency 2`);
    assert.ok(events.includes('leaseLost'), `the lease ran out while Redis was down: ${events.join()}`);
  } finally {
    server.resume();
  }
  for (let i = 0; i < 100 && !events.includes('storeUp'); i++) await delay(50);
  assert.ok(events.includes('storeUp'), events.join());
  assert.equal(await pool.run(() => 'after'), 'after');
  await within(pool.close(), 5000, 'close()');
});
