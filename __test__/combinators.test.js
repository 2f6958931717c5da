'use strict';
// all / allSettled / race / any / timeout / stream: cancellation that actually happens.

const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const {getEventListeners} = require('node:events');
const {all, allSettled, race, any, timeout, stream, Pool} = require('..');
const {liveGroups} = require('../lib/combinators/group');
const {delay, ticks, deferred, runScript, floorGrowthInChild, noUnhandledRejections} = require('./helpers');

/** A task that resolves (or rejects) after `ms` unless its signal aborts first. */
const after = (ms, value, {fail = false, log} = {}) => ({signal}) =>
  new Promise((resolve, reject) => {
    log?.started.push(value);
    const timer = setTimeout(() => (fail ? reject(new Error(String(value))) : resolve(value)), ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      log?.aborted.push([value, signal.reason]);
      reject(signal.reason);
    });
  });

test('race: the losers are aborted, with a reason, before the caller sees the winner', async () => {
  const log = {started: [], aborted: []};
  const winner = await race([after(200, 'slow', {log}), after(5, 'fast', {log}), after(300, 'slower', {log})]);
  assert.equal(winner, 'fast');
  assert.deepEqual(log.aborted.map(([v]) => v).sort(), ['slow', 'slower'], 'aborted before the caller resumed');
  for (const [, reason] of log.aborted) {
    assert.ok(reason instanceof DOMException && reason.name === 'AbortError', String(reason));
  }
});

test('race: a rejecting winner also aborts the losers (p-race does not)', async () => {
  const log = {started: [], aborted: []};
  await assert.rejects(race([after(200, 'slow', {log}), after(5, 'boom', {fail: true, log})]), {message: 'boom'});
  assert.deepEqual(log.aborted.map(([v]) => v), ['slow']);
});

test('all: on the first rejection nothing more starts and the running are aborted', async () => {
  const log = {started: [], aborted: []};
  const tasks = [after(50, 0, {log}), after(5, 1, {fail: true, log}), after(50, 2, {log}), after(50, 3, {log}), after(50, 4, {log})];
  await assert.rejects(all(tasks, {concurrency: 2}), {message: '1'});
  await delay(80);
  assert.deepEqual(log.started, [0, 1], 'no task started after the failure');
  assert.deepEqual(log.aborted.map(([v]) => v), [0]);
});

test('all: results in input order; plain promises and values are accepted', async () => {
  assert.deepEqual(await all([after(20, 'a'), Promise.resolve('b'), 'c', after(5, 'd')]), ['a', 'b', 'c', 'd']);
  assert.deepEqual(await all(new Set([() => 1, () => 2])), [1, 2]);
});

test('all with concurrency: at most N run; synchronous tasks do not overflow the stack', async () => {
  let running = 0;
  let max = 0;
  const tasks = Array.from({length: 30}, (_, i) => async () => {
    max = Math.max(max, ++running);
    await delay(2);
    running--;
    return i;
  });
  const results = await all(tasks, {concurrency: 3});
  assert.equal(max, 3);
  assert.deepEqual(results, Array.from({length: 30}, (_, i) => i));
  const sync = await all(Array.from({length: 100_000}, (_, i) => () => i), {concurrency: 1});
  assert.equal(sync.length, 100_000);
});

test('allSettled: every outcome in input order; per-task timeouts abort', async () => {
  const settled = await allSettled([after(10, 'ok'), after(5, 'bad', {fail: true}), after(5000, 'too slow')], {timeout: 50});
  assert.deepEqual(settled[0], {status: 'fulfilled', value: 'ok'});
  assert.equal(settled[1].status, 'rejected');
  assert.equal(settled[1].reason.message, 'bad');
  assert.equal(settled[2].status, 'rejected');
  assert.equal(settled[2].reason.name, 'TimeoutError');
});

test('any: the first fulfilment wins and aborts the rest; all rejected is an AggregateError in input order', async () => {
  const log = {started: [], aborted: []};
  assert.equal(await any([after(5, 'e', {fail: true, log}), after(15, 'win', {log}), after(300, 'slow', {log})]), 'win');
  assert.deepEqual(log.aborted.map(([v]) => v), ['slow']);
  const error = await any([after(20, 'first', {fail: true}), after(5, 'second', {fail: true})]).catch(e => e);
  assert.ok(error instanceof AggregateError);
  assert.deepEqual(
    error.errors.map(e => e.message),
    ['first', 'second'],
  );
});

test('empty inputs: [] for all/allSettled, AggregateError for any, RangeError for race', async () => {
  assert.deepEqual(await all([]), []);
  assert.deepEqual(await allSettled([]), []);
  await assert.rejects(any([]), e => e instanceof AggregateError && e.errors.length === 0);
  await assert.rejects(race([]), RangeError);
});

test('one-shot iterators are read exactly once', async () => {
  function* tasks() {
    yield () => 'first';
    yield () => 'second';
  }
  assert.equal(await race(tasks()), 'first');
  const gen = tasks();
  assert.deepEqual(await all(gen), ['first', 'second']);
  assert.deepEqual(await all(gen), [], 'the generator was consumed by the first call');
});

test('an outer signal aborts everything with its reason', async () => {
  const log = {started: [], aborted: []};
  const ac = new AbortController();
  const p = allSettled([after(500, 'a', {log}), after(500, 'b', {log}), after(500, 'c', {log})], {signal: ac.signal, concurrency: 2});
  await ticks();
  const reason = new Error('shutdown');
  ac.abort(reason);
  await assert.rejects(p, e => e === reason);
  assert.deepEqual(log.started, ['a', 'b']);
  assert.deepEqual(log.aborted.map(([v, r]) => [v, r === reason]), [['a', true], ['b', true]]);
  await assert.rejects(race([() => 1], {signal: AbortSignal.abort(reason)}), e => e === reason);
});

test('a task that never reads its signal costs no controller, and still works', async () => {
  assert.deepEqual(await all([() => 1, async () => 2]), [1, 2]);
  // A task that reads its signal only after the verdict sees it already aborted.
  let late;
  const gate = deferred();
  const p = race([async () => 'fast', async ctx => {
    await gate.promise;
    late = ctx.signal;
  }]);
  assert.equal(await p, 'fast');
  gate.resolve();
  await ticks();
  assert.equal(late.aborted, true);
  // A task that settles synchronously decides a race before the later tasks start: they are
  // never called (they would only be aborted at once).
  let called = false;
  assert.equal(await race([() => 'sync', () => (called = true)]), 'sync');
  assert.equal(called, false);
});

test('timeout: aborts at the deadline with a TimeoutError; settles early otherwise', async () => {
  let seen;
  await assert.rejects(
    timeout(({signal}) => new Promise(() => signal.addEventListener('abort', () => (seen = signal.reason))), 20),
    e => e instanceof DOMException && e.name === 'TimeoutError',
  );
  assert.equal(seen.name, 'TimeoutError');
  assert.equal(await timeout(async () => 'quick', 5000), 'quick');
  assert.equal(await timeout(Promise.resolve('a promise'), 5000), 'a promise');
  assert.equal(await timeout(() => 'no timer', Infinity), 'no timer');
  const ac = new AbortController();
  const p = timeout(() => new Promise(() => {}), 5000, {signal: ac.signal});
  ac.abort(new Error('cancel'));
  await assert.rejects(p, {message: 'cancel'});
});

test('timeout: the timer keeps the process alive while the task runs, and is cleared when it settles', () => {
  const running = runScript(`
    const {timeout} = require('.');
    timeout(() => new Promise(() => {}), 200).catch(e => console.log(e.name));
  `);
  assert.equal(running.status, 0, running.stderr);
  assert.equal(running.stdout.trim(), 'TimeoutError');
  const settled = runScript(`
    const {timeout, all} = require('.');
    timeout(async () => 1, 600000).then(v => console.log('settled', v));
    all([() => 2], {timeout: 600000}).then(v => console.log('all', v[0]));
  `);
  assert.equal(settled.status, 0, settled.stderr);
  assert.ok(settled.ms < 15_000, `exited after ${settled.ms} ms`);
  assert.deepEqual(settled.stdout.trim().split('\n').sort(), ['all 2', 'settled 1']);
});

test('10,000 combinator calls on one long-lived signal leave no listener and no group', async () => {
  const ac = new AbortController();
  const warnings = [];
  const onWarning = w => warnings.push(w);
  process.on('warning', onWarning);
  const calls = [];
  for (let i = 0; i < 2500; i++) {
    calls.push(all([async () => i], {signal: ac.signal}));
    calls.push(race([async () => i, Promise.resolve(i)], {signal: ac.signal}));
    calls.push(any([async () => i], {signal: ac.signal}));
    calls.push(timeout(async () => i, 60_000, {signal: ac.signal}));
  }
  assert.equal(getEventListeners(ac.signal, 'abort').length, 1);
  await Promise.all(calls);
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
  assert.equal(liveGroups(), 0);
  await ticks();
  process.off('warning', onWarning);
  assert.deepEqual(warnings.filter(w => w.name === 'MaxListenersExceededWarning'), []);
});

test('bad input: clear errors naming the argument', async () => {
  await assert.rejects(all(42), {name: 'TypeError', message: /`tasks` to be an iterable/});
  await assert.rejects(all([], {concurrency: 0}), {message: /`concurrency`/});
  await assert.rejects(allSettled([], {timeout: -1}), {name: 'RangeError', message: /`timeout`/});
  await assert.rejects(race([], {signal: 'x'}), {message: /`signal` to be an AbortSignal/});
  await assert.rejects(any(null), {message: /`tasks`/});
  await assert.rejects(timeout(42, 10), {message: /`task` to be a function/});
  await assert.rejects(timeout(() => 1, 'soon'), {message: /`ms`/});
  // Issue 14: Infinity is pMapIterable's default; a backpressure below concurrency is refused.
  assert.throws(() => stream([1], x => x, {concurrency: 2, backpressure: 1}), {name: 'TypeError', message: /`backpressure`/});
  assert.throws(() => stream(5, x => x, {concurrency: 1}), {message: /`input` to be an Iterable or AsyncIterable/});
  assert.throws(() => stream([1], 'f', {concurrency: 1}), {message: /`mapper` to be a function/});
  assert.throws(() => stream([1], x => x, {concurrency: 1, ordered: 'yes'}), {message: /`ordered`/});
});

test('internals cause no unhandledRejection', () => {
  const {status, stdout, stderr} = runScript(`
    const {all, allSettled, race, any, timeout, stream} = require('.');
    const seen = [];
    process.on('unhandledRejection', r => seen.push(String(r && r.message)));
    const fail = ms => () => new Promise((_, j) => setTimeout(j, ms, new Error('late ' + ms)));
    (async () => {
      const slow = Promise.reject(new Error('plain, waiting for a slot'));
      await Promise.allSettled([
        all([fail(1), fail(5), fail(10)]),
        all([() => new Promise(r => setTimeout(r, 20)), slow], {concurrency: 1}),
        race([fail(1), fail(5)]),
        any([fail(1), fail(2)]),
        allSettled([fail(1)], {timeout: 1}),
        timeout(fail(30), 1),
      ]);
      try { for await (const x of stream([1, 2, 3], async x => { if (x === 2) throw new Error('s'); return x }, {concurrency: 3})); } catch {}
      await new Promise(r => setTimeout(r, 60));
      console.log(JSON.stringify(seen));
    })();
  `);
  assert.equal(status, 0, stderr);
  assert.deepEqual(JSON.parse(stdout), []);
});

test('real cancellation: the server sees the losers’ connections closed', async () => {
  const closed = [];
  const server = http.createServer((req, res) => {
    const id = req.url.slice(1);
    req.on('close', () => {
      if (!res.writableEnded) closed.push(id);
    });
    const ms = Number(new URL(req.url, 'http://x').searchParams.get('ms') ?? 0);
    setTimeout(() => {
      if (!res.destroyed) res.end(id);
    }, ms);
  });
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  const get = (id, ms) => async ({signal}) => (await fetch(`${base}/${id}?ms=${ms}`, {signal})).text();
  try {
    const winner = await race([get('slow-a', 5000), get('fast', 10), get('slow-b', 5000)]);
    assert.ok(winner.startsWith('fast'));
    for (let i = 0; i < 100 && closed.length < 2; i++) await delay(20);
    assert.deepEqual(closed.map(c => c.split('?')[0]).sort(), ['slow-a', 'slow-b']);
  } finally {
    server.closeAllConnections?.();
    await new Promise(resolve => server.close(resolve));
  }
});

test('stream: ordered, unordered, and at most `concurrency` in flight', async () => {
  let running = 0;
  let max = 0;
  const mapper = async x => {
    max = Math.max(max, ++running);
    await delay((7 - x) * 2);
    running--;
    return x * 10;
  };
  const ordered = [];
  for await (const v of stream([1, 2, 3, 4, 5, 6], mapper, {concurrency: 3})) ordered.push(v);
  assert.deepEqual(ordered, [10, 20, 30, 40, 50, 60]);
  assert.equal(max, 3);
  const unordered = [];
  for await (const v of stream([1, 2, 3, 4, 5, 6], mapper, {concurrency: 6, ordered: false})) unordered.push(v);
  assert.deepEqual([...unordered].sort((a, b) => a - b), [10, 20, 30, 40, 50, 60]);
  assert.notDeepEqual(unordered, [10, 20, 30, 40, 50, 60], 'landing order, not input order');
});

test('stream: backpressure — a consumer that stops pulling stops the reading', async () => {
  let pulled = 0;
  function* source() {
    for (;;) yield pulled++;
  }
  const it = stream(source(), x => x, {concurrency: 4})[Symbol.asyncIterator]();
  assert.equal((await it.next()).value, 0);
  await delay(20);
  assert.ok(pulled <= 1 + 4 + 1, `read ${pulled} items while the consumer held one`);
  await it.return();
});

test('stream: the source is closed on break, on error and on abort; mappers see the abort', async () => {
  const closes = [];
  const source = name =>
    (function* () {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        closes.push(name);
      }
    })();
  for await (const v of stream(source('break'), x => x, {concurrency: 2})) if (v === 3) break;
  await assert.rejects(
    (async () => {
      for await (const v of stream(source('error'), x => { if (x === 5) throw new Error('bad item'); return x; }, {concurrency: 2})) void v;
    })(),
    {message: 'bad item'},
  );
  const ac = new AbortController();
  const aborted = [];
  const consume = (async () => {
    for await (const v of stream(source('abort'), (x, _i, {signal}) => new Promise(resolve => {
      signal.addEventListener('abort', () => { aborted.push(x); resolve(x); });
    }), {concurrency: 2, signal: ac.signal})) void v;
  })();
  await ticks();
  ac.abort(new Error('stop'));
  await assert.rejects(consume, {message: 'stop'});
  assert.deepEqual(closes.sort(), ['abort', 'break', 'error']);
  assert.deepEqual(aborted.sort(), [0, 1]);
});

test('stream: async sources, and pool.stream shares the pool', async () => {
  async function* source() {
    for (let i = 0; i < 5; i++) {
      await delay(1);
      yield i;
    }
  }
  const pool = new Pool({concurrency: 2});
  const out = [];
  for await (const v of pool.stream(source(), async x => x + 1)) out.push(v);
  assert.deepEqual(out, [1, 2, 3, 4, 5]);
  assert.equal(pool.stats().completed, 5);
  // Issue 14: a pool of unbounded concurrency streams with unbounded read-ahead, as stream()'s default.
  const unbounded = [];
  for await (const v of new Pool().stream([1, 2], async x => x + 1)) unbounded.push(v);
  assert.deepEqual(unbounded, [2, 3]);
});

test('stream over 1,000,000 items at concurrency 16: heap stays flat', {timeout: 240_000}, () => {
  // In a fresh process: in this one, garbage from earlier tests can land in any sample.
  const {status, stdout, stderr} = runScript(
    `
    const {stream} = require('.');
    (async () => {
      let n = 0;
      let last;
      const samples = [];
      function* items() {
        for (let i = 0; i < 1_000_000; i++) yield i;
      }
      for await (const v of stream(items(), x => Promise.resolve(x), {concurrency: 16})) {
        n++;
        last = v;
        if (n % 200_000 === 0) {
          global.gc();
          samples.push(process.memoryUsage().heapUsed);
        }
      }
      console.log(JSON.stringify({n, last, samples}));
    })();
  `,
    {timeout: 200_000, args: ['--expose-gc']},
  );
  assert.equal(status, 0, stderr);
  const {n, last, samples} = JSON.parse(stdout);
  assert.equal(n, 1_000_000);
  assert.equal(last, 999_999);
  const growth = samples[samples.length - 1] - samples[0];
  const mib = samples.map(b => (b / 1048576).toFixed(1)).join(' ');
  assert.ok(growth < 4 * 1024 * 1024, `heap grew ${(growth / 1048576).toFixed(1)} MiB between 200k and 1M items (MiB: ${mib})`);
});

test('a million combinator tasks: memory stays flat', {timeout: 180_000}, () => {
  const {growth, samples, report} = floorGrowthInChild(`
    const {all} = require('async-shape');
    const batch = () => all(Array.from({length: 100_000}, (_, i) => () => Promise.resolve(i)), {concurrency: 64});
    const report = () => require('./lib/combinators/group').liveGroups();
  `);
  const mib = (growth / 1048576).toFixed(1);
  assert.ok(growth < 4 * 1024 * 1024, `floor grew ${mib} MiB over 1,100,000 tasks; MiB after each batch: ${samples.join(' ')}`);
  assert.equal(report, 0);
});

test('plain promises only: native speed, and the outer signal still rejects early', async () => {
  const ac = new AbortController();
  const never = new Promise(() => {});
  const p = all([never, Promise.resolve(1)], {signal: ac.signal});
  assert.equal(getEventListeners(ac.signal, 'abort').length, 1);
  ac.abort(new Error('gave up'));
  await assert.rejects(p, {message: 'gave up'});
  const ac2 = new AbortController();
  assert.deepEqual(await allSettled([Promise.reject(new Error('x')), 2], {signal: ac2.signal}).then(r => r.map(o => o.status)), ['rejected', 'fulfilled']);
  assert.equal(await race([new Promise(r => setTimeout(r, 5, 'p')), never], {signal: ac2.signal}), 'p');
  assert.equal(await any([Promise.reject(new Error('a')), Promise.resolve('b')], {signal: ac2.signal}), 'b');
  assert.equal(getEventListeners(ac2.signal, 'abort').length, 0);
  // With a timeout, plain promises go through the group: an overdue one rejects.
  const [late] = await allSettled([never], {timeout: 10});
  assert.equal(late.reason.name, 'TimeoutError');
});

// --- issue 11 ---

/** next() then `close(it)` at once; what settles, in which order, and what next() gives after. */
async function closeWhileNextPending(it, close, {beforeSettling = () => {}, wait = 0} = {}) {
  const log = [];
  const first = it.next().then(
    r => log.push(['next', r]),
    e => log.push(['next rejected', e]),
  );
  await ticks(wait);
  assert.deepEqual(log, [], 'next() is pending');
  const closing = close(it).then(
    r => log.push(['close', r]),
    e => log.push(['close rejected', e]),
  );
  beforeSettling();
  const hung = Symbol('hung');
  const outcome = await Promise.race([Promise.all([first, closing]), delay(10_000).then(() => hung)]);
  assert.notEqual(outcome, hung, `did not settle: ${JSON.stringify(log)}`);
  return {log, after: await it.next()};
}

test('stream: a next() pending when return() or throw() is called settles as an async generator settles it', async () => {
  const error = new Error('thrown in');
  const closes = [['return', it => it.return('x')], ['throw', it => it.throw(error)]];
  for (const [name, close] of closes) {
    // A real async generator, whose pending step ends without a value once its await resolves.
    const gate = deferred();
    async function* generator() {
      await gate.promise;
    }
    const expected = await closeWhileNextPending(generator(), close, {beforeSettling: () => gate.resolve()});
    // The stream's pending step will never end by itself: its mapper never settles.
    const signals = [];
    const s = stream(
      [1, 2, 3],
      (x, i, {signal}) => {
        signals.push(signal);
        return new Promise(() => {});
      },
      {concurrency: 2},
    );
    const actual = await closeWhileNextPending(s, close, {wait: 2});
    assert.deepEqual(actual, expected, name);
    assert.deepEqual(expected.log.map(([what]) => what), ['next', name === 'return' ? 'close' : 'close rejected']);
    assert.equal(signals.length, 2, `${name}: two mappers started`);
    assert.ok(signals.every(signal => signal.aborted), `${name}: the mappers are aborted`);
  }
});

test('race, any, all: a plain rejected input after a synchronous decider is observed, never unhandled', async () => {
  const seen = await noUnhandledRejections(async () => {
    assert.equal(await race([() => 1, Promise.reject(new Error('race loser'))]), 1);
    assert.equal(await any([() => 1, Promise.reject(new Error('any loser'))]), 1);
    const e = new Error('first');
    await assert.rejects(
      all([
        () => {
          throw e;
        },
        Promise.reject(new Error('second')),
      ]),
      e,
    );
    await assert.rejects(
      allSettled([() => new Promise(() => {}), Promise.reject(new Error('late'))], {timeout: 1}).then(() => {
        throw new Error('settled');
      }),
      {message: 'settled'},
    );
    // A plain value decides as well, and a thenable input is observed as Promise.race would.
    assert.equal(await race([1, () => 2, Promise.reject(new Error('after a value'))]), 1);
    // Returned early: an aborted signal, bad options.
    const ac = new AbortController();
    ac.abort(new Error('aborted'));
    await assert.rejects(race([() => 1, Promise.reject(new Error('never raced'))], {signal: ac.signal}), {message: 'aborted'});
    await assert.rejects(all([() => 1, Promise.reject(new Error('bad options'))], {concurrency: -1}), TypeError);
    // Decided by the outer signal while a plain input is still pending.
    const ac2 = new AbortController();
    const pending = deferred();
    const racing = all([() => new Promise(() => {}), pending.promise], {signal: ac2.signal});
    ac2.abort(new Error('stop'));
    await assert.rejects(racing, {message: 'stop'});
    pending.reject(new Error('rejected after the verdict'));
    await ticks(3);
  });
  assert.deepEqual(
    seen.map(e => e.message),
    [],
  );
});

test('all/allSettled: a concurrency above 2**32 is a very high limit, never wrapped to 32 bits', async () => {
  for (const concurrency of [2 ** 32 + 1, 2 ** 32, 2 ** 53, 1e300, Number.POSITIVE_INFINITY, 2]) {
    let running = 0;
    let most = 0;
    const task = async () => {
      running++;
      most = Math.max(most, running);
      await ticks(2);
      running--;
      return running;
    };
    const tasks = Array.from({length: 5}, () => task);
    await all(tasks, {concurrency});
    assert.equal(most, concurrency === 2 ? 2 : 5, `all at concurrency ${concurrency}`);
    most = 0;
    await allSettled(tasks, {concurrency});
    assert.equal(most, concurrency === 2 ? 2 : 5, `allSettled at concurrency ${concurrency}`);
  }
});

test('combinators: bad input is a TypeError or RangeError naming the argument, never a crash or hang', async () => {
  const throwingGetter = {
    get concurrency() {
      throw new Error('getter threw');
    },
  };
  const broken = {
    [Symbol.iterator]() {
      throw new Error('broken iterable');
    },
  };
  const trap = new Proxy([], {
    get() {
      throw new Error('proxy trap');
    },
  });
  const task = () => 1;
  const cases = [];
  for (const [name, fn] of [
    ['all', all],
    ['allSettled', allSettled],
    ['race', race],
    ['any', any],
  ]) {
    for (const tasks of [5, null, undefined, Symbol('s'), 2n, {}]) cases.push([`${name}(${String(tasks)})`, () => fn(tasks), TypeError, /`tasks`/]);
    cases.push([`${name}(broken)`, () => fn(broken), Error, /broken iterable/]);
    cases.push([`${name}(proxy)`, () => fn(trap), Error, /proxy trap/]);
    for (const options of [5, null, 'x', Symbol('o'), 1n]) cases.push([`${name} options ${String(options)}`, () => fn([task], options), TypeError, /`options`/]);
    for (const signal of [5, {}, 'x', null]) cases.push([`${name} signal ${String(signal)}`, () => fn([task], {signal}), TypeError, /`signal`/]);
  }
  for (const [name, fn] of [
    ['all', all],
    ['allSettled', allSettled],
  ]) {
    for (const concurrency of [Number.NaN, -1, 0, 1.5, Number.NEGATIVE_INFINITY, '2', Symbol('c'), 2n, null, {}]) {
      cases.push([`${name} concurrency ${String(concurrency)}`, () => fn([task], {concurrency}), TypeError, /`concurrency`/]);
    }
    for (const timeout of [Number.NaN, '1', Symbol('t'), 2n, null]) {
      cases.push([`${name} timeout ${String(timeout)}`, () => fn([task], {timeout}), TypeError, /`timeout`/]);
    }
    for (const timeout of [-1, Number.NEGATIVE_INFINITY]) {
      cases.push([`${name} timeout ${timeout}`, () => fn([task], {timeout}), RangeError, /`timeout`/]);
    }
    cases.push([`${name} throwing getter`, () => fn([task], throwingGetter), Error, /getter threw/]);
  }
  for (const bad of [{}, 5, null, undefined, 'task', Symbol('t'), 3n, [task]]) {
    cases.push([`timeout(${typeof bad})`, () => timeout(bad, 10), TypeError, /`task`/]);
  }
  for (const ms of [Number.NaN, '1', Symbol('ms'), 2n, undefined, null, {}]) {
    cases.push([`timeout ms ${String(ms)}`, () => timeout(task, ms), TypeError, /`ms`/]);
  }
  for (const ms of [-1, Number.NEGATIVE_INFINITY, -(2 ** 53)]) cases.push([`timeout ms ${ms}`, () => timeout(task, ms), RangeError, /`ms`/]);
  cases.push(['timeout options', () => timeout(task, 10, 5), TypeError, /`options`/]);
  cases.push(['timeout signal', () => timeout(task, 10, {signal: 'x'}), TypeError, /`signal`/]);
  for (const [what, call, type, message] of cases) {
    let result;
    assert.doesNotThrow(() => {
      result = call();
    }, what);
    await assert.rejects(result, error => error instanceof type && message.test(error.message), what);
  }
  // Large and infinite timeouts are no timeout at all, not an overflow.
  assert.equal(await timeout(() => 'ok', Number.POSITIVE_INFINITY), 'ok');
  assert.equal(await timeout(() => 'ok', 2 ** 53), 'ok');
  assert.equal(await timeout(Promise.resolve('p'), 2 ** 32 + 1), 'p');
  assert.equal(await timeout({then: resolve => resolve('thenable')}, 10), 'thenable');
  assert.deepEqual(await allSettled([task], {timeout: 2 ** 53}), [{status: 'fulfilled', value: 1}]);
  assert.equal(liveGroups(), 0);
});

test('stream: bad input is a TypeError naming the argument', () => {
  const cases = [
    [() => stream(5, x => x, {concurrency: 1}), /`input`/],
    [() => stream([1], 5, {concurrency: 1}), /`mapper`/],
    [() => stream([1], x => x, 5), /`options`/],
    [() => stream([1], x => x, {concurrency: 1, ordered: 'yes'}), /`ordered`/],
    [() => stream([1], x => x, {concurrency: 1, signal: {}}), /`signal`/],
  ];
  // Issue 14: undefined and Infinity are valid (pMapIterable's default is Infinity).
  for (const concurrency of [null, Number.NaN, 0, -1, 1.5, Number.NEGATIVE_INFINITY, '2', Symbol('c'), 2n]) {
    cases.push([() => stream([1], x => x, {concurrency}), /`concurrency`/]);
  }
  for (const [call, message] of cases) assert.throws(call, error => error instanceof TypeError && message.test(error.message));
});

test('early exits observe their inputs: timeout() rejecting early, an iterable that throws mid-way, a hostile Proxy', async () => {
  const seen = await noUnhandledRejections(async () => {
    await assert.rejects(timeout(Promise.reject(new Error('input')), 100, {signal: AbortSignal.abort()}), {name: 'AbortError'});
    await assert.rejects(timeout(Promise.reject(new Error('input2')), Number.NaN), TypeError);
    const yieldsThenThrows = function* () {
      yield Promise.reject(new Error('read before the throw'));
      throw new Error('iter');
    };
    for (const group of [all, allSettled, race, any]) {
      await assert.rejects(group(yieldsThenThrows()), {message: 'iter'});
    }
    const hostile = new Proxy([() => 1], {
      get(target, key) {
        if (key === 'length') throw new Error('len');
        return target[key];
      },
    });
    // A Promise, never a synchronous throw.
    const raced = race(hostile);
    assert.ok(raced instanceof Promise);
    await assert.rejects(raced, {message: 'len'});
  });
  assert.deepEqual(seen, []);
});

test('stream: a source that fails after return() or after a mapper error is ignored, as by an async generator', async () => {
  const failLater = async function* () {
    await delay(20);
    throw new Error('source failed');
  };
  const it = stream(failLater(), async x => x, {concurrency: 1})[Symbol.asyncIterator]();
  const pending = it.next();
  await delay(5);
  assert.deepEqual(await it.return(), {value: undefined, done: true});
  assert.deepEqual(await pending, {value: undefined, done: true});
  await delay(40);
  assert.deepEqual(await it.next(), {value: undefined, done: true});

  const slowFail = async function* () {
    yield 1;
    await delay(20);
    throw new Error('source failed');
  };
  const it2 = stream(slowFail(), async () => {
    throw new Error('mapper');
  }, {concurrency: 2})[Symbol.asyncIterator]();
  await assert.rejects(it2.next(), {message: 'mapper'});
  await delay(40);
  assert.deepEqual(await it2.next(), {value: undefined, done: true});
});

test('stream: the outer signal has no listener left once the last value is taken', async () => {
  const ac = new AbortController();
  const it = stream([1, 2], async x => x, {concurrency: 2, signal: ac.signal})[Symbol.asyncIterator]();
  assert.deepEqual(await it.next(), {value: 1, done: false});
  assert.deepEqual(await it.next(), {value: 2, done: false});
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
});

// --- issue 13 ---

test('the native group speaks the wire protocol: policies, settle answers and NO_DEADLINE are Rust constants', () => {
  const {groupApi} = require('../lib/internal/native');
  const {room} = require('../lib/internal/wire');
  const {ALL, ALL_SETTLED, RACE, ANY, NO_LIMIT, WAIT, FULFIL, REJECT_WITH_THIS, REJECT_ALL, IGNORED, NO_DEADLINE, TASK_FULFILLED: OK, TASK_REJECTED: FAILED} = room('combinators');
  assert.notEqual(OK, FAILED);
  assert.equal(new Set([ALL, ALL_SETTLED, RACE, ANY]).size, 4);
  const answers = [WAIT, FULFIL, REJECT_WITH_THIS, REJECT_ALL, IGNORED];
  assert.equal(new Set(answers).size, answers.length);
  for (const answer of answers) assert.ok(answer < 0, 'an answer never reads as the index of a task to start');
  assert.ok(NO_DEADLINE < 0, 'the deadline timer arms for no negative number');

  const group = groupApi();
  const before = group.live();
  const all = group.create(ALL, 3, 2);
  assert.equal(group.startInitial(all), 2);
  assert.equal(group.settle(all, 0, OK), 2, 'the next task to start');
  assert.equal(group.settle(all, 0, OK), IGNORED, 'task 0 no longer runs');
  assert.equal(group.settle(all, 1, OK), WAIT);
  assert.equal(group.nextDeadline(all), NO_DEADLINE);
  assert.equal(group.settle(all, 2, FAILED), REJECT_WITH_THIS);
  group.free(all);
  const any = group.create(ANY, 2, NO_LIMIT);
  assert.equal(group.startInitial(any), 2);
  assert.equal(group.settle(any, 0, FAILED), WAIT);
  assert.equal(group.settle(any, 1, FAILED), REJECT_ALL);
  group.free(any);
  for (const policy of [RACE, ALL_SETTLED]) {
    const h = group.create(policy, 1, NO_LIMIT);
    assert.equal(group.startInitial(h), 1);
    assert.equal(group.settle(h, 0, policy === RACE ? OK : FAILED), FULFIL);
    group.free(h);
  }
  assert.throws(() => group.create(Math.max(ALL, ALL_SETTLED, RACE, ANY) + 1, 1, NO_LIMIT), {name: 'RangeError', message: /policy/});
  assert.equal(group.live(), before);
});
