'use strict';
// The sweep: the built-in downstream, the knee, and the command line.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const {spawnSync} = require('node:child_process');
const {Worker} = require('node:worker_threads');
const {startDownstream} = require('../bin/downstream');
const {sweep, findKnee, littlesLaw} = require('../bin/sweep');

const cli = path.join(__dirname, '..', 'bin', 'async-shape.js');
const runCli = (args, timeout = 120_000) => spawnSync(process.execPath, [cli, ...args], {encoding: 'utf8', timeout});

const get = (url, agent) =>
  new Promise((resolve, reject) => {
    http
      .get(url, {agent}, res => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      })
      .on('error', reject);
  });

test('downstream: capacity × latency servers, a waiting room, then 429', async () => {
  const d = startDownstream({capacity: 100, latency: 200, queue: 2});
  try {
    assert.equal(d.knee, 20);
    assert.equal(d.queue, 2);
    const agent = new http.Agent({keepAlive: true});
    const statuses = await Promise.all(Array.from({length: 30}, () => get(d.url, agent)));
    agent.destroy();
    assert.equal(statuses.filter(s => s === 200).length, 22);
    assert.equal(statuses.filter(s => s === 429).length, 8);
    const c = d.counters();
    assert.equal(c.maxInService, 20);
    assert.equal(c.maxWaiting, 2);
    assert.equal(c.refused, 8);
  } finally {
    d.close();
    d.close();
  }
  assert.throws(() => startDownstream({capacity: 0}), {name: 'RangeError', message: /`capacity` to be a positive number/});
  assert.throws(() => startDownstream({latency: 'x'}), {message: /`latency`/});
  assert.throws(() => startDownstream({port: 70000}), {message: /`port`/});
});

test('findKnee: p99 rising without throughput rising ends the climb', () => {
  const level = (concurrency, throughput, p99, refused = 0) => ({concurrency, throughput, latency: {p99, mean: p99 * 0.9}, refused});
  const levels = [level(1, 20, 52), level(5, 100, 53), level(10, 200, 55), level(20, 390, 58), level(40, 395, 110), level(80, 396, 120, 500)];
  assert.equal(levels[findKnee(levels)].concurrency, 20);
  // Throughput still rising: keep climbing even if p99 rises.
  const scaling = [level(1, 20, 50), level(2, 40, 70), level(4, 80, 90)];
  assert.equal(scaling[findKnee(scaling)].concurrency, 4);
  // Refusals without more throughput end the climb too.
  const refusing = [level(1, 20, 50), level(2, 21, 50, 10)];
  assert.equal(refusing[findKnee(refusing)].concurrency, 1);
  const little = littlesLaw(levels);
  assert.equal(little.throughput, 396);
  assert.ok(Math.abs(little.concurrency - (396 * 52 * 0.9) / 1000) < 1e-9);
});

test('a sweep of the built-in downstream finds the knee within one level of capacity × latency', {timeout: 120_000}, async () => {
  const d = startDownstream({capacity: 200, latency: 20});
  try {
    assert.equal(d.knee, 4);
    const levels = [1, 2, 4, 8, 16];
    const result = await sweep(d.url, {levels, duration: 0.8, method: 'GET', headers: {}});
    const at = levels.indexOf(result.knee);
    assert.ok(Math.abs(at - levels.indexOf(4)) <= 1, `knee ${result.knee}: ${JSON.stringify(result.levels.map(l => [l.concurrency, Math.round(l.throughput), l.latency.p99.toFixed(1)]))}`);
    assert.ok(result.little.concurrency > 2 && result.little.concurrency < 8, `Little's law said ${result.little.concurrency}`);
    assert.equal(result.recommendation, `const limit = pLimit(${result.knee});`);
    const top = result.levels.at(-1);
    assert.ok(top.refused > 0, 'past the waiting room the downstream refuses');
    assert.ok(result.levels[0].errors === 0);
  } finally {
    d.close();
  }
});

test('sweep rejects a URL that does not answer HTTP, in one line', async () => {
  await assert.rejects(sweep('http://127.0.0.1:1/', {levels: [1], requests: 1}), {message: /did not answer: connection refused/});
});

test('cli: sweep --json and --svg/--html on the built-in downstream', {timeout: 120_000}, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'async-shape-'));
  const svg = path.join(dir, 'chart.svg');
  const html = path.join(dir, 'report.html');
  const res = runCli(['sweep', '--levels', '1,4,8', '--requests', '40', '--capacity', '200', '--latency', '20', '--json', '--svg', svg, '--html', html]);
  assert.equal(res.status, 0, res.stderr);
  const out = JSON.parse(res.stdout);
  assert.deepEqual(out.levels.map(l => l.concurrency), [1, 4, 8]);
  assert.equal(out.downstream.knee, 4);
  assert.ok([1, 4, 8].includes(out.knee));
  assert.match(fs.readFileSync(svg, 'utf8'), /^<svg[\s\S]*polyline[\s\S]*<\/svg>/);
  assert.match(fs.readFileSync(html, 'utf8'), /<svg[\s\S]*◀ knee/);
  fs.rmSync(dir, {recursive: true, force: true});
});

test('cli: bad input gets one line and a non-zero exit, never a stack trace', () => {
  const cases = [
    [['sweep', '--levels', '1,x'], 2, /--levels expects whole numbers/],
    [['sweep', '--url', 'ftp://example'], 2, /--url expects an http/],
    [['sweep', '--frob'], 2, /unknown option "--frob"/],
    [['sweep', '--duration'], 2, /--duration needs a value/],
    [['sweep', '--requests', '5', '--duration', '1'], 2, /not both/],
    [['frob'], 2, /unknown command "frob"/],
    [['sweep', '--url', 'http://127.0.0.1:1/'], 1, /did not answer: connection refused/],
  ];
  for (const [args, status, message] of cases) {
    const res = runCli(args);
    assert.equal(res.status, status, `${args.join(' ')}: ${res.stderr}`);
    assert.match(res.stderr, message);
    assert.doesNotMatch(res.stderr, /\n\s+at /, `no stack trace for ${args.join(' ')}`);
  }
  const help = runCli(['help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /sweep\s+measure throughput/);
});

test('a downstream inside a worker that exits without close() does not hurt the process', async () => {
  const worker = new Worker(
    `const {startDownstream} = require(${JSON.stringify(path.join(__dirname, '..', 'bin', 'downstream.js'))});
     const d = startDownstream({capacity: 100, latency: 10});
     require('node:worker_threads').parentPort.postMessage(d.port);`,
    {eval: true},
  );
  const port = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  assert.ok(port > 0);
  const code = await new Promise(resolve => worker.once('exit', resolve));
  assert.equal(code, 0);
  // Its server was stopped by the env cleanup hook: the port no longer answers.
  await assert.rejects(get(`http://127.0.0.1:${port}/`, new http.Agent()), {code: 'ECONNREFUSED'});
});

// --- issue 11 ---

test('CLI: numbers out of range are a usage error naming the option, never a Rust panic (SIGABRT)', () => {
  const cases = [
    [['sweep', '--latency', '1e300'], /--latency/],
    [['demo', '--latency', '1e300'], /--latency/],
    [['sweep', '--latency', '1e300', '--duration', '0.1', '--levels', '1'], /--latency/],
    [['sweep', '--capacity', '1e300'], /--capacity/],
    [['demo', '--capacity', '1e9', '--latency', '1000'], /--capacity × --latency/],
    [['sweep', '--duration', '1e300'], /--duration/],
    [['sweep', '--requests', '1e300'], /--requests/],
    [['sweep', '--queue', '4294967296'], /--queue/],
    [['sweep', '--queue', ''], /--queue/],
    [['sweep', '--levels', '1,1e300'], /--levels/],
    [['sweep', '--levels', '1,,2'], /--levels/],
    [['demo', '--requests', '-1'], /--requests/],
  ];
  for (const [args, message] of cases) {
    const res = runCli(args, 30_000);
    assert.equal(res.signal, null, `${args.join(' ')}: killed by ${res.signal}\n${res.stderr}`);
    assert.equal(res.status, 2, `${args.join(' ')}: exit ${res.status}\n${res.stderr}`);
    assert.match(res.stderr, message, args.join(' '));
    assert.doesNotMatch(res.stderr, /panicked|RUST_BACKTRACE|\n\s+at /, args.join(' '));
  }
});

test('downstream: every number that becomes a Duration or a count is checked, in JS and in Rust', () => {
  const {NativeDownstream} = require('../lib/internal/native');
  for (const latency of [1e300, Number.POSITIVE_INFINITY, 86_400_001, -1, 0]) {
    assert.throws(() => startDownstream({latency}), {name: 'RangeError', message: /`latency`/});
    // The native side refuses it too, with an Error instead of a panic.
    assert.throws(() => NativeDownstream.start({capacity: 400, latency, port: 0}), {message: /`latency`/});
  }
  for (const capacity of [1e300, Number.POSITIVE_INFINITY, 0, -5]) {
    assert.throws(() => startDownstream({capacity}), {name: 'RangeError', message: /`capacity`/});
    assert.throws(() => NativeDownstream.start({capacity, latency: 50, port: 0}), {message: /`capacity`/});
  }
  assert.throws(() => NativeDownstream.start({capacity: 400, latency: Number.NaN, port: 0}), {message: /`latency`/});
  assert.throws(() => startDownstream({capacity: 1e9, latency: 1000}), {name: 'RangeError', message: /`capacity` × `latency`/});
  for (const value of [Number.NaN, '5', Symbol('x'), 5n, null, {}]) {
    assert.throws(() => startDownstream({capacity: value}), {name: 'TypeError', message: /`capacity`/});
    assert.throws(() => startDownstream({latency: value}), {name: 'TypeError', message: /`latency`/});
  }
  for (const queue of [2 ** 32, 2 ** 53, -1, 1.5, Number.NaN, '5', 5n, null]) {
    assert.throws(() => startDownstream({queue}), {name: 'TypeError', message: /`queue`/});
  }
  for (const port of [65536, 2 ** 32 + 80, -1, 1.5, '80', null]) {
    assert.throws(() => startDownstream({port}), {name: 'TypeError', message: /`port`/});
  }
  assert.throws(() => NativeDownstream.start({capacity: 400, latency: 50, port: 70000}), {message: /`port`/});
  const d = startDownstream({capacity: 100, latency: 10, queue: 2 ** 32 - 1});
  try {
    assert.equal(d.queue, 2 ** 32 - 1);
    for (const rps of [1e300, Number.POSITIVE_INFINITY, 0, -1]) assert.throws(() => d.setCapacity(rps), {name: 'RangeError', message: /`requestsPerSecond`/});
    assert.throws(() => d.setCapacity(1e9), {name: 'RangeError', message: /`requestsPerSecond` × `latency`/});
    for (const rps of [Number.NaN, '5', 5n]) assert.throws(() => d.setCapacity(rps), {name: 'TypeError', message: /`requestsPerSecond`/});
    d.setCapacity(200);
    assert.equal(d.knee, 2);
  } finally {
    d.close();
  }
});

test('a panic inside a native entry point is a thrown Error, not an aborted process', () => {
  const res = spawnSync(
    process.execPath,
    [
      '-e',
      `
      const native = require(${JSON.stringify(path.join(__dirname, '..', 'lib', 'internal', 'native.js'))});
      for (const raw of [false, true]) {
        try {
          native.panicProbe(raw);
          console.log('no throw');
        } catch (error) {
          console.log(error instanceof Error, /panicProbe/.test(error.message));
        }
      }
      console.log('alive');
    `,
    ],
    {encoding: 'utf8', timeout: 30_000},
  );
  assert.equal(res.signal, null, res.stderr);
  assert.equal(res.status, 0, res.stderr);
  assert.deepEqual(res.stdout.trim().split('\n'), ['true true', 'true true', 'alive']);
});

// --- issue 13 ---

test('the downstream bounds are Rust wire constants: JS refuses exactly what the native side refuses', () => {
  const {room} = require('../lib/internal/wire');
  const {NativeDownstream} = require('../lib/internal/native');
  const {MAX_CAPACITY, MAX_LATENCY_MS, MAX_SERVERS, MAX_QUEUE} = room('downstream');
  assert.equal(MAX_QUEUE, 2 ** 32 - 1, 'a u32');
  const over = [
    [{capacity: MAX_CAPACITY * 2, latency: 1e-6}, /`capacity`/],
    [{capacity: 1, latency: MAX_LATENCY_MS * 2}, /`latency`/],
    [{capacity: MAX_SERVERS * 2, latency: 1000}, /`capacity` × `latency`/],
  ];
  for (const [options, message] of over) {
    assert.throws(() => startDownstream(options), {name: 'RangeError', message});
    assert.throws(() => NativeDownstream.start({...options, port: 0}), {message});
  }
  for (const options of [
    {capacity: MAX_CAPACITY, latency: 1e-3},
    {capacity: 1, latency: MAX_LATENCY_MS},
    {capacity: MAX_SERVERS, latency: 1000},
  ]) {
    const d = startDownstream({...options, queue: MAX_QUEUE});
    d.close();
  }
});
