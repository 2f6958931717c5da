#!/usr/bin/env node
'use strict';
// async-shape's command line: `sweep` finds the knee of a service, `demo` shows four async shapes
// against the built-in downstream. Bad input gets one line and a non-zero exit, never a stack.

const fs = require('node:fs');
const http = require('node:http');
// The library (and so the native addon) loads on first use: `--version` and `help` work without
// it, and a missing binary is the one-line `async-shape:` error, not a stack trace.
let loaded;
const lib = () =>
  (loaded ??= {
    ...require('..'),
    sweep: require('./sweep').sweep,
    startDownstream: require('./downstream').startDownstream,
    report: require('./report'),
  });

const USAGE = `Usage: async-shape <command> [options]

Commands:
  sweep   measure throughput and p99 against concurrency, and find the knee
  demo    one workload four ways against the built-in downstream
  help    this text
  version print the version (also --version)

sweep options:
  --url URL            the service to sweep (default: the built-in downstream on 127.0.0.1)
  --levels 1,5,10,…    concurrency levels (default 1,5,10,20,40,80)
  --duration S         seconds per level (default 2)
  --requests N         requests per level instead of a duration
  --method M           HTTP method (default GET)
  --header 'K: V'      a request header (repeatable)
  --body TEXT          the request body
  --capacity R         built-in downstream: requests per second (default 400)
  --latency MS         built-in downstream: ms per request (default 50)
  --queue Q            built-in downstream: waiting places before 429 (default capacity × latency)
  --adaptive           also run an adaptive pool (Vegas) and compare it with the fixed levels
  --step               built-in downstream: halve its capacity halfway through each level
  --json               print the result as JSON
  --html FILE          write an HTML report with a chart
  --svg FILE           write the chart as SVG

demo options:
  --requests N, --capacity R, --latency MS, --queue Q (defaults 200, 400, 50, 20)`;

class UsageError extends Error {}

// The largest values the options take: each becomes a timer, a Duration, a count of sockets or
// clients, or a native integer, and must stay in range (a second per level beyond a day, or a
// million clients, is a typo, not a plan). The built-in downstream's are Rust's
// (core/src/downstream/wire.rs), read when an option needs them: reading them loads the addon,
// which `help` and `--version` do without.
const downstreamLimits = () => require('../lib/internal/wire').room('downstream');
const MAX = {
  duration: 86_400,
  requests: Number.MAX_SAFE_INTEGER,
  get capacity() {
    return downstreamLimits().MAX_CAPACITY;
  },
  get latency() {
    return downstreamLimits().MAX_LATENCY_MS;
  },
  get queue() {
    return downstreamLimits().MAX_QUEUE;
  },
  level: 100_000,
};

const SPEC = {
  sweep: {
    url: 'string',
    levels: 'levels',
    duration: 'positive',
    requests: 'count',
    method: 'string',
    header: 'list',
    body: 'string',
    capacity: 'positive',
    latency: 'positive',
    queue: 'count0',
    adaptive: 'flag',
    step: 'flag',
    json: 'flag',
    html: 'string',
    svg: 'string',
  },
  demo: {requests: 'count', capacity: 'positive', latency: 'positive', queue: 'count0'},
};

function parse(command, args) {
  const spec = SPEC[command];
  const out = {header: []};
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    const [key, inline] = flag.startsWith('--') ? flag.slice(2).split(/=(.*)/s) : [undefined];
    const kind = spec[key];
    if (kind === undefined) throw new UsageError(`unknown option ${JSON.stringify(flag)} for ${command}`);
    if (kind === 'flag') {
      out[key] = true;
      continue;
    }
    const raw = inline ?? args[++i];
    if (raw === undefined) throw new UsageError(`--${key} needs a value`);
    const number = Number(raw);
    switch (kind) {
      case 'string':
        out[key] = raw;
        break;
      case 'list':
        out[key].push(raw);
        break;
      case 'positive':
        if (raw.trim() === '' || !Number.isFinite(number) || number <= 0 || number > MAX[key]) {
          throw new UsageError(`--${key} expects a positive number up to ${MAX[key]}, got ${JSON.stringify(raw)}`);
        }
        out[key] = number;
        break;
      case 'count':
      case 'count0': {
        const min = kind === 'count' ? 1 : 0;
        if (raw.trim() === '' || !Number.isInteger(number) || number < min || number > MAX[key]) {
          throw new UsageError(`--${key} expects a whole number from ${min} to ${MAX[key]}, got ${JSON.stringify(raw)}`);
        }
        out[key] = number;
        break;
      }
      case 'levels': {
        const levels = raw.split(',').map(s => (s.trim() === '' ? NaN : Number(s.trim())));
        if (levels.length === 0 || levels.some(l => !Number.isInteger(l) || l < 1 || l > MAX.level)) {
          throw new UsageError(`--levels expects whole numbers from 1 to ${MAX.level} separated by commas, got ${JSON.stringify(raw)}`);
        }
        out.levels = [...new Set(levels)].sort((a, b) => a - b);
        break;
      }
      default:
        throw new UsageError(`internal: unknown option kind ${kind}`);
    }
  }
  return out;
}

/** The built-in downstream, with its option errors told as the command line's options. */
function downstreamFrom(o) {
  try {
    return lib().startDownstream({capacity: o.capacity ?? 400, latency: o.latency ?? 50, queue: o.queue});
  } catch (error) {
    if (!(error instanceof RangeError || error instanceof TypeError)) throw error;
    throw new UsageError(error.message.replace(/`(capacity|latency|queue)`/g, '--$1').replace(/^Expected /, 'expected '));
  }
}

function headersOf(list) {
  const headers = {};
  for (const h of list) {
    const at = h.indexOf(':');
    if (at <= 0) throw new UsageError(`--header expects 'Name: value', got ${JSON.stringify(h)}`);
    headers[h.slice(0, at).trim()] = h.slice(at + 1).trim();
  }
  return headers;
}

function progress(enabled) {
  if (!enabled) return {update() {}, done() {}};
  let last = 0;
  return {
    update({level, index, of, done}) {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      process.stderr.write(`\r  level ${index + 1}/${of}: concurrency ${level}, ${done} requests…   `);
    },
    done() {
      process.stderr.write('\r\x1b[K');
    },
  };
}

async function runSweep(args) {
  const o = parse('sweep', args);
  const levels = o.levels ?? [1, 5, 10, 20, 40, 80];
  let url = o.url;
  let downstream;
  if (url === undefined) {
    if (o.method !== undefined && o.method !== 'GET') throw new UsageError('--method needs --url (the built-in downstream answers GET)');
    downstream = downstreamFrom(o);
    url = downstream.url;
  } else {
    for (const k of ['capacity', 'latency', 'queue']) {
      if (o[k] !== undefined) throw new UsageError(`--${k} configures the built-in downstream; it does not go with --url`);
    }
    try {
      const parsed = new URL(url);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http');
    } catch {
      throw new UsageError(`--url expects an http:// or https:// URL, got ${JSON.stringify(url)}`);
    }
  }
  if (o.requests !== undefined && o.duration !== undefined) throw new UsageError('give --requests or --duration, not both');
  if (o.step && downstream === undefined) throw new UsageError('--step changes the built-in downstream; it does not go with --url');
  if (o.step && o.requests !== undefined) throw new UsageError('--step happens halfway through a level in time; use --duration, not --requests');
  const seconds = o.requests === undefined ? (o.duration ?? 2) : undefined;
  const step = o.step
    ? {after: seconds / 2, apply: () => downstream.setCapacity(downstream.capacity / 2), restore: () => downstream.setCapacity(downstream.capacity)}
    : undefined;
  const show = !o.json && process.stderr.isTTY;
  const bar = progress(show);
  if (!o.json) {
    const what = downstream
      ? `the built-in downstream (${downstream.capacity} req/s at ${downstream.latency} ms, knee ${downstream.knee}, ${downstream.queue} waiting places, then 429) at ${url}`
      : url;
    const amount = o.requests !== undefined ? `${o.requests} requests` : `${o.duration ?? 2} s`;
    const extras = [o.adaptive ? 'then an adaptive pool' : '', o.step ? 'capacity halves halfway through each level' : ''].filter(Boolean);
    console.log(`Sweeping ${what}\nLevels ${levels.join(', ')}, ${amount} each${extras.length ? `; ${extras.join('; ')}` : ''}.\n`);
  }
  let result;
  try {
    result = await lib().sweep(url, {
      levels,
      requests: o.requests,
      duration: seconds,
      adaptive: o.adaptive ?? false,
      step,
      method: o.method ?? 'GET',
      headers: headersOf(o.header),
      body: o.body,
      onProgress: bar.update,
    });
  } finally {
    bar.done();
    downstream?.close();
  }
  if (downstream) result.downstream = {capacity: downstream.capacity, latency: downstream.latency, queue: downstream.queue, knee: downstream.knee};
  if (o.json) console.log(JSON.stringify(result, null, 2));
  else console.log(`${lib().report.table(result)}\n\n${lib().report.summary(result)}`);
  if (o.html) {
    fs.writeFileSync(o.html, lib().report.html(result));
    if (!o.json) console.log(`Wrote ${o.html}`);
  }
  if (o.svg) {
    fs.writeFileSync(o.svg, lib().report.svg(result));
    if (!o.json) console.log(`Wrote ${o.svg}`);
  }
}

// --- demo ---

async function measureShape(name, downstream, run) {
  const agent = new http.Agent({keepAlive: true});
  let sockets = 0;
  agent.on('free', () => {});
  const origCreate = agent.createConnection.bind(agent);
  agent.createConnection = (...a) => {
    sockets++;
    return origCreate(...a);
  };
  const get = () =>
    new Promise((resolve, reject) => {
      http
        .get(downstream.url, {agent}, res => {
          res.resume();
          res.on('end', () => resolve(res.statusCode));
        })
        .on('error', reject);
    });
  const loop = lib().monitorEventLoop({stallThreshold: 50});
  loop.disable();
  loop.reset();
  let peakHeap = 0;
  const sampler = setInterval(() => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)), 5);
  const heap0 = process.memoryUsage().heapUsed;
  let refused = 0;
  const call = async () => {
    const status = await get();
    if (status === 429) refused++;
    return status;
  };
  loop.enable();
  const t0 = performance.now();
  await run(call);
  const wall = performance.now() - t0;
  loop.disable();
  clearInterval(sampler);
  agent.destroy();
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  return {
    name,
    wall,
    refused,
    sockets,
    heap: (peakHeap - heap0) / 2 ** 20,
    loopP99: loop.count > 0 ? loop.percentile(99) / 1e6 : 0,
    loopMax: loop.count > 0 ? loop.max / 1e6 : 0,
    stalls: stallsByKind(loop),
  };
}

/** '2 microtask-burst, 1 macrotask' or '0'. */
function stallsByKind(monitor) {
  const counts = new Map();
  for (const s of monitor.stalls()) counts.set(s.kind, (counts.get(s.kind) ?? 0) + 1);
  monitor.close();
  return counts.size === 0 ? '0' : [...counts].map(([kind, n]) => `${n} ${kind}`).join(', ');
}

async function runDemo(args) {
  const o = parse('demo', args);
  const requests = o.requests ?? 200;
  const downstream = downstreamFrom(o);
  const knee = downstream.knee;
  console.log(
    `The built-in downstream serves ${downstream.capacity} req/s at ${downstream.latency} ms each (knee ${knee}), ` +
      `queues ${downstream.queue} more, then answers 429. Workload: ${requests} requests.\n`,
  );
  const ids = () => Array.from({length: requests}, (_, i) => i);
  const rows = [];
  try {
    rows.push(
      await measureShape('for … await (serial)', downstream, async call => {
        for (let i = 0; i < requests; i++) await call();
      }),
    );
    rows.push(await measureShape('Promise.all (unbounded)', downstream, call => Promise.all(ids().map(call))));
    rows.push(
      await measureShape(`pLimit(${knee}) at the knee`, downstream, call => {
        const limit = lib().pLimit(knee);
        return Promise.all(ids().map(() => limit(call)));
      }),
    );
    rows.push(
      await measureShape(`stream, concurrency ${knee}`, downstream, async call => {
        for await (const status of lib().stream(ids(), call, {concurrency: knee})) void status;
      }),
    );
  } finally {
    downstream.close();
  }
  const head = ['shape', 'wall ms', '429s', 'sockets', 'peak heap MiB', 'loop p99 ms', 'loop max ms', 'loop stalls'];
  const body = rows.map(r => [
    r.name,
    r.wall.toFixed(0),
    String(r.refused),
    String(r.sockets),
    r.heap.toFixed(1),
    r.loopP99.toFixed(1),
    r.loopMax.toFixed(1),
    r.stalls,
  ]);
  const widths = head.map((_, c) => Math.max(...[head, ...body].map(r => r[c].length)));
  const line = r => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  console.log([line(head), widths.map(w => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n'));
  const ideal = Math.ceil(requests / knee) * downstream.latency;
  console.log(
    `\nAt the knee the work takes ~${ideal} ms with no 429s and ${knee} sockets; serial takes ~${requests * downstream.latency} ms; ` +
      `unbounded, most requests are refused.`,
  );
}

async function main(argv) {
  const [command, ...args] = argv;
  switch (command) {
    case 'sweep':
      return runSweep(args);
    case 'demo':
      return runDemo(args);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return undefined;
    case 'version':
    case '--version':
    case '-v':
      console.log(require('../package.json').version);
      return undefined;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

main(process.argv.slice(2)).then(
  () => {
    process.exitCode ??= 0;
  },
  error => {
    console.error(`async-shape: ${String(error.message).replace(/^async-shape: /, '')}`);
    if (error instanceof UsageError) console.error('Run `async-shape help` for usage.');
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
