'use strict';
// A shared pool sends what it has to tell Redis (permits given back, a new demand) at the end of
// the event-loop phase it was made in (src/fleet.rs, `Flush`): the releases of one phase are one
// script call. Its two libuv handles are unref'd and closed with the pool or the env: a worker
// with a shared pool ends, by itself or terminated, with nothing left open. Real redis-server.
const test = require('node:test');
const {after} = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const {Worker} = require('node:worker_threads');
const {pLimit} = require('..');
const {startRedis, stopAllRedis, skipWithoutRedis} = require('./redis');

after(stopAllRedis);
const noRedis = skipWithoutRedis();
const {delay, until, busy, orAfter} = require('./helpers');
let keys = 0;
const newKey = name => `${name}-${process.pid}-${++keys}`;

test('the permits given back in one short loop phase go to Redis together', {skip: noRedis, timeout: 30_000}, async () => {
  const server = await startRedis();
  const key = newKey('flush');
  // Two members of one fleet in this process; a long lease: no heartbeat call during the test.
  const shared = {redis: server.url, key, quantumMs: 0, leaseMs: 60_000};
  const a = pLimit({concurrency: 8, shared});
  const b = pLimit({concurrency: 8, shared});
  let finishB = () => {};
  try {
    await Promise.all([a.ready(), b.ready()]);
    const resolvers = [];
    let runningA = 0;
    const tasksA = Array.from({length: 8}, (_, i) =>
      a(() => {
        runningA++;
        return new Promise(resolve => (resolvers[i] = resolve));
      }),
    );
    await until(() => runningA === 8, 10_000, 'A running 8 tasks');
    let runningB = 0;
    const gateB = new Promise(resolve => (finishB = resolve));
    const tasksB = Array.from({length: 8}, () =>
      b(async () => {
        runningB++;
        await gateB;
        runningB--;
      }),
    );
    await until(() => a.fleet.fleetQueue >= 1, 10_000, 'A seeing B wait');
    const before = a.fleet;
    // Eight timers of one list, due together: one timers phase, microtasks run between them (so
    // each finish reaches the pool before the next timer). The client waits for the phase's end
    // (at most 1-2 ms) and sends the eight releases in one call. (Poked at the first release, it
    // sent that one alone, the rest a round trip later; a guard, not a measurement: the fleet
    // bench's Redis commands per task show the difference.)
    for (let i = 0; i < 8; i++) {
      setTimeout(() => {
        runningA--;
        resolvers[i](i);
      }, 5);
    }
    assert.deepEqual(await Promise.all(tasksA), [0, 1, 2, 3, 4, 5, 6, 7]);
    await until(() => runningB === 8, 10_000, 'B running 8 tasks');
    await until(() => a.fleet.held === 0 && a.fleet.roundTrips > before.roundTrips, 10_000, "A's reply");
    const afterwards = a.fleet;
    assert.equal(afterwards.returned - before.returned, 8);
    // One call; two if the machine stretched the phase past the client's wait.
    assert.ok(afterwards.roundTrips - before.roundTrips <= 2, `the eight releases in one call: ${JSON.stringify({before, afterwards})}`);
    finishB();
    await Promise.all(tasksB);
  } finally {
    finishB(); // close() waits for running tasks
    await Promise.all([a.close(), b.close()]);
  }
});

test('a shared pool in a worker thread: the worker ends by itself, and when terminated mid-task; its permits go back', {skip: noRedis, timeout: 60_000}, async () => {
  const server = await startRedis();
  const key = newKey('worker');
  const script = `
    const {parentPort, workerData} = require('node:worker_threads');
    const {pLimit} = require(${JSON.stringify(path.join(__dirname, '..'))});
    const limit = pLimit({concurrency: 4, shared: {redis: workerData.url, key: workerData.key}});
    limit.ready().then(async () => {
      // Finishes in every phase: timers, immediates, I/O (a resolved promise after a read).
      const fs = require('node:fs');
      await Promise.all(Array.from({length: 40}, (_, i) => limit(() => new Promise(resolve => {
        if (i % 3 === 0) setTimeout(resolve, 1);
        else if (i % 3 === 1) setImmediate(resolve);
        else fs.stat(__filename, () => resolve());
      }))));
      parentPort.postMessage('done');
      if (workerData.hang) {
        let running = 0;
        for (let i = 0; i < 4; i++) {
          limit(() => {
            if (++running === 4) parentPort.postMessage('holding');
            return new Promise(resolve => setTimeout(resolve, 600_000)); // keeps the worker alive
          });
        }
      }
      // Otherwise nothing is left to do: the worker ends by itself (without close()).
    });
  `;
  const exited = worker => new Promise(resolve => worker.on('exit', resolve));
  for (const hang of [false, true]) {
    const worker = new Worker(script, {eval: true, workerData: {url: server.url, key, hang}});
    const messages = [];
    worker.on('message', m => messages.push(m));
    const exit = exited(worker);
    await until(() => messages.includes(hang ? 'holding' : 'done'), 30_000, 'the worker running its tasks');
    if (hang) {
      assert.ok((await server.command('HLEN', `async-shape:{${key}}:permits`)) > 0, 'the worker holds permits');
      await worker.terminate();
    }
    const code = await orAfter(exit, 20_000, 'still running');
    if (code === 'still running') await worker.terminate();
    assert.notEqual(code, 'still running', `the worker (hang: ${hang}) did not end`);
    // Its permits went back on the way out (the env's cleanup hook), not at the lease's end
    // (nothing else calls the script meanwhile to reap it).
    let left = -1;
    for (let i = 0; i < 100 && left !== 0; i++) {
      left = await server.command('HLEN', `async-shape:{${key}}:permits`);
      if (left !== 0) await delay(50);
    }
    assert.equal(left, 0, `permits left by the worker (hang: ${hang})`);
  }
  // The key is whole again: another member gets the full limit.
  const limit = pLimit({concurrency: 4, shared: {redis: server.url, key}});
  try {
    let running = 0;
    let max = 0;
    await Promise.all(Array.from({length: 8}, () => limit(async () => {
      running++;
      max = Math.max(max, running);
      await delay(10);
      running--;
    })));
    assert.equal(max, 4);
  } finally {
    await limit.close();
  }
});

test('a release goes to Redis without waiting for the JS thread: the first and a later one of a phase that stays busy, and those of the check phase', {skip: noRedis, timeout: 60_000}, async () => {
  const server = await startRedis();
  const key = newKey('held');
  const shared = {redis: server.url, key, quantumMs: 0, leaseMs: 60_000};
  // B waits in a worker (a JS thread of its own) for two permits, and says when each task starts.
  const script = `
    const {parentPort, workerData} = require('node:worker_threads');
    const {pLimit} = require(${JSON.stringify(path.join(__dirname, '..'))});
    const b = pLimit({concurrency: 2, shared: workerData});
    parentPort.on('message', () => {
      // Each task keeps its permit 1 s: the second start needs A's second release.
      const start = () => b(() => {
        parentPort.postMessage(Number(process.hrtime.bigint()) / 1e6);
        return new Promise(resolve => setTimeout(resolve, 1000));
      });
      Promise.all([start(), start()]).then(() => b.close()).then(() => parentPort.close());
    });
    b.ready().then(() => parentPort.postMessage('ready'));
  `;
  const a = pLimit({concurrency: 2, shared});
  const hr = () => Number(process.hrtime.bigint()) / 1e6;
  const finish = [];
  let worker;
  try {
    await a.ready();
    for (const how of ['busy', 'check']) {
      let running = 0;
      const tasks = [0, 1].map(i =>
        a(() => {
          running++;
          return new Promise(resolve => (finish[i] = resolve));
        }),
      );
      await until(() => running === 2, 10_000, 'A running two tasks');
      worker = new Worker(script, {eval: true, workerData: shared});
      const messages = [];
      worker.on('message', m => messages.push(m));
      const exit = new Promise(resolve => worker.on('exit', resolve));
      await until(() => messages.includes('ready'), 10_000, 'B ready');
      worker.postMessage('go');
      await until(() => a.fleet.fleetQueue >= 1, 10_000, 'A seeing B wait');
      const releasedAt = [];
      const release = i => {
        releasedAt[i] = hr();
        finish[i]();
      };
      if (how === 'busy') {
        // Three timers due together, one timers phase: the first gives a permit back (in the
        // microtasks after it); the second holds the JS thread 10 ms (the client has sent the
        // first by then) and gives the other back; the third holds it 500 ms.
        setTimeout(() => release(0), 5);
        setTimeout(() => {
          busy(10);
          release(1);
        }, 5);
        setTimeout(() => busy(500), 5);
      } else {
        setImmediate(() => release(0));
        setImmediate(() => {
          busy(10);
          release(1);
        });
      }
      await Promise.all(tasks);
      await until(() => messages.filter(m => typeof m === 'number').length === 2, 10_000, 'B starting two tasks');
      const startedAt = messages.filter(m => typeof m === 'number').sort((x, y) => x - y);
      // The client waits at most 2 ms for the phase's end; the margin is for a loaded machine.
      // Held for the phase, B's second start would come after the 500 ms; held for the heartbeat,
      // after 20 s.
      for (const i of [0, 1]) {
        const lag = startedAt[i] - releasedAt[i];
        assert.ok(lag < 250, `${how}: B's start ${i + 1} came ${lag.toFixed(1)} ms after A's release ${i + 1}`);
      }
      assert.equal(await exit, 0);
      worker = undefined;
    }
  } finally {
    for (const f of finish) f?.(); // close() waits for running tasks
    await worker?.terminate();
    await a.close();
  }
});

test('a shared pool collected while its thread lives closes its loop handles: the worker goes on, then ends', {skip: noRedis, timeout: 60_000}, async () => {
  const server = await startRedis();
  const key = newKey('gc');
  const script = `
    const {parentPort, workerData} = require('node:worker_threads');
    const {pLimit} = require(${JSON.stringify(path.join(__dirname, '..'))});
    const delay = ms => new Promise(resolve => setTimeout(resolve, ms));
    if (typeof globalThis.gc !== 'function') require('node:v8').setFlagsFromString('--expose-gc');
    const collect = globalThis.gc ?? require('node:vm').runInNewContext('gc');
    let collected = 0;
    const registry = new FinalizationRegistry(() => collected++);
    (async () => {
      for (let round = 0; round < 3; round++) {
        let limit = pLimit({concurrency: 2, shared: {redis: workerData.url, key: workerData.key}});
        registry.register(limit, round);
        await limit.ready();
        await Promise.all(Array.from({length: 6}, () => limit(() => delay(1))));
        await limit.close();
        limit = undefined;
        collect();
        await delay(50); // the finalizer, then the handles' close callbacks
        collect();
        await delay(50);
      }
      parentPort.postMessage({collected});
    })();
  `;
  const worker = new Worker(script, {eval: true, workerData: {url: server.url, key}});
  const messages = [];
  worker.on('message', m => messages.push(m));
  const errors = [];
  worker.on('error', e => errors.push(e));
  const code = await orAfter(new Promise(resolve => worker.on('exit', resolve)), 30_000, 'still running');
  if (code === 'still running') await worker.terminate();
  assert.deepEqual(errors, []);
  assert.equal(messages.length, 1);
  assert.ok(messages[0].collected >= 1, `no pool was collected: ${JSON.stringify(messages)}`);
  assert.equal(code, 0);
  assert.equal(await server.command('HLEN', `async-shape:{${key}}:permits`), 0);
});
