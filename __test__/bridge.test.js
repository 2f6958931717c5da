'use strict';
// promisify / callbackify / dezalgo / bridgeStats: never Zalgo, never a lost error, settled once.
// Includes the cases of Node's own test-util-promisify.js and test-util-callbackify.js,
// rewritten for this module.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const dns = require('node:dns');
const zlib = require('node:zlib');
const util = require('node:util');
const {inspect} = util;
const vm = require('node:vm');
const {promisify, callbackify, dezalgo, bridgeStats} = require('..');
const {delay, ticks, runScript, eventsDuring} = require('./helpers');

/** What `fn()` throws (undefined if it does not). */
const thrownBy = fn => {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
};

const warningsDuring = async fn => (await eventsDuring('warning', fn)).filter(w => w.name === 'AsyncShapeWarning');

// --- Node's test-util-promisify.js, rewritten ---

test('promisify(fs.stat) resolves like statSync and rejects with ENOENT', async () => {
  const stat = promisify(fs.stat);
  const promise = stat(__filename);
  assert.ok(promise instanceof Promise);
  assert.deepEqual(await promise, fs.statSync(__filename));
  await assert.rejects(stat('/dontexist'), e => e.message.includes('ENOENT: no such file or directory, stat'));
});

test('promisify.custom is honoured, and promisify is idempotent', () => {
  assert.equal(promisify.custom, util.promisify.custom);
  function fn() {}
  function promisified() {}
  fn[promisify.custom] = promisified;
  assert.equal(promisify(fn), promisified);
  assert.equal(promisify(promisify(fn)), promisified);
  const plain = promisify(function plain(cb) {
    cb(null, 1);
  });
  assert.equal(promisify(plain), plain);
});

test('a non-function promisify.custom is an ERR_INVALID_ARG_TYPE TypeError, as in util', () => {
  function fn() {}
  fn[promisify.custom] = 42;
  const ours = thrownBy(() => promisify(fn));
  const theirs = thrownBy(() => util.promisify(fn));
  assert.ok(ours instanceof TypeError);
  assert.equal(ours.code, theirs.code);
  assert.equal(ours.message, theirs.message);
});

test('the prototype of the original is kept (other realms too)', () => {
  const fn = vm.runInNewContext('(function() {})');
  assert.notEqual(Object.getPrototypeOf(promisify(fn)), Function.prototype);
  assert.equal(Object.getPrototypeOf(promisify(fn)), Object.getPrototypeOf(fn));
  async function* gen() {}
  const original = function named(cb) {
    cb();
  };
  original.extra = 'kept';
  const p = promisify(original);
  assert.equal(p.extra, 'kept');
  assert.equal(p.name, 'named');
  void gen;
});

test('only the first success argument, undefined for none', async () => {
  assert.equal(await promisify(cb => cb(null, 'foo', 'bar'))(), 'foo');
  assert.equal(await promisify(cb => cb(null))(), undefined);
  assert.equal(await promisify(cb => cb())(), undefined);
  assert.deepEqual(await promisify(cb => cb(null, 'foo', 'bar'), {multiArgs: true})(), ['foo', 'bar']);
});

test('this is forwarded, and arguments too', async () => {
  const o = {
    value: 7,
    get(add, cb) {
      cb(null, this.value + add);
    },
  };
  o.getAsync = promisify(o.get);
  assert.equal(await o.getAsync(3), 10);
});

test('non-functions are an ERR_INVALID_ARG_TYPE TypeError, with util’s message', () => {
  for (const value of ['foo', null, undefined, false, 0, {}, Symbol('s'), []]) {
    const ours = thrownBy(() => promisify(value));
    const theirs = thrownBy(() => util.promisify(value));
    assert.ok(ours instanceof TypeError, String(value));
    assert.equal(ours.code, 'ERR_INVALID_ARG_TYPE');
    assert.equal(ours.message, theirs.message);
  }
});

test('errors reject, falsy errors do not', async () => {
  const error = new Error('nope');
  await assert.rejects(promisify(cb => cb(error))(), e => e === error);
  assert.equal(await promisify(cb => cb(0, 'ok'))(), 'ok');
  assert.equal(await promisify(cb => cb(false, 'ok'))(), 'ok');
});

// --- Beyond util.promisify ---

test('a callback API that is synchronous on a cache hit: the caller’s code always runs first', async () => {
  const cache = new Map([['hit', 'cached']]);
  function lookup(key, cb) {
    if (cache.has(key)) return cb(null, cache.get(key));
    setImmediate(() => {
      cache.set(key, `loaded ${key}`);
      cb(null, cache.get(key));
    });
  }
  const p = promisify(lookup);
  for (const key of ['miss', 'hit', 'miss']) {
    const order = [];
    const done = p(key).then(v => order.push(v));
    order.push('after the call');
    await done;
    assert.equal(order[0], 'after the call', `${key}: ${order}`);
  }
  assert.equal(bridgeStats().lookup.syncCallbacks, 2, 'the two cache hits were counted');
});

test('a double callback: the promise keeps the first outcome and a warning names the function', async () => {
  bridgeStats({reset: true});
  const warnings = await warningsDuring(async () => {
    function readTwice(cb) {
      setImmediate(() => {
        cb(null, 'first');
        cb(new Error('lost error'));
        cb(null, 'lost value');
      });
    }
    assert.equal(await promisify(readTwice)(), 'first');
  });
  assert.equal(warnings.length, 2);
  assert.match(warnings[0].message, /readTwice/);
  assert.match(warnings[0].message, /lost error/);
  assert.equal(warnings[0].code, 'ASYNC_SHAPE_DOUBLE_CALLBACK');
  assert.match(warnings[1].message, /lost value/);
  assert.deepEqual(bridgeStats().readTwice, {syncCallbacks: 0, doubleCallbacks: 2, droppedErrors: 1});
});

test('onMisuse receives every misuse instead of warnings', async () => {
  const events = [];
  const warnings = await warningsDuring(async () => {
    const api = promisify(
      cb => {
        cb(null, 1);
        cb(null, 2);
        throw new Error('after');
      },
      {name: 'customName', onMisuse: e => events.push(e)},
    );
    assert.equal(await api(), 1);
  });
  assert.deepEqual(warnings, []);
  assert.deepEqual(
    events.map(e => [e.kind, e.name]),
    [
      ['sync-callback', 'customName'],
      ['double-callback', 'customName'],
      ['dropped-error', 'customName'],
    ],
  );
  assert.equal(events[1].value, 2);
  assert.equal(events[2].error.message, 'after');
});

test('a synchronous throw becomes a rejection', async () => {
  await assert.rejects(
    promisify(() => {
      throw new RangeError('sync');
    })(),
    RangeError,
  );
});

test('warnings back off for a function that misbehaves all the time', async () => {
  const warnings = await warningsDuring(async () => {
    const api = promisify(function chatty(cb) {
      cb(null, 1);
      cb(null, 2);
    });
    for (let i = 0; i < 40; i++) await api();
  });
  assert.deepEqual(
    warnings.map(w => Number(/\((\d+) time/.exec(w.message)[1])),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16, 32],
  );
});

test('fs.readFile, dns.lookup and zlib.gzip give what util.promisify gives', async () => {
  assert.deepEqual(await promisify(fs.readFile)(__filename, 'utf8'), await util.promisify(fs.readFile)(__filename, 'utf8'));
  assert.deepEqual(await promisify(dns.lookup)('localhost'), await util.promisify(dns.lookup)('localhost'));
  assert.deepEqual(await promisify(dns.lookup)('localhost', {all: true}), await util.promisify(dns.lookup)('localhost', {all: true}));
  const input = Buffer.from('async-shape '.repeat(100));
  const ours = await promisify(zlib.gzip)(input);
  const theirs = await util.promisify(zlib.gzip)(input);
  assert.deepEqual(zlib.gunzipSync(ours), zlib.gunzipSync(theirs));
  assert.deepEqual(ours, theirs);
  await assert.rejects(promisify(fs.readFile)('/does/not/exist'), {code: 'ENOENT'});
});

// --- Node's test-util-callbackify.js, rewritten ---

const values = ['hello world', null, undefined, false, 0, {}, {key: 'value'}, Symbol('I am a symbol'), function ok() {}, ['array', 'with', 4, 'values'], new Error('boo')];

const onceCallback = () => {
  let resolve;
  const called = new Promise(r => (resolve = r));
  let calls = 0;
  const cb = function (err, ret) {
    calls++;
    resolve({err, ret, self: this, calls: () => calls});
  };
  return {cb, called};
};

test('callbackify: the resolution value is the callback’s second argument', async () => {
  for (const value of values) {
    for (const make of [
      async () => await Promise.resolve(value),
      () => Promise.resolve(value),
      () => ({then: onRes => onRes(value)}),
    ]) {
      const {cb, called} = onceCallback();
      callbackify(make)(cb);
      const {err, ret} = await called;
      assert.equal(err, null);
      assert.equal(ret, value);
    }
  }
});

test('callbackify: the rejection reason is the first argument; falsy ones are wrapped', async () => {
  for (const value of values) {
    for (const make of [
      async () => await Promise.reject(value),
      () => Promise.reject(value),
      () => ({then: (_onRes, onRej) => onRej(value)}),
    ]) {
      const {cb, called} = onceCallback();
      callbackify(make)(cb);
      const {err, ret} = await called;
      assert.equal(ret, undefined);
      if (err instanceof Error && 'reason' in err) {
        assert.ok(!value);
        assert.equal(err.code, 'ERR_FALSY_VALUE_REJECTION');
        assert.equal(err.reason, value);
      } else {
        assert.equal(err, value);
      }
    }
  }
});

test('callbackify: arguments and `this` reach the original, `this` reaches the callback', async () => {
  for (const value of values) {
    const self = {
      fn(arg) {
        assert.equal(this, self);
        return Promise.resolve(arg);
      },
    };
    self.cbFn = callbackify(self.fn);
    const {cb, called} = onceCallback();
    self.cbFn(value, cb);
    const out = await called;
    assert.equal(out.err, null);
    assert.equal(out.ret, value);
    assert.equal(out.self, self);
  }
});

test('callbackify: non-function inputs and a non-function last argument throw ERR_INVALID_ARG_TYPE', () => {
  for (const value of ['foo', null, undefined, false, 0, {}, Symbol('s'), []]) {
    assert.throws(() => callbackify(value), {code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError', message: /^The "original" argument must be of type function\. Received /});
  }
  const cb = callbackify(async () => 42);
  const theirs = util.callbackify(async () => 42);
  const args = [];
  for (const value of ['foo', null, undefined, false, 0, {}, Symbol('s'), []]) {
    args.push(value);
    // Node's wording today: "The last argument must be of type function. Received …".
    const expected = thrownBy(() => theirs(...args)).message;
    assert.throws(() => cb(...args), {code: 'ERR_INVALID_ARG_TYPE', message: expected});
  }
});

test('callbackify: the name and length of the original, as util gives them', () => {
  async function fetchThing(a, b) {
    return a + b;
  }
  const ours = callbackify(fetchThing);
  const theirs = util.callbackify(fetchThing);
  assert.equal(ours.name, theirs.name);
  assert.equal(ours.length, theirs.length);
});

test('callbackify: a throw inside the callback is an uncaught exception, not a rejection', () => {
  const thrown = runScript(`
    const {callbackify} = require('.');
    callbackify(async () => 1)(() => { throw new Error('from the callback'); });
  `);
  assert.equal(thrown.status, 1);
  assert.match(thrown.stderr, /Error: from the callback/);
  assert.doesNotMatch(thrown.stderr, /unhandled|UnhandledPromiseRejection/i);
  const handled = runScript(`
    const {callbackify} = require('.');
    process.on('uncaughtException', e => console.log('caught', e.message));
    callbackify(() => Promise.reject(new Error('why')))(err => { throw err; });
  `);
  assert.equal(handled.status, 0, handled.stderr);
  assert.equal(handled.stdout.trim(), 'caught why');
});

// --- Beyond util.callbackify ---

test('callbackify: always asynchronous and once, also for plain values and synchronous throws', async () => {
  const order = [];
  const calls = [];
  const done = new Promise(resolve => {
    let n = 0;
    const cb = label => (err, value) => {
      calls.push([label, err?.message ?? null, value]);
      if (++n === 3) resolve();
    };
    callbackify(() => 'plain')(cb('value'));
    callbackify(() => {
      throw new Error('sync throw');
    })(cb('throw'));
    callbackify(() => ({
      then(onRes, onRej) {
        onRes('first');
        onRej(new Error('second'));
        onRes('third');
      },
    }))(cb('thenable'));
    order.push('after the calls');
  });
  assert.deepEqual(order, ['after the calls']);
  await done;
  await ticks();
  assert.deepEqual(calls.sort(), [
    ['thenable', null, 'first'],
    ['throw', 'sync throw', undefined],
    ['value', null, 'plain'],
  ]);
});

test('dezalgo: never in the registration tick; later calls run at once', async () => {
  const order = [];
  const cb = dezalgo(v => order.push(v));
  cb('sync');
  order.push('after');
  await delay(1);
  cb('later');
  assert.deepEqual(order, ['after', 'sync', 'later']);
  assert.throws(() => dezalgo(5), {code: 'ERR_INVALID_ARG_TYPE'});
});

test('bridgeStats: counts per name; reset', async () => {
  bridgeStats({reset: true});
  const api = promisify(function statsProbe(cb) {
    cb(null, 1);
  });
  await api();
  await api();
  assert.deepEqual(bridgeStats().statsProbe, {syncCallbacks: 2, doubleCallbacks: 0, droppedErrors: 0});
  assert.deepEqual(bridgeStats({reset: true}).statsProbe.syncCallbacks, 2);
  assert.equal(bridgeStats().statsProbe, undefined);
  assert.throws(() => bridgeStats({reset: 1}), {code: 'ERR_INVALID_ARG_TYPE'});
});

// --- issue 11 ---

test('promisify: the native registry of names stays bounded, and collected wrappers release theirs', () => {
  const res = runScript(
    `
    const {promisify, bridgeStats} = require('async-shape');
    const {bridgeRegistrySize} = require('./lib/bridge/bridge');
    const settle = () => new Promise(resolve => setImmediate(resolve));
    const collect = async () => {
      for (let i = 0; i < 5; i++) {
        global.gc();
        await settle();
      }
    };
    (async () => {
      const base = bridgeRegistrySize();
      // A collected wrapper with counts keeps its name until the counts are reset.
      let flaky = promisify(function flakyName(cb) { cb(null, 1); cb(null, 2); });
      process.on('warning', () => {});
      await flaky();
      flaky = null;
      // Live wrappers with distinct names: past the bound, they share one entry.
      let kept = [];
      for (let i = 0; i < 10000; i++) kept.push(promisify(cb => cb(null, i), {name: 'kept' + i}));
      const live = bridgeRegistrySize();
      // A misuse past the bound is still counted, under the shared entry.
      const late = kept[kept.length - 1];
      await late();
      const shared = bridgeStats()['(other functions)'];
      kept = null;
      // Many short-lived wrappers with distinct names.
      for (let i = 0; i < 300000; i++) promisify(cb => cb(null, i), {name: 'short' + i});
      await collect();
      const collected = bridgeRegistrySize();
      const stats = bridgeStats({reset: true});
      await collect();
      const reset = bridgeRegistrySize();
      const fresh = promisify(function freshName(cb) { cb(null, 1); });
      await fresh();
      console.log(JSON.stringify({base, live, shared, collected, flaky: stats.flakyName, reset, freshStats: bridgeStats().freshName}));
    })();
  `,
    {args: ['--expose-gc'], timeout: 120_000},
  );
  assert.equal(res.status, 0, res.stderr);
  const r = JSON.parse(res.stdout.trim().split('\n').pop());
  assert.ok(r.live - r.base <= 4097, `10,000 live names hold ${r.live - r.base} entries`);
  assert.deepEqual(r.shared, {syncCallbacks: 1, doubleCallbacks: 0, droppedErrors: 0});
  assert.deepEqual(r.flaky, {syncCallbacks: 1, doubleCallbacks: 1, droppedErrors: 0}, 'counts outlive the wrapper');
  assert.ok(r.collected - r.base <= 3, `after gc: ${r.collected - r.base} entries (flakyName, the shared entry)`);
  assert.ok(r.reset - r.base <= 1, `after reset: ${r.reset - r.base} entries (the shared entry)`);
  assert.deepEqual(r.freshStats, {syncCallbacks: 1, doubleCallbacks: 0, droppedErrors: 0});
});

test('bridge: bad input is a TypeError naming the argument', () => {
  for (const options of [5, 'x', null, Symbol('o'), 2n, true]) {
    assert.throws(() => bridgeStats(options), {name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: /"options" argument/});
  }
  for (const reset of [1, 'yes', null, Symbol('r'), 0n]) {
    assert.throws(() => bridgeStats({reset}), {name: 'TypeError', message: /"options\.reset" property/});
  }
  assert.throws(
    () =>
      bridgeStats({
        get reset() {
          throw new Error('getter threw');
        },
      }),
    {message: 'getter threw'},
  );
  const fn = cb => cb(null, 1);
  for (const name of [5, null, Symbol('n'), 2n, {}]) {
    assert.throws(() => promisify(fn, {name}), {name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: /"options\.name" property/});
  }
  for (const multiArgs of [1, 'true', null]) {
    assert.throws(() => promisify(fn, {multiArgs}), {name: 'TypeError', message: /"options\.multiArgs" property/});
  }
  for (const onMisuse of [1, 'log', null]) {
    assert.throws(() => promisify(fn, {onMisuse}), {name: 'TypeError', message: /"options\.onMisuse" property/});
  }
  for (const options of [5, null, 'x']) assert.throws(() => promisify(fn, options), {name: 'TypeError', message: /"options" argument/});
});

test('promisify: a late callback of a call whose wrapper was dropped is counted against its own name', () => {
  const {status, stdout, stderr} = runScript(
    `
    const {promisify, bridgeStats} = require('.');
    const sleep = ms => new Promise(r => setTimeout(r, ms));
    (async () => {
      let cb;
      promisify(function shortLived(c) { cb = c; })();
      for (let i = 0; i < 5; i++) { gc(); await sleep(10); }
      cb(null, 1);
      const other = promisify(function innocent(c) { c(null); });
      cb(null, 2);
      await sleep(10);
      console.log(JSON.stringify({stats: bridgeStats(), keep: typeof other}));
    })();
    process.on('warning', () => {});
  `,
    {args: ['--expose-gc']},
  );
  assert.equal(status, 0, stderr);
  const {stats} = JSON.parse(stdout);
  assert.deepEqual(Object.keys(stats), ['shortLived']);
  assert.equal(stats.shortLived.doubleCallbacks, 1);
});

// --- issue 13 ---

test('misuse kinds are the wire codes of Rust, and an unknown kind or id counts nothing', () => {
  const native = require('../lib/internal/native');
  const {room} = require('../lib/internal/wire');
  const {SYNC_CALLBACK, DOUBLE_CALLBACK, DROPPED_ERROR, NOT_COUNTED} = room('bridge');
  assert.equal(new Set([SYNC_CALLBACK, DOUBLE_CALLBACK, DROPPED_ERROR]).size, 3);
  bridgeStats({reset: true});
  const id = native.bridgeRegister('wireProbe');
  try {
    assert.equal(native.bridgeRecord(id, SYNC_CALLBACK), 1, 'counted, never warned');
    assert.equal(native.bridgeRecord(id, DOUBLE_CALLBACK), -1, 'counted, and warned: negated');
    assert.equal(native.bridgeRecord(id, DROPPED_ERROR), -1);
    assert.equal(native.bridgeRecord(id, Math.max(SYNC_CALLBACK, DOUBLE_CALLBACK, DROPPED_ERROR) + 1), NOT_COUNTED);
    assert.equal(native.bridgeRecord(2 ** 32 - 1, DOUBLE_CALLBACK), NOT_COUNTED);
    assert.deepEqual(bridgeStats({reset: true}).wireProbe, {syncCallbacks: 1, doubleCallbacks: 1, droppedErrors: 1});
  } finally {
    native.bridgeRelease(id);
  }
});

// --- issue 14: util's DEP0174, and util's own errors ---

/** The DEP0174 warnings emitted while `fn` ran, as [name, code, message]. */
const deprecationsDuring = async fn =>
  (await eventsDuring('warning', fn)).filter(w => w.code === 'DEP0174').map(w => [w.name, w.code, w.message]);

test('promisify warns DEP0174 exactly as util.promisify does: once per call whose original returns a promise', async () => {
  // util is the oracle: Node 21+ warns on each such call, Node 20 never (parity-util.test.js
  // runs this under Node 22 and 24 too).
  const originals = {
    'async, callback inside': async cb => cb(null, 1),
    'async, callback later': async cb => setImmediate(cb, null, 1),
    'a promise of another realm': cb => (setImmediate(cb, null, 1), vm.runInNewContext('Promise.resolve()')),
    'a thenable': cb => (setImmediate(cb, null, 1), {then() {}}),
    'an object': cb => (setImmediate(cb, null, 1), {}),
    undefined: cb => void setImmediate(cb, null, 1),
  };
  for (const [label, original] of Object.entries(originals)) {
    const theirs = await deprecationsDuring(async () => {
      const p = util.promisify(original);
      for (let i = 0; i < 3; i++) await p();
    });
    for (const options of [undefined, {multiArgs: true}, {onMisuse: () => {}, name: 'withHook'}]) {
      const ours = await deprecationsDuring(async () => {
        const p = promisify(original, options);
        for (let i = 0; i < 3; i++) await p();
      });
      assert.deepEqual(ours, theirs, `${label}, ${JSON.stringify(options)}`);
    }
  }
});

test('DEP0174 goes through process.emitWarning at each call, as util’s does, and the probe leaves it as it was', async () => {
  const original = process.emitWarning;
  const calls = {util: [], ours: []};
  let into = 'util';
  const replaced = (...args) => calls[into].push(args);
  process.emitWarning = replaced;
  try {
    await util.promisify(async cb => cb())();
    into = 'ours';
    await promisify(async function replacedProbe(cb) {
      cb();
    })();
    assert.equal(process.emitWarning, replaced, 'the user’s emitWarning is back in place');
  } finally {
    process.emitWarning = original;
  }
  assert.deepEqual(calls.ours, calls.util);
});

test('a falsy promisify.custom is ignored, as in util', async () => {
  for (const value of [null, 0, false, '']) {
    function fn(cb) {
      cb(null, 'plain');
    }
    fn[promisify.custom] = value;
    assert.equal(typeof util.promisify(fn), 'function');
    assert.equal(await promisify(fn)(), 'plain', String(value));
  }
});

test('the errors util would throw are util’s own: class, message, String(error), stack header', async () => {
  const same = (label, oursFn, theirsFn) => {
    const ours = thrownBy(oursFn);
    const theirs = thrownBy(theirsFn);
    assert.ok(theirs, label);
    assert.equal(Object.getPrototypeOf(ours), Object.getPrototypeOf(theirs), label);
    assert.equal(String(ours), String(theirs), label);
    assert.equal(ours.stack.split('\n')[0], theirs.stack.split('\n')[0], label);
    assert.deepEqual(Object.keys(ours), Object.keys(theirs), label);
  };
  for (const value of ['x'.repeat(40), "it's".repeat(10), 'a\nb', Symbol('s'.repeat(40)), 2n ** 100n, {constructor: {name: ''}}, null, [], 0]) {
    same(`promisify(${inspect(value)})`, () => promisify(value), () => util.promisify(value));
    same(`callbackify(${inspect(value)})`, () => callbackify(value), () => util.callbackify(value));
    same(`last argument ${inspect(value)}`, () => callbackify(async () => {})(value), () => util.callbackify(async () => {})(value));
    if (value) {
      function fn() {}
      fn[promisify.custom] = value;
      same(`custom ${inspect(value)}`, () => promisify(fn), () => util.promisify(fn));
    }
  }
  for (const reason of [null, undefined, 0, false, '']) {
    const [ours, theirs] = await Promise.all(
      [callbackify, util.callbackify].map(make => new Promise(resolve => make(() => Promise.reject(reason))(resolve))),
    );
    assert.equal(Object.getPrototypeOf(ours), Object.getPrototypeOf(theirs));
    assert.equal(String(ours), String(theirs));
    assert.equal(ours.stack.split('\n')[0], theirs.stack.split('\n')[0]);
    assert.deepEqual(Object.keys(ours), Object.keys(theirs));
    assert.equal(ours.reason, reason);
    // A synchronous falsy throw (util would let it escape) is wrapped the same way.
    const thrown = await new Promise(resolve =>
      callbackify(() => {
        throw reason;
      })(resolve),
    );
    assert.equal(String(thrown), String(theirs));
    assert.equal(thrown.reason, reason);
  }
});
