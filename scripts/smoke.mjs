// Smoke test of an installed async-shape: copied into a project that installed it and run there
// (`node smoke.mjs`: bare `async-shape` resolves from this file's folder), or run from the
// repository as `node scripts/smoke.mjs <checkout>` with ASYNC_SHAPE_NATIVE_PATH pointing at a
// binary (the release script runs it so under qemu and wine). Checks that `require` and `import` both work, pLimit runs tasks, and
// monitorEventLoop() reports from the native sampler. Prints one line per check; exits 1 on failure.
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';
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

const limit = esm.default(2);
let running = 0;
let peak = 0;
const results = await Promise.all(
  [1, 2, 3, 4, 5].map(x =>
    limit(async () => {
      peak = Math.max(peak, ++running);
      await new Promise(resolve => setTimeout(resolve, 5));
      running--;
      return x * 2;
    }),
  ),
);
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
