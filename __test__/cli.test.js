'use strict';
// The command line's conventions (#15): parseArgs, per-command help, version, every option checked
// before a banner or a request, one line and exit 2 on bad usage, progress on stderr whatever it
// is, the result object's shape, the adaptive run's limit trajectory.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const {spawn, spawnSync} = require('node:child_process');

const cli = path.join(__dirname, '..', 'bin', 'async-shape.js');
const version = require('../package.json').version;
const runCli = (args, timeout = 120_000) => spawnSync(process.execPath, [cli, ...args], {encoding: 'utf8', timeout});

/** The same, asynchronously: the test's own event loop keeps serving a test server meanwhile. */
function runCliAsync(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {stdio: ['ignore', 'pipe', 'pipe']});
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', d => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', d => (stderr += d));
    child.on('error', reject);
    child.on('close', status => resolve({status, stdout, stderr}));
  });
}

/** A server that counts the requests it gets. */
function countingServer() {
  let count = 0;
  const server = http.createServer((req, res) => {
    count++;
    res.end('ok\n');
  });
  return new Promise(resolve =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}/`,
        count: () => count,
        close: () => new Promise(r => server.close(r)),
      }),
    ),
  );
}

test('cli: --help and -h print the command usage and exit 0; --version and -v print the version', () => {
  for (const args of [['sweep', '--help'], ['sweep', '-h'], ['help', 'sweep']]) {
    const res = runCli(args);
    assert.equal(res.status, 0, `${args.join(' ')}: ${res.stderr}`);
    assert.match(res.stdout, /^Usage: async-shape sweep \[options\]/, args.join(' '));
    assert.match(res.stdout, /--max-rate R/);
    assert.match(res.stdout, /--mode M/);
    assert.equal(res.stderr, '');
  }
  for (const args of [['demo', '--help'], ['demo', '-h']]) {
    const res = runCli(args);
    assert.equal(res.status, 0);
    assert.match(res.stdout, /^Usage: async-shape demo \[options\]/);
    assert.doesNotMatch(res.stdout, /--max-rate/, 'the demo usage only');
  }
  for (const args of [['--help'], ['-h'], ['help'], []]) {
    const res = runCli(args);
    assert.equal(res.status, 0);
    assert.match(res.stdout, /^Usage: async-shape <command>/);
  }
  for (const args of [['--version'], ['-v'], ['version'], ['sweep', '--version'], ['demo', '-v']]) {
    const res = runCli(args);
    assert.equal(res.status, 0, args.join(' '));
    assert.equal(res.stdout, `${version}\n`, args.join(' '));
  }
});

test('cli: bad usage is ONE line on stderr and exit 2, before any banner or request', async () => {
  const s = await countingServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'async-shape-cli-'));
  try {
    const cases = [
      [['sweep', '--url', s.url, '--frob'], /unknown option "--frob" for sweep/],
      [['sweep', '--url', s.url, 'extra'], /unexpected argument "extra"/],
      [['sweep', '--url', s.url, '--json=yes'], /--json takes no value/],
      [['sweep', '--url', s.url, '--duration'], /--duration needs a value/],
      [['sweep', '--url', s.url, '--header', 'foo'], /--header expects 'Name: value'/],
      [['sweep', '--url', s.url, '--header', 'Bad Name: x'], /--header expects a valid/],
      [['sweep', '--url', s.url, '--html', path.join(dir, 'missing', 'report.html')], /--html cannot write .*its directory does not exist/],
      [['sweep', '--url', s.url, '--svg', dir], /--svg cannot write .*it is a directory/],
      [['sweep', '--url', s.url, '--max-rate', '0'], /--max-rate expects a positive number/],
      [['sweep', '--url', s.url, '--method', 'G T'], /--method expects an HTTP method/],
      [['sweep', '--url', s.url, '--mode', 'conn'], /--mode configures the built-in downstream/],
      [['sweep', '--url', s.url, '--levels', '0'], /--levels expects whole numbers/],
      [['sweep', '--mode', 'conn'], /--mode conn needs --limit/],
      [['sweep', '--mode', 'rate'], /--mode rate needs --limit/],
      [['sweep', '--limit', '5'], /--limit goes with --mode conn or --mode rate/],
      [['sweep', '--mode', 'fifo'], /--mode expects queue, conn or rate/],
      [['sweep', '--mode', 'conn', '--limit', '2.5'], /--limit \(--mode conn\)/],
      [['demo', '--fleet', '0'], /--fleet expects a whole number from 1 to 64/],
      [['demo', '--fleet', '65'], /--fleet expects a whole number from 1 to 64/],
      [['demo', '--max-rate', '5'], /unknown option "--max-rate" for demo/],
    ];
    for (const [args, message] of cases) {
      const res = await runCliAsync(args);
      assert.equal(res.status, 2, `${args.join(' ')}: exit ${res.status}\n${res.stderr}`);
      assert.match(res.stderr, message, args.join(' '));
      assert.equal(res.stderr.trimEnd().split('\n').length, 1, `one line for ${args.join(' ')}: ${res.stderr}`);
      assert.equal(res.stdout, '', `no banner for ${args.join(' ')}`);
    }
    assert.equal(s.count(), 0, 'no request was sent');
    assert.deepEqual(fs.readdirSync(dir), [], 'no file left behind');
  } finally {
    await s.close();
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test('cli: a sweep whose built-in downstream refuses its options leaves no empty report behind', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'async-shape-cli-'));
  try {
    const res = runCli(['sweep', '--latency', '1e300', '--html', path.join(dir, 'r.html')]);
    assert.equal(res.status, 2);
    assert.deepEqual(fs.readdirSync(dir), []);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test('cli: when stderr is not a TTY, sweep prints a line per level and a running figure every second', {timeout: 120_000}, () => {
  const res = runCli(['sweep', '--levels', '1,2', '--duration', '1.6', '--capacity', '200', '--latency', '20']);
  assert.equal(res.status, 0, res.stderr);
  const lines = res.stderr.trimEnd().split('\n');
  assert.doesNotMatch(res.stderr, /\r|\x1b\[/, 'no terminal control characters in a pipe');
  const done = lines.filter(l => /^ {2}level \d\/2 done, concurrency \d: \d+ ok\/s, p99 [\d.]+ ms, refused 0%, failed 0%, [\d.]+ s$/.test(l));
  assert.equal(done.length, 2, res.stderr);
  const running = lines.filter(l => /^ {2}level \d\/2, concurrency \d: [\d.]+ s, \d+ sent, \d+ ok$/.test(l));
  assert.ok(running.length >= 2, `a running figure every second over two 1.6 s levels:\n${res.stderr}`);
  assert.match(res.stdout, /◀ knee/);

  const quiet = runCli(['sweep', '--levels', '1', '--duration', '0.5', '--capacity', '200', '--latency', '20', '--quiet']);
  assert.equal(quiet.status, 0, quiet.stderr);
  assert.equal(quiet.stderr, '', '--quiet silences progress');
});

test('cli: demo shows progress per shape on stderr, and --quiet silences it', {timeout: 120_000}, () => {
  const res = runCli(['demo', '--requests', '20', '--latency', '5']);
  assert.equal(res.status, 0, res.stderr);
  for (let i = 1; i <= 4; i++) {
    assert.match(res.stderr, new RegExp(`^ {2}shape ${i}/4: .+…$`, 'm'));
    assert.match(res.stderr, new RegExp(`^ {2}shape ${i}/4 done: .+, \\d+ ms, \\d+ refused of 20$`, 'm'));
  }
  assert.match(res.stdout, /for … await \(serial\)/);
  const quiet = runCli(['demo', '--requests', '20', '--latency', '5', '--quiet']);
  assert.equal(quiet.status, 0);
  assert.equal(quiet.stderr, '');
});

test('cli: --json prints the result object, with the adaptive run and its limit history', {timeout: 120_000}, () => {
  const res = runCli(['sweep', '--levels', '2,4,8', '--duration', '1', '--capacity', '200', '--latency', '20', '--adaptive', '--json', '--quiet']);
  assert.equal(res.status, 0, res.stderr);
  const r = JSON.parse(res.stdout);
  assert.equal(r.builtIn, true);
  assert.deepEqual(Object.keys(r.params).sort(), ['adaptive', 'date', 'downstream', 'duration', 'levels', 'maxRate', 'method', 'node', 'requests', 'step', 'version'].sort());
  assert.deepEqual(r.params.downstream, {mode: 'queue', capacity: 200, latency: 20, queue: 4, limit: null});
  assert.equal(r.params.duration, 1);
  assert.equal(r.params.requests, null);
  assert.equal(r.params.maxRate, null);
  assert.equal(r.params.version, version);
  assert.equal(r.params.node, process.version);
  assert.ok(!Number.isNaN(Date.parse(r.params.date)));
  const levelKeys = ['concurrency', 'sent', 'ok', 'refused', 'status429', 'status503', 'errors', 'throughput', 'offered', 'refusedRate', 'errorRate', 'latency', 'latencyOk', 'inflight', 'retryAfterWaits', 'backoffs', 'loopP99', 'loopMax'];
  for (const l of [...r.levels, r.adaptive]) {
    for (const key of levelKeys) assert.ok(Object.hasOwn(l, key), `${l.concurrency} has ${key}`);
    for (const key of ['p50', 'p99', 'mean', 'max']) assert.equal(typeof l.latency[key], 'number');
    assert.equal(l.ok + l.refused + l.errors, l.sent);
  }
  for (const key of ['knee', 'kneeIndex', 'kneeReason', 'kneeAtTop', 'allRefused', 'little', 'recommendation', 'notes', 'loop']) assert.ok(Object.hasOwn(r, key), key);
  assert.equal(r.levels[r.kneeIndex].concurrency, r.knee);
  const a = r.adaptive;
  assert.equal(a.concurrency, 'adaptive');
  assert.ok(Array.isArray(a.limitHistory) && a.limitHistory.length >= 1);
  assert.equal(a.limitHistory[0][0], 0, 'the history starts at 0 ms with the initial limit');
  for (const [ms, limit] of a.limitHistory) assert.ok(ms >= 0 && limit >= 1, `${ms} ${limit}`);
  assert.equal(a.limitHistory.at(-1)[1], a.finalLimit);
  assert.equal(typeof a.throughputVsBestFixed, 'number');
  assert.match(a.trajectory, /^limit \d+(\.\d)?(→\d+(\.\d)?)* \(t=0…[\d.]+ s\)$/);
});

test('cli: the text output shows the adaptive limit trajectory and the note when the knee is the top level', {timeout: 120_000}, () => {
  const res = runCli(['sweep', '--levels', '1,2', '--duration', '0.8', '--capacity', '200', '--latency', '20', '--adaptive', '--quiet']);
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stdout, /^Adaptive limit \d+.* \(t=0…[\d.]+ s\)\.$/m);
  assert.match(res.stdout, /Note: the knee is the highest level tried: it may lie above; try --levels 2,4,8\./);
});
