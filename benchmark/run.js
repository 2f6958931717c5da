'use strict';
// npm run bench: async-shape against its peers, side by side in one process, as ratios.
//
//   node --expose-gc benchmark/run.js            full run, writes benchmark/RESULTS.md
//   BENCH_QUICK=1 node --expose-gc benchmark/run.js   a fast smoke run, writes nothing
//
// Each table is measured in a child process of its own (`--section NAME`), with all of its
// contenders side by side in that child: every contender of a table starts from the same fresh
// JIT and heap state, rather than this library's code carrying the history of earlier tables.
//
// Per-task overhead: 100,000 tasks of `() => Promise.resolve(1)` through each limiter at
// concurrency 1, 16 and 1000; every contender runs once per round in a rotating order, and the
// table shows the median of the rounds. Memory: 200,000 tasks queued behind one blocked task at
// concurrency 1, counting the JS heap plus the C allocator (native memory: Rust slots, napi
// deferreds, V8 global handles).

const fs = require('node:fs');
const {spawnSync} = require('node:child_process');
const os = require('node:os');
const path = require('node:path');
const util = require('node:util');
const {pLimit, Pool, all, allSettled, race, any, stream, promisify, callbackify} = require('..');
const {mallocInUse} = require('../lib/internal/native');
const {sweep} = require('../bin/sweep');
const {startDownstream} = require('../bin/downstream');
const {loopBenchmark, loopTables, loopGoals} = require('./loop');
const {fleetBenchmark, FLEET_SETUP, PUBSUB_SETUP} = require('./fleet');
const report = require('../bin/report');

const QUICK = process.env.BENCH_QUICK === '1';
const N = QUICK ? 20_000 : 100_000;
const ROUNDS = QUICK ? 2 : 7;
const LEVELS = [1, 16, 1000];
const QUEUED = QUICK ? 50_000 : 200_000;

if (typeof global.gc !== 'function') {
  console.error('Run with --expose-gc (npm run bench does).');
  process.exit(1);
}

const task = () => Promise.resolve(1);
const items = Array.from({length: N}, (_, i) => i);
const mapper = x => Promise.resolve(x);

async function loadPeers() {
  const {default: peerLimit} = await import('p-limit');
  const {default: PQueue} = await import('p-queue');
  const {default: pMap} = await import('p-map');
  const {Sema} = require('async-sema');
  const {default: pSettle} = await import('p-settle');
  const {default: pRace} = await import('p-race');
  const {default: pAny} = await import('p-any');
  // Read from disk: p-limit and friends do not export ./package.json.
  const version = name =>
    JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'node_modules', name, 'package.json'), 'utf8')).version;
  return {peerLimit, PQueue, pMap, Sema, pSettle, pRace, pAny, version};
}

async function allOf(run) {
  const ps = new Array(N);
  for (let i = 0; i < N; i++) ps[i] = run();
  await Promise.all(ps);
}

function contenders(peers) {
  const {peerLimit, PQueue, pMap, Sema, version} = peers;
  return {
    tasks: [
      ['Promise.all (unbounded)', () => allOf(task)],
      [`p-limit ${version('p-limit')}`, c => {
        const limit = peerLimit(c);
        return allOf(() => limit(task));
      }],
      ['async-shape pLimit', c => {
        const limit = pLimit(c);
        return allOf(() => limit(task));
      }],
      ['async-shape Pool#run', c => {
        const pool = new Pool({concurrency: c});
        return allOf(() => pool.run(task));
      }],
      [`p-queue ${version('p-queue')}`, c => {
        const queue = new PQueue({concurrency: c});
        return allOf(() => queue.add(task));
      }],
      [`async-sema ${version('async-sema')}`, c => {
        const sema = new Sema(c);
        return allOf(async () => {
          await sema.acquire();
          try {
            return await task();
          } finally {
            sema.release();
          }
        });
      }],
    ],
    maps: [
      [`p-map ${version('p-map')}`, c => pMap(items, mapper, {concurrency: c})],
      [`p-limit ${version('p-limit')} limit.map`, c => peerLimit(c).map(items, mapper)],
      ['async-shape limit.map', c => pLimit(c).map(items, mapper)],
      ['async-shape Pool#map', c => new Pool({concurrency: c}).map(items, mapper)],
    ],
  };
}

const median = xs => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

async function timeGroup(group) {
  const results = new Map(group.map(([name]) => [name, new Map(LEVELS.map(c => [c, []]))]));
  for (let round = -1; round < ROUNDS; round++) {
    for (const c of LEVELS) {
      const order = group.map((_, i) => group[(i + round + 1) % group.length]);
      for (const [name, run] of order) {
        global.gc();
        const t0 = process.hrtime.bigint();
        await run(c);
        const ns = Number(process.hrtime.bigint() - t0) / N;
        if (round >= 0) results.get(name).get(c).push(ns); // round -1 warms up
      }
    }
    process.stderr.write(`\r  round ${round + 1}/${ROUNDS}`);
  }
  process.stderr.write('\n');
  const table = new Map();
  for (const [name, byLevel] of results) {
    table.set(name, new Map([...byLevel].map(([c, xs]) => [c, median(xs)])));
  }
  return table;
}

const settle = async () => {
  for (let i = 0; i < 3; i++) await new Promise(r => setImmediate(r));
  global.gc();
  global.gc();
};

async function bytesPerQueued(setup) {
  await settle();
  const heap0 = process.memoryUsage().heapUsed;
  const native0 = mallocInUse();
  const {enqueue, teardown} = setup();
  const held = new Array(QUEUED);
  for (let i = 0; i < QUEUED; i++) held[i] = enqueue();
  await settle();
  const heap = (process.memoryUsage().heapUsed - heap0) / QUEUED;
  const native = native0 >= 0 ? (mallocInUse() - native0) / QUEUED : NaN;
  await teardown(held);
  return {heap, native, total: heap + (Number.isNaN(native) ? 0 : native)};
}

function memoryContenders(peers) {
  const {peerLimit, PQueue, version} = peers;
  const blocked = () => {
    let release;
    const gate = new Promise(r => (release = r));
    return {gate, release};
  };
  return [
    ['a pending promise + its resolver (floor)', () => {
      const resolvers = [];
      return {
        enqueue: () => new Promise(r => resolvers.push(r)),
        teardown: async () => resolvers.forEach(r => r()),
      };
    }],
    [`p-limit ${version('p-limit')}`, () => {
      const limit = peerLimit(1);
      const {gate, release} = blocked();
      limit(() => gate);
      return {enqueue: () => limit(task), teardown: async held => (release(), await Promise.all(held))};
    }],
    ['async-shape pLimit', () => {
      const limit = pLimit(1);
      const {gate, release} = blocked();
      limit(() => gate);
      return {enqueue: () => limit(task), teardown: async held => (release(), await Promise.all(held))};
    }],
    ['async-shape Pool#run', () => {
      const pool = new Pool({concurrency: 1});
      const {gate, release} = blocked();
      pool.run(() => gate);
      return {enqueue: () => pool.run(task), teardown: async held => (release(), await Promise.all(held))};
    }],
    [`p-queue ${version('p-queue')}`, () => {
      const queue = new PQueue({concurrency: 1});
      const {gate, release} = blocked();
      queue.add(() => gate);
      return {enqueue: () => queue.add(task), teardown: async held => (release(), await Promise.all(held))};
    }],
  ];
}

// Combinators: each run gets fresh inputs (settled promises, or task functions), made outside
// the timed region.
async function timeRows(rows, makeInput) {
  const samples = new Map(rows.map(([name]) => [name, []]));
  for (let round = -1; round < ROUNDS; round++) {
    for (let k = 0; k < rows.length; k++) {
      const [name, run] = rows[(k + round + 1) % rows.length];
      const input = makeInput();
      global.gc();
      const t0 = process.hrtime.bigint();
      await run(input);
      const ns = Number(process.hrtime.bigint() - t0) / N;
      if (round >= 0) samples.get(name).push(ns);
    }
  }
  return new Map([...samples].map(([name, xs]) => [name, median(xs)]));
}

function combinatorContenders(peers) {
  const {pMap, pSettle, pRace, pAny, version} = peers;
  const invoke = tasks => tasks.map(t => t());
  return {
    plain: [
      ['all', [
        ['Promise.all', xs => Promise.all(xs)],
        ['async-shape all', xs => all(xs)],
        [`p-map ${version('p-map')}`, xs => pMap(xs, x => x)],
      ]],
      ['allSettled', [
        ['Promise.allSettled', xs => Promise.allSettled(xs)],
        ['async-shape allSettled', xs => allSettled(xs)],
        [`p-settle ${version('p-settle')}`, xs => pSettle(xs)],
      ]],
      ['race', [
        ['Promise.race', xs => Promise.race(xs)],
        ['async-shape race', xs => race(xs)],
        [`p-race ${version('p-race')}`, xs => pRace(xs)],
      ]],
      ['any', [
        ['Promise.any', xs => Promise.any(xs)],
        ['async-shape any', xs => any(xs)],
        [`p-any ${version('p-any')}`, xs => pAny(xs)],
      ]],
    ],
    tasks: [
      ['all', [
        ['Promise.all(tasks.map(call))', ts => Promise.all(invoke(ts))],
        ['async-shape all (cancellable)', ts => all(ts)],
        [`p-map ${version('p-map')}`, ts => pMap(ts, t => t())],
      ]],
      ['allSettled', [
        ['Promise.allSettled(tasks.map(call))', ts => Promise.allSettled(invoke(ts))],
        ['async-shape allSettled (cancellable)', ts => allSettled(ts)],
        [`p-settle ${version('p-settle')}`, ts => pSettle(ts)],
      ]],
      ['race', [
        ['Promise.race(tasks.map(call))', ts => Promise.race(invoke(ts))],
        ['async-shape race (cancellable)', ts => race(ts)],
        [`p-race ${version('p-race')} (executor)`, ts => pRace(() => invoke(ts))],
      ]],
      ['any', [
        ['Promise.any(tasks.map(call))', ts => Promise.any(invoke(ts))],
        ['async-shape any (cancellable)', ts => any(ts)],
        [`p-any ${version('p-any')}`, ts => pAny(invoke(ts))],
      ]],
    ],
  };
}

function combinatorTable(sections) {
  const lines = ['| method | contender | per element | vs native |', '|---|---|---:|---:|'];
  for (const [method, results] of sections) {
    const base = [...results.values()][0];
    for (const [name, ns] of results) lines.push(`| ${method} | ${name} | ${fmt(ns)} | ${ratio(ns, base)} |`);
  }
  return lines.join('\n');
}

// Peak live heap while mapping STREAM_ITEMS items: all at once with Promise.all, or through a
// stream. Each sample collects garbage first: heapUsed alone would count up to a young
// generation's worth of dead objects.
const STREAM_ITEMS = QUICK ? 200_000 : 1_000_000;
async function peakHeap(run) {
  await settle();
  const base = process.memoryUsage().heapUsed;
  let peak = 0;
  const sample = () => {
    global.gc();
    peak = Math.max(peak, process.memoryUsage().heapUsed - base);
  };
  await run(sample);
  return peak;
}

async function streamMemory() {
  const mapper = x => Promise.resolve(x * 2);
  function* items() {
    for (let i = 0; i < STREAM_ITEMS; i++) yield i;
  }
  const eager = await peakHeap(async sample => {
    const promises = Array.from(items(), mapper);
    sample();
    const results = await Promise.all(promises);
    sample();
    return results.length;
  });
  const streamed = await peakHeap(async sample => {
    let n = 0;
    for await (const v of stream(items(), mapper, {concurrency: 16})) {
      if (++n % 50_000 === 0) sample();
      void v;
    }
  });
  return {eager, streamed};
}

// The callback bridge: sequential awaited calls, so each row is one call's full cost.
const BRIDGE_CALLS = QUICK ? 50_000 : 200_000;
async function timeBridge() {
  const syncApi = (x, cb) => cb(null, x + 1);
  const asyncApi = (x, cb) => queueMicrotask(() => cb(null, x + 1));
  const rows = [
    ['promisify, callback called synchronously', [['util.promisify', util.promisify(syncApi)], ['async-shape promisify', promisify(syncApi)]]],
    ['promisify, callback called later', [['util.promisify', util.promisify(asyncApi)], ['async-shape promisify', promisify(asyncApi)]]],
  ];
  const viaCallback = f => x => new Promise(resolve => f(x, resolve));
  rows.push([
    'callbackify of an async function',
    [
      ['util.callbackify', viaCallback(util.callbackify(async x => x))],
      ['async-shape callbackify', viaCallback(callbackify(async x => x))],
    ],
  ]);
  const out = [];
  for (const [shape, contenders] of rows) {
    const samples = contenders.map(() => []);
    for (let round = -1; round < ROUNDS; round++) {
      for (let k = 0; k < contenders.length; k++) {
        const j = (k + round + 1) % contenders.length;
        const f = contenders[j][1];
        global.gc();
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < BRIDGE_CALLS; i++) await f(i);
        if (round >= 0) samples[j].push(Number(process.hrtime.bigint() - t0) / BRIDGE_CALLS);
      }
    }
    out.push([shape, contenders.map(([name], j) => [name, median(samples[j])])]);
  }
  return out;
}

// Adaptive concurrency against fixed levels on the built-in downstream (400/s at 50 ms, knee
// 20), steady and with its capacity halved halfway through each level. Levels are long enough
// for the adaptive pool's one-time learning to be a small part of what it is measured on.
const ADAPTIVE_SECONDS = QUICK ? 3 : 15;
async function adaptiveComparison() {
  const out = [];
  for (const stepped of [false, true]) {
    const d = startDownstream({capacity: 400, latency: 50});
    try {
      const step = stepped ? {after: ADAPTIVE_SECONDS / 2, apply: () => d.setCapacity(200), restore: () => d.setCapacity(400)} : undefined;
      const result = await sweep(d.url, {levels: [10, 20, 40], duration: ADAPTIVE_SECONDS, method: 'GET', headers: {}, adaptive: true, step});
      out.push([stepped ? 'capacity halves halfway through each level' : 'steady downstream', result]);
    } finally {
      d.close();
    }
  }
  return out;
}

// The same from a cold start at the CLI's default 2 s per level (issue 15): the adaptive pool's
// slow start is then a large part of what it is measured on. Several runs, a fresh downstream and
// pool each, so that the spread shows (the machine is shared).
const COLD_SECONDS = 2;
const COLD_RUNS = QUICK ? {steady: 1, step: 1} : {steady: 3, step: 2};
async function adaptiveColdStart() {
  const out = [];
  for (const stepped of [false, true]) {
    for (let run = 0; run < COLD_RUNS[stepped ? 'step' : 'steady']; run++) {
      const d = startDownstream({capacity: 400, latency: 50});
      try {
        const step = stepped ? {after: COLD_SECONDS / 2, apply: () => d.setCapacity(200), restore: () => d.setCapacity(400)} : undefined;
        const r = await sweep(d.url, {levels: [10, 20, 40], duration: COLD_SECONDS, method: 'GET', headers: {}, adaptive: true, step});
        const a = r.adaptive;
        out.push({
          scenario: stepped ? 'capacity halves halfway through each level' : 'steady downstream',
          throughputVsBestFixed: a.throughputVsBestFixed,
          p99VsKnee: a.p99VsKnee,
          p99: a.latency.p99,
          kneeP99: r.levels.find(l => l.concurrency === r.knee).latency.p99,
          refused: a.refused,
          limits: a.limitHistory.slice(1).map(([, limit]) => limit),
        });
      } finally {
        d.close();
      }
    }
  }
  return out;
}


/** The cold-start runs: a table, and a goal line per scenario judged on the median run. */
function coldStartReport(runs) {
  const rows = runs.map(
    r =>
      `| ${r.scenario} | ${(r.throughputVsBestFixed * 100).toFixed(0)}% | ${r.p99VsKnee.toFixed(2)}× (${r.p99.toFixed(1)} vs ${r.kneeP99.toFixed(1)} ms) | ${r.refused} | 4 → ${r.limits.join(', ')} |`,
  );
  const table = ['| scenario | throughput vs best fixed | p99 vs the knee\'s | 429 | limit (slow start, then Vegas) |', '|---|---:|---:|---:|---|', ...rows].join('\n');
  const goals = [...new Set(runs.map(r => r.scenario))].map(scenario => {
    const these = runs.filter(r => r.scenario === scenario);
    const t = these.map(r => r.throughputVsBestFixed);
    const p = these.map(r => r.p99VsKnee);
    const ok = median(t) >= 0.9 && median(p) <= 1.2;
    const range = these.length > 1 ? ` (runs: ${t.map(x => `${(x * 100).toFixed(0)}%`).join(', ')}; ${p.map(x => `${x.toFixed(2)}×`).join(', ')})` : '';
    return `- adaptive from a cold start at ${COLD_SECONDS} s per level, ${scenario}, median of ${these.length}: throughput ${(median(t) * 100).toFixed(0)}% of the best fixed level (goal ≥ 90%), p99 ${median(p).toFixed(2)}× the knee's (goal ≤ 1.20×)${range} ${ok ? '✓' : '✗'}`;
  });
  return {table, goals};
}

// Priorities (issue 11): per-task cost with many distinct priorities queued at once, and a
// long-lived pool whose priorities keep changing. Every task gets a priority no other task has.
const PRIORITY_LEVELS = QUICK ? [10_000, 40_000] : [10_000, 40_000, 160_000];
const LONG_TASKS = QUICK ? 200_000 : 1_000_000;
const LONG_ROUND = 50_000;

// Distinct priorities in two orders: deadline-like (each task's priority below the last, so they
// start in arrival order) and scattered (a multiplicative permutation of 0..n-1, so they start in
// an order unrelated to arrival).
// A third row holds the number of tasks at the largest level and varies only the number of
// distinct priorities among them (each priority shared by 160k/n tasks, scattered): the heap and
// its caches are the same size in every cell, so the ratio shows what the priorities cost.
const scatter = (n, i) => Number((BigInt(i) * 2654435761n) % BigInt(n)) - (n >> 1);
const PRIORITY_ORDERS = [
  ['deadline-like', n => n, (n, i) => n - i],
  ['scattered', n => n, scatter],
  [`scattered, ${(PRIORITY_LEVELS.at(-1) / 1000).toFixed(0)}k tasks`, () => PRIORITY_LEVELS.at(-1), (n, i) => scatter(n, i % n)],
];

async function timePriorities() {
  const syncTask = () => 1;
  const out = [];
  for (const [order, tasksFor, priorityOf] of PRIORITY_ORDERS) {
    for (const p of PRIORITY_LEVELS) {
      const n = tasksFor(p);
      const options = Array.from({length: n}, (_, i) => ({priority: priorityOf(p, i)}));
      const enqueue = [];
      const drain = [];
      for (let round = -1; round < ROUNDS; round++) {
        const pool = new Pool({concurrency: 1});
        let release;
        const gate = new Promise(r => (release = r));
        const blocker = pool.run(() => gate);
        const held = new Array(n);
        global.gc();
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < n; i++) held[i] = pool.run(syncTask, options[i]);
        const t1 = process.hrtime.bigint();
        release();
        await blocker;
        await Promise.all(held);
        const t2 = process.hrtime.bigint();
        if (round >= 0) {
          enqueue.push(Number(t1 - t0) / n);
          drain.push(Number(t2 - t1) / n);
        }
      }
      out.push([order, p, median(enqueue), median(drain), n]);
    }
  }
  return out;
}

async function longLivedPool() {
  const pool = new Pool({concurrency: 16});
  const syncTask = () => Promise.resolve(1);
  const rounds = [];
  let next = -(2 ** 31);
  for (let done = 0; done < LONG_TASKS; done += LONG_ROUND) {
    const ps = new Array(LONG_ROUND);
    const t0 = process.hrtime.bigint();
    // Fresh priorities, newest first-served as deadlines or timestamps would be.
    for (let i = 0; i < LONG_ROUND; i++) ps[i] = pool.run(syncTask, {priority: next++});
    await Promise.all(ps);
    const ns = Number(process.hrtime.bigint() - t0) / LONG_ROUND;
    await settle();
    const native = mallocInUse();
    rounds.push([done + LONG_ROUND, ns, process.memoryUsage().heapUsed + (native >= 0 ? native : 0)]);
  }
  return rounds;
}

function priorityTables({levels, rounds}) {
  const baseOf = order => levels.find(([o, n]) => o === order && n === PRIORITY_LEVELS[0]);
  const ratioTo = ([order, , e, d]) => {
    const [, , be, bd] = baseOf(order);
    return (e + d) / (be + bd);
  };
  const t1 = [
    '| order | tasks queued | distinct priorities queued | enqueue per task | drain per task | total per task | vs 10k |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...levels.map(row => {
      const [order, n, e, d, tasks = n] = row;
      return `| ${order} | ${tasks.toLocaleString('en')} | ${n.toLocaleString('en')} | ${fmt(e)} | ${fmt(d)} | ${fmt(e + d)} | ${ratioTo(row).toFixed(2)}× |`;
    }),
  ].join('\n');
  const first = rounds[0];
  const every = Math.max(1, Math.floor(rounds.length / 5));
  const shown = rounds.filter((_, i) => i === 0 || i === rounds.length - 1 || (i + 1) % every === 0);
  const t2 = [
    '| tasks so far (distinct priorities ever used) | per task this round | vs first round | memory (heap + native) |',
    '|---:|---:|---:|---:|',
    ...shown.map(([n, ns, bytes]) => `| ${n.toLocaleString('en')} | ${fmt(ns)} | ${ratio(ns, first[1])} | ${(bytes / 2 ** 20).toFixed(1)} MiB |`),
  ].join('\n');
  const worstOf = order => Math.max(...levels.filter(([o]) => o === order).map(ratioTo));
  const half = rounds.slice(Math.floor(rounds.length / 2));
  const early = median(rounds.slice(1, 4).map(r => r[1]));
  const late = median(half.map(r => r[1]));
  const memGrowth = (Math.min(...half.map(r => r[2])) - Math.min(...rounds.slice(1, 4).map(r => r[2]))) / 2 ** 20;
  return {t1, t2, deadlineLike: worstOf('deadline-like'), scattered: worstOf('scattered'), scatteredFixed: worstOf(PRIORITY_ORDERS[2][0]), drift: late / early, memGrowth};
}

const fmt = ns => (ns >= 10_000 ? `${(ns / 1000).toFixed(1)} µs` : `${Math.round(ns)} ns`);
const ratio = (x, base) => `${(x / base).toFixed(2)}×`;

function taskTable(table, baseName) {
  const base = table.get(baseName);
  const lines = [
    `| contender | ${LEVELS.map(c => `c=${c}`).join(' | ')} | ${LEVELS.map(c => `vs p-limit c=${c}`).join(' | ')} |`,
    `|---|${LEVELS.map(() => '---:').join('|')}|${LEVELS.map(() => '---:').join('|')}|`,
  ];
  for (const [name, byLevel] of table) {
    const cells = LEVELS.map(c => fmt(byLevel.get(c)));
    const ratios = LEVELS.map(c => ratio(byLevel.get(c), base.get(c)));
    lines.push(`| ${name} | ${cells.join(' | ')} | ${ratios.join(' | ')} |`);
  }
  return lines.join('\n');
}

function mapTable(table, baseName) {
  const base = table.get(baseName);
  const lines = [
    `| contender | ${LEVELS.map(c => `c=${c}`).join(' | ')} | ${LEVELS.map(c => `vs p-map c=${c}`).join(' | ')} |`,
    `|---|${LEVELS.map(() => '---:').join('|')}|${LEVELS.map(() => '---:').join('|')}|`,
  ];
  for (const [name, byLevel] of table) {
    lines.push(
      `| ${name} | ${LEVELS.map(c => fmt(byLevel.get(c))).join(' | ')} | ${LEVELS.map(c => ratio(byLevel.get(c), base.get(c))).join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

function memoryTable(rows) {
  const lines = ['| contender | JS heap B/task | native B/task | total B/task |', '|---|---:|---:|---:|'];
  for (const [name, m] of rows) {
    const native = Number.isNaN(m.native) ? 'n/a' : Math.round(m.native);
    lines.push(`| ${name} | ${Math.round(m.heap)} | ${native} | ${Math.round(m.total)} |`);
  }
  return lines.join('\n');
}

function machine() {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const load = os.loadavg().map(x => x.toFixed(2)).join(' ');
  return `${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}, Node ${process.version}, load average at start ${load}`;
}

// --- sections, each run in its own child process ---

const toPairs = map => [...map].map(([k, v]) => [k, v instanceof Map ? toPairs(v) : v]);
const fromPairs = pairs => new Map(pairs.map(([k, v]) => [k, Array.isArray(v) && v.every(e => Array.isArray(e) && e.length === 2) ? fromPairs(v) : v]));

const SECTIONS = {
  tasks: async peers => toPairs(await timeGroup(contenders(peers).tasks)),
  maps: async peers => toPairs(await timeGroup(contenders(peers).maps)),
  memory: async peers => {
    const rows = [];
    for (const [name, setup] of memoryContenders(peers)) rows.push([name, await bytesPerQueued(setup)]);
    return rows;
  },
  plain: async peers => {
    const out = [];
    for (const [method, rows] of combinatorContenders(peers).plain) {
      out.push([method, toPairs(await timeRows(rows, () => Array.from({length: N}, (_, i) => Promise.resolve(i))))]);
    }
    return out;
  },
  groupTasks: async peers => {
    const out = [];
    for (const [method, rows] of combinatorContenders(peers).tasks) {
      out.push([method, toPairs(await timeRows(rows, () => Array.from({length: N}, (_, i) => () => Promise.resolve(i))))]);
    }
    return out;
  },
  stream: () => streamMemory(),
  bridge: () => timeBridge(),
  adaptive: () => adaptiveComparison(),
  adaptiveCold: () => adaptiveColdStart(),
  loop: () => loopBenchmark(),
  fleet: () => fleetBenchmark({quick: QUICK}),
  priorities: async () => ({levels: await timePriorities(), rounds: await longLivedPool()}),
};

async function section(name) {
  const res = spawnSync(process.execPath, ['--expose-gc', __filename, '--section', name], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 256 * 2 ** 20,
    env: process.env,
  });
  if (res.status !== 0) throw new Error(`benchmark section ${name} failed (exit ${res.status})`);
  const lines = res.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

async function main() {
  const peers = await loadPeers();
  const when = new Date().toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
  const where = machine();
  console.log(`async-shape benchmark — ${when}\n${where}\n`);

  console.log(`Per task: ${N.toLocaleString('en')} tasks of \`() => Promise.resolve(1)\`, median of ${ROUNDS} rounds`);
  const taskResults = fromPairs(await section('tasks'));
  const pLimitName = `p-limit ${peers.version('p-limit')}`;
  const t1 = taskTable(taskResults, pLimitName);
  console.log(`${t1}\n`);

  console.log(`Mapping ${N.toLocaleString('en')} items through \`x => Promise.resolve(x)\`, per item`);
  const mapResults = fromPairs(await section('maps'));
  const t2 = mapTable(mapResults, `p-map ${peers.version('p-map')}`);
  console.log(`${t2}\n`);

  console.log(`Memory per queued task: ${QUEUED.toLocaleString('en')} tasks behind one blocked task at concurrency 1, promises held by the caller`);
  const memRows = await section('memory');
  const t3 = memoryTable(memRows);
  console.log(`${t3}\n`);

  console.log(`Combinators over ${N.toLocaleString('en')} settled promises, per element`);
  const plainResults = (await section('plain')).map(([method, pairs]) => [method, fromPairs(pairs)]);
  const t4 = combinatorTable(plainResults);
  console.log(`${t4}\n`);

  console.log(`Combinators over ${N.toLocaleString('en')} tasks \`() => Promise.resolve(i)\`, per task`);
  const taskResultsByMethod = (await section('groupTasks')).map(([method, pairs]) => [method, fromPairs(pairs)]);
  const t5 = combinatorTable(taskResultsByMethod);
  console.log(`${t5}\n`);

  console.log(`Peak heap mapping ${STREAM_ITEMS.toLocaleString('en')} items through \`x => Promise.resolve(x * 2)\``);
  const {eager, streamed} = await section('stream');
  const t6 = [
    '| shape | peak heap |',
    '|---|---:|',
    `| \`Promise.all(items.map(mapper))\` | ${(eager / 2 ** 20).toFixed(1)} MiB |`,
    `| \`stream(items, mapper, {concurrency: 16})\` | ${(streamed / 2 ** 20).toFixed(1)} MiB |`,
  ].join('\n');
  console.log(`${t6}\n`);

  console.log(`Callback bridge: ${BRIDGE_CALLS.toLocaleString('en')} awaited calls of a trivial callback API, per call`);
  const bridgeResults = await section('bridge');
  const t7 = [
    '| shape | contender | per call | vs util |',
    '|---|---|---:|---:|',
    ...bridgeResults.flatMap(([shape, rows]) => rows.map(([name, ns]) => `| ${shape} | ${name} | ${fmt(ns)} | ${ratio(ns, rows[0][1])} |`)),
  ].join('\n');
  console.log(`${t7}\n`);
  const bridgeWorst = Math.max(...bridgeResults.map(([, rows]) => rows[1][1] / rows[0][1]));

  console.log(`Adaptive concurrency on the built-in downstream (400 req/s at 50 ms, knee 20), ${ADAPTIVE_SECONDS} s per level`);
  const adaptiveRuns = await section('adaptive');
  const t8 = adaptiveRuns
    .map(([scenario, result]) => `**${scenario}**\n\n\`\`\`\n${report.table(result)}\n\n${report.summary(result)}\n\`\`\``)
    .join('\n\n');
  console.log(`${t8.replaceAll('```', '').replaceAll('**', '')}\n`);
  const adaptiveGoal = adaptiveRuns.map(([scenario, r]) => {
    const a = r.adaptive;
    const ok = a.throughputVsBestFixed >= 0.9 && a.p99VsKnee <= 1.2;
    return `- adaptive, ${scenario}: throughput ${(a.throughputVsBestFixed * 100).toFixed(0)}% of the best fixed level (goal ≥ 90%), p99 ${a.p99VsKnee.toFixed(2)}× the knee's (goal ≤ 1.20×) ${ok ? '✓' : '✗'}`;
  });
  console.log(`Adaptive from a cold start, ${COLD_SECONDS} s per level (the CLI's default), fixed levels 10, 20, 40`);
  const cold = coldStartReport(await section('adaptiveCold'));
  console.log(`${cold.table}\n`);
  adaptiveGoal.push(...cold.goals);

  console.log(`Priorities: ${PRIORITY_LEVELS.map(n => n.toLocaleString('en')).join(', ')} distinct priorities (deadline-like and scattered) queued behind one blocked task at concurrency 1 (enqueue, then drain), median of ${ROUNDS} rounds; then one pool over ${LONG_TASKS.toLocaleString('en')} tasks with fresh priorities, in rounds of ${LONG_ROUND.toLocaleString('en')} at concurrency 16`);
  const prio = priorityTables(await section('priorities'));
  console.log(`${prio.t1}\n\n${prio.t2}\n`);

  console.log('Event-loop telemetry against perf_hooks.monitorEventLoopDelay');
  const loopResult = await section('loop');
  const lt = loopTables(loopResult);
  console.log(`${lt.cpu}\n\n${lt.error}\n\n${lt.counter}\n\n${lt.hooks}\n`);

  console.log(`A limit shared by a fleet: ${FLEET_SETUP}`);
  const fleet = await section('fleet');
  console.log(`${fleet.table}\n`);
  console.log(`${PUBSUB_SETUP} ${fleet.pubsub}\n`);

  const ours = taskResults.get('async-shape pLimit');
  const peer = taskResults.get(pLimitName);
  const worst = Math.max(...LEVELS.map(c => ours.get(c) / peer.get(c)));
  const pm = mapResults.get(`p-map ${peers.version('p-map')}`);
  const mapWorst = name => Math.max(...LEVELS.map(c => mapResults.get(name).get(c) / pm.get(c)));
  const memOurs = memRows.find(([n]) => n === 'async-shape pLimit')[1].total;
  const plainWorst = Math.max(
    ...plainResults.map(([, results]) => {
      const values = [...results.values()];
      return values[1] / values[0];
    }),
  );
  const goals = [
    `- pLimit per task, worst level: ${worst.toFixed(2)}× p-limit (goal ≤ 0.40×) ${worst <= 0.4 ? '✓' : '✗'}`,
    `- limit.map, worst level: ${mapWorst('async-shape limit.map').toFixed(2)}× p-map (goal ≤ 1.00×) ${mapWorst('async-shape limit.map') <= 1 ? '✓' : '✗'}`,
    `- Pool#map, worst level: ${mapWorst('async-shape Pool#map').toFixed(2)}× p-map (goal ≤ 1.00×) ${mapWorst('async-shape Pool#map') <= 1 ? '✓' : '✗'}`,
    `- pLimit memory per queued task: ${Math.round(memOurs)} B (goal ≤ 300 B) ${memOurs <= 300 ? '✓' : '✗'}`,
    `- combinators over plain promises, worst method: ${plainWorst.toFixed(2)}× the native Promise method (goal ≤ 1.50×) ${plainWorst <= 1.5 ? '✓' : '✗'}`,
    `- promisify/callbackify per call, worst shape: ${bridgeWorst.toFixed(2)}× util's (goal ≤ 1.00×, within noise) ${bridgeWorst <= 1.05 ? '✓' : '✗'}`,
    ...adaptiveGoal,
    ...loopGoals(loopResult),
    `- Pool per task at up to ${PRIORITY_LEVELS.at(-1).toLocaleString('en')} distinct priorities queued, worst level vs 10k: ${prio.deadlineLike.toFixed(2)}× deadline-like, ${prio.scatteredFixed.toFixed(2)}× scattered over a fixed ${PRIORITY_LEVELS.at(-1).toLocaleString('en')} tasks (goal ≤ 1.50×) ${Math.max(prio.deadlineLike, prio.scatteredFixed) <= 1.5 ? '✓' : '✗'}; scattered with the tasks growing as the priorities do: ${prio.scattered.toFixed(2)}× (the heap's size, see Priorities)`,
    `- long-lived pool over ${LONG_TASKS.toLocaleString('en')} tasks with fresh priorities: per task ${prio.drift.toFixed(2)}× early rounds, memory ${prio.memGrowth >= 0 ? '+' : ''}${prio.memGrowth.toFixed(1)} MiB (goal: flat, ≤ 1.25× and < 8 MiB) ${prio.drift <= 1.25 && prio.memGrowth < 8 ? '✓' : '✗'}`,
    `- stream peak heap over ${STREAM_ITEMS.toLocaleString('en')} items: ${(streamed / 2 ** 20).toFixed(1)} MiB vs ${(eager / 2 ** 20).toFixed(1)} MiB for Promise.all (goal: does not grow with N) ${streamed < eager / 20 ? '✓' : '✗'}`,
    ...fleet.goals.map(g => `- fleet, ${g}`),
  ].join('\n');
  console.log(`Goals (issues #2, #3, #4, #5, #7, #11, #15 and #16)\n${goals}`);

  if (QUICK) return;
  const md = `# Benchmark results

Latest \`npm run bench\`: ${when}.
Machine: ${where}.

Each table runs in a child process of its own, and within it all contenders run side by side, in a rotating order, ${ROUNDS} rounds after a warm-up round; cells are medians. Compare ratios within a table: absolute times move with the machine's load.

## Per task

${N.toLocaleString('en')} tasks of \`() => Promise.resolve(1)\`, all submitted at once, then \`await Promise.all\`.

${t1}

## Mapping

${N.toLocaleString('en')} items through \`x => Promise.resolve(x)\`, per item.

${t2}

## Memory per queued task

${QUEUED.toLocaleString('en')} tasks queued behind one blocked task at concurrency 1, their promises held by the caller. JS heap from \`process.memoryUsage().heapUsed\`; native from glibc's \`mallinfo2()\` (Rust slots, napi deferreds and V8 global handles live there, outside the JS heap). Pure-JS contenders allocate almost nothing natively, so their native column is a few bytes of noise either way (a negative value means the collector freed native memory during the measurement).

${t3}

## Combinators over settled promises

${N.toLocaleString('en')} settled promises, per element. With only promises and values there is nothing to cancel, so async-shape hands them to the native method and only adds the outer \`signal\`.

${t4}

## Combinators over tasks

${N.toLocaleString('en')} tasks \`() => Promise.resolve(i)\`, per task. async-shape's combinators give each task an AbortSignal (made when the task reads it) and abort the losers; the native rows only call the functions.

${t5}

## Streaming memory

Peak live JS heap (sampled after a collection) while mapping ${STREAM_ITEMS.toLocaleString('en')} items through \`x => Promise.resolve(x * 2)\`.

${t6}

## Callback bridge

${BRIDGE_CALLS.toLocaleString('en')} awaited calls of a trivial callback API, per call. A synchronous callback is counted (Zalgo) in JS and flushed to Rust when the statistics are read; a well-behaved call never crosses into Rust.

${t7}

## Adaptive concurrency

The sweep's built-in downstream (400 req/s at 50 ms each, so a knee of 20; 20 waiting places, then 429), fixed levels 10, 20 and 40 beside an adaptive pool (Vegas, starting at 4) driven by a closed loop of clients, ${ADAPTIVE_SECONDS} s per level. With the step, the downstream's capacity halves halfway through each level, so the knee moves from 20 to 10 and every fixed level is wrong for half of it.

${t8}

**From a cold start at ${COLD_SECONDS} s per level** (the CLI's default; issue 15). The same downstream and fixed levels, ${COLD_RUNS.steady} runs steady and ${COLD_RUNS.step} with the step, each with a fresh downstream and pool starting at 4: slow start is now a large part of what the adaptive pool is measured on. Its limit grows by min(limit, 2√limit) per clean round trip (4, 8, 13, 21), and leaves slow start at what the downstream served on time when the first tasks wait (21 → 20).

${cold.table}

## Priorities

${PRIORITY_LEVELS.map(n => n.toLocaleString('en')).join(', ')} tasks with distinct priorities queued behind one blocked task at concurrency 1, then drained; per task, median of ${ROUNDS} rounds. Deadline-like: each priority below the last, so tasks start in arrival order; scattered: a permutation, so they start in an order unrelated to arrival. The queue is an ordered map of FIFO buckets, one per priority queued now, linked through the slots: its own cost grows with the logarithm of the priorities queued, and nothing is kept for a priority once its tasks have left. In the first two rows the number of tasks grows with the number of priorities, so with scattered priorities the cost also grows with the heap: each start touches that task's promise, record and resolvers, allocated in arrival order, and 16× more of them no longer fit the caches. The third row holds the tasks at ${PRIORITY_LEVELS.at(-1).toLocaleString('en')} and varies only the number of distinct priorities among them (scattered): that is what the priorities themselves cost, and the goal is read from it and from the deadline-like row.

${prio.t1}

One long-lived pool (concurrency 16) over ${LONG_TASKS.toLocaleString('en')} tasks in rounds of ${LONG_ROUND.toLocaleString('en')}, each task with a priority never used before (as deadlines or timestamps used as priorities would be). Memory is the JS heap plus the C allocator after a collection at the end of each round.

${prio.t2}

## Event-loop telemetry

\`monitorEventLoop()\` against \`perf_hooks.monitorEventLoopDelay\` at resolution 10 and 1.

CPU: the idle column is the CPU time (all threads, so the watchdog counts) of a fresh idle process per measurement, minus an idle process with no monitor, median of 5 in a rotating order. The busy column is a \`setImmediate\` ping-pong (about ${Math.round(loopResult.cpu[0].rate / 1000)}k iterations per second here) in 60 ms slices with the monitor off and on, alternating, median of the paired rate ratios; it resolves about ±5 ms/s on this VM. On such a hot loop the native sampler coalesces the iterations of each millisecond and, while the loop stays hot, samples from a 1 ms timer instead of the check handle. The last column is the native sampler's own cost per call (direct calls in a loop, libuv's dispatch not included).

${lt.cpu}

Error of the reported max against the measured length of an injected busy loop in a timer (reported − true, worst of 3; perf_hooks reports the timer interval, so its floor is the resolution):

${lt.error}

What the reaction counter (two Int32Array stores around each task start) adds to a pool task: lib/pool/limit.js as shipped against the same source with the counter lines removed, in paired runs, median of the ratios.

${lt.counter}

${lt.hooks}

## A limit shared by a fleet

${FLEET_SETUP} Each process records when each task starts and ends (one clock: the machine's), and the figures are computed afterwards: the fleet's maximum in flight is the largest overlap of those intervals; a hand-off is, for a start that had to wait for a permit, the time since the oldest permit freed in another process that no one had taken yet: its p50 and p99 are over the middle half of the measured round (steady state: every process busy, none starting or draining), and a second p99 over the whole round, its start and end included; the share is each process's part of the starts in the middle half of the round (25% is even). "Of the ideal": tasks/s ÷ (the limit ÷ the mean task duration measured), the most any limiter could do. "Round trips/task": commands the clients sent (counted with MONITOR, in a second run); "Redis commands/task": INFO commandstats, which also counts the commands each script runs inside Redis.

${fleet.table}

${PUBSUB_SETUP} ${fleet.pubsub}.

## Goals

${goals}
`;
  fs.writeFileSync(path.join(__dirname, 'RESULTS.md'), md);
  console.log('\nWrote benchmark/RESULTS.md');
}

const sectionArg = process.argv.indexOf('--section');
if (sectionArg >= 0) {
  const name = process.argv[sectionArg + 1];
  loadPeers()
    .then(peers => SECTIONS[name](peers))
    .then(result => process.stdout.write(`\n${JSON.stringify(result)}\n`))
    .catch(error => {
      console.error(error);
      process.exit(1);
    });
} else {
  main().catch(error => {
    console.error(error);
    process.exit(1);
  });
}
