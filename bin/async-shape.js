#!/usr/bin/env node
'use strict';
// async-shape's command line.
//
//   async-shape demo [--requests N] [--capacity C] [--latency MS] [--queue Q]
//
// `demo` runs one workload four ways against a simulated downstream that serves `capacity`
// requests at once in `latency` ms each, queues up to `queue` more, and answers 429 beyond that,
// as a rate-limited service does: a serial loop, an unbounded Promise.all, pLimit at the
// downstream's capacity, and Pool#map with its statistics.

const {pLimit, Pool} = require('..');

const USAGE = `Usage: async-shape <command> [options]

Commands:
  demo    one workload four ways against a simulated rate-limited downstream
          --requests N   requests to make (default 200)
          --capacity C   requests the downstream serves at once (default 16)
          --latency MS   service time of one request in ms (default 20)
          --queue Q      requests it queues before answering 429 (default 32)
  help    this text`;

function fail(message) {
  console.error(`async-shape: ${message}`);
  console.error('Run `async-shape help` for usage.');
  process.exit(2);
}

function parseOptions(args, defaults) {
  const options = {...defaults};
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    const key = flag.startsWith('--') ? flag.slice(2) : undefined;
    if (key === undefined || !(key in defaults)) fail(`unknown option ${JSON.stringify(flag)}`);
    const raw = args[++i];
    const value = Number(raw);
    if (raw === undefined || !Number.isInteger(value) || value < 1) {
      fail(`--${key} expects a whole number from 1 up, got ${raw === undefined ? 'nothing' : JSON.stringify(raw)}`);
    }
    options[key] = value;
  }
  return options;
}

/** A downstream with `capacity` servers, a waiting room of `queue`, and 429 beyond. */
function downstream({capacity, latency, queue}) {
  let busy = 0;
  let peak = 0;
  const waiting = [];
  const serve = resolve => {
    busy++;
    peak = Math.max(peak, busy);
    setTimeout(() => {
      busy--;
      resolve({status: 200});
      const next = waiting.shift();
      if (next) serve(next);
    }, latency);
  };
  return {
    request: () =>
      new Promise(resolve => {
        if (busy < capacity) serve(resolve);
        else if (waiting.length < queue) waiting.push(resolve);
        else setImmediate(resolve, {status: 429});
      }),
    get peak() {
      return peak;
    },
  };
}

async function measure(name, options, run) {
  const service = downstream(options);
  const latencies = [];
  let ok = 0;
  let limited = 0;
  const call = async () => {
    const t0 = performance.now();
    const res = await service.request();
    latencies.push(performance.now() - t0);
    if (res.status === 200) ok++;
    else limited++;
  };
  const started = performance.now();
  const extra = await run(call, options.requests);
  const wall = performance.now() - started;
  latencies.sort((a, b) => a - b);
  const p99 = latencies[Math.min(latencies.length - 1, Math.ceil(latencies.length * 0.99) - 1)];
  return {name, wall, ok, limited, peak: service.peak, p99, extra};
}

async function demo(args) {
  const options = parseOptions(args, {requests: 200, capacity: 16, latency: 20, queue: 32});
  const {requests, capacity, latency, queue} = options;
  console.log(
    `Downstream: ${capacity} at once, ${latency} ms each, queues ${queue} more, then 429. Workload: ${requests} requests.\n`,
  );
  const rows = [];
  rows.push(
    await measure('for … await (serial)', options, async (call, n) => {
      for (let i = 0; i < n; i++) await call();
    }),
  );
  rows.push(
    await measure('Promise.all (unbounded)', options, async (call, n) => {
      await Promise.all(Array.from({length: n}, call));
    }),
  );
  rows.push(
    await measure(`pLimit(${capacity})`, options, async (call, n) => {
      const limit = pLimit(capacity);
      await Promise.all(Array.from({length: n}, () => limit(call)));
    }),
  );
  rows.push(
    await measure(`Pool#map, concurrency ${capacity}`, options, async (call, n) => {
      const pool = new Pool({concurrency: capacity});
      await pool.map(Array.from({length: n}, (_, i) => i), call);
      return pool.stats();
    }),
  );

  const table = [
    ['shape', 'wall ms', 'ok', '429', 'peak at downstream', 'p99 ms'],
    ...rows.map(r => [r.name, r.wall.toFixed(0), String(r.ok), String(r.limited), String(r.peak), r.p99.toFixed(1)]),
  ];
  const widths = table[0].map((_, c) => Math.max(...table.map(row => row[c].length)));
  for (const [i, row] of table.entries()) {
    console.log(row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
    if (i === 0) console.log(widths.map(w => '-'.repeat(w)).join('  '));
  }
  const stats = rows[3].extra;
  console.log(
    `\nPool statistics: throughput ${stats.throughput.toFixed(0)}/s × mean latency ${stats.latency.mean.toFixed(1)} ms ` +
      `= ${stats.littleConcurrency.toFixed(1)} in flight (Little's law; the downstream serves ${capacity}).`,
  );
  const ideal = Math.ceil(requests / capacity) * latency;
  console.log(`Bounded at the downstream's capacity, the work takes ~${ideal} ms with no 429s; serial takes ~${requests * latency} ms.`);
}

async function main(argv) {
  const [command, ...args] = argv;
  switch (command) {
    case 'demo':
      await demo(args);
      break;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      break;
    default:
      fail(`unknown command ${JSON.stringify(command)}`);
  }
}

main(process.argv.slice(2)).catch(error => {
  console.error(`async-shape: ${error.message}`);
  process.exit(1);
});
