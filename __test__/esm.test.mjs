// ESM entry: `import pLimit from 'async-shape'` works as p-limit's does, and matches require().
import test from 'node:test';
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';
import pLimit, {pLimit as named, limitFunction, Pool, QueueFullError, DeadlockError, monitorEventLoop, currentStall} from 'async-shape';

const require = createRequire(import.meta.url);

test('default and named ESM exports are the CommonJS objects', async () => {
  const cjs = require('async-shape');
  assert.equal(pLimit, cjs.pLimit);
  assert.equal(named, cjs.pLimit);
  assert.equal(limitFunction, cjs.limitFunction);
  assert.equal(Pool, cjs.Pool);
  assert.equal(QueueFullError, cjs.QueueFullError);
  assert.equal(DeadlockError, cjs.DeadlockError);
  assert.equal(monitorEventLoop, cjs.monitorEventLoop);
  assert.equal(currentStall, cjs.currentStall);
  assert.deepEqual(Object.keys(await import('async-shape')).filter(k => k !== 'default').sort(), Object.keys(cjs).filter(k => k !== 'default').sort());
  const limit = pLimit(2);
  assert.deepEqual(await Promise.all([1, 2, 3].map(x => limit(async () => x * 2))), [2, 4, 6]);
});
