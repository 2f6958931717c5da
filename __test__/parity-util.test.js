'use strict';
// Parity with node:util, util being the oracle: the same program runs once with util's
// promisify/callbackify and once with ours, in child processes under this Node and under the
// Node 22 and 24 binaries when they are installed, with the deprecation flags a user may set.
// Each run writes a log (results, errors, warnings, uncaught exceptions, unhandled rejections,
// in the order they happened); the two logs must be equal.
//
// It covers DEP0174 (util.promisify warns, from Node 21.0.0, on every call whose original
// returns a native promise) and the README's "From util.promisify and util.callbackify" claim
// that results, errors and error codes are the same.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const {spawn} = require('node:child_process');

const ROOT = path.join(__dirname, '..');
const NODES = [
  {label: `this node (${process.version})`, bin: process.execPath},
  {label: 'Node 22', bin: '/work/nodes/node_modules/node22/bin/node'},
  {label: 'Node 24', bin: '/work/nodes/node_modules/node24/bin/node'},
];
/** Calls per DEP0174 scenario: util warns once per call, so a count of N is expected. */
const N = 4;

/** The program both implementations run. Serialized into the child: it may use only its arguments. */
function program(root, n, which) {
  const util = require('node:util');
  const vm = require('node:vm');
  const fs = require('node:fs');
  const path = require('node:path');
  const {promisify, callbackify} = which === 'util' ? util : require(root);
  const log = [];
  const show = v => util.inspect(v, {depth: 2, breakLength: Infinity});
  // An error as a user sees it: class, name, code, message, what it prints, its own keys.
  const error = e =>
    e !== null && typeof e === 'object'
      ? [e.constructor?.name, e.name, e.code, e.message, show(e.reason), String(e), e.stack?.split('\n')[0], show(Object.keys(e))]
      : ['not an object', show(e)];
  const thrownBy = fn => {
    try {
      fn();
      return ['no throw'];
    } catch (e) {
      return error(e);
    }
  };
  // AsyncShapeWarning is ours alone (double callbacks, throws after the callback): the README
  // lists it as a difference, and no scenario here misuses a callback.
  process.on('warning', w => log.push(['warning', w.name, w.code, w.message]));
  process.on('uncaughtException', e => log.push(['uncaught', ...error(e)]));
  process.on('unhandledRejection', r => log.push(['unhandled', ...error(r)]));
  const turn = () => new Promise(resolve => setImmediate(resolve));
  const settle = async (label, promise) => {
    try {
      log.push([label, 'resolved', show(await promise)]);
    } catch (e) {
      log.push([label, 'rejected', ...error(e)]);
    }
  };

  const scenarios = {
    // --- DEP0174: the original returns something ---
    async 'async function, callback inside the call'() {
      const f = promisify(async cb => cb(null, 'v'));
      for (let i = 0; i < n; i++) settle(`call ${i}`, f());
    },
    async 'async function, callback later'() {
      const f = promisify(async (i, cb) => {
        await null;
        cb(null, i);
      });
      for (let i = 0; i < n; i++) settle(`call ${i}`, f(i));
    },
    async 'a Promise subclass'() {
      class Sub extends Promise {}
      const f = promisify(cb => {
        setImmediate(cb, null, 'sub');
        return Sub.resolve();
      });
      for (let i = 0; i < n; i++) settle(`call ${i}`, f());
    },
    async 'a promise of another realm'() {
      const f = promisify(cb => {
        setImmediate(cb, null, 'realm');
        return vm.runInNewContext('Promise.resolve(1)');
      });
      for (let i = 0; i < n; i++) settle(`call ${i}`, f());
    },
    async 'a returned promise that rejects: the reason is lost'() {
      const f = promisify(async cb => {
        cb(null, 'first');
        throw new Error('lost in the returned promise');
      });
      for (let i = 0; i < n; i++) settle(`call ${i}`, f());
    },
    async 'a thenable, an object, a function, undefined: no warning'() {
      for (const returned of [{then() {}}, Object.setPrototypeOf({}, Promise.prototype), {}, () => {}, undefined, null, 0]) {
        settle(
          show(returned),
          promisify(cb => {
            setImmediate(cb, null, 'ok');
            return returned;
          })(),
        );
      }
    },
    async 'the original throws: a rejection, no warning'() {
      const f = promisify(() => {
        throw new RangeError('sync');
      });
      for (let i = 0; i < n; i++) settle(`call ${i}`, f());
    },
    async 'the wrapper of a promisified async function, used as a method'() {
      const o = {
        k: 'this',
        async m(cb) {
          cb(null, this.k);
        },
      };
      o.p = promisify(o.m);
      settle('method', o.p());
    },

    // --- README: results are the same ---
    async 'promisify: the first success value'() {
      settle('two values', promisify(cb => cb(null, 'foo', 'bar'))());
      settle('null only', promisify(cb => cb(null))());
      settle('nothing', promisify(cb => cb())());
      settle('later', promisify(cb => setImmediate(cb, null, 'x', 'y'))());
    },
    async 'promisify: falsy errors resolve, truthy ones reject with the same value'() {
      for (const e of [0, false, '', null, undefined, NaN, 0n]) settle(`falsy ${show(e)}`, promisify(cb => cb(e, 'ok'))());
      for (const e of [new Error('boom'), new TypeError('typed'), 'a string', 1, {code: 'E_PLAIN'}, Symbol('s'), 1n]) {
        const p = promisify(cb => setImmediate(cb, e))();
        await p.then(
          v => log.push(['truthy resolved?', show(v)]),
          r => log.push(['truthy rejected', show(e), r === e]),
        );
      }
    },
    async 'promisify: this and the arguments reach the original'() {
      const o = {
        base: 10,
        add(a, b, cb) {
          cb(null, [this.base + a + b, arguments.length]);
        },
      };
      o.addAsync = promisify(o.add);
      settle('method', o.addAsync(1, 2));
      settle('fewer arguments', o.addAsync(1));
      settle('call', promisify(o.add).call({base: 100}, 1, 2));
    },
    async 'promisify: Node APIs with several success values'() {
      const fd = fs.openSync(path.join(root, 'package.json'), 'r');
      try {
        const {bytesRead, buffer} = await promisify(fs.read)(fd, Buffer.alloc(8), 0, 8, 0);
        log.push(['fs.read', bytesRead, buffer.toString()]);
      } finally {
        fs.closeSync(fd);
      }
      const r = await promisify(require('node:dns').lookup)('127.0.0.1');
      log.push(['dns.lookup', show(r)]);
      const {stdout} = await promisify(require('node:child_process').execFile)(process.execPath, ['-p', '6*7']);
      log.push(['execFile', stdout]);
    },
    async 'promisify: custom, idempotence, shape'() {
      function withCustom() {}
      const custom = () => Promise.resolve('custom');
      withCustom[promisify.custom] = custom;
      log.push(['custom honoured', promisify(withCustom) === custom, custom[util.promisify.custom] === custom]);
      log.push(['same symbol', promisify.custom === Symbol.for('nodejs.util.promisify.custom')]);
      function named(a, b, cb) {
        cb(null, a + b);
      }
      named.extra = 'kept';
      const p = promisify(named);
      log.push(['idempotent', promisify(p) === p, p[promisify.custom] === p]);
      log.push(['shape', p.name, p.length, p.extra, Object.getPrototypeOf(p) === Object.getPrototypeOf(named), show(Reflect.ownKeys(p))]);
      const d = Object.getOwnPropertyDescriptor(p, promisify.custom);
      log.push(['custom descriptor', d.enumerable, d.writable, d.configurable]);
      const other = vm.runInNewContext('(function otherRealm(cb) { cb(null, 1); })');
      log.push(['other realm', Object.getPrototypeOf(promisify(other)) === Object.getPrototypeOf(other)]);
      const gen = promisify(async function* g() {});
      log.push(['async generator', Object.getPrototypeOf(gen) === Object.getPrototypeOf(async function* () {})]);
    },

    // --- README: errors and error codes are the same ---
    async 'promisify: bad input'() {
      for (const v of ['foo', null, undefined, false, 0, 1n, NaN, {}, [], Symbol('s'), new (class Foo {})(), Object.create(null), 'x'.repeat(40)]) {
        log.push(['promisify', show(v), ...thrownBy(() => promisify(v))]);
      }
      for (const v of [42, 'str', {}, null]) {
        function fn() {}
        fn[promisify.custom] = v;
        log.push(['custom', show(v), ...thrownBy(() => promisify(fn))]);
      }
    },
    async 'callbackify: results and errors'() {
      const values = ['hello', null, undefined, false, 0, '', {key: 'value'}, Symbol('sym'), function f() {}, [1, 2], new Error('boo')];
      const call = (label, original) =>
        new Promise(resolve => {
          callbackify(original)(function (err, value) {
            log.push([label, arguments.length, err === null ? 'null' : error(err), show(value)]);
            resolve();
          });
        });
      for (const v of values) await call(`resolves ${show(v)}`, async () => v);
      for (const v of values) await call(`promise ${show(v)}`, () => Promise.resolve(v));
      for (const v of values) await call(`rejects ${show(v)}`, async () => Promise.reject(v));
      for (const v of values) {
        const r = [];
        callbackify(() => Promise.reject(v))(err => {
          r.push(err === v, err?.reason === v);
          log.push(['reject identity', show(v), ...r]);
        });
        await turn();
      }
      // A falsy reason of another realm's promise is wrapped just the same.
      await call('other realm falsy', () => vm.runInNewContext('Promise.reject(0)'));
    },
    async 'callbackify: this, arguments, shape'() {
      const o = {
        k: 7,
        async m(a, b) {
          return [this?.k, a, b, arguments.length];
        },
      };
      o.c = callbackify(o.m);
      await new Promise(resolve =>
        o.c(1, 2, function (err, value) {
          log.push(['this and args', err, show(value), this === o]);
          resolve();
        }),
      );
      async function named(a, b) {
        return a + b;
      }
      const c = callbackify(named);
      log.push(['shape', c.name, c.length, Object.getPrototypeOf(c) === Function.prototype, show(Reflect.ownKeys(c))]);
      const anonymous = callbackify(async () => {});
      log.push(['anonymous shape', anonymous.name, anonymous.length]);
    },
    async 'callbackify: bad input'() {
      for (const v of ['foo', null, undefined, 1, {}, [], Symbol('s'), new (class Bar {})()]) {
        log.push(['original', show(v), ...thrownBy(() => callbackify(v))]);
      }
      const c = callbackify(async () => 1);
      for (const v of ['foo', null, undefined, 1, {}, Symbol('s')]) {
        log.push(['last argument', show(v), ...thrownBy(() => c(v))]);
      }
      log.push(['no arguments', ...thrownBy(() => c())]);
    },
    async 'callbackify: order against microtasks, and a throwing callback is uncaught'() {
      const steps = [];
      callbackify(async () => 'v')(() => steps.push('callback'));
      Promise.resolve()
        .then(() => steps.push('micro 1'))
        .then(() => steps.push('micro 2'))
        .then(() => steps.push('micro 3'));
      process.nextTick(() => steps.push('tick'));
      steps.push('sync');
      await turn();
      log.push(['order', ...steps]);
      callbackify(async () => 'v')(() => {
        throw new Error('thrown by the callback');
      });
      await turn();
      callbackify(() => Promise.reject(new Error('rejected')))(() => {
        throw new Error('thrown by the callback after a rejection');
      });
      await turn();
    },
  };

  (async () => {
    for (const [name, run] of Object.entries(scenarios)) {
      log.push(['scenario', name]);
      await run();
      await turn();
      await turn();
    }
    process.stdout.write(JSON.stringify(log));
  })();
}

function run(bin, which, {flags = [], env = {}} = {}) {
  const source = `(${program})(${JSON.stringify(ROOT)}, ${N}, ${JSON.stringify(which)})`;
  return new Promise((resolve, reject) => {
    // Nothing inherited from this run's own Node options or test runner.
    const {NODE_TEST_CONTEXT, ...inherited} = process.env;
    const child = spawn(bin, [...flags, '-e', source], {cwd: ROOT, env: {...inherited, NODE_OPTIONS: '', ...env}});
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', d => (stdout += d));
    child.stderr.on('data', d => (stderr += d));
    const timer = setTimeout(() => child.kill(), 60_000);
    child.on('error', reject);
    child.on('close', status => {
      clearTimeout(timer);
      if (status !== 0) return reject(new Error(`${bin} ${which} ${flags} exited ${status}\n${stderr}`));
      resolve({
        log: JSON.parse(stdout),
        // What Node printed: the process id and the stack frames (paths) differ between runs.
        stderr: stderr
          .replace(/\(node:\d+\)/g, '(node:PID)')
          .split('\n')
          .filter(line => !/^\s+at /.test(line)),
      });
    });
  });
}

const MODES = [
  {label: 'no flags'},
  {label: '--no-deprecation', flags: ['--no-deprecation']},
  {label: 'NODE_OPTIONS=--no-deprecation', env: {NODE_OPTIONS: '--no-deprecation'}},
  {label: 'NODE_NO_WARNINGS=1', env: {NODE_NO_WARNINGS: '1'}},
  {label: '--throw-deprecation', flags: ['--throw-deprecation']},
  {label: '--trace-deprecation', flags: ['--trace-deprecation']},
];

const DEP0174 = ['DeprecationWarning', 'DEP0174', 'Calling promisify on a function that returns a Promise is likely a mistake.'];
/** The scenarios whose every call returns a native promise: one warning per call on Node 21+. */
const RETURNING_A_PROMISE = {
  'async function, callback inside the call': N,
  'async function, callback later': N,
  'a Promise subclass': N,
  'a promise of another realm': N,
  'a returned promise that rejects: the reason is lost': N,
  'the wrapper of a promisified async function, used as a method': 1,
};

/** Per scenario, what went to the log of kind `kind`. */
function byScenario(log, kind) {
  const out = {};
  let current;
  for (const entry of log) {
    if (entry[0] === 'scenario') current = out[entry[1]] = [];
    else if (entry[0] === kind) current.push(entry.slice(1));
  }
  return out;
}

const versionOf = bin => {
  const {execFileSync} = require('node:child_process');
  return execFileSync(bin, ['-p', 'process.versions.node'], {encoding: 'utf8'}).trim();
};

for (const node of NODES) {
  test(`util parity under ${node.label}: the same log as util, every deprecation mode`, async t => {
    if (!fs.existsSync(node.bin)) {
      t.skip(`${node.bin} is not installed`);
      return;
    }
    const major = Number(versionOf(node.bin).split('.')[0]);
    // One mode at a time, util and ours side by side: at most two children on a 2-core machine.
    for (const mode of MODES) {
      const [theirs, ours] = await Promise.all([run(node.bin, 'util', mode), run(node.bin, 'ours', mode)]);
      assert.deepEqual(ours.log, theirs.log, `${node.label}, ${mode.label}: the logs differ`);
      assert.deepEqual(ours.stderr, theirs.stderr, `${node.label}, ${mode.label}: Node printed something else`);

      // The oracle itself, so that two silent logs cannot pass for the wrong reason.
      const silent = major < 21 || mode.label.includes('no-deprecation');
      const warnings = byScenario(theirs.log, 'warning');
      const uncaught = byScenario(theirs.log, 'uncaught');
      for (const scenario of Object.keys(warnings)) {
        const expected = silent || !(scenario in RETURNING_A_PROMISE) ? 0 : RETURNING_A_PROMISE[scenario];
        // --throw-deprecation turns each into an uncaught exception instead of a warning event.
        const seen = [...warnings[scenario], ...uncaught[scenario].map(([, name, code, message]) => [name, code, message])];
        const deprecations = seen.filter(w => w[1] === 'DEP0174');
        assert.equal(deprecations.length, expected, `${node.label}, ${mode.label}, ${scenario}: ${JSON.stringify(seen)}`);
        for (const w of deprecations) assert.deepEqual(w, DEP0174);
        if (mode.label === '--throw-deprecation') assert.equal(warnings[scenario].filter(w => w[1] === 'DEP0174').length, 0);
      }
      if (!silent && mode.label === 'no flags') {
        const printed = theirs.stderr.filter(line => line.includes('[DEP0174]'));
        assert.equal(printed.length, Object.values(RETURNING_A_PROMISE).reduce((a, b) => a + b), 'util prints each warning');
      }
    }
  });
}

// The README's "What changes" sentence, checked against util in this process: each difference it
// names is one, and the one it names that util shares is pinned here so it cannot be mistaken
// for a difference again.
test('README "What changes": the differences from util it names are real', async () => {
  const util = require('node:util');
  const {promisify, callbackify} = require('..');
  const thrownBy = fn => {
    try {
      fn();
    } catch (error) {
      return error;
    }
    return undefined;
  };
  const callbackOf = (make, original) => new Promise(resolve => make(original)((...args) => resolve(args)));

  // "callbackify tolerates plain values and synchronous throws": util throws synchronously.
  assert.ok(thrownBy(() => util.callbackify(() => 42)(() => {})) instanceof TypeError);
  assert.deepEqual(await callbackOf(callbackify, () => 42), [null, 42]);
  const boom = new Error('sync');
  const sync = () => {
    throw boom;
  };
  assert.equal(thrownBy(() => util.callbackify(sync)(() => {})), boom);
  assert.deepEqual(await callbackOf(callbackify, sync), [boom]);

  // "double callbacks warn": util drops the second outcome silently; ours keeps the first and
  // reports the second (bridge.test.js covers the warning itself).
  const twice = cb => setImmediate(() => (cb(null, 'first'), cb(null, 'second')));
  assert.equal(await util.promisify(twice)(), 'first');
  const events = [];
  assert.equal(await promisify(twice, {onMisuse: e => events.push(e.kind)})(), 'first');
  await new Promise(resolve => setImmediate(resolve));
  assert.deepEqual(events, ['double-callback']);

  // "synchronous throws reject instead of escaping" holds for callbackify only: util.promisify
  // rejects a synchronous throw too (its Promise executor catches it), with the same error.
  const theirs = util.promisify(sync)();
  await assert.rejects(theirs, e => e === boom);
  await assert.rejects(promisify(sync)(), e => e === boom);
});
