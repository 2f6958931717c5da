'use strict';
// One process of the review's fuzzed fleet (__test__/fleet-review.test.js and
// __test__/fleet-review-fuzz.js). Configured by the JSON in argv[2]; talks over IPC.
//
// Every task appends `S <id> <t>` when it starts and `E <id> <t>` when it really stops to its own
// log file (one write per line, on the machine's one clock), so that the driver still has the
// intervals of a process it SIGKILLs or SIGSTOPs. Events (leaseLost, leaseRegained, …) go to the
// same file as `V <type> <t>`.
//
// The workload mixes Pool#run (random priorities, aborts, timeouts), Pool#map, Pool#stream,
// pLimit and pLimit#map, with clear() and close() at random moments; tasks last 0 (sync) to
// `maxMs` ms and stop on their signal. Replies {type: 'done', submitted, settled, reasons}.

const fs = require('node:fs');
const {Pool, pLimit} = require('..');

const config = JSON.parse(process.argv[2]);
// One clock for every process (see __test__/fleet-child.js): CLOCK_MONOTONIC, in ms.
const now = () => Number(process.hrtime.bigint()) / 1e6;
const log = fs.openSync(config.log, 'a');
const write = line => fs.writeSync(log, `${line}\n`);

let seed = config.seed >>> 0 || 1;
const random = () => {
  // mulberry32
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = n => Math.floor(random() * n);

const shared = {
  redis: config.url,
  key: config.key,
  leaseMs: config.leaseMs,
  onEvent: event => write(`V ${event.type} ${now()}`),
};
if (config.quantumMs !== undefined) shared.quantumMs = config.quantumMs;

const send = message => new Promise(resolve => process.send(message, resolve));
let ids = 0;

/** A task of `ms` ms (0: synchronous), stopping on `signal`; logs its interval. */
function task(ms, signal) {
  const id = `${process.pid}.${++ids}`;
  write(`S ${id} ${now()}`);
  if (ms === 0 || signal?.aborted) {
    write(`E ${id} ${now()}`);
    return 'sync';
  }
  return new Promise(resolve => {
    const finish = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', finish);
      write(`E ${id} ${now()}`);
      resolve('ok');
    };
    const timer = setTimeout(finish, ms);
    signal?.addEventListener('abort', finish, {once: true});
  });
}

const duration = () => (random() < 0.15 ? 0 : 1 + pick(config.maxMs));

async function main() {
  const api = config.api;
  const limiter = api === 'pool' ? new Pool({concurrency: config.limit, shared}) : pLimit({concurrency: config.limit, shared});
  await limiter.ready();
  await send({type: 'ready'});
  const all = [];
  const reasons = {};
  let submitted = 0;
  const track = promise => {
    submitted++;
    all.push(
      promise.then(
        () => {},
        error => {
          const name = error?.name ?? String(error);
          reasons[name] = (reasons[name] ?? 0) + 1;
        },
      ),
    );
  };
  let closed;
  const deadline = now() + config.runMs;
  while (now() < deadline && closed === undefined) {
    const r = random();
    if (api === 'pool') {
      if (r < 0.7) {
        const options = {priority: pick(5) - 2};
        if (random() < 0.1) {
          const c = new AbortController();
          setTimeout(() => c.abort(new Error('test abort')), pick(30));
          options.signal = c.signal;
        }
        if (random() < 0.05) options.timeout = 1 + pick(config.maxMs);
        const ms = duration();
        track(limiter.run(({signal}) => task(ms, signal), options));
      } else if (r < 0.8) {
        const items = Array.from({length: 1 + pick(10)}, duration);
        track(limiter.map(items, (ms, _i, {signal}) => task(ms, signal)));
      } else if (r < 0.85) {
        const items = Array.from({length: 1 + pick(8)}, duration);
        track(
          (async () => {
            for await (const _ of limiter.stream(items, (ms, _i, {signal}) => task(ms, signal))) {
              // drained
            }
          })(),
        );
      } else if (r < 0.86) {
        limiter.clear(new Error('test clear'));
      }
    } else if (r < 0.85) {
      const ms = duration();
      track(limiter(() => task(ms)));
    } else if (r < 0.95) {
      const items = Array.from({length: 1 + pick(10)}, duration);
      track(limiter.map(items, ms => task(ms)));
    }
    if (config.closeEarly && random() < 0.002) closed = limiter.close();
    // A bounded backlog (a limit of 1 with 30 ms tasks drains slowly): wait while it is long.
    while (limiter.pendingCount > 3 * config.limit + 5 && now() < deadline) await new Promise(resolve => setTimeout(resolve, 5));
    // Between 0 and a few ms between submissions, sometimes a burst.
    if (random() < 0.7) await new Promise(resolve => setTimeout(resolve, pick(4)));
    if (config.stallMs && random() < 0.003) {
      write(`B ${now()}`);
      const until = Date.now() + config.stallMs;
      while (Date.now() < until) {
        // the event loop is blocked
      }
      write(`U ${now()}`);
    }
  }
  await Promise.all(all);
  const stats = api === 'pool' ? limiter.stats().fleet : limiter.fleet;
  await (closed ?? limiter.close());
  await send({type: 'done', submitted, settled: all.length, reasons, stats});
  fs.closeSync(log);
  process.disconnect();
}

/** A steady backlog of `ms`-long tasks (more added as they end) until 'stop'; then close() and report. */
async function queue() {
  const limiter = config.api === 'limit' ? pLimit({concurrency: config.limit, shared}) : new Pool({concurrency: config.limit, shared});
  await limiter.ready();
  const run = fn => (config.api === 'limit' ? limiter(fn) : limiter.run(fn));
  let stop = false;
  const reasons = {};
  const all = [];
  const add = () => {
    if (stop) return;
    const promise = run(({signal} = {}) => task(config.ms, signal)).then(
      () => {},
      error => {
        reasons[error?.name] = (reasons[error?.name] ?? 0) + 1;
      },
    );
    all.push(promise);
    promise.then(add);
  };
  for (let i = 0; i < config.limit * 3; i++) add();
  process.on('message', m => {
    if (m === 'stop') stop = true;
  });
  await send({type: 'ready'});
  while (!stop) await new Promise(resolve => setTimeout(resolve, 10));
  await Promise.all(all);
  await limiter.close();
  await send({type: 'done', reasons, settled: all.length});
  fs.closeSync(log);
  process.disconnect();
}

(config.mode === 'queue' ? queue : main)().catch(async error => {
  await send({type: 'error', message: String(error?.stack ?? error)}).catch(() => {});
  process.exit(1);
});
