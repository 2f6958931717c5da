'use strict';
// The skip marker, and how an element is awaited before its mapper runs (Pool#map and the
// stream engine), both as p-map 7 does them.
//
// `pMapSkip`: a mapper that returns it leaves its item out of the results (Pool#map, stream(),
// Pool#stream). p-map's own `pMapSkip` is accepted too, without depending on p-map: it is an
// unregistered symbol described 'skip'. `limit.map` does not honour either: it keeps p-limit's
// contract (a mapper's `pMapSkip` is a result like any other).

const pMapSkip = Symbol('skip');

/** Whether a mapper's result is a skip marker: ours, or one like p-map's. */
const isSkip = value =>
  value === pMapSkip || (typeof value === 'symbol' && value.description === 'skip' && Symbol.keyFor(value) === undefined);

const PromiseThen = Promise.prototype.then;

/**
 * What `await value` does before it resumes, for an element that may be a thenable. Returns false
 * when `value` is not a thenable (nothing to wait for: the caller goes on at once, and no promise
 * is made). Else returns true and calls `settled(key, ok, result)` with what `await value` gives,
 * as many microtasks later as `await` takes (one for a native promise, more for another
 * thenable). `then` is read once, as `await` reads it; a getter that throws is a rejection.
 */
function awaitElement(value, settled, key) {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  let then;
  try {
    then = value.then;
  } catch (error) {
    // `await` rejects with it, a microtask later.
    queueMicrotask(() => settled(key, false, error));
    return true;
  }
  if (typeof then !== 'function') return false;
  const ok = result => settled(key, true, result);
  const fail = error => settled(key, false, error);
  if (then === PromiseThen && value instanceof Promise) {
    Reflect.apply(PromiseThen, value, [ok, fail]);
    return true;
  }
  // Another thenable: `await` calls its `then` in a job and resumes once it resolves.
  new Promise((resolve, reject) => {
    queueMicrotask(() => {
      try {
        Reflect.apply(then, value, [resolve, reject]);
      } catch (error) {
        reject(error);
      }
    });
  }).then(ok, fail);
  return true;
}

/**
 * Awaits elements as p-map's `await element` does and hands each on in p-map's order: returns
 * `take(key, value)`, which calls `ready(key, result)` for an element that is or fulfils to
 * `result`, and `failed(key, error)` for one that rejects. A value that is not a thenable is handed
 * on at once (no promise), unless an earlier element is still awaited: then it waits one microtask
 * behind it, as `await` would. Shared by Pool#map and the stream engine.
 */
function elementAwaiter(ready, failed) {
  let awaiting = 0;
  const settled = (key, ok, value) => {
    awaiting--;
    if (ok) ready(key, value);
    else failed(key, value);
  };
  return (key, value) => {
    if (awaitElement(value, settled, key)) {
      awaiting++;
    } else if (awaiting > 0) {
      awaiting++;
      queueMicrotask(() => settled(key, true, value));
    } else {
      ready(key, value);
    }
  };
}

module.exports = {pMapSkip, isSkip, elementAwaiter};
