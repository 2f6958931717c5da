'use strict';
// The sweep: run the same HTTP workload at several concurrency levels, measure throughput and
// latency at each, and find the knee: the largest concurrency before p99 rises without throughput
// rising. Little's law (concurrency ≈ throughput × latency) gives a first estimate beside it.
//
// Requests go through this library's own Pool over Node's HTTP client, with a keep-alive agent
// whose socket pool matches the level's concurrency. Latencies go to the Rust histogram.

const http = require('node:http');
const https = require('node:https');
const {Pool} = require('../lib/pool/pool');
const {NativeHistogram} = require('../lib/internal/native');
const {monitorEventLoop} = require('../lib/event-loop/monitor');

/** One request; resolves with the status code, rejects on a network or protocol error. */
function request(url, {method, headers, body, agent, timeout}) {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(url, {method, headers, agent, timeout}, res => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeout} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Why a request failed, in a few words. */
function reason(error) {
  if (error?.code === 'ECONNREFUSED') return 'connection refused';
  if (error?.code === 'ENOTFOUND') return 'host not found';
  if (typeof error?.code === 'string' && error.code.startsWith('HPE_')) return 'the answer is not HTTP';
  return error?.code ?? error?.message ?? String(error);
}

/**
 * Checks that `url` answers HTTP before a sweep starts; throws an Error with a one-line message
 * otherwise.
 */
async function probe(url, options) {
  const agent = new (url.protocol === 'https:' ? https : http).Agent({keepAlive: false});
  try {
    await request(url, {...options, agent, timeout: 10_000});
  } catch (error) {
    throw new Error(`${url.href} did not answer: ${reason(error)}`);
  } finally {
    agent.destroy();
  }
}

/**
 * Measures one level: a closed loop of clients, each sending its next request when the last one
 * answers, through a Pool, for `requests` requests or `duration` seconds. A fixed level has
 * `concurrency` clients and a pool of that size; the adaptive level (`concurrency: 'adaptive'`)
 * has a backlog of `clients` and lets its pool's limit decide how many run, marking 429s dropped.
 */
async function measureLevel(url, concurrency, {requests, duration, method, headers, body, onProgress, clients = 256}) {
  const adaptive = concurrency === 'adaptive';
  const sockets = adaptive ? clients : concurrency;
  const agent = new (url.protocol === 'https:' ? https : http).Agent({keepAlive: true, maxSockets: sockets});
  const limits = [];
  const pool = adaptive
    ? new Pool({concurrency: {adaptive: 'vegas', max: clients}, onLimitChange: limit => limits.push(limit)})
    : new Pool({concurrency});
  const latency = new NativeHistogram();
  // The client's own event loop: busy time per iteration, so a client-side stall shows up as such.
  const loop = monitorEventLoop({stallThreshold: 50});
  loop.disable();
  loop.reset();
  const statuses = new Map();
  const errorReasons = new Map();
  let ok = 0;
  let refused = 0;
  let errors = 0;
  let sent = 0;
  let done = 0;
  const started = performance.now();
  const deadline = duration === undefined ? Infinity : started + duration * 1000;
  const more = () => (requests === undefined || sent < requests) && performance.now() < deadline;

  const one = async ({drop}) => {
    const t0 = performance.now();
    try {
      const status = await request(url, {method, headers, body, agent, timeout: 30_000});
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status === 429) {
        refused++;
        drop();
      } else if (status >= 200 && status < 400) {
        ok++;
        latency.record((performance.now() - t0) * 1e6);
      } else {
        errors++;
      }
    } catch (error) {
      errors++;
      const why = reason(error);
      errorReasons.set(why, (errorReasons.get(why) ?? 0) + 1);
    }
    done++;
    onProgress?.(done);
  };

  const client = async () => {
    while (more()) {
      sent++;
      await pool.run(one);
    }
  };

  loop.enable();
  try {
    await Promise.all(Array.from({length: adaptive ? clients : concurrency}, client));
  } finally {
    loop.disable();
    agent.destroy();
  }
  const loopStats = {p99: loop.count > 0 ? loop.percentile(99) / 1e6 : 0, max: loop.count > 0 ? loop.max / 1e6 : 0, stalls: loop.stallCount};
  loop.close();
  const seconds = (performance.now() - started) / 1000;
  const ms = ns => ns / 1e6;
  const stats = pool.stats();
  return {
    concurrency,
    ...(adaptive ? {finalLimit: pool.concurrency, limits, minRtt: stats.adaptive.minRtt} : {}),
    requests: done,
    ok,
    refused,
    errors,
    errorReasons: Object.fromEntries(errorReasons),
    statuses: Object.fromEntries(statuses),
    seconds,
    throughput: ok / seconds,
    latency: {
      mean: ok > 0 ? ms(latency.mean) : 0,
      p50: ms(latency.percentile(50)),
      p99: ms(latency.percentile(99)),
      max: ms(latency.max),
    },
    loopP99: loopStats.p99,
    loopMax: loopStats.max,
    loopStalls: loopStats.stalls,
  };
}

/**
 * The knee: walking up the levels, the last one before a step that raises p99 by more than 20%
 * while raising throughput by less than 10% (or that starts getting refusals without more
 * throughput). Returns its index.
 */
function findKnee(levels) {
  let knee = 0;
  for (let i = 1; i < levels.length; i++) {
    const prev = levels[knee];
    const cur = levels[i];
    const gain = prev.throughput > 0 ? cur.throughput / prev.throughput : Infinity;
    const p99Rise = prev.latency.p99 > 0 ? cur.latency.p99 / prev.latency.p99 : 1;
    const newRefusals = cur.refused > 0 && prev.refused === 0;
    if (gain < 1.1 && (p99Rise > 1.2 || newRefusals)) break;
    if (cur.throughput === 0) break;
    knee = i;
  }
  return knee;
}

/**
 * Little's law's estimate: the best throughput reached times the unloaded latency (the mean at
 * the lowest level) is the concurrency needed to reach that throughput without queueing.
 */
function littlesLaw(levels) {
  const best = Math.max(...levels.map(l => l.throughput));
  const unloaded = levels[0].latency.mean;
  return {throughput: best, latency: unloaded, concurrency: (best * unloaded) / 1000};
}

/**
 * Runs the sweep over `levels` (ascending concurrencies) against `url` (a string or URL).
 * Returns `{url, levels: [...], knee, little, recommendation}`.
 */
async function sweep(url, options) {
  const target = url instanceof URL ? url : new URL(url);
  const {levels, onLevel, adaptive = false, step} = options;
  await probe(target, options);
  const loop = monitorEventLoop({stallThreshold: 50});
  const results = [];
  const plan = adaptive ? [...levels, 'adaptive'] : levels;
  for (const [index, concurrency] of plan.entries()) {
    // A step change: restore at the start of each level, apply `step.after` seconds in.
    step?.restore();
    const stepTimer = step === undefined ? undefined : setTimeout(step.apply, step.after * 1000);
    let result;
    try {
      result = await measureLevel(target, concurrency, {
        ...options,
        clients: Math.max(...levels) * 2,
        onProgress: done => options.onProgress?.({level: concurrency, index, of: plan.length, done}),
      });
    } finally {
      clearTimeout(stepTimer);
    }
    if (concurrency === 'adaptive') {
      options.onLevel?.(result);
      results.adaptive = result;
      break;
    }
    if (index === 0 && result.ok === 0) {
      const why = Object.keys(result.errorReasons)[0] ?? `status ${Object.keys(result.statuses).join(', ')}`;
      throw new Error(`${target.href} gave no successful answer at concurrency ${concurrency}: ${why}`);
    }
    results.push(result);
    onLevel?.(result);
  }
  step?.restore();
  const loopReport = loop.report();
  loop.close();
  const knee = findKnee(results);
  const little = littlesLaw(results);
  const out = {
    url: target.href,
    levels: results,
    knee: results[knee].concurrency,
    little,
    recommendation: `const limit = pLimit(${results[knee].concurrency});`,
    loop: loopReport,
  };
  if (results.adaptive !== undefined) {
    const a = results.adaptive;
    const best = Math.max(...results.map(l => l.throughput));
    out.adaptive = {
      ...a,
      throughputVsBestFixed: a.throughput / best,
      p99VsKnee: results[knee].latency.p99 > 0 ? a.latency.p99 / results[knee].latency.p99 : 0,
    };
  }
  return out;
}

module.exports = {sweep, findKnee, littlesLaw, measureLevel, request, probe};
