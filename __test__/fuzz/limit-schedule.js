'use strict';
// Differential schedules for pLimit against p-limit 7.3.3 (used by ../limit-diff.test.js).
//
// A schedule is plain data made from a seed: the limiter's options and a list of steps (submit a
// task, map a batch, change the concurrency, clear the queue, settle a task's promise, wait).
// `runSchedule(pLimit, schedule)` plays it on a deterministic clock: each step runs synchronously,
// then (unless the step says otherwise) one tick passes (one setImmediate turn, so every
// microtask has run). It returns the trace, per tick: the user code that ran, in order (task and
// mapper starts with their `this`, arguments and the counts they saw, thenables' `then` calls,
// iterator reads), the counts after every call and at the tick's end, and the settlements (which
// promise, fulfilled or rejected, with what). `compare` reports the first difference; settlements
// inside one tick are compared as a set (only their order may differ).

const TASK_KINDS = [
  'value', // returns a plain value
  'throw', // throws synchronously
  'resolved', // returns an already fulfilled promise
  'rejected', // returns an already rejected promise
  'promise', // returns a promise that a later `settle` step settles
  'promise',
  'promise',
  'thenable', // returns a thenable whose callbacks a later `settle` step calls
  'syncThenable', // returns a thenable that fulfils inside `then`
  'throwingThenable', // returns a thenable whose `then` throws
  'async', // an async function: awaits twice, then returns
  'asyncThrow', // an async function: awaits, then throws
  'nested', // submits a task of its own (from inside the limit), then returns
  'nestedMap', // maps two items of its own, then returns
  'nestedClear', // clears the queue, then returns
  'nestedConcurrency', // changes the concurrency, then returns
];
const CONTROLLED = new Set(['promise', 'thenable']);
const ITERABLES = ['array', 'array', 'array', 'set', 'generator', 'arrayLike', 'throwingGenerator', 'countingGenerator'];
const LIMITS = [1, 1, 2, 2, 3, 4, Infinity];

function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = n => Math.floor(next() * n);
  const pick = xs => xs[int(xs.length)];
  return {next, int, pick, chance: p => next() < p};
}

/** The schedule for `seed`: `{seed, concurrency, rejectOnClear, steps}`. */
function makeSchedule(seed) {
  const r = rng(seed);
  const steps = [];
  const controlled = [];
  let tasks = 0;
  let maps = 0;
  const task = () => {
    const kind = r.pick(TASK_KINDS);
    const label = `t${tasks++}`;
    if (CONTROLLED.has(kind)) controlled.push(label);
    return {kind, label};
  };
  const length = 4 + r.int(36);
  for (let i = 0; i < length; i++) {
    const roll = r.next();
    let step;
    if (roll < 0.3) {
      const t = task();
      step = {op: 'submit', ...t};
      if (r.chance(0.25)) step.args = r.int(3) + 1;
      if (r.chance(0.03)) step.notFunction = true;
    } else if (roll < 0.45) {
      const label = `m${maps++}`;
      const count = r.chance(0.1) ? 0 : 1 + r.int(r.chance(0.2) ? 12 : 4);
      const items = Array.from({length: count}, () => task());
      step = {op: 'map', label, items, iterable: r.pick(ITERABLES)};
      if (step.iterable === 'throwingGenerator') step.throwAt = r.int(count + 1);
      if (r.chance(0.03)) step.badMapper = true;
    } else if (roll < 0.55) {
      step = {op: 'concurrency', value: r.pick(LIMITS)};
    } else if (roll < 0.6) {
      step = {op: 'clear'};
    } else if (roll < 0.9) {
      if (controlled.length === 0) {
        step = {op: 'wait'};
      } else {
        const label = controlled.splice(r.int(controlled.length), 1)[0];
        step = {op: 'settle', label, ok: r.chance(0.6)};
      }
    } else {
      step = {op: 'wait'};
    }
    // Some steps share a tick with the next one.
    if (r.chance(0.3)) step.sameTick = true;
    steps.push(step);
  }
  return {seed, concurrency: r.pick(LIMITS), rejectOnClear: r.chance(0.4), steps};
}

const immediate = () => new Promise(resolve => setImmediate(resolve));

const show = value => {
  if (value instanceof Error || (typeof DOMException === 'function' && value instanceof DOMException)) {
    // The errors this harness makes are compared by message; the limiters' own by name.
    return value.message.startsWith('e:') ? `E(${value.message})` : `X(${value.name})`;
  }
  if (Array.isArray(value)) return `[${value.map(show).join(',')}]`;
  if (value === undefined) return 'undefined';
  return JSON.stringify(value);
};

/** Plays `schedule` on a limiter made by `pLimit`; returns the trace (one entry per tick). */
async function runSchedule(pLimit, schedule) {
  const limit = pLimit({concurrency: schedule.concurrency, rejectOnClear: schedule.rejectOnClear});
  const controls = new Map();
  const ticks = [];
  let events = [];
  let settled = [];
  const counts = () => `${limit.activeCount}/${limit.pendingCount}`;
  const endTick = () => {
    ticks.push({events, settled, counts: counts()});
    events = [];
    settled = [];
  };
  const observe = (promise, label) => {
    promise.then(
      value => settled.push(`${label} ok ${show(value)}`),
      error => settled.push(`${label} err ${show(error)}`),
    );
  };

  const body = (kind, label) => {
    switch (kind) {
      case 'nested':
        observe(limit(makeTask({kind: 'value', label: `${label}.n`})), `${label}.n`);
        events.push(`nested ${label} ${counts()}`);
        return `v:${label}`;
      case 'nestedMap':
        observe(limit.map([{kind: 'value', label: `${label}.a`}, {kind: 'throw', label: `${label}.b`}], mapper), `${label}.m`);
        events.push(`nestedMap ${label} ${counts()}`);
        return `v:${label}`;
      case 'nestedClear':
        limit.clearQueue();
        events.push(`nestedClear ${label} ${counts()}`);
        return `v:${label}`;
      case 'nestedConcurrency':
        limit.concurrency = (label.length % 3) + 1;
        events.push(`nestedConcurrency ${label} ${counts()}`);
        return `v:${label}`;
      case 'value':
        return `v:${label}`;
      case 'throw':
        throw new Error(`e:${label}`);
      case 'resolved':
        return Promise.resolve(`v:${label}`);
      case 'rejected':
        return Promise.reject(new Error(`e:${label}`));
      case 'promise':
        return new Promise((resolve, reject) => controls.set(label, {resolve, reject}));
      case 'thenable':
        return {
          then(resolve, reject) {
            events.push(`then ${label} ${counts()}`);
            controls.set(label, {resolve, reject});
          },
        };
      case 'syncThenable':
        return {
          then(resolve) {
            events.push(`then ${label} ${counts()}`);
            resolve(`v:${label}`);
          },
        };
      case 'throwingThenable':
        return {
          then() {
            events.push(`then ${label} ${counts()}`);
            throw new Error(`e:${label}`);
          },
        };
      case 'async':
        return (async () => {
          await null;
          await null;
          return `v:${label}`;
        })();
      case 'asyncThrow':
        return (async () => {
          await null;
          throw new Error(`e:${label}`);
        })();
      default:
        throw new Error(`unknown kind ${kind}`);
    }
  };

  function makeTask({kind, label}) {
    return function (...args) {
      events.push(`start ${label} this=${this === undefined ? 'undefined' : typeof this} args=${show(args)} ${counts()}`);
      return body(kind, label);
    };
  }

  function mapper(item, index) {
    events.push(
      `item ${item.label} this=${this === undefined ? 'undefined' : typeof this} index=${index} argc=${arguments.length} ${counts()}`,
    );
    return body(item.kind, item.label);
  }

  const iterable = step => {
    const {items} = step;
    switch (step.iterable) {
      case 'array':
        return items.slice();
      case 'set':
        return new Set(items);
      case 'generator':
        return (function* () {
          yield* items;
        })();
      case 'countingGenerator':
        return (function* () {
          for (const item of items) {
            events.push(`next ${item.label} ${counts()}`);
            yield item;
          }
        })();
      case 'throwingGenerator':
        return (function* () {
          for (let i = 0; i < items.length; i++) {
            if (i === step.throwAt) throw new Error(`e:${step.label}`);
            yield items[i];
          }
          if (step.throwAt === items.length) throw new Error(`e:${step.label}`);
        })();
      case 'arrayLike': {
        const object = {length: items.length};
        items.forEach((item, i) => {
          object[i] = item;
        });
        return object;
      }
      default:
        throw new Error(`unknown iterable ${step.iterable}`);
    }
  };

  const play = step => {
    switch (step.op) {
      case 'submit': {
        const fn = step.notFunction ? 42 : makeTask(step);
        const args = step.args === undefined ? [] : Array.from({length: step.args}, (_, i) => `${step.label}.${i}`);
        observe(limit(fn, ...args), step.label);
        events.push(`submit ${step.label} ${counts()}`);
        break;
      }
      case 'map': {
        observe(limit.map(iterable(step), step.badMapper ? 'nope' : mapper), step.label);
        events.push(`map ${step.label} ${counts()}`);
        break;
      }
      case 'concurrency':
        limit.concurrency = step.value;
        events.push(`concurrency ${step.value} ${counts()}`);
        break;
      case 'clear':
        limit.clearQueue();
        events.push(`clear ${counts()}`);
        break;
      case 'settle': {
        const control = controls.get(step.label);
        if (control === undefined) break;
        controls.delete(step.label);
        if (step.ok) control.resolve(`v:${step.label}`);
        else control.reject(new Error(`e:${step.label}`));
        events.push(`settle ${step.label} ${counts()}`);
        break;
      }
      case 'wait':
        break;
      default:
        throw new Error(`unknown step ${step.op}`);
    }
  };

  for (const step of schedule.steps) {
    play(step);
    if (!step.sameTick) {
      await immediate();
      endTick();
    }
  }
  await immediate();
  endTick();
  // The end: settle whatever waits (oldest first), a tick at a time, until nothing moves.
  for (let round = 0; round < 200; round++) {
    const open = [...controls.keys()];
    if (open.length === 0 && limit.activeCount === 0) break;
    for (const label of open) play({op: 'settle', label, ok: true});
    await immediate();
    endTick();
    if (open.length === 0) break;
  }
  return ticks;
}

/** The first difference between two traces, or undefined. Settlements in one tick are a set. */
function compare(expected, actual) {
  const n = Math.max(expected.length, actual.length);
  for (let i = 0; i < n; i++) {
    const a = expected[i];
    const b = actual[i];
    if (a === undefined || b === undefined) return {tick: i, expected: a, actual: b};
    const same =
      a.counts === b.counts &&
      a.events.length === b.events.length &&
      a.events.every((e, k) => e === b.events[k]) &&
      a.settled.length === b.settled.length &&
      [...a.settled].sort().join('\n') === [...b.settled].sort().join('\n');
    if (!same) return {tick: i, expected: a, actual: b};
  }
  return undefined;
}

async function differs(reference, subject, schedule) {
  const expected = await runSchedule(reference, schedule);
  const actual = await runSchedule(subject, schedule);
  return compare(expected, actual);
}

/** Delta debugging over the step list: the smallest schedule found that still differs. */
async function shrink(reference, subject, schedule) {
  let current = schedule;
  let chunk = Math.max(1, Math.floor(current.steps.length / 2));
  while (chunk >= 1) {
    let removed = false;
    for (let at = 0; at < current.steps.length; ) {
      const steps = current.steps.slice(0, at).concat(current.steps.slice(at + chunk));
      const candidate = {...current, steps};
      if (steps.length > 0 && (await differs(reference, subject, candidate))) {
        current = candidate;
        removed = true;
      } else {
        at += chunk;
      }
    }
    if (!removed) chunk = Math.floor(chunk / 2);
  }
  // Then the map batches: drop their items one at a time.
  for (let i = 0; i < current.steps.length; i++) {
    if (current.steps[i].op !== 'map') continue;
    for (let k = 0; k < current.steps[i].items.length; ) {
      const step = current.steps[i];
      const items = step.items.slice(0, k).concat(step.items.slice(k + 1));
      const steps = current.steps.slice();
      steps[i] = {...step, items};
      const candidate = {...current, steps};
      if (await differs(reference, subject, candidate)) {
        current = candidate;
      } else {
        k++;
      }
    }
  }
  return current;
}

module.exports = {makeSchedule, runSchedule, compare, differs, shrink};
