'use strict';
// What a task returned, as something to wait on.

/**
 * Returns a native promise for a thenable `value` (the thenable's `then` is called once, as
 * `await` would), or undefined for a plain value, which is the outcome already.
 */
function asPromise(value) {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return undefined;
  if (value instanceof Promise) return value;
  return new Promise(resolve => {
    resolve(value);
  });
}

module.exports = {asPromise};
