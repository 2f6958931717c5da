// Smoke test of an installed async-shape: copied into a project that installed it and run there
// (`node smoke.mjs`: bare `async-shape` resolves from this file's folder), or run from the
// repository as `node scripts/smoke.mjs <checkout>` with ASYNC_SHAPE_NATIVE_PATH pointing at a
// binary (the release script runs it so under qemu and wine). Checks that `require` and `import`
// both work, pLimit runs tasks, monitorEventLoop() reports from the native sampler, a shared limit
// with its Redis down runs under its local fallback, and (with ASYNC_SHAPE_SMOKE_REDIS, a redis://
// URL) two shared limits share one limit through a real Redis. Prints one line per check; exits 1 on failure.
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';
import net from 'node:net';
import path from 'node:path';
import {pathToFileURL} from 'node:url';

const require = createRequire(import.meta.url);
// The installed package by name (through its `exports`), or a checkout's folder.
const target = process.argv[2] ?? 'async-shape';

const cjs = require(target === 'async-shape' ? target : path.resolve(target));
const esm = await import(target === 'async-shape' ? target : pathToFileURL(path.resolve(target, 'index.mjs')).href);
assert.equal(typeof cjs.pLimit, 'function', 'require() gives pLimit');
assert.equal(esm.default, cjs.pLimit, 'import gives the same pLimit as require()');
assert.equal(esm.Pool, cjs.Pool);
const addon = Object.keys(require.cache).find(file => file.endsWith('.node'));
console.log(`ok: require and import (${process.platform}-${process.arch}, node ${process.version}, ${addon})`);

/**
 * Runs tasks 1..n, task x through `limits[x % limits.length]`, each 5 ms long and returning x × k:
 * their results, and the most that ran at once across all the limits.
 */
async function runThrough(limits, n, k) {
  let running = 0;
  let peak = 0;
  const results = await Promise.all(
    Array.from({length: n}, (_, i) => i + 1).map(x =>
      limits[x % limits.length](async () => {
        peak = Math.max(peak, ++running);
        await new Promise(resolve => setTimeout(resolve, 5));
        running--;
        return x * k;
      }),
    ),
  );
  return {results, peak};
}

const limit = esm.default(2);
const {results, peak} = await runThrough([limit], 5, 2);
assert.deepEqual(results, [2, 4, 6, 8, 10]);
assert.equal(peak, 2, 'at most 2 tasks at once');
assert.equal(limit.activeCount + limit.pendingCount, 0);
console.log('ok: pLimit ran 5 tasks, 2 at a time');

const monitor = esm.monitorEventLoop();
for (let i = 0; i < 20; i++) await new Promise(resolve => setImmediate(resolve));
await new Promise(resolve => setTimeout(resolve, 20));
assert.equal(monitor.native, true, 'the native sampler runs (libuv found in the host process)');
assert.ok(monitor.count > 0, 'the monitor recorded loop iterations');
console.log(`ok: monitorEventLoop: ${monitor.report()}`);
monitor.disable();

// The fleet: a shared limit whose "Redis" accepts connections and drops them at once runs its
// tasks under its local fallback limit (`onStoreDown: 'local'`) while its store is not up. That
// starts the addon's Redis client thread (tokio) and the end-of-phase flush (libuv prepare and
// check handles found in the host process); the client's connection attempts reach the listener
// below; then close() ends them all, and the process must still exit.
let attempts = 0;
const dropper = net.createServer(socket => {
  attempts++;
  socket.destroy();
});
await new Promise((resolve, reject) => {
  dropper.on('error', reject);
  dropper.listen(0, '127.0.0.1', resolve);
});
const shared = esm.default({
  concurrency: 4,
  shared: {redis: `redis://127.0.0.1:${dropper.address().port}`, key: 'smoke', onStoreDown: 'local', localConcurrency: 2},
});
const {results: sharedResults, peak: sharedPeak} = await runThrough([shared], 5, 3);
assert.deepEqual(sharedResults, [3, 6, 9, 12, 15]);
assert.equal(sharedPeak, 2, 'localConcurrency (2) tasks at once with the store down');
for (let waited = 0; attempts === 0 && waited < 10_000; waited += 20) await new Promise(resolve => setTimeout(resolve, 20));
assert.ok(attempts > 0, "the client thread tried to connect to the shared limit's Redis");
assert.equal(shared.fleet.storeUp, false);
await shared.close();
await new Promise(resolve => dropper.close(resolve));
console.log(`ok: a shared pLimit with its Redis down ran 5 tasks under localConcurrency (2 at a time; ${attempts === 1 ? '1 connection attempt' : `${attempts} connection attempts`}) and closed`);

// With ASYNC_SHAPE_SMOKE_REDIS (a redis:// URL; `npm run release:dry` starts a redis-server on
// loopback and passes it, also under qemu-user and wine): two shared limits of one key, as two
// processes would hold it, register in Redis, share a limit of 2, and give their permits back.
const redisUrl = process.env.ASYNC_SHAPE_SMOKE_REDIS || undefined;
if (redisUrl !== undefined) {
  // One key per platform, so that runs against a long-lived Redis leave one small hash each.
  const key = `smoke-${process.platform}-${process.arch}`;
  const a = esm.default({concurrency: 2, shared: {redis: redisUrl, key}});
  const b = esm.default({concurrency: 2, shared: {redis: redisUrl, key}});
  await Promise.all([a.ready(), b.ready()]);
  const {results: both, peak: fleetPeak} = await runThrough([a, b], 6, 1);
  assert.deepEqual(both, [1, 2, 3, 4, 5, 6]);
  assert.ok(fleetPeak <= 2, `at most 2 tasks at once across the two limits, saw ${fleetPeak}`);
  await Promise.all([a.close(), b.close()]);
  console.log(`ok: two shared pLimits of one key ran 6 tasks through Redis, ${fleetPeak} at a time across both, and closed`);
}
