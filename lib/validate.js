'use strict';
// Argument checks shared by every API. Messages name the argument and what was expected.

const describe = value => {
  if (value === null) return '`null`';
  if (typeof value === 'string') return `\`${JSON.stringify(value)}\` (string)`;
  if (typeof value === 'bigint') return `\`${value}n\` (bigint)`;
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return `\`${String(value)}\` (symbol)`;
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return `\`${value}\` (${typeof value})`;
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

/** A finite or infinite number of milliseconds >= 0; `undefined` means none. */
function validateTimeout(value, name = 'timeout') {
  if (value === undefined) return;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`Expected \`${name}\` to be a number of milliseconds, got ${describe(value)}`);
  }
  if (value < 0) {
    throw new RangeError(`Expected \`${name}\` to be 0 or more milliseconds, got ${describe(value)}`);
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

const ALGORITHMS = {vegas: 0, gradient: 1, aimd: 2};

/**
 * Reads a concurrency that may be adaptive: a number (checked by `validateNumber`), `'adaptive'`,
 * or `{adaptive: 'vegas' | 'gradient' | 'aimd', min, max, initial}`. Returns `{limit}` for a fixed
 * one, or `{limit, adaptive: [algorithm, min, max, initial]}` for an adaptive one.
 */
function parseConcurrency(value, validateNumber) {
  if (value === 'adaptive') value = {adaptive: 'vegas'};
  if (value === null || typeof value !== 'object' || !('adaptive' in value)) {
    validateNumber(value);
    return {limit: value};
  }
  const {adaptive, min = 1, max = 1000, initial = Math.min(Math.max(4, min), max)} = value;
  const algorithm = adaptive === true ? 'vegas' : adaptive;
  if (!Object.hasOwn(ALGORITHMS, algorithm)) {
    throw new TypeError(`Expected \`concurrency.adaptive\` to be 'vegas', 'gradient' or 'aimd', got ${describe(algorithm)}`);
  }
  validateCount(min, 'concurrency.min', {min: 1, infinity: false});
  validateCount(max, 'concurrency.max', {min: 1, infinity: false});
  validateCount(initial, 'concurrency.initial', {min: 1, infinity: false});
  if (min > max) throw new RangeError(`Expected \`concurrency.min\` (${min}) to be at most \`concurrency.max\` (${max})`);
  if (initial < min || initial > max) {
    throw new RangeError(`Expected \`concurrency.initial\` (${initial}) to be between \`min\` (${min}) and \`max\` (${max})`);
  }
  return {limit: initial, adaptive: [ALGORITHMS[algorithm], min, max, initial]};
}

module.exports = {
  parseConcurrency,
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
