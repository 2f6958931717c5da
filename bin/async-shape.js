#!/usr/bin/env node
'use strict';
// async-shape's command line: `sweep` finds the knee of a service, `demo` shows four async shapes
// against the built-in downstream. Arguments are read with node:util's parseArgs (strict) and every
// option is checked before a request is sent or a banner printed: bad usage gets one line on
// stderr and exit 2, a failure exit 1, never a stack.

const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const {parseArgs} = require('node:util');
// The library (and so the native addon) loads on first use: `--version` and `--help` work
// without it, and a missing binary is the one-line `async-shape:` error, not a stack trace.
let loaded;
const lib = () =>
  (loaded ??= {
    ...require('..'),
    sweep: require('./sweep'),
    startDownstream: require('./downstream').startDownstream,
    report: require('./report'),
  });

const SWEEP_USAGE = `Usage: async-shape sweep [options]

Measures goodput, refusals and latency against concurrency, and finds the knee: the largest
concurrency served cleanly (at most 1% refused or failing) before p99 rises without goodput rising.
Polite by default: on 429/503 each client backs off exponentially with full jitter (from the
unloaded latency, up to 1 s) and at least for the answer's Retry-After (seconds or a date), and
each level's request rate is capped.

Options:
  --url URL            the service to sweep (default: the built-in downstream on 127.0.0.1)
  --levels 1,5,10,…    concurrency levels (default 1,5,10,20,40,80)
  --duration S         seconds per level (default 2)
  --requests N         requests per level instead of a duration
  --method M           HTTP method (default GET)
  --header 'K: V'      a request header (repeatable)
  --body TEXT          the request body
  --max-rate R         at most R requests per second in each level (default: 4 × the larger of
                       the best goodput so far and the last clean level's goodput per client ×
                       the level's concurrency; before any level, from the probe's latency)
  --adaptive           also run an adaptive pool (Vegas), compare it with the fixed levels and
                       show its limit's trajectory
  --json               print the result as JSON
  --html FILE          write an HTML report with a chart
  --svg FILE           write the chart as SVG
  --quiet              no progress on stderr
  -h, --help           this text
  -v, --version        print the version

The built-in downstream (without --url):
  --capacity R         requests per second (default 400)
  --latency MS         ms per request (default 50); its knee is capacity × latency / 1000
  --queue Q            waiting places before 429 (default: as many as the knee)
  --mode M             queue (default): waits, then 429; conn: 503 at once beyond --limit
                       requests in flight (like nginx limit_conn); rate: 429 with Retry-After
                       beyond --limit requests per second (like nginx limit_req)
  --limit N            the conn or rate mode's limit
  --step               halve its capacity halfway through each level`;

const DEMO_USAGE = `Usage: async-shape demo [options]

One workload four ways against the built-in downstream: serial, unbounded, pLimit at the knee,
and a stream.

Options:
  --requests N         requests in the workload (default 200)
  --capacity R         requests per second (default 400)
  --latency MS         ms per request (default 50)
  --queue Q            waiting places before 429 (default: as many as the knee)
  --fleet N            N processes share one limit (1 to 64)
  --quiet              no progress on stderr
  -h, --help           this text
  -v, --version        print the version`;

const USAGE = `Usage: async-shape <command> [options]

Commands:
  sweep     measure throughput (goodput), refusals and p99 against concurrency, and find the knee
  demo      one workload four ways against the built-in downstream
  help      this text (also --help, -h; \`async-shape <command> --help\` for a command's options)
  version   print the version (also --version, -v)

${SWEEP_USAGE}

${DEMO_USAGE}`;

class UsageError extends Error {}

// The largest values the options take: each becomes a timer, a Duration, a count of sockets or
// clients, or a native integer, and must stay in range (a second per level beyond a day, or a
// million clients, is a typo, not a plan). The built-in downstream's are Rust's
// (core/src/downstream/wire.rs), read when an option needs them: reading them loads the addon,
// which `--help` and `--version` do without.
const downstreamLimits = () => require('../lib/internal/wire').room('downstream');
const MAX = {
  duration: 86_400,
  requests: Number.MAX_SAFE_INTEGER,
  'max-rate': 1e9,
  fleet: 64,
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

// Each option: its kind (how its value is checked) and parseArgs' type.
const COMMON = {help: 'flag', version: 'flag', quiet: 'flag'};
const SPEC = {
  sweep: {
    ...COMMON,
    url: 'string',
    levels: 'levels',
    duration: 'positive',
    requests: 'count',
    method: 'method',
    header: 'list',
    body: 'string',
    'max-rate': 'positive',
    capacity: 'positive',
    latency: 'positive',
    queue: 'count0',
    mode: 'mode',
    limit: 'positive',
    adaptive: 'flag',
    step: 'flag',
    json: 'flag',
    html: 'string',
    svg: 'string',
  },
  demo: {...COMMON, requests: 'count', capacity: 'positive', latency: 'positive', queue: 'count0', fleet: 'count'},
};
const SHORT = {help: 'h', version: 'v'};

/** The parseArgs error as one line naming the option. */
function usageOf(error, command) {
  const option = /'(-[^' ]+)/.exec(error.message)?.[1];
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new UsageError(`unknown option ${JSON.stringify(option)} for ${command}`);
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new UsageError(`unexpected argument ${JSON.stringify(/'([^']*)'/.exec(error.message)?.[1])} for ${command}`);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/does not take an argument/.test(error.message)) return new UsageError(`${option} takes no value`);
      if (/ambiguous/.test(error.message)) return new UsageError(`${option} needs a value (write ${option}=VALUE for one that starts with "-")`);
      return new UsageError(`${option} needs a value`);
    default:
      return new UsageError(String(error.message).split('\n')[0]);
  }
}

function parse(command, args) {
  const spec = SPEC[command];
  const options = {};
  for (const [key, kind] of Object.entries(spec)) {
    options[key] = {type: kind === 'flag' ? 'boolean' : 'string', ...(kind === 'list' ? {multiple: true} : {}), ...(SHORT[key] ? {short: SHORT[key]} : {})};
  }
  let values;
  try {
    ({values} = parseArgs({args, options, strict: true, allowPositionals: false}));
  } catch (error) {
    throw usageOf(error, command);
  }
  const out = {header: []};
  for (const [key, raw] of Object.entries(values)) {
    const kind = spec[key];
    const number = Number(raw);
    const name = key.replace(/-(.)/g, (_, c) => c.toUpperCase());
    switch (kind) {
      case 'flag':
      case 'string':
      case 'list':
        out[name] = raw;
        break;
      case 'method':
        if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(raw)) throw new UsageError(`--method expects an HTTP method such as GET or POST, got ${JSON.stringify(raw)}`);
        // CONNECT asks for a tunnel, not a response: there is nothing to measure.
        if (raw.toUpperCase() === 'CONNECT') throw new UsageError('--method CONNECT opens a tunnel, not a request to measure; use GET, POST, …');
        out[name] = raw.toUpperCase();
        break;
      case 'mode':
        if (!['queue', 'conn', 'rate'].includes(raw)) throw new UsageError(`--mode expects queue, conn or rate, got ${JSON.stringify(raw)}`);
        out[name] = raw;
        break;
      case 'positive': {
        const max = MAX[key] ?? 1e9;
        if (raw.trim() === '' || !Number.isFinite(number) || number <= 0 || number > max) {
          throw new UsageError(`--${key} expects a positive number up to ${max}, got ${JSON.stringify(raw)}`);
        }
        out[name] = number;
        break;
      }
      case 'count':
      case 'count0': {
        const min = kind === 'count' ? 1 : 0;
        if (raw.trim() === '' || !Number.isInteger(number) || number < min || number > MAX[key]) {
          throw new UsageError(`--${key} expects a whole number from ${min} to ${MAX[key]}, got ${JSON.stringify(raw)}`);
        }
        out[name] = number;
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
    return lib().startDownstream({capacity: o.capacity ?? 400, latency: o.latency ?? 50, queue: o.queue, mode: o.mode, limit: o.limit});
  } catch (error) {
    if (!(error instanceof RangeError || error instanceof TypeError)) throw error;
    throw new UsageError(
      error.message
        .replace(/`(capacity|latency|queue|limit|mode)`/g, '--$1')
        .replace(/^Expected /, 'expected ')
        .replace(/mode '(\w+)'/, '--mode $1'),
    );
  }
}

function headersOf(list) {
  const headers = {};
  for (const h of list) {
    const at = h.indexOf(':');
    if (at <= 0) throw new UsageError(`--header expects 'Name: value', got ${JSON.stringify(h)}`);
    const name = h.slice(0, at).trim();
    const value = h.slice(at + 1).trim();
    try {
      http.validateHeaderName(name);
      http.validateHeaderValue(name, value);
    } catch {
      throw new UsageError(`--header expects a valid 'Name: value', got ${JSON.stringify(h)}`);
    }
    headers[name] = value;
  }
  return headers;
}

/**
 * An output file, opened for writing before the run (so a bad path fails before any request);
 * `write(text)` at the end; `discard()` removes it if the run fails and this run created it.
 * It is opened without truncating: a run that fails or is interrupted leaves an earlier report
 * as it was (opening with 'w' emptied it at the start).
 */
function outputFile(option, file) {
  const existed = fs.existsSync(file);
  let fd;
  try {
    fd = fs.openSync(file, 'a');
  } catch (error) {
    const why = {ENOENT: 'its directory does not exist', EACCES: 'permission denied', EISDIR: 'it is a directory'}[error.code] ?? error.code;
    throw new UsageError(`--${option} cannot write ${JSON.stringify(file)}: ${why}`);
  }
  return {
    write(text) {
      // (A pipe or a terminal, e.g. /dev/stdout, cannot be truncated and need not be.)
      if (fs.fstatSync(fd).isFile()) fs.ftruncateSync(fd, 0);
      // Opened for appending: after the truncation, the text is the whole file.
      fs.writeFileSync(fd, text);
      fs.closeSync(fd);
      fd = undefined;
    },
    discard() {
      if (fd === undefined) return;
      fs.closeSync(fd);
      fd = undefined;
      if (!existed) fs.rmSync(file, {force: true});
    },
  };
}

const pctOf = x => `${(x * 100).toFixed(x > 0 && x < 0.1 ? 1 : 0)}%`;

/**
 * Progress on stderr. A TTY gets a live line, rewritten in place; anything else (a pipe, a file,
 * CI) gets plain lines: one a second with the running figures, and one per level when it ends.
 */
function progress(enabled, tty = Boolean(process.stderr.isTTY)) {
  if (!enabled) return {update() {}, level() {}, wait() {}, line() {}, done() {}};
  const write = s => process.stderr.write(s);
  let current;
  let last = 0;
  const name = s => (s.level === 'adaptive' ? 'adaptive' : `concurrency ${s.level}`);
  const running = s =>
    `level ${s.index + 1}/${s.of}, ${name(s)}: ${s.elapsed.toFixed(1)} s, ${s.sent} sent, ${s.ok} ok` +
    `${s.refused ? `, ${s.refused} refused` : ''}${s.errors ? `, ${s.errors} failed` : ''}`;
  let timer;
  if (!tty) {
    timer = setInterval(() => {
      if (current !== undefined) write(`  ${running(current)}\n`);
    }, 1000);
    timer.unref();
  }
  return {
    update(snapshot) {
      current = snapshot;
      if (!tty) return;
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      write(`\r\x1b[K  ${running(snapshot)}…`);
    },
    level(l, {index, of}) {
      current = undefined;
      const who = l.concurrency === 'adaptive' ? `adaptive (limit ${l.finalLimit})` : `concurrency ${l.concurrency}`;
      const p99 = l.latency.p99 === null ? '–' : l.latency.p99.toFixed(1);
      const line = `level ${index + 1}/${of} done, ${who}: ${l.throughput.toFixed(0)} ok/s, p99 ${p99} ms, refused ${pctOf(l.refusedRate)}, failed ${pctOf(l.errorRate)}, ${l.seconds.toFixed(1)} s`;
      write(tty ? `\r\x1b[K  ${line}\n` : `  ${line}\n`);
    },
    wait(ms, {level, index, of}) {
      const what = level === 'adaptive' ? 'the adaptive level' : `concurrency ${level}`;
      this.line(`waiting ${(ms / 1000).toFixed(1)} s for the service's Retry-After before level ${index + 1}/${of}, ${what}`);
    },
    line(text) {
      write(tty ? `\r\x1b[K  ${text}\n` : `  ${text}\n`);
    },
    done() {
      clearInterval(timer);
      if (tty) write('\r\x1b[K');
    },
  };
}

function checkSweep(o) {
  if (o.requests !== undefined && o.duration !== undefined) throw new UsageError('give --requests or --duration, not both');
  if (o.url !== undefined) {
    for (const k of ['capacity', 'latency', 'queue', 'mode', 'limit']) {
      if (o[k] !== undefined) throw new UsageError(`--${k} configures the built-in downstream; it does not go with --url`);
    }
    if (o.step) throw new UsageError('--step changes the built-in downstream; it does not go with --url');
    let parsed;
    try {
      parsed = new URL(o.url);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      throw new UsageError(`--url expects an http:// or https:// URL, got ${JSON.stringify(o.url)}`);
    }
  } else {
    if (o.method !== undefined && o.method !== 'GET') throw new UsageError('--method needs --url (the built-in downstream answers GET)');
    if ((o.mode === 'conn' || o.mode === 'rate') && o.limit === undefined) throw new UsageError(`--mode ${o.mode} needs --limit`);
    if (o.limit !== undefined && (o.mode ?? 'queue') === 'queue') throw new UsageError('--limit goes with --mode conn or --mode rate');
  }
  if (o.step && o.requests !== undefined) throw new UsageError('--step happens halfway through a level in time; use --duration, not --requests');
}

/**
 * The knee to expect from the built-in downstream: its servers, or fewer when its limiter refuses
 * first (mode conn: the limit in flight; mode rate: the limit's rate × the latency). The servers
 * alone said 20 for `--mode conn --limit 10`, whose knee is 10.
 */
function expectedKnee(d) {
  if (d.mode === 'conn') return Math.min(d.knee, d.limit);
  if (d.mode === 'rate') return Math.min(d.knee, Number(((d.limit * d.latency) / 1000).toPrecision(3)));
  return d.knee;
}

function describeDownstream(d) {
  if (d.mode === 'conn' || d.mode === 'rate') {
    const base = `the built-in downstream (${d.capacity} req/s at ${d.latency} ms, ${d.knee} at once, ${d.queue} waiting places`;
    const limiter = d.mode === 'conn' ? `${d.limit} in flight: 503 at once beyond` : `${d.limit} req/s: 429 with Retry-After beyond`;
    return `${base}, behind a limit of ${limiter}; knee ${expectedKnee(d)}) at ${d.url}`;
  }
  return `the built-in downstream (${d.capacity} req/s at ${d.latency} ms, knee ${d.knee}, ${d.queue} waiting places, then 429) at ${d.url}`;
}

async function runSweep(args) {
  const o = parse('sweep', args);
  if (o.help) return void console.log(SWEEP_USAGE);
  if (o.version) return void console.log(require('../package.json').version);
  checkSweep(o);
  const headers = headersOf(o.header);
  const levels = o.levels ?? [1, 5, 10, 20, 40, 80];
  const files = [];
  let downstream;
  // Interrupted (Ctrl-C, a CI timeout's SIGTERM): the report files this run created go, as when
  // it fails, instead of staying behind empty; then the signal is raised again, so that the process
  // ends by it as before (a shell running a script stops on a child killed by SIGINT).
  const interrupted = signal => {
    process.off('SIGINT', interrupted).off('SIGTERM', interrupted);
    for (const [, file] of files) file.discard();
    downstream?.close();
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    process.kill(process.pid, signal);
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  try {
    if (o.html) files.push(['html', outputFile('html', path.resolve(o.html)), o.html]);
    if (o.svg) files.push(['svg', outputFile('svg', path.resolve(o.svg)), o.svg]);
    if (o.url === undefined) downstream = downstreamFrom(o);
    const url = o.url ?? downstream.url;
    const seconds = o.requests === undefined ? (o.duration ?? 2) : undefined;
    const step = o.step
      ? {after: seconds / 2, apply: () => downstream.setCapacity(downstream.capacity / 2), restore: () => downstream.setCapacity(downstream.capacity)}
      : undefined;
    if (!o.json) {
      const what = downstream ? describeDownstream(downstream) : lib().sweep.shown(url);
      const amount = o.requests !== undefined ? `${o.requests} requests` : `${seconds} s`;
      const extras = [
        o.maxRate !== undefined ? `at most ${o.maxRate} req/s` : '',
        o.adaptive ? 'then an adaptive pool' : '',
        o.step ? 'capacity halves halfway through each level' : '',
      ].filter(Boolean);
      console.log(`Sweeping ${what}\nLevels ${levels.join(', ')}, ${amount} each${extras.length ? `; ${extras.join('; ')}` : ''}.\n`);
    }
    const bar = progress(!o.quiet);
    let result;
    try {
      result = await lib().sweep.sweep(url, {
        levels,
        requests: o.requests,
        duration: seconds,
        adaptive: o.adaptive ?? false,
        step,
        maxRate: o.maxRate ?? null,
        method: o.method ?? 'GET',
        headers,
        body: o.body,
        downstream,
        onProgress: bar.update,
        onLevel: bar.level,
        onWait: (ms, at) => bar.wait(ms, at),
      });
    } finally {
      bar.done();
    }
    if (downstream) {
      result.downstream = {
        capacity: downstream.capacity,
        latency: downstream.latency,
        queue: downstream.queue,
        knee: expectedKnee(downstream),
        servers: downstream.knee,
        mode: downstream.mode,
        limit: downstream.limit,
      };
    }
    if (o.json) console.log(JSON.stringify(result, null, 2));
    else console.log(`${lib().report.table(result)}\n\n${lib().report.summary(result)}`);
    for (const [kind, file, name] of files) {
      file.write(lib().report[kind](result));
      if (!o.json) console.log(`Wrote ${name}`);
    }
  } finally {
    process.off('SIGINT', interrupted).off('SIGTERM', interrupted);
    for (const [, file] of files) file.discard();
    downstream?.close();
  }
  return undefined;
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
  let done = 0;
  const call = async () => {
    const status = await get();
    if (status === 429) refused++;
    done++;
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
    done,
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
  if (o.help) return void console.log(DEMO_USAGE);
  if (o.version) return void console.log(require('../package.json').version);
  const requests = o.requests ?? 200;
  if (o.fleet !== undefined) {
    if (o.fleet > MAX.fleet) throw new UsageError(`--fleet expects a whole number from 1 to ${MAX.fleet}, got ${o.fleet}`);
    const result = await require('./fleet').demoFleet({
      requests,
      capacity: o.capacity ?? 400,
      latency: o.latency ?? 50,
      queue: o.queue,
      fleet: o.fleet,
    });
    process.exitCode = typeof result === 'number' ? result : 0;
    return undefined;
  }
  const downstream = downstreamFrom(o);
  const knee = downstream.knee;
  console.log(
    `The built-in downstream serves ${downstream.capacity} req/s at ${downstream.latency} ms each (knee ${knee}), ` +
      `queues ${downstream.queue} more, then answers 429. Workload: ${requests} requests.\n`,
  );
  const ids = () => Array.from({length: requests}, (_, i) => i);
  const shapes = [
    [
      'for … await (serial)',
      async call => {
        for (let i = 0; i < requests; i++) await call();
      },
    ],
    ['Promise.all (unbounded)', call => Promise.all(ids().map(call))],
    [
      `pLimit(${knee}) at the knee`,
      call => {
        const limit = lib().pLimit(knee);
        return Promise.all(ids().map(() => limit(call)));
      },
    ],
    [
      `stream, concurrency ${knee}`,
      async call => {
        for await (const status of lib().stream(ids(), call, {concurrency: knee})) void status;
      },
    ],
  ];
  const bar = progress(!o.quiet);
  const rows = [];
  try {
    for (const [index, [name, run]] of shapes.entries()) {
      bar.line(`shape ${index + 1}/${shapes.length}: ${name}…`);
      const row = await measureShape(name, downstream, run);
      bar.line(`shape ${index + 1}/${shapes.length} done: ${name}, ${row.wall.toFixed(0)} ms, ${row.refused} refused of ${row.done}`);
      rows.push(row);
    }
  } finally {
    bar.done();
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
  return undefined;
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
      if (args.length > 0 && Object.hasOwn(SPEC, args[0])) console.log(args[0] === 'sweep' ? SWEEP_USAGE : DEMO_USAGE);
      else console.log(USAGE);
      return undefined;
    case 'version':
    case '--version':
    case '-v':
      console.log(require('../package.json').version);
      return undefined;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}; the commands are sweep, demo, help and version`);
  }
}

// A run whose promise never settles (a bug: something was left waiting on nothing) must not end
// as a silent success when the event loop empties.
let settled = false;
process.on('exit', code => {
  if (settled || code !== 0) return;
  console.error('async-shape: internal error: the run ended without finishing (nothing was left to wait for)');
  process.exitCode = 1;
});

main(process.argv.slice(2)).then(
  () => {
    settled = true;
    process.exitCode ??= 0;
  },
  error => {
    settled = true;
    // Bad usage: ONE line (the usage is one `--help` away). A failure: one line too.
    console.error(`async-shape: ${String(error.message).replace(/^async-shape: /, '').split('\n')[0]}`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
