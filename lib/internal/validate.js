'use strict';
// Argument checks shared by every API. Messages name the argument and what was expected.

const {VEGAS, GRADIENT, AIMD} = require('./wire').room('pool');

const describe = value => {
  if (value === null) return '`null`';
  switch (typeof value) {
    case 'string':
      return `\`${JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value)}\` (string)`;
    case 'bigint':
      return `\`${value}n\` (bigint)`;
    case 'function':
      return 'a function';
    case 'symbol':
      return `\`${String(value)}\` (symbol)`;
    case 'number':
      return `\`${Object.is(value, -0) ? '-0' : value}\` (number)`;
    case 'object':
      try {
        return Array.isArray(value) ? 'an array' : 'an object';
      } catch {
        // A revoked Proxy.
        return 'an object';
      }
    default:
      return `\`${value}\` (${typeof value})`;
  }
};

const isConcurrency = value =>
  (Number.isInteger(value) || value === Number.POSITIVE_INFINITY) && value > 0;

/** p-limit's exact check and message, for the drop-in API. */
function validateLimitConcurrency(concurrency) {
  if (!isConcurrency(concurrency)) {
    throw new TypeError('Expected `concurrency` to be a number from 1 and up');
  }
}

function validateConcurrency(value, name = 'concurrency') {
  if (!isConcurrency(value)) {
    throw new TypeError(`Expected \`${name}\` to be an integer from 1 and up or \`Infinity\`, got ${describe(value)}`);
  }
}

function validateFunction(value, name) {
  if (typeof value !== 'function') {
    throw new TypeError(`Expected \`${name}\` to be a function, got ${describe(value)}`);
  }
}

function validateSignal(value, name = 'signal') {
  if (value !== undefined && !(value instanceof AbortSignal)) {
    throw new TypeError(`Expected \`${name}\` to be an AbortSignal, got ${describe(value)}`);
  }
}

/**
 * A finite or infinite number of milliseconds >= 0; `undefined` means none. With `positive` (a
 * Pool's task timeout), 0 is refused with a TypeError, as p-queue 10 refuses it: a task cannot
 * run in no time (omit the option for no timeout).
 */
function validateTimeout(value, name = 'timeout', positive = false) {
  if (value === undefined) return;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`Expected \`${name}\` to be a number of milliseconds, got ${describe(value)}`);
  }
  if (value < 0) {
    const wanted = positive ? 'a positive number of milliseconds (omit it for no timeout)' : '0 or more milliseconds';
    throw new RangeError(`Expected \`${name}\` to be ${wanted}, got ${describe(value)}`);
  }
  if (positive && value === 0) {
    throw new TypeError(`Expected \`${name}\` to be a positive number of milliseconds (omit it for no timeout), got ${describe(value)}`);
  }
}

function validatePriority(value) {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) {
    throw new TypeError(`Expected \`priority\` to be an integer from -2147483648 to 2147483647, got ${describe(value)}`);
  }
}

function validateCount(value, name, {min = 0, infinity = true} = {}) {
  const ok = (Number.isInteger(value) || (infinity && value === Number.POSITIVE_INFINITY)) && value >= min;
  if (!ok) {
    const inf = infinity ? ' or `Infinity`' : '';
    throw new TypeError(`Expected \`${name}\` to be an integer from ${min} and up${inf}, got ${describe(value)}`);
  }
}

function validateOptionsObject(value, name = 'options') {
  if (value !== undefined && (value === null || typeof value !== 'object')) {
    throw new TypeError(`Expected \`${name}\` to be an object, got ${describe(value)}`);
  }
}

// The adaptive algorithms by the names users give them, to the pool room's codes.
const ALGORITHMS = {vegas: VEGAS, gradient: GRADIENT, aimd: AIMD};

/**
 * Reads a concurrency that may be adaptive: a number (checked by `validateNumber`), `'adaptive'`,
 * or `{adaptive: 'vegas' | 'gradient' | 'aimd', min, max, initial}`. Returns `{limit}` for a fixed
 * one, or `{limit, adaptive: {algorithm, min, max, initial}}` for an adaptive one: `createPool`'s
 * `adaptive` option (`AdaptiveOptions` in src/pool.rs), `algorithm` a code of the pool room's wire.
 */
function parseConcurrency(value, validateNumber) {
  if (value === 'adaptive') value = {adaptive: 'vegas'};
  if (value === null || typeof value !== 'object' || !('adaptive' in value)) {
    validateNumber(value);
    return {limit: value};
  }
  // Each property is read once, in this order (a getter may throw: that error propagates), and
  // checked before it is used: the default `initial` is computed from a valid min and max only.
  const {adaptive, min = 1, max = 1000} = value;
  const algorithm = adaptive === true ? 'vegas' : adaptive;
  if (typeof algorithm !== 'string' || !Object.hasOwn(ALGORITHMS, algorithm)) {
    throw new TypeError(`Expected \`concurrency.adaptive\` to be 'vegas', 'gradient' or 'aimd' (or true), got ${describe(adaptive)}`);
  }
  validateCount(min, 'concurrency.min', {min: 1, infinity: false});
  validateCount(max, 'concurrency.max', {min: 1, infinity: false});
  const {initial = Math.min(Math.max(4, min), max)} = value;
  validateCount(initial, 'concurrency.initial', {min: 1, infinity: false});
  if (min > max) throw new RangeError(`Expected \`concurrency.min\` (${min}) to be at most \`concurrency.max\` (${max})`);
  if (initial < min || initial > max) {
    throw new RangeError(`Expected \`concurrency.initial\` (${initial}) to be between \`min\` (${min}) and \`max\` (${max})`);
  }
  return {limit: initial, adaptive: {algorithm: ALGORITHMS[algorithm], min, max, initial}};
}

/**
 * Opens the iterator of `input` as `for await…of` does when `async`, else as `for…of` does, and
 * reads its `next` method once. Returns `{iterator, next, isAsync}`. Breaks of the iteration
 * protocol are TypeErrors naming `name`; an error thrown by the input itself (a getter, its
 * `[Symbol.iterator]()`) propagates as it is.
 */
function openIterator(input, name, async = false) {
  if (input === null || input === undefined) {
    throw new TypeError(`Expected \`${name}\` to be an ${async ? 'Iterable or AsyncIterable' : 'iterable'}, got ${describe(input)}`);
  }
  const asyncMethod = async ? input[Symbol.asyncIterator] : undefined;
  const isAsync = asyncMethod !== undefined && asyncMethod !== null;
  const method = isAsync ? asyncMethod : input[Symbol.iterator];
  if (typeof method !== 'function') {
    if (!isAsync && method === undefined) {
      throw new TypeError(`Expected \`${name}\` to be an ${async ? 'Iterable or AsyncIterable' : 'iterable'}, got ${describe(input)}`);
    }
    throw new TypeError(`Expected \`${name}[${isAsync ? 'Symbol.asyncIterator' : 'Symbol.iterator'}]\` to be a method, got ${describe(method)}`);
  }
  const iterator = method.call(input);
  if (iterator === null || (typeof iterator !== 'object' && typeof iterator !== 'function')) {
    throw new TypeError(
      `Expected \`${name}[${isAsync ? 'Symbol.asyncIterator' : 'Symbol.iterator'}]()\` to return an iterator object, got ${describe(iterator)}`,
    );
  }
  const next = iterator.next;
  if (typeof next !== 'function') {
    throw new TypeError(`Expected the iterator of \`${name}\` to have a \`next()\` method, got ${describe(next)}`);
  }
  return {iterator, next, isAsync};
}

/** Checks one result of an iterator's `next()` (after `await` for an async one). */
function checkIteratorResult(result, name) {
  if (result === null || (typeof result !== 'object' && typeof result !== 'function')) {
    throw new TypeError(`Expected the iterator of \`${name}\` to return result objects from \`next()\`, got ${describe(result)}`);
  }
  return result;
}

/**
 * Reads an iterable eagerly into `out` (an array), once, as `Array.from` does: a one-shot iterator
 * is read exactly once. Breaks of the iteration protocol are TypeErrors naming `name`; an error
 * thrown by the input itself (a getter, `next()`) propagates as it is. `out` keeps the items read
 * before an error, for callers that must still handle them.
 */
function readIterable(value, name, out = []) {
  const {iterator, next} = openIterator(value, name);
  for (;;) {
    const result = checkIteratorResult(next.call(iterator), name);
    if (result.done) return out;
    out.push(result.value);
  }
}

module.exports = {
  parseConcurrency,
  openIterator,
  checkIteratorResult,
  readIterable,
  describe,
  validateLimitConcurrency,
  validateConcurrency,
  validateFunction,
  validateSignal,
  validateTimeout,
  validatePriority,
  validateCount,
  validateOptionsObject,
};
