'use strict';
// An adversarial review of the sweep and its command line (#15): answers that are not responses,
// Retry-After values that outlast a level, a report file kept when a run fails, the knee the banner
// announces for a limited downstream, and credentials in a URL.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const {spawn, spawnSync} = require('node:child_process');
const {sweep, request} = require('../bin/sweep');
const {html, svg} = require('../bin/report');

const cli = path.join(__dirname, '..', 'bin', 'async-shape.js');
const runCli = (args, timeout = 120_000) => spawnSync(process.execPath, [cli, ...args], {encoding: 'utf8', timeout});

/** The CLI, asynchronously: the test's own event loop keeps serving a test server meanwhile. */
function runCliAsync(args, timeout = 60_000) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {stdio: ['ignore', 'pipe', 'pipe']});
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.stdout.setEncoding('utf8').on('data', d => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', d => (stderr += d));
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({status, signal, stdout, stderr});
    });
  });
}

/** A test server: `answer(req, res, n)` answers request n; records each request. */
function testServer(answer) {
  const requests = [];
  const server = http.createServer((req, res) => {
    requests.push({at: performance.now(), method: req.method, authorization: req.headers.authorization});
    answer(req, res, requests.length);
  });
  server.on('connect', (req, socket) => {
    requests.push({at: performance.now(), method: req.method});
    socket.end('HTTP/1.1 200 Connection Established\r\n\r\n');
  });
  return new Promise(resolve =>
    server.listen(0, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${server.address().port}/`,
        port: server.address().port,
        requests,
        close: () => new Promise(r => server.close(r)).finally(() => server.closeAllConnections?.()),
      });
    }),
  );
}

/** A promise, or a rejection naming `what` when it has not settled within `ms`. */
const within = (promise, ms, what) => {
  let timer;
  return Promise.race([promise, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
};

const switching = (req, res) => {
  // 101 without being asked: Node hands the socket to an 'upgrade' listener instead of answering.
  res.writeHead(101, {Connection: 'Upgrade', Upgrade: 'foo'});
  res.end();
};

test('review: a 101 answer settles the request (it never did: the sweep ended with exit 0 and no output)', {timeout: 60_000}, async () => {
  const s = await testServer(switching);
  try {
    const agent = new http.Agent({keepAlive: true, maxSockets: 1});
    await assert.rejects(within(request(new URL(s.url), {method: 'GET', headers: {}, agent, timeout: 10_000}), 5_000, 'request()'), /protocol switch \(status 101\)/);
    agent.destroy();
    await assert.rejects(within(sweep(s.url, {levels: [1], duration: 0.3, method: 'GET', headers: {}}), 20_000, 'sweep()'), /did not answer: the service answered with a protocol switch/);
  } finally {
    await s.close();
  }
});

test('review: the CLI against a service that answers 101 fails with one line and exit 1, not a silent exit 0', {timeout: 60_000}, async () => {
  const s = await testServer(switching);
  try {
    const res = await runCliAsync(['sweep', '--url', s.url, '--levels', '1,2', '--duration', '0.3']);
    assert.equal(res.status, 1, `${res.stdout}\n${res.stderr}`);
    const lines = res.stderr.trim().split('\n');
    assert.equal(lines.length, 1, res.stderr);
    assert.match(lines[0], /^async-shape: .*status 101/);
  } finally {
    await s.close();
  }
});

test('review: --method CONNECT is bad usage (exit 2, one line) before any request, not a silent exit 0', {timeout: 60_000}, async () => {
  const s = await testServer((req, res) => res.end('ok\n'));
  try {
    for (const method of ['CONNECT', 'connect']) {
      const res = await runCliAsync(['sweep', '--url', s.url, '--method', method, '--levels', '1', '--duration', '0.3']);
      assert.equal(res.status, 2, `${res.stdout}\n${res.stderr}`);
      assert.equal(res.stdout, '', 'no banner');
      assert.match(res.stderr, /^async-shape: --method CONNECT [^\n]*\n$/);
    }
    assert.equal(s.requests.length, 0);
  } finally {
    await s.close();
  }
});

test('review: a Retry-After past the level\'s end: the level\'s rates are per its duration, not per the ms it took to be refused', {timeout: 60_000}, async () => {
  // The probe's (5) requests succeed: a Retry-After on the probe holds back the first level.
  const s = await testServer((req, res, n) => {
    if (n <= 5) return void res.end('ok\n');
    res.writeHead(429, {'Retry-After': '3600'});
    res.end('later\n');
  });
  try {
    const duration = 1;
    const result = await sweep(s.url, {levels: [20], duration, method: 'GET', headers: {}});
    const [l] = result.levels;
    // Each client is told to come back in an hour: it sends once and stops.
    assert.equal(l.sent, 20);
    assert.equal(l.retryAfterWaits, 20);
    // Before: `seconds` was the ~20 ms until the last refusal, so 20 refusals read as ~1000/s.
    assert.ok(l.seconds >= duration, `seconds ${l.seconds}`);
    assert.ok(l.offered <= 20 / duration + 1e-9, `offered ${l.offered}/s for 20 requests in a ${duration} s level`);
    const refusedNote = result.notes.find(n => /refused 100% of requests at 20/.test(n));
    assert.match(refusedNote, /; 20\/s\)$/, refusedNote);
    // No rate cap was reached: no note says one was (it said "capped at 400/s at 20 (--max-rate)"
    // though no --max-rate was given).
    assert.ok(!result.notes.some(n => /capped/.test(n)), result.notes.join('\n'));
  } finally {
    await s.close();
  }
});

// (The default cap's note, which said "--max-rate" too, is reached only by the inflated rates the
// test above checks; this one keeps the given cap's wording.)
test('review: a rate-cap note names --max-rate when it was given', {timeout: 60_000}, async () => {
  const s = await testServer((req, res) => res.end('ok\n'));
  try {
    const given = await sweep(s.url, {levels: [4], duration: 0.5, method: 'GET', headers: {}, maxRate: 50});
    assert.ok(given.notes.some(n => /capped at 50\/s at 4 \(--max-rate\)/.test(n)), given.notes.join('\n'));
  } finally {
    await s.close();
  }
});

test('review: a requests level that has sent its last request does not sleep out its Retry-After', {timeout: 60_000}, async () => {
  const s = await testServer((req, res, n) => {
    if (n <= 5) return void res.end('ok\n');
    res.writeHead(429, {'Retry-After': '5'});
    res.end('later\n');
  });
  try {
    const t0 = performance.now();
    const result = await sweep(s.url, {levels: [1], requests: 2, method: 'GET', headers: {}});
    const wall = (performance.now() - t0) / 1000;
    const [l] = result.levels;
    assert.equal(l.sent, 2);
    // One wait of 5 s between the two requests; before, a second one after the last: >= 10 s.
    assert.ok(wall < 8.5, `${wall.toFixed(1)} s for 2 requests with one 5 s Retry-After between them`);
    assert.ok(wall >= 4.9, `${wall.toFixed(1)} s: the Retry-After between them is honoured`);
  } finally {
    await s.close();
  }
});

test('review: a failed run leaves an existing --html/--svg report as it was (it emptied it at the start)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sweep-review-'));
  try {
    const page = path.join(dir, 'report.html');
    const chart = path.join(dir, 'chart.svg');
    fs.writeFileSync(page, 'the last good report\n');
    fs.writeFileSync(chart, '<svg/>\n');
    // Nothing listens on port 1: the probe fails, exit 1.
    const res = runCli(['sweep', '--url', 'http://127.0.0.1:1/', '--html', page, '--svg', chart, '--quiet']);
    assert.equal(res.status, 1, res.stderr);
    assert.equal(fs.readFileSync(page, 'utf8'), 'the last good report\n');
    assert.equal(fs.readFileSync(chart, 'utf8'), '<svg/>\n');
    // A successful run replaces it whole (not appended to).
    const ok = runCli(['sweep', '--levels', '1', '--duration', '0.3', '--html', page, '--quiet']);
    assert.equal(ok.status, 0, ok.stderr);
    const text = fs.readFileSync(page, 'utf8');
    assert.match(text, /^<!doctype html>/);
    assert.doesNotMatch(text, /the last good report/);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test('review: the banner and the JSON give the knee of a limited built-in downstream, not its servers\'', {timeout: 120_000}, () => {
  const conn = runCli(['sweep', '--mode', 'conn', '--limit', '10', '--levels', '1', '--duration', '0.3', '--quiet']);
  assert.equal(conn.status, 0, conn.stderr);
  const banner = conn.stdout.split('\n')[0];
  // It said "knee 20" (the servers) for a downstream that refuses beyond 10 in flight.
  assert.match(banner, /knee 10\)/, banner);
  assert.doesNotMatch(banner, /knee 20/, banner);
  const rate = runCli(['sweep', '--mode', 'rate', '--limit', '100', '--levels', '1', '--duration', '0.3', '--quiet', '--json']);
  assert.equal(rate.status, 0, rate.stderr);
  const out = JSON.parse(rate.stdout);
  // 100 req/s at 50 ms each: 5 in flight.
  assert.equal(out.downstream.knee, 5);
  assert.equal(out.downstream.servers, 20);
  const queue = runCli(['sweep', '--levels', '1', '--duration', '0.3', '--quiet', '--json']);
  assert.equal(JSON.parse(queue.stdout).downstream.knee, 20);
});

test('review: a password in --url is sent, but not shown in errors or saved in the result and reports', {timeout: 60_000}, async () => {
  const s = await testServer((req, res) => res.end('ok\n'));
  try {
    const url = `http://someone:s3cret-pw@127.0.0.1:${s.port}/`;
    const result = await sweep(url, {levels: [1], duration: 0.3, method: 'GET', headers: {}});
    assert.equal(s.requests[0].authorization, `Basic ${Buffer.from('someone:s3cret-pw').toString('base64')}`);
    assert.doesNotMatch(JSON.stringify(result), /s3cret/);
    assert.doesNotMatch(html(result), /s3cret/);
    assert.doesNotMatch(svg(result), /s3cret/);
    assert.match(result.url, /^http:\/\/someone:\*\*\*@127\.0\.0\.1:/);
  } finally {
    await s.close();
  }
  const res = runCli(['sweep', '--url', 'http://someone:s3cret-pw@127.0.0.1:1/', '--levels', '1', '--duration', '0.3']);
  assert.equal(res.status, 1);
  assert.doesNotMatch(res.stdout + res.stderr, /s3cret/);
  assert.match(res.stderr, /someone:\*\*\*@127\.0\.0\.1:1\/ did not answer/);
});

test('review: a Retry-After outlives its level: the next level waits for it (the next level\'s clients sent at once)', {timeout: 60_000}, async () => {
  const s = await testServer((req, res) => {
    res.writeHead(429, {'Retry-After': '1'});
    res.end('later\n');
  });
  try {
    const waits = [];
    const result = await sweep(s.url, {levels: [2, 4], duration: 0.5, method: 'GET', headers: {}, onWait: (ms, at) => waits.push([at.level, ms])});
    // The probe's request, then each level's clients once each (a 1 s Retry-After outlasts a
    // 0.5 s level).
    assert.equal(s.requests.length, 1 + 2 + 4);
    const at = s.requests.map(r => r.at);
    // Before each level, the Retry-After of the answers before it (sleeps are never short).
    assert.ok(at[1] - at[0] >= 950, `probe → level 2: ${(at[1] - at[0]).toFixed(0)} ms`);
    assert.ok(at[3] - at[2] >= 950, `level 2 → level 4: ${(at[3] - at[2]).toFixed(0)} ms`);
    assert.deepEqual(waits.map(w => w[0]), [2, 4]);
    assert.equal(result.levels.length, 2);
  } finally {
    await s.close();
  }
});

test('review: a Retry-After too far away ends the sweep with a note, instead of sending the next levels at once', {timeout: 60_000}, async () => {
  // The probe's requests succeed; every request after them is told to come back in an hour.
  const s = await testServer((req, res, n) => {
    if (n <= 5) return void res.end('ok\n');
    res.writeHead(503, {'Retry-After': '3600'});
    res.end('later\n');
  });
  try {
    const result = await sweep(s.url, {levels: [1, 5, 10], duration: 0.5, method: 'GET', headers: {}});
    // 5 for the probe, 1 for level 1; before, levels 5 and 10 sent 15 more within a second.
    assert.equal(s.requests.length, 6);
    assert.deepEqual(result.levels.map(l => l.concurrency), [1]);
    assert.ok(result.notes.some(n => /Retry-After, after concurrency 1\) for 3600 s without requests: the sweep stopped there; not tried: 5, 10/.test(n)), result.notes.join('\n'));
    assert.equal(result.params.levels.length, 3);
  } finally {
    await s.close();
  }
  // Told before the first level: one line, exit 1.
  const early = await testServer((req, res) => {
    res.writeHead(429, {'Retry-After': '3600'});
    res.end('later\n');
  });
  try {
    const res = await runCliAsync(['sweep', '--url', early.url, '--levels', '1,5', '--duration', '0.5']);
    assert.equal(res.status, 1, res.stderr);
    assert.match(res.stderr, /^async-shape: .* asked \(Retry-After\) for 3600 s without requests before the first level: try later\n$/);
    assert.equal(early.requests.length, 1);
  } finally {
    await early.close();
  }
});

test('review: parseRetryAfter reads only RFC 9110 dates: garbage is no Retry-After, not a date Date.parse guesses', () => {
  const {parseRetryAfter} = require('../bin/sweep');
  const now = Date.parse('2026-12-01T20:00:00Z');
  // Date.parse read these as the year 2099 (72 years: a wait that ends the sweep) and as dates
  // in the past (a Retry-After of 0, counted as one).
  for (const garbage of ['Tue 2099', 'Wed, 31 Dec 2099', 'abc 12', 'Mon 1', 'Tue, 01 Dec 2026 21:30:00 PST']) {
    assert.equal(parseRetryAfter(garbage, now), undefined, garbage);
  }
  // The three forms, all GMT; asctime's has no zone and is not local time.
  const tz = process.env.TZ;
  process.env.TZ = 'America/New_York';
  try {
    assert.equal(parseRetryAfter('Tue, 01 Dec 2026 20:00:05 GMT', now), 5000);
    assert.equal(parseRetryAfter('Tuesday, 01-Dec-26 20:00:05 GMT', now), 5000);
    assert.equal(parseRetryAfter('Tue Dec  1 20:00:05 2026', now), 5000);
  } finally {
    if (tz === undefined) delete process.env.TZ;
    else process.env.TZ = tz;
  }
});

test('review: a URL that only redirects gets a note: the sweep measured the redirect, not the service', {timeout: 60_000}, async () => {
  const s = await testServer((req, res) => {
    res.writeHead(301, {Location: 'https://example.invalid/'});
    res.end();
  });
  try {
    const result = await sweep(s.url, {levels: [1, 4], duration: 0.3, method: 'GET', headers: {}});
    // Before, the only sign was a clean, fast, "scaling" sweep recommending its top level.
    assert.ok(result.notes.some(n => /100% of the answers at 1 were redirects \(status 301\), counted as successes: the sweep does not follow them/.test(n)), result.notes.join('\n'));
  } finally {
    await s.close();
  }
  const ok = await testServer((req, res) => res.end('ok\n'));
  try {
    const result = await sweep(ok.url, {levels: [1], duration: 0.3, method: 'GET', headers: {}});
    assert.ok(!result.notes.some(n => /redirect/.test(n)), result.notes.join('\n'));
  } finally {
    await ok.close();
  }
});

test('review: an interrupted sweep (SIGINT, SIGTERM) removes the report files it created, and still ends by the signal', {timeout: 60_000}, async () => {
  for (const signal of ['SIGINT', 'SIGTERM']) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sweep-review-'));
    try {
      const page = path.join(dir, 'report.html');
      const child = spawn(process.execPath, [cli, 'sweep', '--levels', '1', '--duration', '60', '--html', page], {stdio: ['ignore', 'pipe', 'pipe']});
      let stdout = '';
      // The banner is printed once the files are open and the downstream is up.
      await new Promise((resolve, reject) => {
        child.stdout.setEncoding('utf8').on('data', d => {
          stdout += d;
          if (/Levels 1,/.test(stdout)) resolve();
        });
        child.on('error', reject);
        child.on('close', () => reject(new Error(`exited early: ${stdout}`)));
      });
      assert.ok(fs.existsSync(page), 'opened before the run');
      const closed = new Promise(resolve => child.on('close', (status, sig) => resolve({status, sig})));
      child.kill(signal);
      const {status, sig} = await closed;
      // Killed by the signal, as before, but no longer with an empty report.html left behind.
      assert.equal(sig, signal, `${signal}: status ${status}, signal ${sig}`);
      assert.ok(!fs.existsSync(page), `${signal}: the empty report is removed`);
    } finally {
      fs.rmSync(dir, {recursive: true, force: true});
    }
  }
});

test('review: a background failure rate the same at every level is not the knee (every level was "failing" and no knee was found)', {timeout: 60_000}, () => {
  const {judgeKnee} = require('../bin/sweep');
  const lv = (concurrency, throughput, p99, errors, sent) => ({concurrency, throughput, latency: {p99, mean: p99}, refused: 0, errors, sent});
  // 3% of 500s whatever the load, scaling linearly: the top level, not "no level was clean"; the
  // lowest level's 36 requests happened to get none, and the next one's 5.3% is within the noise.
  const background = [lv(1, 19, 55, 0, 36), lv(5, 90, 55, 10, 190), lv(10, 175, 56, 9, 376), lv(20, 350, 56, 22, 746)];
  const judged = judgeKnee(background);
  assert.equal(judged.index, 3, judged.reason);
  // Failures that rise with the load still end the climb: 3% up to 10, then 20%.
  const rising = [lv(1, 19, 55, 1, 36), lv(5, 90, 55, 5, 190), lv(10, 175, 56, 11, 360), lv(20, 300, 56, 150, 725)];
  const r = judgeKnee(rising);
  assert.equal(r.index, 2, r.reason);
  assert.match(r.reason, /at 20 21% of requests failed \(2\.\d% at the least\)/);
  // One level's own failures are no background: 1%, as before.
  assert.equal(judgeKnee([lv(1, 20, 52, 0, 40), lv(2, 40, 52, 2, 100)]).index, 0);
  assert.equal(judgeKnee([lv(1, 20, 52, 0, 400), lv(2, 40, 52, 3, 100)]).index, 0);
});

test('review: a sweep of a service failing 10% at every level finds a knee and says why it tolerated the failures', {timeout: 60_000}, async () => {
  let n = 0;
  // Every 10th request is a 500, at any load; answers take 20 ms.
  const s = await testServer((req, res) =>
    setTimeout(() => {
      res.statusCode = ++n % 10 === 0 ? 500 : 200;
      res.end('x');
    }, 20),
  );
  try {
    const result = await sweep(s.url, {levels: [1, 2, 4], duration: 1, method: 'GET', headers: {}});
    assert.equal(result.allRefused, false, `${result.kneeReason}\n${result.notes.join('\n')}`);
    assert.notEqual(result.knee, null);
    assert.ok(result.notes.some(x => /the service failed [\d.]+% of requests or more whatever the load: taken as its background rate/.test(x)), result.notes.join('\n'));
    assert.match(html(result), /knee-value">\d/);
  } finally {
    await s.close();
  }
});
