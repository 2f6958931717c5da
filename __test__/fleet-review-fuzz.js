'use strict';
// The review's fuzzer of a shared limit (#16): a seeded scenario = 2-6 real processes
// (__test__/fleet-review-child.js) with a random limit (1-16), lease, API mix and chaos (a
// SIGKILLed process, a SIGSTOPped one, a stalled event loop, Redis SIGSTOPped or restarted
// without its state), against a real redis-server. Checks, from the intervals every process
// logged on the machine's clock: the fleet's largest overlap (≤ limit; after a state-losing
// restart, ≤ limit again one lease after it), that every surviving process finished (every
// promise settled, close() resolved), and that no process started a task while it was fenced
// (between a lease lost and the next regained).
//
//   node __test__/fleet-review-fuzz.js [runs] [firstSeed]      prints each seed, stops at a failure

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {fork} = require('node:child_process');

const CHILD = path.join(__dirname, 'fleet-review-child.js');
// The children's clock (see __test__/fleet-child.js): CLOCK_MONOTONIC, the same in every process.
const now = () => Number(process.hrtime.bigint()) / 1e6;
const delay = ms => new Promise(resolve => setTimeout(resolve, ms));

function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CHAOS = ['none', 'sigkill', 'sigstop', 'stall', 'redis-pause', 'redis-restart', 'join-leave', 'sigstop-edge', 'stop-storm', 'redis-blip'];

/** The scenario of `seed` (a plain object, printed on failure). */
function scenarioOf(seed, only) {
  const random = rng(seed);
  const pick = n => Math.floor(random() * n);
  const processes = 2 + pick(5);
  const chaos = only ?? CHAOS[pick(CHAOS.length)];
  return {
    seed,
    processes,
    limit: 1 + pick(16),
    leaseMs: 500 + pick(700),
    maxMs: 1 + pick(30),
    runMs: 1500 + pick(1500),
    quantumMs: random() < 0.3 ? 0 : undefined,
    apis: Array.from({length: processes}, () => (random() < 0.7 ? 'pool' : 'limit')),
    closeEarly: Array.from({length: processes}, () => random() < 0.2),
    chaos,
    chaosAt: 300 + pick(800),
    victim: pick(processes),
  };
}

function parseLog(file) {
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const starts = new Map();
  const intervals = [];
  const events = [];
  const stalls = [];
  for (const line of text.split('\n')) {
    const [kind, a, b] = line.split(' ');
    if (kind === 'S') starts.set(a, Number(b));
    else if (kind === 'E') {
      intervals.push([starts.get(a), Number(b)]);
      starts.delete(a);
    } else if (kind === 'V') events.push([a, Number(b)]);
    else if (kind === 'B') stalls.push([Number(a), Infinity]);
    else if (kind === 'U') stalls[stalls.length - 1][1] = Number(a);
  }
  return {intervals, open: [...starts.values()], events, stalls};
}

function maxOverlap(all, from = -Infinity, to = Infinity) {
  const ev = [];
  for (const [s, e] of all) ev.push([s, 1], [e, -1]);
  ev.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let open = 0;
  let max = 0;
  let at = NaN;
  for (const [t, d] of ev) {
    open += d;
    if (t >= from && t <= to && open > max) {
      max = open;
      at = t;
    }
  }
  return {max, at};
}

/**
 * Runs scenario `s` against `server` (bin/redis-server.js's); resolves with {ok, problems, …}.
 * Never rejects; kills what it started.
 */
async function runScenario(s, server, dir) {
  const key = `fuzz{${s.seed}}:x y`; // braces and a space in the key
  const children = [];
  const problems = [];
  const base = {url: server.url, key, limit: s.limit, leaseMs: s.leaseMs, maxMs: s.maxMs, runMs: s.runMs, quantumMs: s.quantumMs};
  const spawn = (i, extra = {}) => {
    const log = path.join(dir, `s${s.seed}-p${i}.log`);
    fs.rmSync(log, {force: true});
    const config = {...base, api: s.apis[i % s.apis.length], seed: s.seed * 31 + i, log, closeEarly: s.closeEarly[i % s.processes], ...extra};
    const child = fork(CHILD, [JSON.stringify(config)], {stdio: ['ignore', 'inherit', 'inherit', 'ipc']});
    const entry = {i, child, log, killedAt: undefined, stoppedAt: undefined, done: undefined, ready: undefined};
    entry.ready = new Promise(resolve => child.on('message', m => m?.type === 'ready' && resolve()));
    entry.done = new Promise(resolve => {
      child.on('message', m => {
        if (m?.type === 'done' || m?.type === 'error') resolve(m);
      });
      child.on('exit', (code, signal) => resolve({type: 'exit', code, signal}));
    });
    entry.exited = new Promise(resolve => child.on('exit', (code, signal) => resolve({code, signal})));
    children.push(entry);
    return entry;
  };
  const bound = (s.runMs + s.leaseMs * 6 + 25_000) | 0;
  let restartAt;
  let restartedAt;
  try {
    const fleet = Array.from({length: s.processes}, (_, i) => spawn(i, s.chaos === 'stall' && i === s.victim ? {stallMs: s.leaseMs * 2} : {}));
    await Promise.race([Promise.all(fleet.map(c => c.ready)), delay(20_000)]);
    await delay(s.chaosAt);
    const victim = fleet[s.victim];
    if (s.chaos === 'sigkill') {
      victim.killedAt = now();
      victim.child.kill('SIGKILL');
    } else if (s.chaos === 'sigstop') {
      victim.stoppedAt = now();
      victim.child.kill('SIGSTOP');
      await delay(s.leaseMs * 2.5);
      victim.resumedAt = now();
      victim.child.kill('SIGCONT');
    } else if (s.chaos === 'sigstop-edge' || s.chaos === 'stop-storm') {
      // Around the lease's end (0.5 to 1.3 leases), or ten short stops in a row.
      const stops = s.chaos === 'stop-storm' ? Array.from({length: 10}, (_, k) => 20 + ((s.seed * 7 + k * 13) % Math.floor(s.leaseMs / 2))) : [s.leaseMs * (0.5 + ((s.seed * 37) % 80) / 100)];
      victim.frozen = [];
      for (const ms of stops) {
        const at = now();
        victim.child.kill('SIGSTOP');
        await delay(ms);
        victim.frozen.push([at, now()]);
        victim.child.kill('SIGCONT');
        await delay(30);
      }
    } else if (s.chaos === 'redis-blip') {
      // Redis stopped for less than a lease: replies arrive late.
      for (let k = 0; k < 3; k++) {
        server.pause();
        await delay(s.leaseMs * (0.3 + k * 0.25));
        server.resume();
        await delay(s.leaseMs);
      }
    } else if (s.chaos === 'redis-pause') {
      server.pause();
      await delay(s.leaseMs * 2);
      server.resume();
    } else if (s.chaos === 'redis-restart') {
      restartAt = now();
      await server.restart();
      restartedAt = now();
    } else if (s.chaos === 'join-leave') {
      spawn(s.processes, {runMs: 500, closeEarly: false});
      spawn(s.processes + 1, {runMs: 300, closeEarly: true});
    }
    const results = await Promise.all(
      children.map(c =>
        Promise.race([c.done, delay(bound).then(() => ({type: 'hang'}))]).then(async r => {
          if (r.type === 'done') {
            const exited = await Promise.race([c.exited.then(() => true), delay(10_000).then(() => false)]);
            if (!exited) problems.push(`p${c.i} did not exit after close()`);
          }
          return r;
        }),
      ),
    );
    const all = [];
    const starts = [];
    results.forEach((r, k) => {
      const c = children[k];
      if (c.killedAt === undefined) {
        if (r.type !== 'done') problems.push(`p${c.i} ended with ${JSON.stringify(r)}`);
        else if (r.settled !== r.submitted) problems.push(`p${c.i}: ${r.settled}/${r.submitted} settled`);
      }
      const log = parseLog(c.log);
      if (c.killedAt === undefined && log.open.length > 0) problems.push(`p${c.i}: ${log.open.length} tasks never ended`);
      // A frozen process (SIGSTOP, a blocked event loop) cannot stop what runs: its tasks count
      // until it froze. What it starts once it runs again is what counts.
      // A freeze shorter than 0.6 leases leaves the lease alive in Redis (renewed every third of
      // it): what ran across it still counts.
      const frozen = [...log.stalls, ...(c.frozen ?? [])];
      if (c.stoppedAt !== undefined) frozen.push([c.stoppedAt, c.resumedAt]);
      const clip = ([st, en]) => {
        for (const [f, u] of frozen) if (st < f && en > f && u - f > 0.6 * s.leaseMs) return [st, f];
        return [st, en];
      };
      for (const iv of log.intervals) all.push(clip(iv));
      for (const st of log.open) all.push([st, c.killedAt ?? Infinity]);
      // Fenced: no task starts between a leaseLost and the next leaseRegained.
      let lostAt;
      for (const [type, at] of log.events) {
        if (type === 'leaseLost' && lostAt === undefined) lostAt = at;
        if (type === 'leaseRegained' && lostAt !== undefined) {
          const bad = log.intervals.filter(([st]) => st > lostAt + 0.5 && st < at - 5); // tasks started on the regained lease run before onEvent hears of it (a microtask later)
          if (bad.length > 0 && s.chaos !== 'redis-pause') {
            problems.push(`p${c.i} started ${bad.length} tasks while fenced (lost ${lostAt.toFixed(1)}, regained +${(at - lostAt).toFixed(1)} ms; starts at +${bad.map(([st]) => (st - lostAt).toFixed(1)).join(', +')})`);
          }
          lostAt = undefined;
        }
      }
      starts.push(log.intervals.length);
    });
    if (restartAt === undefined) {
      const {max, at} = maxOverlap(all);
      if (max > s.limit) problems.push(`overlap ${max} > limit ${s.limit} at ${at.toFixed(1)}`);
    } else {
      const before = maxOverlap(all.map(([a, b]) => [a, Math.min(b, restartAt)]).filter(([a, b]) => a < restartAt && b > a));
      if (before.max > s.limit) problems.push(`overlap ${before.max} > ${s.limit} before the restart`);
      const after = maxOverlap(all, restartedAt + s.leaseMs);
      if (after.max > s.limit) problems.push(`overlap ${after.max} > ${s.limit} one lease after the restart (at +${(after.at - restartedAt).toFixed(0)} ms)`);
      const any = maxOverlap(all);
      if (any.max > 2 * s.limit) problems.push(`overlap ${any.max} > twice the limit around the restart`);
    }
    return {ok: problems.length === 0, problems, tasks: starts.reduce((a, b) => a + b, 0), max: maxOverlap(all).max};
  } catch (error) {
    problems.push(String(error?.stack ?? error));
    return {ok: false, problems};
  } finally {
    for (const c of children) {
      if (c.child.exitCode === null && c.child.signalCode === null) {
        c.child.kill('SIGCONT');
        c.child.kill('SIGKILL');
      }
    }
    server.resume?.();
  }
}

module.exports = {runScenario, scenarioOf, parseLog, maxOverlap, CHAOS};

if (require.main === module) {
  const {startRedisServer} = require('../bin/redis-server');
  const runs = Number(process.argv[2] ?? 20);
  const first = Number(process.argv[3] ?? 1);
  const only = process.argv[4];
  (async () => {
    const server = await startRedisServer();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-fuzz-'));
    let failed = 0;
    for (let seed = first; seed < first + runs; seed++) {
      const s = scenarioOf(seed, only);
      const r = await runScenario(s, server, dir);
      console.log(`${r.ok ? 'ok  ' : 'FAIL'} seed ${seed} ${s.chaos} p=${s.processes} limit=${s.limit} lease=${s.leaseMs} tasks=${r.tasks} max=${r.max}${r.ok ? '' : `\n  ${JSON.stringify(s)}\n  ${r.problems.join('\n  ')}`}`);
      if (!r.ok) failed++;
    }
    await server.stop();
    console.log(`${runs - failed}/${runs} ok`);
    process.exitCode = failed ? 1 : 0;
  })();
}
