'use strict';
// The native layer against hostile or unlucky JS (the review of issue #13): a reaction buffer
// that could be transferred away, prototype setters and promise hooks that throw inside a native
// call, re-entrant async_hooks, a stderr nobody reads, internal functions called on the wrong kind
// of pool. Whatever JS does, the addon neither reads freed memory, nor panics (which would print
// on the user's stderr), nor leaves a queue half-settled.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const {spawn} = require('node:child_process');
const {pLimit, Pool} = require('..');
const native = require('../lib/internal/native');
const reactions = require('../lib/internal/reactions');
const {tables} = require('../lib/internal/wire');
const {runScript} = require('./helpers');

const ROOT = path.join(__dirname, '..');
const {eventLoop, pool: poolWire, combinators: combinatorsWire} = tables();

/** No panic reached the default hook's stderr line ("thread '...' panicked at"). */
function assertNoPanic(stderr) {
  assert.doesNotMatch(stderr, /panicked at|internal error/, `stderr: ${stderr}`);
}

// First in the file: the first loopCreate of this thread makes its hub with the buffer it gets.
test('loopSampleCost leaves a live in-reaction flag set', async () => {
  const id = native.loopCreate(reactions.state, 50, 1000, 16, false, 'test');
  try {
    native.loopEnable(id);
    // Called from inside a reaction (as under trackPromises), whose flag is set.
    reactions.state[eventLoop.REACTION_FLAG] = 1;
    native.loopSampleCost(100);
    assert.equal(reactions.state[eventLoop.REACTION_FLAG], 1, 'the reaction is still running');
    // While a flag left set by a reaction that threw is cleared by the next sample (this is the
    // hub's buffer).
    await new Promise(resolve => setTimeout(resolve, 30));
    assert.equal(reactions.state[eventLoop.REACTION_FLAG], 0);
  } finally {
    reactions.state[eventLoop.REACTION_FLAG] = 0;
    native.loopClose(id);
  }
});

test('the reaction buffer is a SharedArrayBuffer: it cannot be transferred or detached', () => {
  assert.ok(reactions.state.buffer instanceof SharedArrayBuffer);
  assert.equal(reactions.state.length, eventLoop.REACTION_SLOTS);
  // Node 20 throws a TypeError, Node 22 and later a DataCloneError DOMException: either way the
  // transfer is refused.
  assert.throws(
    () => structuredClone(reactions.state.buffer, {transfer: [reactions.state.buffer]}),
    error => error instanceof TypeError || (error instanceof DOMException && error.name === 'DataCloneError'),
  );
  const {port1, port2} = new MessageChannel();
  assert.throws(
    () => port1.postMessage(reactions.state.buffer, [reactions.state.buffer]),
    error => error instanceof TypeError || (error instanceof DOMException && error.name === 'DataCloneError'),
  );
  port1.close();
  port2.close();
  assert.equal(reactions.state.length, eventLoop.REACTION_SLOTS, 'still attached');
});

test('loopCreate refuses a reaction buffer that is not an Int32Array over a SharedArrayBuffer', () => {
  const bad = [
    new Int32Array(new ArrayBuffer(eventLoop.REACTION_SLOTS * 4)),
    new Int32Array(new SharedArrayBuffer(4 * (eventLoop.REACTION_SLOTS - 1))),
    new Float32Array(new SharedArrayBuffer(eventLoop.REACTION_SLOTS * 4)),
    new SharedArrayBuffer(eventLoop.REACTION_SLOTS * 4),
    [0, 0],
    undefined,
  ];
  for (const state of bad) {
    assert.throws(() => native.loopCreate(state, 50, 1000, 16, false, 'test'), {
      name: 'TypeError',
      message: new RegExp(`Int32Array of ${eventLoop.REACTION_SLOTS} over a SharedArrayBuffer`),
    });
  }
  const id = native.loopCreate(new Int32Array(new SharedArrayBuffer(eventLoop.REACTION_SLOTS * 4)), 50, 1000, 16, false, 'test');
  assert.equal(typeof id, 'number');
  native.loopClose(id);
});

test('a throwing prototype setter cannot break a native answer: clearQueue settles every cleared task, no panic', () => {
  // The native answers run no setter: lists of numbers (clear's ids) are Float64Arrays and
  // objects (stats) are own data properties. (JS that builds arrays, e.g. Pool#clear's, is as
  // exposed to such a setter as any JS.)
  const {status, stdout, stderr} = runScript(`
    const {pLimit} = require('.');
    const native = require('./lib/internal/native');
    const limit = pLimit({concurrency: 1, rejectOnClear: true});
    limit(() => new Promise(r => setTimeout(r, 50)));
    const queued = [limit(() => 'a'), limit(() => 'b')];
    const core = native.createPool(1, true, undefined, undefined);
    core.submit(0, undefined);
    const gate = core.submit(0, undefined);
    const settled = [];
    for (const [i, p] of [...queued, gate].entries()) p.then(v => settled.push(i + ' fulfilled ' + v), e => settled.push(i + ' rejected ' + (e?.name ?? e)));
    Object.defineProperty(Array.prototype, '0', {configurable: true, set() { throw new Error('setter on Array.prototype[0]'); }});
    Object.defineProperty(Object.prototype, 'completed', {configurable: true, set() { throw new Error('setter on Object.prototype.completed'); }});
    let out;
    try {
      limit.clearQueue();
      const tokens = core.clear(undefined);
      out = 'cleared ' + tokens.length + ' ' + Object.hasOwn(tokens, 0) + '; stats ' + Object.hasOwn(core.stats(false), 'completed');
    } catch (e) {
      out = 'threw ' + e.message;
    }
    delete Array.prototype[0];
    delete Object.prototype.completed;
    console.log(out);
    console.log('pending', limit.pendingCount, core.pending());
    setTimeout(() => console.log(settled.sort().join(', ')), 100);
  `);
  assert.equal(status, 0, stderr);
  assertNoPanic(stderr);
  assert.deepEqual(stdout.trim().split('\n'), [
    'cleared 1 true; stats true',
    'pending 0 0',
    `0 rejected AbortError, 1 rejected AbortError, 2 rejected ${poolWire.LEFT_PENDING}`,
  ]);
});

test('a promise hook that throws while a gate is made propagates without a panic, and the pool stays consistent', () => {
  const {status, stdout, stderr} = runScript(`
    const v8 = require('node:v8');
    const {pLimit, Pool} = require('.');
    process.on('uncaughtException', e => console.log('uncaught', e.message));
    const limit = pLimit(1);
    const pool = new Pool({concurrency: 1});
    limit(() => new Promise(r => setTimeout(r, 20)));
    pool.run(() => new Promise(r => setTimeout(r, 20)));
    let armed = false;
    const stop = v8.promiseHooks.onInit(() => {
      if (armed) {
        armed = false;
        throw new Error('init hook throws');
      }
    });
    for (const submit of [() => limit(() => 1), () => pool.run(() => 1)]) {
      armed = true;
      try {
        submit().catch(() => {});
        console.log('no throw');
      } catch (e) {
        console.log('threw', e.message);
      }
      armed = false;
    }
    stop();
    Promise.all([limit(() => 'later'), pool.run(() => 'later')]).then(v => {
      console.log(v.join(' '), limit.activeCount, limit.pendingCount, pool.activeCount, pool.pendingCount);
    });
  `);
  assert.equal(status, 0, stderr);
  assertNoPanic(stderr);
  const lines = stdout.trim().split('\n');
  assert.equal(lines.at(-1), 'later later 0 0 0 0', stdout);
});

test('internal pool functions refuse the wrong kind of pool, and a number that is no token acts on nothing', () => {
  const tracked = native.createPool(2, true, undefined, undefined);
  const untracked = native.createPool(1, false, () => {}, undefined);
  for (const [name, args] of [['submitBatch', [7, 3]], ['release', []], ['releaseTimed', [1, poolWire.FULFILLED]], ['submitPlain', [5]]]) {
    assert.throws(() => tracked[name](...args), {message: /internal API misuse/}, name);
  }
  assert.equal(tracked.pending(), 0, 'nothing was queued');
  assert.equal(typeof tracked.submit(0, undefined), 'number', 'a free slot starts the task at once');
  assert.equal(tracked.finish(1.5, poolWire.FULFILLED), poolWire.NOT_RUNNING);
  assert.equal(tracked.finish(-1, poolWire.FULFILLED), poolWire.NOT_RUNNING);
  assert.equal(tracked.remove(Number.NaN), false);
  assert.equal(tracked.armDeadline(2 ** 60, 10), poolWire.NO_DEADLINE);
  assert.equal(tracked.active(), 1, 'the running task still holds its slot');

  assert.equal(untracked.submitPlain(), undefined);
  for (const [name, args] of [
    ['finish', [1.5, poolWire.FULFILLED]],
    ['remove', [0]],
    ['lastId', []],
    ['armDeadline', [0, 5]],
    ['expire', []],
    ['nextDeadline', []],
    ['deadlocked', []],
    ['submit', [0, undefined]],
  ]) {
    assert.throws(() => untracked[name](...args), {message: /internal API misuse/}, name);
  }
  assert.equal(untracked.active(), 1, 'no slot was freed');
  assert.equal(untracked.pending(), 0);
});

test('loopSetListener: a listener set from an async_hooks init hook inside it wins, and the loser leaks nothing', () => {
  const {status, stdout, stderr} = runScript(`
    const async_hooks = require('node:async_hooks');
    const native = require('./lib/internal/native');
    const state = new Int32Array(new SharedArrayBuffer(8));
    const id = native.loopCreate(state, 10, 1000, 16, false, 'test');
    native.loopEnable(id);
    const inits = [], destroys = [];
    let nested = false;
    async_hooks.createHook({
      init(asyncId, type) {
        if (type !== 'async-shape:stall') return;
        inits.push(asyncId);
        if (!nested) {
          nested = true;
          native.loopSetListener(() => console.log('inner'));
        }
      },
      destroy(asyncId) { if (inits.includes(asyncId)) destroys.push(asyncId); },
    }).enable();
    native.loopSetListener(() => console.log('outer'));
    const busy = ms => { const t = Date.now(); while (Date.now() - t < ms); };
    setTimeout(() => {
      busy(30);
      setTimeout(() => setImmediate(() => {
        console.log('contexts', inits.length, 'destroyed', destroys.length, 'the outer one', destroys[0] === inits[0]);
        native.loopClose(id);
      }), 30);
    }, 10);
  `);
  assert.equal(status, 0, stderr);
  assertNoPanic(stderr);
  const lines = stdout.trim().split('\n');
  // Only the inner listener runs: once for the 30 ms stall, and again for any stall a loaded
  // machine adds (the process descheduled for over 10 ms).
  assert.ok(lines.length >= 2, stdout);
  assert.deepEqual([...new Set(lines.slice(0, -1))], ['inner'], stdout);
  assert.equal(lines.at(-1), 'contexts 2 destroyed 1 the outer one true');
});

test('a blocked stderr does not freeze the event loop: logBlocked writes with no lock held', async () => {
  const source = `
    const {monitorEventLoop} = require('.');
    const m = monitorEventLoop({stallThreshold: 1, logBlocked: true});
    m.enable();
    const busy = ms => { const t = Date.now(); while (Date.now() - t < ms); };
    let n = 0;
    const tick = () => {
      busy(4);
      if (++n < 1500) return setImmediate(tick);
      m.disable();
      process.stdout.write('disable() returned\\n');
      process.exit(0);
    };
    setImmediate(tick);
  `;
  // stderr is a pipe that nobody reads: it fills after a few hundred lines.
  const child = spawn(process.execPath, ['-e', source], {cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe']});
  let stdout = '';
  child.stdout.on('data', d => (stdout += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const [code, signal] = await new Promise(resolve => child.on('exit', (c, s) => resolve([c, s])));
  clearTimeout(timer);
  assert.equal(signal, null, 'the child was stuck and killed');
  assert.equal(code, 0);
  assert.equal(stdout, 'disable() returned\n');
});

test('the wire defines NO_DEADLINE once, abort codes and the cleared-name encoding', () => {
  assert.equal(combinatorsWire.NO_DEADLINE, poolWire.NO_DEADLINE);
  assert.equal(require('../lib/internal/deadline-timer').NO_DEADLINE, poolWire.NO_DEADLINE);
  assert.notEqual(combinatorsWire.ABORT_DECIDED, combinatorsWire.ABORT_UNDECIDED);
  assert.ok(combinatorsWire.ABORT_DECIDED && !combinatorsWire.ABORT_UNDECIDED, 'truthy when decided, as lib/combinators tests it');
  // clear() reports an untracked pool's task named n as CLEARED_NAME_BASE - n, below every batch id.
  const core = native.createPool(1, false, () => {}, undefined);
  core.submitPlain();
  core.submitPlain(poolWire.UNNAMED + 5).catch(() => {});
  core.submitPlain().catch(() => {});
  core.submitBatch(3, 2);
  assert.deepEqual([...core.clear(new Error('cleared'))], [poolWire.CLEARED_NAME_BASE - 5, poolWire.CLEARED_NAME_BASE, 3]);
  assert.equal(poolWire.CLEARED_NAME_BASE - poolWire.UNNAMED, -1, 'the encoding lib/pool/limit.js decodes (-id - 1)');
});

test('pLimit and Pool still work end to end after all of the above', async () => {
  const limit = pLimit(2);
  assert.deepEqual(await Promise.all([1, 2, 3].map(x => limit(() => x * 2))), [2, 4, 6]);
  const pool = new Pool({concurrency: 1});
  assert.deepEqual(await pool.map([1, 2, 3], x => x + 1), [2, 3, 4]);
});
