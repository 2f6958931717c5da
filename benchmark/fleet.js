'use strict';
// A limit shared by a fleet: four processes, fleet limit 32, tasks of 1 ms, on one redis-server,
// async-shape's shared pLimit side by side with redis-semaphore (Semaphore over ioredis) and
// bottleneck (datastore 'ioredis', maxConcurrent 32).
//
//   node benchmark/fleet.js            prints the table (markdown)
//   BENCH_QUICK=1 node benchmark/fleet.js
//   node benchmark/fleet.js --json     the measurements as JSON (the last line)
//   FLEET_FEED=feed node benchmark/fleet.js    tasks fed as others settle (see feed())
//
// The lead's benchmark/run.js calls `fleetBenchmark({quick})` → {rows, table, goals}.
//
// Two rounds per run: a warm-up round, then the measured round, of the same size, with the same
// limiter (its connections and Redis keys stay); each process submits its round at once (see
// feed()). Without the warm-up, a run measures V8's start more than the limiter: in a process's
// first second or so, its JIT and GC background threads run in slices of 2–8 ms (seen with a
// run-queue trace: bpftrace on sched_switch) and, with four busy processes on two cores, put
// multi-ms gaps into wake-ups of every thread a hand-off goes through (Redis's, the other
// process's); measured here, the hand-off p99 of the later seconds of a long run was half that of
// its first second.
//
// How each figure is measured, with no shared counter to slow the run down: every child process
// records the start and finish time of each task with `process.hrtime` (one machine, one clock:
// CLOCK_MONOTONIC; a start is taken after the permit is granted, a finish before it is
// released) and sends them to the parent at the end. The parent then computes, offline:
// - tasks/s: the measured round's tasks / (its last finish − the moment the parent said go);
// - max in flight: the largest overlap of the recorded intervals across the fleet, in either round;
// - hand-off: replaying the fleet's events in time order, a finish frees a slot; a start takes a
//   slot freed in its own process if there is one (a local re-use, no hand-off), else a slot never
//   used yet (no wait), else the oldest slot freed in another process: that gap, release in one
//   process to start in another, is one hand-off sample; p50/p99 over the samples of the middle
//   half of the round (steady state: all processes busy, none starting or draining), and p99 over
//   the whole round, its start and its end included;
// - Redis commands per task: the INFO commandstats delta over the measured round (all clients) /
//   tasks;
// - fairness: each process's share of the starts in the middle half of the run (25% is even).
//
// For scale, a run with no limiter ('pubsub'): the same four processes with the same task load,
// passing timestamps by bare PUBLISH (ioredis) from one's JS thread to the next one's message
// handler: what one Redis message between two busy JS threads takes on this machine.

const {fork} = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const {startRedisServer} = require('../bin/redis-server');

const FLEET = 4;
const LIMIT = 32;
const TASK_MS = 1;
// The bare pub/sub run's processes publish on every PUBSUB_EVERY-th finish (about the rate at
// which permits change hands in the runs above).
const PUBSUB_EVERY = 8;
const PUBSUB_TASKS = 12000;
const QUICK = process.env.BENCH_QUICK === '1';
const version = name => JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'node_modules', name, 'package.json'), 'utf8')).version;
// One clock for every process (see __test__/fleet-child.js for why not performance.timeOrigin):
// CLOCK_MONOTONIC, in ms.
const now = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));
// How a process gives a round's tasks to async-shape or bottleneck (redis-semaphore's 32 workers
// per process, and the pubsub run's 8, each run one task at a time). By default, all at once in one
// synchronous loop: the `Promise.all(items.map(x => limit(…)))` shape. That loop holds the JS
// thread (20–50 ms per 16,000 submissions here), four processes run it at once on two cores, and a
// permit handed to a process still in its loop waits for it: the round's first hand-offs are 13–30
// ms late (about 1% of the round's hand-offs: enough to raise the whole round's p99, not the steady
// state's), and the longest wait for a permit is 90–140 ms. FLEET_FEED=feed has FEEDERS loops per
// process each submit their next task when their last one settles instead, as a service's steady
// load would: no burst at the start, a longest wait of about 55 ms, but JS work and allocations per
// task on the same threads the hand-offs need: in five alternating pairs of runs, 4–5% fewer
// tasks/s and a steady-state hand-off p99 of 3.0–3.8 ms against 1.9–3.6 ms for the default. The
// default measures the limiter with less of the bench in the way.
const FEEDERS = 256;
const FEED = process.env.FLEET_FEED === 'feed';
function feed(n, one) {
  if (!FEED) return Promise.all(Array.from({length: n}, one));
  let left = n;
  const feeder = async () => {
    while (left > 0) {
      left--;
      await one();
    }
  };
  return Promise.all(Array.from({length: Math.min(FEEDERS, n)}, feeder));
}

// Tasks per process in each round (the warm-up round and the measured one): sized so that each
// round of each contender runs for about three seconds here.
const PEERS = {
  'async-shape': {tasks: 16000, quick: 2000, name: () => 'async-shape pLimit shared'},
  // The same with no time slice: a freed permit goes back as soon as another process waits.
  'async-shape-q0': {tasks: 12000, quick: 2000, name: () => 'async-shape, quantumMs: 0'},
  'redis-semaphore': {tasks: 2000, quick: 300, name: () => `redis-semaphore ${version('redis-semaphore')}`},
  bottleneck: {tasks: 400, quick: 100, name: () => `bottleneck ${version('bottleneck')}`},
};

// ---------------------------------------------------------------- child side

async function child(config) {
  const {peer, url, port, key, tasks, index} = config;
  // What the tasks record into: each round's own arrays (the warm-up round's are thrown away).
  const recorder = n => ({starts: new Float64Array(n), finishes: new Float64Array(n), next: 0});
  let rec = recorder(0);
  const task = async () => {
    const r = rec;
    const i = r.next++;
    r.starts[i] = now();
    await sleep(TASK_MS);
    r.finishes[i] = now();
  };
  let run;
  let close;
  let maxWaitMs = NaN; // the longest wait for a fleet permit, as the shared limit reports it
  let delays; // the bare pub/sub run's delays (ms)
  if (peer === 'async-shape' || peer === 'async-shape-q0') {
    const {pLimit} = require('..');
    const limit = pLimit({concurrency: LIMIT, shared: {redis: url, key, ...(peer === 'async-shape-q0' ? {quantumMs: 0} : {})}});
    await limit.ready();
    run = n => feed(n, () => limit(task));
    close = () => {
      maxWaitMs = limit.fleet.maxWaitMs;
      return limit.close();
    };
  } else if (peer === 'redis-semaphore') {
    const {default: Redis} = require('ioredis');
    const {Semaphore} = require('redis-semaphore');
    const client = new Redis({host: '127.0.0.1', port});
    await client.ping();
    // As a service would use it: every request acquires the fleet semaphore; here 32 requests
    // at a time in each process (each process alone could fill the fleet), defaults otherwise
    // (retryInterval 10 ms), with acquire timeouts far beyond the run.
    let left = 0;
    const worker = async () => {
      while (left > 0) {
        left--;
        const semaphore = new Semaphore(client, key, LIMIT, {acquireTimeout: 600_000, lockTimeout: 10_000});
        await semaphore.acquire();
        try {
          await task();
        } finally {
          await semaphore.release();
        }
      }
    };
    run = n => {
      left = n;
      return Promise.all(Array.from({length: LIMIT}, worker));
    };
    close = () => client.quit();
  } else if (peer === 'pubsub') {
    // No limiter, for scale: each process keeps LIMIT / FLEET tasks of 1 ms in flight (the load
    // each process carries in the fleet runs above), and every PUBSUB_EVERY-th finish PUBLISHes
    // its time (ioredis) to the next process, whose message handler records the delay: one bare
    // Redis message between two busy JS threads.
    const {default: Redis} = require('ioredis');
    const pub = new Redis({host: '127.0.0.1', port});
    const sub = new Redis({host: '127.0.0.1', port});
    const samples = [];
    sub.on('message', (_channel, text) => {
      const [to, at] = text.split(' ');
      if (Number(to) === index) samples.push(now() - Number(at));
    });
    await sub.subscribe(key);
    await pub.ping();
    let left = 0;
    let finished = 0;
    const worker = async () => {
      while (left > 0) {
        left--;
        await task();
        if (++finished % PUBSUB_EVERY === 0) pub.publish(key, `${(index + 1) % FLEET} ${now()}`);
      }
    };
    run = n => {
      left = n;
      samples.length = 0; // the warm-up round's
      return Promise.all(Array.from({length: LIMIT / FLEET}, worker));
    };
    close = async () => {
      await sleep(50); // the last messages in flight
      delays = samples;
      await Promise.all([pub.quit(), sub.quit()]);
    };
  } else if (peer === 'bottleneck') {
    const Bottleneck = require('bottleneck');
    const limiter = new Bottleneck({
      id: key,
      datastore: 'ioredis',
      clientOptions: {host: '127.0.0.1', port},
      maxConcurrent: LIMIT,
      clearDatastore: false, // a fresh id per run: nothing to clear, and clearing from one process would race the others
    });
    let closing = false;
    // After disconnect() its blacklist timer still fires on the closed connection: not an error of the run.
    limiter.on('error', error => closing || console.error('bottleneck error:', error));
    await limiter.ready();
    run = n => feed(n, () => limiter.schedule(task));
    close = () => {
      closing = true;
      return limiter.disconnect();
    };
  } else {
    throw new Error(`unknown peer ${peer}`);
  }
  const told = () => new Promise(resolve => process.once('message', resolve));
  process.send({ready: true});
  await told();
  // The warm-up round: the same workload, unmeasured, so that the measured round finds V8's
  // compiled code and its background threads settled (see the header).
  rec = recorder(tasks);
  await run(tasks);
  const warm = rec;
  process.send({warmed: true});
  await told();
  rec = recorder(tasks);
  await run(tasks);
  // Said before close(): a process that is done gives its permits back, as in a service.
  process.send({done: true});
  // The report waits until every process is done: building it is CPU work that would otherwise
  // land on the others' last tasks.
  const report = told();
  await close();
  await report;
  const plain = r => ({starts: Array.from(r.starts), finishes: Array.from(r.finishes)});
  process.send({...plain(rec), warm: plain(warm), maxWaitMs, delays}, () => process.disconnect());
}

// ---------------------------------------------------------------- parent side

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Max overlap, hand-off samples and mid-run shares from each process's {starts, finishes}. */
function analyse(perProcess, limit) {
  const events = [];
  perProcess.forEach(({starts, finishes}, p) => {
    for (let i = 0; i < starts.length; i++) {
      events.push([starts[i], 1, p]);
      events.push([finishes[i], -1, p]);
    }
  });
  // Finishes before starts at equal times: causally a start after a release is always later.
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let inFlight = 0;
  let maxInFlight = 0;
  let initial = limit;
  const freed = perProcess.map(() => []); // per process: times of slots it freed, oldest first
  const heads = perProcess.map(() => 0);
  const handoffs = [];
  let overruns = 0;
  for (const [t, kind, p] of events) {
    inFlight += kind;
    if (inFlight > maxInFlight) maxInFlight = inFlight;
    if (kind === -1) {
      freed[p].push(t);
      continue;
    }
    if (heads[p] < freed[p].length) {
      heads[p]++; // re-used locally
    } else if (initial > 0) {
      initial--;
    } else {
      let best = -1;
      for (let q = 0; q < freed.length; q++) {
        if (q !== p && heads[q] < freed[q].length && (best < 0 || freed[q][heads[q]] < freed[best][heads[best]])) best = q;
      }
      if (best < 0) overruns++;
      else handoffs.push([t, t - freed[best][heads[best]++]]);
    }
  }
  const first = Math.min(...perProcess.map(r => Math.min(...r.starts)));
  const last = Math.max(...perProcess.map(r => Math.max(...r.finishes)));
  const lo = first + (last - first) / 4;
  const hi = first + (3 * (last - first)) / 4;
  const all = handoffs.map(([, d]) => d).sort((a, b) => a - b);
  const steady = handoffs.filter(([t]) => t >= lo && t < hi).map(([, d]) => d).sort((a, b) => a - b);
  const mid = perProcess.map(r => r.starts.filter(t => t >= lo && t < hi).length);
  const midTotal = mid.reduce((a, b) => a + b, 0);
  let busy = 0;
  let count = 0;
  for (const {starts, finishes} of perProcess) {
    for (let i = 0; i < starts.length; i++) busy += finishes[i] - starts[i];
    count += starts.length;
  }
  return {
    meanTaskMs: busy / count,
    maxInFlight,
    overruns,
    handoffs: steady.length,
    handoffP50: percentile(steady, 50),
    handoffP99: percentile(steady, 99),
    handoffsAll: all.length,
    handoffP99All: percentile(all, 99),
    shares: mid.map(n => (midTotal === 0 ? NaN : n / midTotal)),
    maxWaits: perProcess.map(r => r.maxWaitMs ?? NaN),
    last,
  };
}

async function runPeer(peer, redis, tasks, {monitor: watch = false} = {}) {
  const key = `bench-${peer}-${process.pid}-${Date.now()}`;
  const config = {peer, url: redis.url, port: redis.port, key, tasks};
  const children = [];
  const results = [];
  const exits = [];
  for (let p = 0; p < FLEET; p++) {
    const c = fork(__filename, ['--child', JSON.stringify({...config, index: p})], {stdio: ['ignore', 'inherit', 'inherit', 'ipc']});
    children.push(c);
    const exited = new Promise((resolve, reject) => {
      c.on('message', m => {
        if (m.starts) results[p] = m;
      });
      c.on('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${peer} child ${p} exited with ${signal ?? code}`))));
    });
    // Awaited below only once every child is ready: a child that dies before (or is killed when
    // another did) must not end the benchmark with an unhandled rejection.
    exited.catch(() => {});
    exits.push(exited);
  }
  const killAll = () => children.forEach(c => c.exitCode === null && c.kill('SIGKILL'));
  const timer = setTimeout(killAll, 300_000);
  try {
    const all = state =>
      Promise.all(children.map(c => new Promise((resolve, reject) => {
        c.on('message', m => m[state] && resolve());
        c.on('exit', () => reject(new Error(`${peer}: a child exited before it was ${state}`)));
      })));
    await all('ready');
    const warmed = all('warmed');
    for (const c of children) c.send('warm');
    await warmed;
    const before = await redis.commandCalls();
    const monitor = watch ? await redis.monitor() : undefined;
    const go = now();
    const done = all('done');
    for (const c of children) c.send('go');
    await done;
    for (const c of children) c.send('report');
    await Promise.all(exits);
    const sent = watch ? await monitor.stop() : undefined;
    const after = await redis.commandCalls();
    // Our own INFO (one, between the two snapshots' replies) is not the contender's.
    // commandstats counts the commands scripts run inside too; our own INFO, MONITOR and ECHO are not the contender's.
    let commands = watch ? -3 : -1;
    const byCommand = {};
    for (const [name, calls] of Object.entries(after)) {
      const delta = calls - (before[name] ?? 0) - (name === 'info' ? 1 : 0);
      if (delta > 0) byCommand[name] = delta;
      commands += calls - (before[name] ?? 0);
    }
    if (process.env.FLEET_BENCH_COMMANDS) console.error(peer, JSON.stringify(byCommand), JSON.stringify(sent?.byCommand));
    const a = analyse(results, LIMIT);
    // The warm-up round is held to the limit too.
    a.maxInFlight = Math.max(a.maxInFlight, analyse(results.map(r => r.warm), LIMIT).maxInFlight);
    if (process.env.FLEET_BENCH_DUMP) fs.writeFileSync(process.env.FLEET_BENCH_DUMP + peer + (watch ? '-mon' : '') + '.json', JSON.stringify(results));
    if (a.maxInFlight > LIMIT && peer !== 'pubsub') {
      // Over the limit: keep every interval of the run, so that it can be looked into.
      const file = path.join(require('node:os').tmpdir(), `async-shape-fleet-over-${peer}-${Date.now()}.json`);
      fs.writeFileSync(file, JSON.stringify({peer, key, monitor: watch, results}));
      console.error(`${peer}: ${a.maxInFlight} in flight, over the limit of ${LIMIT}: every task's interval is in ${file}`);
    }
    const total = FLEET * tasks;
    const tasksPerSecond = total / ((a.last - go) / 1000);
    // The most any limiter could do: LIMIT tasks always in flight, each as long as they really took.
    const ideal = (LIMIT * 1000) / a.meanTaskMs;
    const delays = results.flatMap(r => r.delays ?? []).sort((x, y) => x - y);
    if (peer === 'pubsub') return {peer, samples: delays.length, p50: percentile(delays, 50), p99: percentile(delays, 99), max: delays[delays.length - 1]};
    return {peer, tasks: total, seconds: (a.last - go) / 1000, tasksPerSecond, ofIdeal: tasksPerSecond / ideal, commandsPerTask: commands / total, roundTripsPerTask: watch ? sent.client / total : NaN, ...a};
  } finally {
    clearTimeout(timer);
    killAll();
  }
}

/** Whether this build has the shared pool (the fleet room and the `shared` option). */
function sharedAvailable() {
  try {
    const {tables} = require('../lib/internal/wire');
    return Object.hasOwn(tables(), 'fleet');
  } catch {
    return false;
  }
}

function fmt(n, digits = 1) {
  return Number.isFinite(n) ? n.toLocaleString('en', {minimumFractionDigits: digits, maximumFractionDigits: digits}) : '–';
}

// No hand-off sample: the fleet never had all its slots in use (the contender cannot fill it).
const ms = (r, v) => (r.handoffsAll === 0 ? `– (never ${LIMIT} in flight)` : Number.isFinite(v) ? `${fmt(v, 2)} ms` : '– (none in the window)');

function tableOf(rows) {
  const head = '| contender | tasks | tasks/s | of the ideal | hand-off p50 | hand-off p99 | hand-off p99, whole round | round trips/task | Redis commands/task | max in flight | mid-run share per process | longest wait for a permit, per process (both rounds) |';
  const sep = '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|';
  const lines = rows.map(r =>
    r.error
      ? `| ${r.name} | – | – | – | – | – | – | – | – | – | ${r.error} | – |`
      : `| ${r.name} | ${r.tasks.toLocaleString('en')} | ${fmt(r.tasksPerSecond, 0)} | ${(r.ofIdeal * 100).toFixed(0)}% | ${ms(r, r.handoffP50)} | ${ms(r, r.handoffP99)} | ${ms(r, r.handoffP99All)} | ${fmt(r.roundTripsPerTask, 2)} | ${fmt(r.commandsPerTask, 2)} | ${r.maxInFlight}${r.maxInFlight > LIMIT ? ' **over**' : ''} | ${r.shares.map(s => `${(s * 100).toFixed(0)}%`).join(' ')} | ${r.maxWaits.every(Number.isFinite) ? r.maxWaits.map(w => `${fmt(w, 0)} ms`).join(' ') : '– (not reported)'} |`,
  );
  return [head, sep, ...lines].join('\n');
}

/** The bare pub/sub line: what one Redis message between two busy JS threads takes here. */
function pubsubOf(pubsub) {
  if (!pubsub) return 'not measured';
  if (pubsub.error) return `not measured (${pubsub.error})`;
  if (pubsub.samples === 0) return 'not measured (no message arrived)';
  return `p50 ${fmt(pubsub.p50, 2)} ms, p99 ${fmt(pubsub.p99, 2)} ms (max ${fmt(pubsub.max, 1)} ms) over ${pubsub.samples.toLocaleString('en')} messages`;
}

function goalsOf(rows, pubsub) {
  const ours = rows.find(r => r.peer === 'async-shape' && !r.error);
  const sem = rows.find(r => r.peer === 'redis-semaphore' && !r.error);
  if (!ours) return ['async-shape shared: not measured (no `fleet` room in this build)'];
  const ok = b => (b ? 'met' : 'NOT met');
  return [
    `throughput ≥ 10× redis-semaphore: ${sem ? `${(ours.tasksPerSecond / sem.tasksPerSecond).toFixed(1)}× — ${ok(ours.tasksPerSecond >= 10 * sem.tasksPerSecond)}` : 'redis-semaphore not measured'}`,
    ours.handoffsAll === 0
      ? 'hand-off p99 ≤ 2 ms: not measured (no hand-off)'
      : `hand-off p99 ≤ 2 ms: ${fmt(ours.handoffP99, 2)} ms over the ${ours.handoffs} hand-offs of the round's middle half, ${fmt(ours.handoffP99All, 2)} ms over all ${ours.handoffsAll} of the round — ${ok(ours.handoffP99 <= 2 && ours.handoffP99All <= 2)}${pubsub?.p99 ? ` (for scale, a bare PUBLISH between two of these busy processes, no limiter, over its whole round: p99 ${fmt(pubsub.p99, 2)} ms)` : ''}`,
    `≤ 0.2 Redis commands per task: ${fmt(ours.roundTripsPerTask, 3)} sent by the clients (round trips) — ${ok(ours.roundTripsPerTask <= 0.2)}; ${fmt(ours.commandsPerTask, 2)} counting those the scripts run inside (INFO commandstats)`,
    `max in flight never above ${LIMIT}: ${rows.filter(r => !r.error).map(r => `${r.peer} ${r.maxInFlight}`).join(', ')} — ${ok(rows.every(r => r.error || r.maxInFlight <= LIMIT))}`,
  ];
}

async function fleetBenchmark({quick = QUICK, only} = {}) {
  const redis = await startRedisServer();
  const rows = [];
  let pubsub;
  try {
    if (!only || only.includes('pubsub')) {
      try {
        pubsub = await runPeer('pubsub', redis, quick ? PUBSUB_TASKS / 4 : PUBSUB_TASKS);
      } catch (error) {
        pubsub = {error: String(error.message).split('\n')[0]};
      }
    }
    for (const peer of (only ?? Object.keys(PEERS)).filter(p => p !== 'pubsub')) {
      const spec = PEERS[peer];
      const name = spec.name();
      const tasks = quick ? spec.quick : spec.tasks;
      if (peer.startsWith('async-shape') && !sharedAvailable()) {
        rows.push({peer, name, error: 'not in this build (the binding has not landed)'});
        continue;
      }
      try {
        // Measured, then run again under MONITOR for the commands the clients sent (MONITOR slows
        // the server: the figures of the first run are the ones shown, with the round trips of
        // the second, and the larger max in flight of the two).
        const measured = await runPeer(peer, redis, tasks);
        const counted = await runPeer(peer, redis, tasks, {monitor: true});
        rows.push({name, ...measured, roundTripsPerTask: counted.roundTripsPerTask, maxInFlight: Math.max(measured.maxInFlight, counted.maxInFlight)});
      } catch (error) {
        rows.push({peer, name, error: String(error.message).split('\n')[0]});
      }
    }
  } finally {
    await redis.stop();
  }
  return {rows, table: tableOf(rows), goals: goalsOf(rows, pubsub), pubsub: pubsubOf(pubsub)};
}

if (require.main === module) {
  const at = process.argv.indexOf('--child');
  if (at >= 0) {
    child(JSON.parse(process.argv[at + 1])).catch(error => {
      console.error(error);
      process.exit(1);
    });
  } else {
    const onlyAt = process.argv.indexOf('--only');
    const only = onlyAt >= 0 ? process.argv[onlyAt + 1].split(',') : undefined;
    fleetBenchmark({only}).then(
      ({rows, table, goals, pubsub}) => {
        console.log(`Fleet: ${FLEET} processes, fleet limit ${LIMIT}, tasks of ${TASK_MS} ms (setTimeout), one local redis-server ${'(loopback)'}`);
        console.log(table);
        console.log(`\n${PUBSUB_SETUP} ${pubsub}`);
        console.log(`\n"of the ideal": tasks/s ÷ (${LIMIT} ÷ the mean task duration measured), the most any limiter could do.`);
        console.log('"round trips/task": commands the clients sent (MONITOR, in a second run); "Redis commands/task": INFO commandstats, which also counts the commands each script runs.');
        console.log(`\n${goals.map(g => `- ${g}`).join('\n')}`);
        if (process.argv.includes('--json')) console.log(JSON.stringify(rows));
      },
      error => {
        console.error(error);
        process.exit(1);
      },
    );
  }
}

const FLEET_SETUP = `${FLEET} processes, a fleet limit of ${LIMIT}, tasks of ${TASK_MS} ms (setTimeout), on one local redis-server (loopback). Each run is two rounds of the same size: a warm-up round (V8 compiling the hot code, its GC settling), then the measured one. ${FEED ? `async-shape and bottleneck: each process keeps ${FEEDERS} tasks submitted, a new one as each settles (FLEET_FEED=feed; the fleet runs ${LIMIT} at a time in all)` : `async-shape and bottleneck: each process submits its round's tasks at once, in one synchronous loop`}; redis-semaphore: ${LIMIT} workers per process, each acquiring, running one task and releasing in turn.`;

const PUBSUB_SETUP = `For scale, a bare Redis message between two of these processes, no limiter: ${FLEET} processes each keep ${LIMIT / FLEET} tasks of ${TASK_MS} ms in flight (the load each carries above), and every ${PUBSUB_EVERY}th finish PUBLISHes (ioredis) its time to the next process, whose message handler records the delay:`;

module.exports = {fleetBenchmark, analyse, FLEET_SETUP, PUBSUB_SETUP};
