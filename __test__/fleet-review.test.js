'use strict';
// An adversarial review of the shared limit (#16): real redis-server processes (the harness in
// __test__/redis.js) and real OS processes (__test__/fleet-review-child.js, __test__/fleet-child.js).
// Each test bounds its waits; assertions are on counts and order, never on timing.

const test = require('node:test');
const {after} = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {fork} = require('node:child_process');
const {Pool, pLimit} = require('..');
const {startRedis, stopAllRedis, skipWithoutRedis} = require('./redis');
const {runScenario, scenarioOf, parseLog} = require('./fleet-review-fuzz');

after(stopAllRedis);
const noRedis = skipWithoutRedis();
// The children's clock (see __test__/fleet-child.js): CLOCK_MONOTONIC, the same in every process.
const now = () => Number(process.hrtime.bigint()) / 1e6;
const {delay, until} = require('./helpers');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-review-'));
after(() => fs.rmSync(dir, {recursive: true, force: true}));
let keys = 0;
const newKey = name => `review-${name}-${process.pid}-${++keys}`;

const children = new Set();
after(() => {
  for (const c of children) {
    c.kill('SIGCONT');
    c.kill('SIGKILL');
  }
});

/** Forks `file` with `config`; `next(type)` resolves with its next message of that type (bounded). */
function spawn(file, config) {
  const child = fork(path.join(__dirname, file), [JSON.stringify(config)], {stdio: ['ignore', 'inherit', 'inherit', 'ipc']});
  children.add(child);
  const inbox = [];
  const waiting = [];
  child.on('message', m => {
    const at = waiting.findIndex(w => w.type === m?.type || m?.type === 'error');
    if (at >= 0) waiting.splice(at, 1)[0].resolve(m);
    else inbox.push(m);
  });
  const exited = new Promise(resolve =>
    child.on('exit', (code, signal) => {
      children.delete(child);
      resolve({code, signal});
    }),
  );
  return {
    child,
    exited,
    send: m => child.send(m),
    next(type, timeoutMs = 30_000) {
      const at = inbox.findIndex(m => m?.type === type);
      if (at >= 0) return Promise.resolve(inbox.splice(at, 1)[0]);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no '${type}' from ${file} within ${timeoutMs} ms`)), timeoutMs);
        waiting.push({
          type,
          resolve: m => {
            clearTimeout(timer);
            if (m?.type === 'error') reject(new Error(`${file} failed: ${m.message}`));
            else resolve(m);
          },
        });
      });
    },
  };
}

test('a SIGSTOPped holder, resumed after its lease ran out while another holds every permit, starts nothing on its stale permits', {skip: noRedis, timeout: 60_000}, async () => {
  const server = await startRedis();
  const key = newKey('sigstop-holder');
  const leaseMs = 600;
  const log = path.join(dir, 'sigstop-holder.log');
  // A: a steady backlog of 20 ms tasks on all 4 permits.
  const a = spawn('fleet-review-child.js', {mode: 'queue', url: server.url, key, limit: 4, ms: 20, leaseMs, log, seed: 1});
  await a.next('ready');
  await until(() => parseLog(log).intervals.length >= 8, 10_000, 'A running tasks');
  const stoppedAt = now();
  a.child.kill('SIGSTOP');
  // B takes every permit once A's lease has run out in Redis, and keeps them.
  const b = spawn('fleet-child.js', {scenario: 'hold', url: server.url, key, limit: 4, hold: 4, leaseMs});
  const {held} = await b.next('holding', 20_000);
  assert.equal(held, 4);
  const resumedAt = now();
  a.child.kill('SIGCONT');
  // A wakes with overdue timers (its tasks' ends) and an overdue lease: it must fence before it
  // starts anything, and B holds every permit, so A starts nothing until B lets go.
  await delay(1500);
  const frozen = parseLog(log);
  // (+50 ms: a start in the microseconds before the signal takes effect is not a stale one; A
  // wakes ≥ 1.5 leases later.)
  // A start already decided when the signal took effect (its permit taken under a live lease, its
  // function one microtask away) is logged at the resume, before anything else A does then: not
  // a stale one either. A start on a stale permit would follow a task's end (its release).
  const lines = fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map(line => line.split(' '));
  const firstAfter = lines.findIndex(parts => parts[0] !== 'S' && Number(parts.at(-1)) > resumedAt);
  const decided = new Set(lines.slice(0, firstAfter < 0 ? lines.length : firstAfter).filter(parts => parts[0] === 'S' && Number(parts[2]) > resumedAt).map(parts => Number(parts[2])));
  const starts = [...frozen.intervals.map(([start]) => start), ...frozen.open].filter(start => start > stoppedAt + 50 && !decided.has(start));
  assert.equal(starts.length, 0, `A started ${starts.length} tasks after its lease ran out while B held all 4 permits (at +${starts.map(t => (t - stoppedAt).toFixed(1)).join(', +')} ms from SIGSTOP, +${(resumedAt - stoppedAt).toFixed(1)} the SIGCONT)`);
  assert.ok(frozen.events.some(([type]) => type === 'leaseLost'), `A was fenced: ${frozen.events.map(e => e[0]).join()}`);
  // Liveness: once B lets go, A runs again.
  const releasedAt = now();
  b.send('release');
  await b.next('released');
  await until(() => parseLog(log).intervals.some(([start]) => start > releasedAt), 20_000, 'A running again after B let go');
  a.send('stop');
  const done = await a.next('done', 20_000);
  for (const reason of Object.keys(done.reasons)) assert.equal(reason, 'LeaseLostError', JSON.stringify(done.reasons));
  await Promise.all([a.exited, b.exited]);
});

// Seeded scenarios of the fuzzer (__test__/fleet-review-fuzz.js; `node __test__/fleet-review-fuzz.js
// 100` runs more): 2-6 processes, random limits, Pool#run/map/stream and pLimit mixed, aborts,
// timeouts, clear(), close() in the middle, with a SIGKILLed, a SIGSTOPped or a stalled process,
// or processes joining and leaving. Redis's own failures are left to fleet.test.js here (their
// bound depends on renewals a loaded machine may delay).
for (const [seed, chaos] of [
  [4, 'sigstop'],
  [13, 'sigstop'],
  [21, 'sigkill'],
  [22, 'stall'],
  [23, 'join-leave'],
]) {
  test(`fuzz seed ${seed} (${chaos}): never above the limit, nothing started while fenced, every promise settles, every process exits`, {skip: noRedis, timeout: 120_000}, async () => {
    const server = await startRedis();
    const scenario = scenarioOf(seed, chaos);
    const result = await runScenario(scenario, server, dir);
    assert.ok(result.ok, `seed ${seed}: ${JSON.stringify(scenario)}\n${result.problems.join('\n')}`);
    assert.ok(result.tasks > 0);
  });
}

test('connections: two per shared pool while it lives, none after close(); a closed fleet leaves only its counters', {skip: noRedis, timeout: 30_000}, async () => {
  const server = await startRedis();
  const count = async () => (await server.command('CLIENT', 'LIST')).split('\n').filter(Boolean).length;
  const base = await count();
  const key = newKey('conns');
  const pools = Array.from({length: 3}, () => new Pool({concurrency: 4, shared: {redis: server.url, key}}));
  const limit = pLimit({concurrency: 4, shared: {redis: server.url, key}});
  await Promise.all([...pools.map(p => p.ready()), limit.ready()]);
  assert.equal(await count(), base + 8);
  await Promise.all([...pools.map(p => p.run(() => delay(2))), limit(() => delay(2))]);
  await Promise.all([...pools.map(p => p.close()), limit.close()]);
  let after;
  for (let i = 0; i < 50 && (after = await count()) !== base; i++) await delay(20);
  assert.equal(after, base, 'every connection closed');
  assert.deepEqual(await server.command('KEYS', `async-shape:{${key}}:*`), [`async-shape:{${key}}:meta`]);
});

test('a URL that only the Redis client refuses (a database that is not a number) is a TypeError naming `shared.redis`, the option the user wrote', () => {
  for (const make of [
    shared => new Pool({concurrency: 1, shared}),
    shared => pLimit({concurrency: 1, shared}),
  ]) {
    assert.throws(() => make({redis: 'redis://:pw@127.0.0.1:1/abc', key: 'k'}), error => {
      assert.equal(error.name, 'TypeError');
      assert.match(error.message, /`shared\.redis`/);
      assert.doesNotMatch(error.message, /pw@/, 'the password is not shown');
      return true;
    });
  }
});

/** The hash tag Redis Cluster hashes for `key` (the whole key when there is none). */
function hashTag(key) {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return key.slice(open + 1, close);
  }
  return key;
}

test('keys with braces, spaces and other characters: one hash tag for all the keys of a limiter; a key that would make it empty is a RangeError', {skip: noRedis, timeout: 30_000}, async () => {
  const server = await startRedis();
  for (const key of ['a{b}c', 'x}y', 'with space', 'ünï:cødé*?', '{}', 'tail}']) {
    const pool = new Pool({concurrency: 2, shared: {redis: server.url, key}});
    await pool.ready();
    await pool.run(() => delay(1));
    const stored = (await server.command('KEYS', '*')).filter(k => k.startsWith(`async-shape:{${key}}:`));
    assert.ok(stored.length >= 1, `${key}: ${stored}`);
    const tags = new Set(stored.map(hashTag));
    assert.equal(tags.size, 1, `${key}: ${stored.join(' ')}`);
    assert.notEqual([...tags][0], stored[0], `${key}: a hash tag, not the whole key`);
    await pool.close();
  }
  assert.throws(() => new Pool({concurrency: 2, shared: {redis: server.url, key: '}x'}}), {name: 'RangeError', message: /shared\.key/});
});

// Found by the review and fixed after it: a refused database is permanent; a limit mismatch is refused.

test('a database index the server refuses (redis://…/99) is permanent: ready() and the tasks reject at once, nothing waits forever', {skip: noRedis, timeout: 30_000}, async () => {
  const server = await startRedis();
  const pool = new Pool({concurrency: 1, shared: {redis: `redis://127.0.0.1:${server.port}/99`, key: newKey('db99')}});
  const ready = pool.ready().then(() => 'ready', error => error);
  const task = pool.run(() => 'ran').then(() => 'ran', error => error);
  const first = await Promise.race([ready, task, delay(3000).then(() => 'nothing within 3 s')]);
  await pool.close();
  assert.equal(first?.name, 'FleetError', String(first));
  assert.match(first.message, /DB index/);
  assert.equal((await task)?.name, 'FleetError');
});

test('processes of one key given different limits: the later one is refused (a FleetError naming both), the fleet never runs more than the first', {skip: noRedis, timeout: 30_000}, async () => {
  const server = await startRedis();
  const key = newKey('mismatch');
  const small = new Pool({concurrency: 2, shared: {redis: server.url, key}});
  await small.ready();
  const large = new Pool({concurrency: 6, shared: {redis: server.url, key}});
  try {
    const refused = await large.ready().then(() => undefined, error => error);
    assert.equal(refused?.name, 'FleetError', String(refused));
    assert.match(refused.message, /concurrency 2.*asked for 6/);
    // Its tasks reject with the same error; the first process's limit holds.
    await assert.rejects(large.run(() => 'ran'), {name: 'FleetError'});
    let running = 0;
    let max = 0;
    const task = async () => {
      running++;
      max = Math.max(max, running);
      await delay(20);
      running--;
    };
    await Promise.all(Array.from({length: 20}, () => small.run(task)));
    assert.ok(max <= 2, `the fleet ran ${max} at once`);
  } finally {
    await Promise.all([small.close(), large.close()]);
  }
  // Once no process holds a lease, a new limit is taken (the keys outlive the fleet).
  const next = new Pool({concurrency: 6, shared: {redis: server.url, key}});
  try {
    await next.ready();
    assert.equal(await next.run(() => 'ran'), 'ran');
  } finally {
    await next.close();
  }
});

test('ready() still waiting when close() resolves (an unreachable server): it rejects, and the process exits by itself', {timeout: 60_000}, async () => {
  const {freePort} = require('./redis');
  const port = await freePort(); // nothing listens there
  const script = `
    const {Pool, pLimit} = require(${JSON.stringify(path.join(__dirname, '..'))});
    const shared = {redis: 'redis://127.0.0.1:${port}', key: 'k'};
    for (const make of [() => new Pool({concurrency: 1, shared}), () => pLimit({concurrency: 1, shared})]) {
      const limiter = make();
      limiter.ready().then(() => console.log('ready'), error => console.log('ready rejected', error.name));
      setTimeout(() => limiter.close().then(() => console.log('closed')), 50);
    }
  `;
  const {spawn: spawnProcess} = require('node:child_process');
  const child = spawnProcess(process.execPath, ['-e', script], {stdio: ['ignore', 'pipe', 'inherit']});
  children.add(child);
  let out = '';
  child.stdout.on('data', chunk => (out += chunk));
  const exited = await Promise.race([new Promise(resolve => child.on('exit', code => resolve({code}))), delay(30_000).then(() => undefined)]);
  assert.ok(exited, `the process did not exit by itself: ${out}`);
  assert.equal(exited.code, 0);
  const lines = out.trim().split('\n').sort();
  assert.deepEqual(lines, ['closed', 'closed', 'ready rejected FleetError', 'ready rejected FleetError']);
});
