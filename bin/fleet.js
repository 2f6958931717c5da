'use strict';
// `async-shape demo --fleet N`: N processes, each with its own `pLimit(knee)`, against the built-in
// downstream, then the same N processes sharing one limit of `knee` through a local redis-server:
// the 429s and the wall time side by side. The downstream and redis-server run in this process's
// care (redis-server from PATH, on a free loopback port, stopped at the end); the N workers are
// child processes of this one.

const {fork} = require('node:child_process');
const http = require('node:http');
const {startDownstream} = require('./downstream');
const {startRedisServer, hasRedisServer} = require('./redis-server');

const CHILD_FLAG = '--async-shape-fleet-demo-child';

// ---------------------------------------------------------------- a worker process

async function child() {
  const {pLimit} = require('..');
  const agent = new http.Agent({keepAlive: true});
  const get = url =>
    new Promise((resolve, reject) => {
      http
        .get(url, {agent}, res => {
          res.resume();
          res.on('end', () => resolve(res.statusCode));
        })
        .on('error', reject);
    });
  process.on('message', async ({phase, url, requests, concurrency, redis, key}) => {
    if (phase === undefined) return; // a `go`, awaited below
    try {
      const limit = phase === 'shared' ? pLimit({concurrency, shared: {redis, key}}) : pLimit(concurrency);
      if (phase === 'shared') await limit.ready();
      process.send({ready: true});
      await new Promise(resolve => process.once('message', resolve));
      let refused = 0;
      let failed = 0;
      await Promise.all(
        Array.from({length: requests}, () =>
          limit(async () => {
            const status = await get(url).catch(() => -1);
            if (status === 429) refused++;
            else if (status !== 200) failed++;
          }),
        ),
      );
      if (phase === 'shared') await limit.close();
      process.send({done: true, refused, failed, end: Number(process.hrtime.bigint()) / 1e6});
    } catch (error) {
      process.send({error: String(error?.message ?? error)});
    }
  });
  process.on('disconnect', () => {
    agent.destroy();
    process.exit(0);
  });
  process.send({up: true});
}

// ---------------------------------------------------------------- the demo

function sharedAvailable() {
  const {tables} = require('../lib/internal/wire');
  return Object.hasOwn(tables(), 'fleet');
}

/** One phase: every worker gets `message`, all start together; resolves with the totals. */
async function phase(workers, message) {
  const replies = workers.map(w => nextMessage(w));
  for (const w of workers) w.send(message);
  for (const r of await Promise.all(replies)) if (r.error) throw new Error(r.error);
  const done = workers.map(w => nextMessage(w));
  // process.hrtime: one clock in every process (performance.timeOrigin may be off by ms in one).
  const t0 = Number(process.hrtime.bigint()) / 1e6;
  for (const w of workers) w.send({go: true});
  const results = await Promise.all(done);
  const failed = results.find(r => r.error);
  if (failed) throw new Error(failed.error);
  return {
    wall: Math.max(...results.map(r => r.end)) - t0,
    refused: results.reduce((a, r) => a + r.refused, 0),
    failed: results.reduce((a, r) => a + r.failed, 0),
  };
}

function nextMessage(worker) {
  return new Promise((resolve, reject) => {
    const onExit = code => reject(new Error(`a worker process exited (${code}) during the demo`));
    worker.once('exit', onExit);
    worker.once('message', m => {
      worker.off('exit', onExit);
      resolve(m);
    });
  });
}

/**
 * Runs the demo and prints it with `print` (default console.log). Returns the exit code: 0, or 1
 * with one line on stderr when redis-server is missing or this build has no shared limit.
 */
async function demoFleet(options = {}) {
  const {requests = 200, capacity = 400, latency = 50, queue = 20, fleet = 4, print = console.log, printError = console.error} = options;
  if (!hasRedisServer()) {
    printError('async-shape: demo --fleet needs redis-server on PATH (Debian/Ubuntu: apt-get install redis-server)');
    return 1;
  }
  if (!sharedAvailable()) {
    printError('async-shape: demo --fleet needs a build with the shared limit (this addon has no fleet room)');
    return 1;
  }
  const downstream = startDownstream({capacity, latency, queue});
  const knee = downstream.knee;
  let redis;
  const workers = [];
  try {
    redis = await startRedisServer();
    for (let i = 0; i < fleet; i++) {
      const w = fork(__filename, [CHILD_FLAG], {stdio: ['ignore', 'inherit', 'inherit', 'ipc']});
      workers.push(w);
    }
    await Promise.all(workers.map(nextMessage));
    print(
      `The built-in downstream serves ${downstream.capacity} req/s at ${downstream.latency} ms each (knee ${knee}), ` +
        `queues ${downstream.queue} more, then answers 429. ${fleet} processes send ${requests} requests each.\n`,
    );
    const rows = [];
    for (const [name, message] of [
      [`${fleet} × pLimit(${knee}), one each`, {phase: 'local', url: downstream.url, requests, concurrency: knee}],
      [`${fleet} processes sharing one limit of ${knee}`, {phase: 'shared', url: downstream.url, requests, concurrency: knee, redis: redis.url, key: `demo-${process.pid}`}],
    ]) {
      downstream.resetMaxima();
      const r = await phase(workers, message);
      const c = downstream.counters();
      rows.push([name, r.wall.toFixed(0), String(fleet * requests - r.refused - r.failed), String(r.refused), String(c.maxInService), String(r.failed)]);
    }
    const head = ['shape', 'wall ms', 'served', '429s', 'max in service', 'errors'];
    const widths = head.map((_, i) => Math.max(...[head, ...rows].map(r => r[i].length)));
    const line = r => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
    print([line(head), widths.map(w => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n'));
    print(
      `\nEach process alone respects the knee, but ${fleet} of them send up to ${fleet * knee} at once: the downstream refuses what its ` +
        `${downstream.queue} waiting places cannot hold. Shared through Redis, the fleet never has more than ${knee} in flight.`,
    );
    return 0;
  } finally {
    for (const w of workers) if (w.connected) w.disconnect();
    await Promise.all(workers.map(w => (w.exitCode !== null || w.signalCode !== null ? undefined : new Promise(resolve => w.once('exit', resolve)))));
    await redis?.stop();
    downstream.close();
  }
}

if (require.main === module && process.argv.includes(CHILD_FLAG)) {
  child();
}

module.exports = {demoFleet};
