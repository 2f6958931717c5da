'use strict';
// The sweep: run the same HTTP workload at several concurrency levels, measure goodput, refusals,
// errors and latency at each, and find the knee: the largest concurrency that is served cleanly
// (refusals and errors at most 1%) before p99 rises without goodput rising. Little's law
// (concurrency ≈ throughput × latency) gives a first estimate beside it.
//
// Polite by default: each client backs off on a refusal (429/503) or a failure, honouring
// `Retry-After` (seconds or an HTTP date) and otherwise waiting an exponential backoff with full
// jitter; and each level's request rate is capped (`maxRate`, or a cap derived from the goodput
// measured so far), so a service that refuses fast does not get a retry storm.
//
// Requests go through this library's own Pool over Node's HTTP client, with a keep-alive agent
// whose socket pool matches the level's concurrency. Latencies go to a `perf_hooks` histogram in
// microseconds with 4 significant figures: 0.01 ms up to 300 ms, 0.1 ms up to 3 s.

const http = require('node:http');
const https = require('node:https');
const {createHistogram} = require('node:perf_hooks');
const {setTimeout: sleep} = require('node:timers/promises');
const {Pool} = require('../lib/pool/pool');
const {monitorEventLoop} = require('../lib/event-loop/monitor');

/**
 * @typedef {{p50: number|null, p99: number|null, mean: number|null, max: number|null}} Latency
 *   Milliseconds; null when nothing was answered.
 *
 * @typedef {object} LevelResult One concurrency level.
 * @property {number|'adaptive'} concurrency
 * @property {number} sent         requests sent
 * @property {number} ok           answered 2xx/3xx
 * @property {number} refused      answered 429 or 503
 * @property {number} status429
 * @property {number} status503
 * @property {number} errors       network errors and other non-2xx/3xx answers
 * @property {number} throughput   goodput: ok per second
 * @property {number} offered      sent per second
 * @property {number} refusedRate  refused / sent, 0..1
 * @property {number} errorRate    errors / sent, 0..1
 * @property {Latency} latency     every answered request (refusals included)
 * @property {{p50: number|null, p99: number|null, mean: number|null}} latencyOk  successes only
 * @property {number} inflight     mean requests in flight (the sum of their times / the level's time)
 * @property {number} retryAfterWaits  waits for a `Retry-After`
 * @property {number} backoffs     backoff waits without one
 * @property {number} loopP99      the client's event loop, ms
 * @property {number} loopMax
 * @property {number} seconds      the level's time: its duration (longer when answers came after it), or
 *   the wall time of a `requests` level
 * @property {number|null} maxRate the request rate cap applied (req/s), null when none
 * @property {Record<string, number>} statuses
 * @property {Record<string, number>} errorReasons
 *
 * @typedef {LevelResult & {concurrency: 'adaptive', finalLimit: number,
 *   limitHistory: Array<[number, number]>, throughputVsBestFixed: number, p99VsKnee: number|null,
 *   trajectory: string}} AdaptiveResult
 *   `limitHistory`: [ms since the level started, limit] at the start and at every change;
 *   `trajectory`: the same in a few steps, 'limit 4→8→16→20 (t=0…2.0 s)'.
 *
 * @typedef {object} SweepResult
 * @property {string} url
 * @property {boolean} builtIn     the built-in downstream
 * @property {{levels: number[], duration: number|null, requests: number|null, method: string,
 *   maxRate: number|null, adaptive: boolean, step: boolean,
 *   downstream: null|{mode: string, capacity: number, latency: number, queue: number, limit: number|null},
 *   date: string, node: string, version: string}} params   `maxRate`: the one given, null when derived
 * @property {LevelResult[]} levels
 * @property {AdaptiveResult} [adaptive]
 * @property {number|null} knee    the knee's concurrency; null when no level was clean
 * @property {number} kneeIndex    -1 when no level was clean
 * @property {string} kneeReason
 * @property {boolean} kneeAtTop   the knee is the highest level tried: it may lie above
 * @property {boolean} allRefused  no level was clean
 * @property {{throughput: number, latency: number, concurrency: number}} little
 * @property {string} recommendation
 * @property {string[]} notes
 * @property {string} loop         the client's event-loop report
 */

/** A level refused or failing more than this (a fraction of the requests sent) is past the knee. */
const DIRTY = 0.01;
/** Backoff without `Retry-After`: from the unloaded latency, doubling, capped at this (ms). */
const BACKOFF_CAP_MS = 1000;
/** The default rate cap is this many times the goodput measured (see `rateCap`). */
const CAP_FACTOR = 4;
/** Without a successful probe, the default rate cap assumes this unloaded latency (ms). */
const ASSUMED_LATENCY_MS = 100;
/** A client event-loop iteration this long (ms) makes a level's figures suspect: a note says so. */
const CLIENT_STALL_MS = 100;
/** `Retry-After` is honoured up to the level's end, and at most this long (ms) in a `requests` level. */
const RETRY_AFTER_CAP_MS = 30_000;
/**
 * The time (performance.now() ms) before which the service asked, by a `Retry-After`, not to be
 * sent more: a level's result carries it under this key (not part of its JSON), and the next level
 * waits for it, or the sweep stops when it is more than RETRY_AFTER_CAP_MS away.
 */
const RESUME_AT = Symbol('resumeAt');

/** One request; resolves with `{status, retryAfter}`; rejects on a network or protocol error. */
function request(url, {method, headers, body, agent, timeout}) {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(url, {method, headers, agent, timeout}, res => {
      res.resume();
      res.on('end', () => resolve({status: res.statusCode, retryAfter: res.headers['retry-after']}));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeout} ms`)));
    req.on('error', reject);
    // A 101 or an answer to CONNECT hands the socket over instead of giving a response: without
    // these listeners Node destroys the socket silently and the promise never settles (the sweep
    // then ended with exit 0 and no output).
    const handedOver = what => (res, socket) => {
      socket.destroy();
      reject(Object.assign(new Error(`the service answered ${what} (status ${res.statusCode})`), {code: 'ERR_SWEEP_NOT_A_RESPONSE'}));
    };
    req.on('upgrade', handedOver('with a protocol switch'));
    req.on('connect', handedOver('a CONNECT'));
    // Whatever else ends the request without an answer still settles it.
    req.on('close', () => reject(Object.assign(new Error('the connection closed without an answer'), {code: 'ERR_SWEEP_NO_ANSWER'})));
    req.end(body);
  });
}

/** Why a request failed, in a few words. */
function reason(error) {
  if (error?.code === 'ECONNREFUSED') return 'connection refused';
  if (error?.code === 'ENOTFOUND') return 'host not found';
  if (typeof error?.code === 'string' && error.code.startsWith('HPE_')) return 'the answer is not HTTP';
  if (error?.code === 'ERR_SWEEP_NOT_A_RESPONSE' || error?.code === 'ERR_SWEEP_NO_ANSWER') return error.message;
  return error?.code ?? error?.message ?? String(error);
}

const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const HTTP_DATE = [
  new RegExp(`^${DAY}, \\d\\d ${MONTH} \\d{4} \\d\\d:\\d\\d:\\d\\d GMT$`),
  new RegExp(`^(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day, \\d\\d-${MONTH}-\\d\\d \\d\\d:\\d\\d:\\d\\d GMT$`),
  new RegExp(`^${DAY} ${MONTH} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d \\d{4}$`),
];

/**
 * A `Retry-After` value in ms from `now` (ms since the epoch): delay-seconds or an HTTP date.
 * undefined when absent or unreadable; never negative.
 */
function parseRetryAfter(value, now = Date.now()) {
  if (typeof value !== 'string') return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // An HTTP date in one of RFC 9110's three forms ('Tue, 01 Dec 2026 20:00:05 GMT', 'Tuesday,
  // 01-Dec-26 20:00:05 GMT', 'Tue Dec  1 20:00:05 2026'), else nothing: Date.parse alone reads
  // '-1' as a year, 'Tue 2099' as the year 2099 (a wait that ended the sweep) and 'abc 12' as a
  // date in the past.
  const form = HTTP_DATE.findIndex(f => f.test(v));
  if (form === -1) return undefined;
  // asctime's form has no zone, and is GMT: Date.parse would take it as local time.
  const at = Date.parse(form === 2 ? `${v} GMT` : v);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/**
 * The URL as it may be shown or saved: a password in it (`http://user:secret@host/`) is replaced
 * by `***`, so that the banner, the errors and the reports (made to be shared) do not carry it.
 */
function shown(url) {
  const u = new URL(url);
  if (u.password !== '') u.password = '***';
  return u.href;
}

const isOk = status => status >= 200 && status < 400;
const isRefusal = status => status === 429 || status === 503;

/**
 * Checks that `url` answers HTTP before a sweep starts, and measures its unloaded latency: up to 5
 * requests one after the other on one connection, for at most a second, stopping at the first
 * answer that is not a success. Returns `{latency}` (the fastest success, ms; undefined when none);
 * throws an Error with a one-line message when nothing answers.
 */
async function probe(url, options) {
  const agent = new (url.protocol === 'https:' ? https : http).Agent({keepAlive: true, maxSockets: 1});
  let fastest;
  let resumeAt = 0;
  try {
    const until = performance.now() + 1000;
    for (let i = 0; i < 5 && performance.now() < until; i++) {
      const t0 = performance.now();
      let status;
      let retryAfter;
      try {
        ({status, retryAfter} = await request(url, {...options, agent, timeout: 10_000}));
      } catch (error) {
        if (i === 0) throw new Error(`${shown(url)} did not answer: ${reason(error)}`);
        break;
      }
      if (!isOk(status)) {
        const ms = parseRetryAfter(retryAfter);
        if (isRefusal(status) && ms !== undefined) resumeAt = performance.now() + ms;
        break;
      }
      const ms = performance.now() - t0;
      fastest = Math.min(fastest ?? Infinity, ms);
    }
  } finally {
    agent.destroy();
  }
  return {latency: fastest, [RESUME_AT]: resumeAt};
}

/**
 * Hands out request slots at most `rate` per second to every client of a level (no burst).
 * `take(deadline)` resolves true at the slot's time, or false when the slot falls past `deadline`.
 */
function pacer(rate) {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return {take: async () => true};
  const gap = 1000 / rate;
  let next = performance.now();
  return {
    async take(deadline) {
      const now = performance.now();
      const slot = Math.max(now, next);
      if (slot >= deadline) return false;
      next = slot + gap;
      if (slot - now >= 1) await sleep(slot - now);
      return true;
    },
  };
}

const histogram = () => createHistogram({lowest: 1, highest: 3_600_000_000, figures: 4});
/** Records `ms` in µs (the histogram's unit; at least 1). */
const record = (h, ms) => h.record(Math.max(1, Math.round(ms * 1000)));
const msOf = (h, read) => (h.count === 0 ? null : read(h) / 1000);

/** The sweep's latency recorder on its own: `record(ms)`, `percentile(p)` in ms (null when empty). */
function latencyRecorder() {
  const h = histogram();
  return {record: ms => record(h, ms), percentile: p => msOf(h, x => x.percentile(p)), count: () => h.count};
}

/**
 * Measures one level: a closed loop of clients, each sending its next request when the last one
 * answers, through a Pool, for `requests` requests or `duration` seconds, at most `maxRate`
 * requests a second in all. A refusal or a failure sends its client to wait: an exponential
 * backoff with full jitter from `unloaded` ms up to a second, and at least the answer's
 * `Retry-After` when it has one (a client whose wait runs past the level's end stops). A fixed
 * level has `concurrency` clients and a pool of that size; the adaptive level (`concurrency:
 * 'adaptive'`) has a backlog of `clients` and lets its pool's limit decide how many run, marking
 * refusals dropped.
 */
async function measureLevel(url, concurrency, options) {
  const {requests, duration, method, headers, body, onProgress, clients = 256, maxRate = null, unloaded = ASSUMED_LATENCY_MS} = options;
  const adaptive = concurrency === 'adaptive';
  const workers = adaptive ? clients : concurrency;
  const agent = new (url.protocol === 'https:' ? https : http).Agent({keepAlive: true, maxSockets: workers});
  const started = performance.now();
  const limitHistory = [];
  const pool = adaptive
    ? new Pool({
        concurrency: {adaptive: 'vegas', max: clients},
        onLimitChange: limit => limitHistory.push([Math.round(performance.now() - started), limit]),
      })
    : new Pool({concurrency});
  if (adaptive) limitHistory.push([0, pool.concurrency]);
  const all = histogram();
  const good = histogram();
  // The client's own event loop: busy time per iteration, so a client-side stall shows up as such.
  const loop = monitorEventLoop({stallThreshold: 50});
  loop.disable();
  loop.reset();
  const statuses = new Map();
  const errorReasons = new Map();
  const c = {sent: 0, ok: 0, refused: 0, status429: 0, status503: 0, errors: 0, answered: 0, retryAfterWaits: 0, backoffs: 0};
  let busyMs = 0;
  let resumeAt = 0;
  const deadline = duration === undefined ? Infinity : started + duration * 1000;
  const more = () => (requests === undefined || c.sent < requests) && performance.now() < deadline;
  const slots = pacer(maxRate);
  const base = Math.max(1, unloaded);

  // The adaptive pool's limit when the level ended: the tasks skipped after it end at once, and
  // their near-zero times would teach its controller a round trip no request ever made.
  let cut;
  const one = async ({drop}) => {
    // A task that waited in the adaptive pool's queue past the level's end sends nothing.
    if (!more()) {
      cut ??= {limit: pool.concurrency, at: limitHistory.length, minRtt: pool.stats().adaptive?.minRtt};
      return {skipped: true};
    }
    c.sent++;
    const t0 = performance.now();
    try {
      const {status, retryAfter} = await request(url, {method, headers, body, agent, timeout: 30_000});
      const ms = performance.now() - t0;
      busyMs += ms;
      c.answered++;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      record(all, ms);
      if (isOk(status)) {
        c.ok++;
        record(good, ms);
        return {ok: true};
      }
      if (isRefusal(status)) {
        c.refused++;
        if (status === 429) c.status429++;
        else c.status503++;
        drop();
      } else {
        c.errors++;
      }
      return {ok: false, retryAfter: parseRetryAfter(retryAfter)};
    } catch (error) {
      busyMs += performance.now() - t0;
      c.errors++;
      const why = reason(error);
      errorReasons.set(why, (errorReasons.get(why) ?? 0) + 1);
      return {ok: false};
    } finally {
      onProgress?.({...c, elapsed: (performance.now() - started) / 1000});
    }
  };

  const client = async () => {
    let attempt = 0;
    while (more()) {
      if (!(await slots.take(deadline)) || !more()) break;
      const outcome = await pool.run(one);
      if (outcome.skipped) break;
      if (outcome.ok) {
        attempt = 0;
        continue;
      }
      // The backoff, and a Retry-After as a floor on it: a service that says `Retry-After: 0`
      // while refusing everything still gets backed off from.
      let wait = Math.random() * Math.min(BACKOFF_CAP_MS, base * 2 ** attempt);
      if (outcome.retryAfter !== undefined) {
        c.retryAfterWaits++;
        resumeAt = Math.max(resumeAt, performance.now() + outcome.retryAfter);
        wait = Math.max(wait, Math.min(outcome.retryAfter, RETRY_AFTER_CAP_MS));
      } else {
        c.backoffs++;
      }
      attempt = Math.min(attempt + 1, 30);
      // A level that has sent all its requests has nothing to wait for (a `requests` level slept
      // out its last Retry-After, up to 30 s, for nothing).
      if (!more()) break;
      // A wait past the level's end ends this client: it sends nothing before its Retry-After.
      const left = deadline - performance.now();
      if (wait >= left) break;
      if (wait >= 1) await sleep(wait);
    }
  };

  loop.enable();
  try {
    await Promise.all(Array.from({length: workers}, client));
  } finally {
    loop.disable();
    agent.destroy();
  }
  const loopStats = {p99: loop.count > 0 ? loop.percentile(99) / 1e6 : 0, max: loop.count > 0 ? loop.max / 1e6 : 0, stalls: loop.stallCount};
  loop.close();
  // A duration level's rates are per its duration, even when every client stopped early (each
  // told by a Retry-After to come back after the level's end): over the few ms it took to be
  // refused, 50 refusals read as 900 refused a second and tripped the rate-cap note.
  const elapsed = (performance.now() - started) / 1000;
  const seconds = duration === undefined ? elapsed : Math.max(elapsed, duration);
  const rate = n => (c.sent > 0 ? n / c.sent : 0);
  return {
    concurrency,
    ...(adaptive
      ? {
          finalLimit: cut?.limit ?? pool.concurrency,
          limitHistory: cut ? limitHistory.slice(0, cut.at) : limitHistory,
          minRtt: cut ? cut.minRtt : pool.stats().adaptive?.minRtt,
        }
      : {}),
    sent: c.sent,
    ok: c.ok,
    refused: c.refused,
    status429: c.status429,
    status503: c.status503,
    errors: c.errors,
    throughput: c.ok / seconds,
    offered: c.sent / seconds,
    refusedRate: rate(c.refused),
    errorRate: rate(c.errors),
    latency: {
      p50: msOf(all, h => h.percentile(50)),
      p99: msOf(all, h => h.percentile(99)),
      mean: msOf(all, h => h.mean),
      max: msOf(all, h => h.max),
    },
    latencyOk: {p50: msOf(good, h => h.percentile(50)), p99: msOf(good, h => h.percentile(99)), mean: msOf(good, h => h.mean)},
    inflight: busyMs / 1000 / seconds,
    retryAfterWaits: c.retryAfterWaits,
    backoffs: c.backoffs,
    loopP99: loopStats.p99,
    loopMax: loopStats.max,
    loopStalls: loopStats.stalls,
    seconds,
    maxRate,
    statuses: Object.fromEntries(statuses),
    errorReasons: Object.fromEntries(errorReasons),
    [RESUME_AT]: resumeAt,
  };
}

/** A level's refused and error rates (computed from the counts when a caller's object lacks them). */
function ratesOf(l) {
  const sent = l.sent ?? l.requests ?? 0;
  return {
    refused: l.refusedRate ?? (sent > 0 ? (l.refused ?? 0) / sent : 0),
    errors: l.errorRate ?? (sent > 0 ? (l.errors ?? 0) / sent : 0),
  };
}

/**
 * The service's background failure rate: the least failure rate of the levels that sent at
 * least 100 requests, when two or more did (of all levels otherwise: a level's own rate is never
 * its only evidence of a background). A service that fails some requests whatever
 * the load (3% of 500s at every level) has it as its background: judged against 1% alone, every
 * level failed, no knee was found, and the sweep said to try lower levels.
 */
function errorFloor(levels) {
  const sent = l => l.sent ?? l.requests ?? 0;
  const counted = levels.filter(l => sent(l) >= 100);
  const rates = (counted.length >= 2 ? counted : levels.filter(l => sent(l) > 0)).map(l => ratesOf(l).errors);
  return rates.length > 0 ? Math.min(...rates) : 0;
}

/**
 * The failure rate level `l` may have and still be clean: the background, plus 1%, plus three
 * standard deviations of the background's sampling noise at this level's count (exactly 1% when
 * no level failed any request). A failure rate rising with the load still ends the climb.
 */
function errorTolerance(floor, l) {
  const n = l.sent ?? l.requests ?? 0;
  return floor + DIRTY + (n > 0 ? 3 * Math.sqrt((floor * (1 - floor)) / n) : 0);
}

const clean = (l, floor = 0) => {
  const r = ratesOf(l);
  return r.refused <= DIRTY && r.errors <= errorTolerance(floor, l) && l.throughput > 0;
};
const pct = x => {
  const p = x * 100;
  return `${p >= 10 || p === 0 ? p.toFixed(0) : p >= 1 ? p.toFixed(1).replace(/\.0$/, '') : p.toPrecision(1)}%`;
};

/**
 * The knee, judged on goodput, refusals, errors and the p99 of every answered request: walking up
 * the levels from the first clean one (refused and failing at most 1%), the last one before a
 * level that is not clean, or that raises p99 by more than 20% while raising goodput by less
 * than 10%. Returns `{index, reason}`; `index` is -1 when no level is clean.
 */
function judgeKnee(levels) {
  const floor = errorFloor(levels);
  const first = levels.findIndex(l => clean(l, floor));
  if (first === -1) {
    const failing = floor > 0 ? `failing at most ${pct(floor + DIRTY)}, its least` : `failing at most ${pct(DIRTY)}`;
    return {index: -1, reason: `no level was served cleanly (refused at most ${pct(DIRTY)}, ${failing})`};
  }
  let knee = first;
  for (let i = first + 1; i < levels.length; i++) {
    const prev = levels[knee];
    const cur = levels[i];
    const r = ratesOf(cur);
    if (r.refused > DIRTY) return {index: knee, reason: `at ${cur.concurrency} the service refused ${pct(r.refused)} of requests`};
    if (r.errors > errorTolerance(floor, cur)) {
      const least = floor > 0 ? ` (${pct(floor)} at the least)` : '';
      return {index: knee, reason: `at ${cur.concurrency} ${pct(r.errors)} of requests failed${least}`};
    }
    if (!(cur.throughput > 0)) return {index: knee, reason: `at ${cur.concurrency} nothing succeeded`};
    const gain = prev.throughput > 0 ? cur.throughput / prev.throughput : Infinity;
    const p99Rise = prev.latency.p99 > 0 ? cur.latency.p99 / prev.latency.p99 : 1;
    if (gain < 1.1 && p99Rise > 1.2) {
      return {
        index: knee,
        reason: `at ${cur.concurrency} p99 rose ${p99Rise.toFixed(1)}× for ${gain >= 1 ? '+' : ''}${((gain - 1) * 100).toFixed(0)}% goodput`,
      };
    }
    knee = i;
  }
  return {index: knee, reason: 'the highest level tried was still clean and scaling'};
}

/** The knee's index (see `judgeKnee`); -1 when no level is clean. */
const findKnee = levels => judgeKnee(levels).index;

/**
 * Little's law's estimate: the best goodput reached times the unloaded latency (the successes'
 * mean at the lowest level that had any) is the concurrency needed to reach that throughput
 * without queueing.
 */
function littlesLaw(levels, fallbackLatency) {
  const best = Math.max(0, ...levels.map(l => l.throughput));
  const lowest = levels.find(l => ((l.latencyOk ?? l.latency).mean ?? 0) > 0);
  const unloaded = lowest ? (lowest.latencyOk ?? lowest.latency).mean : (fallbackLatency ?? 0);
  return {throughput: best, latency: unloaded, concurrency: (best * unloaded) / 1000};
}

/**
 * The default rate cap of a level of `concurrency` clients: CAP_FACTOR × the larger of the best
 * goodput so far and the last clean level's goodput per client × `concurrency` (before any level:
 * one client's rate at the probe's unloaded latency).
 */
function rateCap(done, concurrency, unloaded) {
  const best = Math.max(0, ...done.map(l => l.throughput));
  const floor = errorFloor(done);
  // Once a level was refused or failed, the service has shown what it serves: more clients will
  // not get more, so the cap stops growing with the concurrency (a limit_req-like service refused
  // 74% at 80 while the projection allowed 6,000/s). At least one client's unloaded rate.
  if (done.length > 0 && !clean(done.at(-1), floor)) return CAP_FACTOR * Math.max(best, 1000 / unloaded);
  const lastClean = done.findLast(l => clean(l, floor));
  const perClient = lastClean ? lastClean.throughput / lastClean.concurrency : 1000 / unloaded;
  return CAP_FACTOR * Math.max(best, perClient * concurrency);
}

/** Answers 300–399 at a level. */
const redirectsOf = l => Object.entries(l.statuses ?? {}).reduce((n, [s, k]) => (Number(s) >= 300 && Number(s) < 400 ? n + k : n), 0);

/** The notes a reader should see: refusals and failures per level, caps, where the knee may be. */
function notesOf(results, knee, kneeAtTop, allRefused, capGiven, stopped) {
  const notes = [];
  for (const l of results) {
    const name = l.concurrency === 'adaptive' ? 'the adaptive level' : String(l.concurrency);
    if (l.refused > 0) {
      const kinds = [l.status429 ? `${l.status429} × 429` : '', l.status503 ? `${l.status503} × 503` : ''].filter(Boolean).join(', ');
      notes.push(`the service refused ${pct(l.refusedRate)} of requests at ${name} (${kinds}; ${(l.refused / l.seconds).toFixed(0)}/s)`);
    }
    if (l.errors > 0) {
      const why = Object.entries(l.errorReasons).map(([k, n]) => `${k}: ${n}`);
      const other = Object.entries(l.statuses).filter(([s]) => !isOk(Number(s)) && !isRefusal(Number(s)));
      const detail = [...why, ...other.map(([s, n]) => `status ${s}: ${n}`)].join(', ');
      notes.push(`${pct(l.errorRate)} of requests failed at ${name} (${detail})`);
    }
    if (l.loopMax >= CLIENT_STALL_MS) {
      notes.push(`the client's own event loop stalled at ${name} (up to ${l.loopMax.toFixed(0)} ms): its figures there measure the client too (a busy machine?)`);
    }
    if (l.maxRate !== null && l.offered >= 0.9 * l.maxRate) {
      notes.push(`the request rate was capped at ${l.maxRate.toFixed(0)}/s at ${name} (${capGiven ? '--max-rate' : 'the default cap; --max-rate sets it'})`);
    }
  }
  // Redirects count as successes, but the sweep does not follow them: a URL that redirects (http
  // to https, a trailing slash) measures the redirect, not the service, and its "knee" is the
  // redirect's.
  const redirected = results.find(l => redirectsOf(l) > DIRTY * l.sent);
  if (redirected) {
    const codes = Object.keys(redirected.statuses).filter(s => Number(s) >= 300 && Number(s) < 400);
    notes.push(
      `${pct(redirectsOf(redirected) / redirected.sent)} of the answers at ${redirected.concurrency === 'adaptive' ? 'the adaptive level' : redirected.concurrency} were redirects (status ${codes.join(', ')}), counted as successes: the sweep does not follow them; point --url at where they lead`,
    );
  }
  const waits = results.reduce((n, l) => n + l.retryAfterWaits, 0);
  const backoffs = results.reduce((n, l) => n + l.backoffs, 0);
  const waited = [
    waits > 0 ? `waited for a Retry-After ${waits} times` : '',
    backoffs > 0 ? `backed off ${backoffs} times (exponential with full jitter, no Retry-After)` : '',
  ].filter(Boolean);
  if (waited.length > 0) notes.push(`after a refusal or a failure, clients ${waited.join(' and ')}`);
  if (stopped) notes.push(stopped);
  const fixed = results.filter(l => l.concurrency !== 'adaptive');
  const floor = errorFloor(fixed);
  if (floor > 0) {
    notes.push(
      `the service failed ${pct(floor)} of requests or more whatever the load: taken as its background rate, a level was past the knee when it failed over 1% more than that (and its sampling noise)`,
    );
  }
  if (allRefused) notes.push(`every level was refused or failing on more than ${pct(DIRTY)}${floor > 0 ? ' (above the background)' : ''} of its requests; try lower --levels`);
  if (kneeAtTop) {
    const top = results.filter(l => l.concurrency !== 'adaptive').at(-1).concurrency;
    notes.push(`the knee is the highest level tried: it may lie above; try --levels ${top},${top * 2},${top * 4}`);
  }
  void knee;
  return notes;
}

/**
 * Runs the sweep over `levels` (ascending concurrencies) against `url` (a string or URL).
 * Options: `levels`, `duration` (s) or `requests`, `method`, `headers`, `body`, `maxRate`
 * (req/s; default derived, see `rateCap`), `adaptive`, `step` ({after, apply, restore}),
 * `downstream` (the built-in one, described in `params`), `onProgress(snapshot)`,
 * `onLevel(level, {index, of})`, `onWait(ms, {level, index, of})` (before a level that waits for
 * a Retry-After). Returns a `SweepResult`.
 * @returns {Promise<SweepResult>}
 */
async function sweep(url, options) {
  const target = url instanceof URL ? url : new URL(url);
  const {levels, onLevel, adaptive = false, step, maxRate = null, downstream} = options;
  const probed = await probe(target, options);
  const unloaded = probed.latency ?? ASSUMED_LATENCY_MS;
  const loop = monitorEventLoop({stallThreshold: 50});
  const results = [];
  let adaptiveResult;
  const plan = adaptive ? [...levels, 'adaptive'] : levels;
  const top = Math.max(...levels);
  // A Retry-After outlives the level that got it: the next level does not start before it (the
  // next level's fresh clients used to send at once, 156 requests in a second to a service that
  // had asked, at the first level, for an hour), and one too far away ends the sweep.
  let resumeAt = probed[RESUME_AT];
  let stopped;
  for (const [index, concurrency] of plan.entries()) {
    const wait = resumeAt - performance.now();
    if (wait > RETRY_AFTER_CAP_MS) {
      const after = index === 0 ? 'the first request' : `concurrency ${plan[index - 1]}`;
      stopped = `the service asked (Retry-After, after ${after}) for ${(wait / 1000).toFixed(0)} s without requests: the sweep stopped there; not tried: ${plan.slice(index).join(', ')}`;
      break;
    }
    if (wait >= 1) {
      options.onWait?.(wait, {level: concurrency, index, of: plan.length});
      await sleep(wait);
    }
    // A step change: restore at the start of each level, apply `step.after` seconds in.
    step?.restore();
    const stepTimer = step === undefined ? undefined : setTimeout(step.apply, step.after * 1000);
    const cap = maxRate ?? rateCap(results, concurrency === 'adaptive' ? top : concurrency, unloaded);
    let result;
    try {
      result = await measureLevel(target, concurrency, {
        ...options,
        maxRate: cap,
        unloaded,
        clients: top * 2,
        onProgress: snapshot => options.onProgress?.({level: concurrency, index, of: plan.length, maxRate: cap, ...snapshot}),
      });
    } finally {
      clearTimeout(stepTimer);
    }
    onLevel?.(result, {index, of: plan.length});
    resumeAt = Math.max(resumeAt, result[RESUME_AT]);
    if (concurrency === 'adaptive') {
      adaptiveResult = result;
      break;
    }
    if (index === 0 && result.ok + result.refused === 0 && result.errors > 0) {
      const why = Object.keys(result.errorReasons)[0] ?? `status ${Object.keys(result.statuses).join(', ')}`;
      throw new Error(`${shown(target)} gave no successful answer at concurrency ${concurrency}: ${why}`);
    }
    results.push(result);
  }
  step?.restore();
  if (stopped && results.length === 0) {
    loop.close();
    throw new Error(`${shown(target)} asked (Retry-After) for ${((resumeAt - performance.now()) / 1000).toFixed(0)} s without requests before the first level: try later`);
  }
  const loopReport = loop.report();
  loop.close();
  const judged = judgeKnee(results);
  const allRefused = judged.index === -1;
  const kneeLevel = allRefused ? undefined : results[judged.index];
  const kneeAtTop = !allRefused && judged.index === results.length - 1;
  const little = littlesLaw(results, probed.latency);
  let recommendation;
  if (kneeLevel) recommendation = `const limit = pLimit(${kneeLevel.concurrency});`;
  else if (little.concurrency >= 1) recommendation = `const limit = pLimit(${Math.floor(little.concurrency)}); // Little's law: no level tried was clean`;
  else recommendation = `no limit to recommend: every level tried was refused or failing; try --levels 1,2,4`;
  const version = require('../package.json').version;
  /** @type {SweepResult} */
  const out = {
    url: shown(target),
    builtIn: downstream !== undefined,
    params: {
      levels: [...levels],
      duration: options.duration ?? null,
      requests: options.requests ?? null,
      method: options.method ?? 'GET',
      maxRate,
      adaptive,
      step: step !== undefined,
      downstream:
        downstream === undefined
          ? null
          : {mode: downstream.mode ?? 'queue', capacity: downstream.capacity, latency: downstream.latency, queue: downstream.queue, limit: downstream.limit ?? null},
      date: new Date().toISOString(),
      node: process.version,
      version,
    },
    levels: results,
    knee: kneeLevel ? kneeLevel.concurrency : null,
    kneeIndex: judged.index,
    kneeReason: judged.reason,
    kneeAtTop,
    allRefused,
    little,
    recommendation,
    notes: notesOf(adaptiveResult ? [...results, adaptiveResult] : results, kneeLevel, kneeAtTop, allRefused, maxRate !== null, stopped),
    loop: loopReport,
    probe: {latency: probed.latency ?? null},
  };
  if (adaptiveResult !== undefined) {
    const a = adaptiveResult;
    const best = Math.max(0, ...results.map(l => l.throughput));
    out.adaptive = {
      ...a,
      throughputVsBestFixed: best > 0 ? a.throughput / best : 0,
      p99VsKnee: kneeLevel && kneeLevel.latency.p99 > 0 && a.latency.p99 !== null ? a.latency.p99 / kneeLevel.latency.p99 : null,
      trajectory: trajectory(a.limitHistory, a.seconds),
    };
  }
  return out;
}

/**
 * A limit's trajectory in a few steps: 'limit 5→10→20→22 (t=0…2 s)'. At most `max` values,
 * evenly picked (the first and the last always), repeated values merged.
 */
function trajectory(history, seconds, max = 10) {
  if (!history || history.length === 0) return '';
  const merged = history.filter(([, l], i) => i === 0 || l !== history[i - 1][1]);
  let picked = merged;
  if (merged.length > max) {
    picked = Array.from({length: max}, (_, i) => merged[Math.round((i * (merged.length - 1)) / (max - 1))]);
  }
  const limits = picked.map(([, l]) => String(Math.round(l * 10) / 10));
  const end = seconds ?? history.at(-1)[0] / 1000;
  return `limit ${limits.join('→')} (t=0…${end < 10 ? end.toFixed(1) : end.toFixed(0)} s)`;
}

module.exports = {sweep, shown, latencyRecorder, judgeKnee, findKnee, littlesLaw, measureLevel, request, probe, parseRetryAfter, rateCap, trajectory, DIRTY};
