'use strict';
// The always-async callback bridge: promisify, callbackify and dezalgo that never release Zalgo,
// never drop an error, settle once, and report misuse.
//
// A well-behaved call never crosses into Rust: its settled-once and inside-the-call flags are two
// closure variables. Rust keeps the registry of wrapped functions, counts every misuse and decides
// which ones warn (`core/src/bridge.rs`, bound by `src/bridge.rs`); it is called only when a
// misuse happens. Synchronous callbacks, which the bridge makes safe and never warns about, are
// counted in JS and flushed to Rust in one call per function whenever the statistics are read.

const {inspect, promisify: utilPromisify, callbackify: utilCallbackify, types: {isPromise}} = require('node:util');
const {bridgeRegister, bridgeRelease, bridgeRecord, bridgeAddSync, bridgeSnapshot, bridgeReset, bridgeRegistrySize} = require('../internal/native');
const {asPromise} = require('../internal/outcome');
const {state: reaction, REACTION_FLAG, REACTION_COUNTER} = require('../internal/reactions');
const {room} = require('../internal/wire');

// The kinds of misuse Rust counts, and their names for onMisuse and the warning codes.
const {SYNC_CALLBACK, DOUBLE_CALLBACK, DROPPED_ERROR} = room('bridge');
const KIND_NAMES = {[SYNC_CALLBACK]: 'sync-callback', [DOUBLE_CALLBACK]: 'double-callback', [DROPPED_ERROR]: 'dropped-error'};

const kCustomPromisified = Symbol.for('nodejs.util.promisify.custom');

// The arguments util validates (`original`, `util.promisify.custom`, callbackify's last argument)
// are rejected by util itself, so the error is Node's own on every Node version: its class,
// `code`, message, `String(error)` and stack header ("TypeError [ERR_INVALID_ARG_TYPE]: ...").
// Called only when the argument is bad: util throws.
const utilCallbackified = utilCallbackify(async () => {});
function throwAsUtil(check, name, expected, value) {
  check();
  // Only if util accepted the value after all.
  throw invalidArgType(name, expected, value);
}

// How Node words a bad value in ERR_INVALID_ARG_TYPE ("type string ('x')", "an instance of Foo"),
// which changes between Node versions: read from the error util.promisify throws for the value.
// For this module's own options, which util does not have.
function received(value) {
  if (typeof value === 'function') return `function ${value.name}`;
  try {
    utilPromisify(value);
  } catch (error) {
    const at = typeof error?.message === 'string' ? error.message.indexOf('. Received ') : -1;
    if (at !== -1) return error.message.slice(at + '. Received '.length);
  }
  return inspect(value, {depth: -1});
}

function invalidArgType(name, expected, value) {
  const subject = name.endsWith(' argument') ? `The ${name}` : `The "${name}" ${name.includes('.') ? 'property' : 'argument'}`;
  const error = new TypeError(`${subject} must be of type ${expected}. Received ${received(value)}`);
  error.code = 'ERR_INVALID_ARG_TYPE';
  return error;
}

function describeLost(value) {
  if (value instanceof Error) return `${value.name}: ${value.message}`.slice(0, 200);
  return inspect(value, {depth: 1, breakLength: Infinity}).slice(0, 200);
}

// Functions with synchronous callbacks not yet flushed to Rust.
const unflushed = new Set();

// Called for every synchronous callback with an onMisuse hook, and for the first unflushed one
// otherwise (the caller has already counted it).
function countSyncCallback(entry) {
  if (entry.onMisuse !== undefined) {
    misuse(entry, SYNC_CALLBACK, {});
    return;
  }
  unflushed.add(entry);
}

function flushSyncCallbacks() {
  for (const entry of unflushed) {
    bridgeAddSync(entry.id, entry.syncCallbacks);
    entry.syncCallbacks = 0;
  }
  unflushed.clear();
}

/**
 * Counts a misuse in Rust and reports it to the hook, or as a process warning when Rust says so.
 * `quiet` counts without reporting (the same event was just reported under another kind).
 */
function misuse(entry, kind, details, quiet = false) {
  const answer = bridgeRecord(entry.id, kind);
  if (quiet) return;
  const count = Math.abs(answer);
  if (entry.onMisuse !== undefined) {
    entry.onMisuse({kind: KIND_NAMES[kind], name: entry.name, count, ...details});
    return;
  }
  if (answer >= 0) return;
  let message;
  if (kind === DOUBLE_CALLBACK) {
    const what = details.error ? `the error ${describeLost(details.error)}` : `the value ${describeLost(details.value)}`;
    message = `The callback of ${entry.name} was called again after it had settled; ${what} was ignored (${count} time${count === 1 ? '' : 's'} so far)`;
  } else {
    message = `${entry.name} threw after calling its callback; the error ${describeLost(details.error)} would have been lost (${count} time${count === 1 ? '' : 's'} so far)`;
  }
  process.emitWarning(message, {type: 'AsyncShapeWarning', code: `ASYNC_SHAPE_${KIND_NAMES[kind].toUpperCase().replace('-', '_')}`});
}

// A collected wrapper releases its registry entry, so that short-lived wrappers with distinct
// names do not grow the registry: first its unflushed synchronous callbacks are counted.
const releaseOnCollect = new FinalizationRegistry(entry => {
  if (unflushed.delete(entry)) bridgeAddSync(entry.id, entry.syncCallbacks);
  bridgeRelease(entry.id);
});

// Used only to make a closure capture a value (see promisify's `late`).
const keepAlive = () => {};

// util.promisify's own warning when the original returns a promise: DEP0174 since Node 21.0.0
// (documentation-only on 20.8+, so Node 20 is silent). It comes once per such call, for a native
// promise of any realm or subclass (not a thenable), through process.emitWarning, which applies
// --no-deprecation, --throw-deprecation, --trace-deprecation and NODE_OPTIONS.
//
// The arguments are read from util itself, once, on the first such call: util.promisify is run
// on a function returning a promise, with process.emitWarning replaced for that synchronous
// moment by a recorder, so the message, type, code and the versions that warn are the running
// Node's. `null` when util says nothing; `undefined` until read.
let returnedPromiseWarning;
const DEP0174 = ['Calling promisify on a function that returns a Promise is likely a mistake.', 'DeprecationWarning', 'DEP0174'];

function readReturnedPromiseWarning() {
  const emitWarning = process.emitWarning;
  let seen = null;
  const record = (...args) => {
    seen = args;
  };
  try {
    process.emitWarning = record;
  } catch {}
  if (process.emitWarning !== record) {
    // process.emitWarning cannot be replaced here: Node's documented rule instead.
    return Number(process.versions.node.split('.')[0]) >= 21 ? DEP0174 : null;
  }
  try {
    utilPromisify(() => Promise.resolve())().catch(keepAlive);
  } catch {
    // A Node whose util.promisify refuses such a function outright: nothing to copy.
  } finally {
    process.emitWarning = emitWarning;
  }
  return seen;
}

function warnReturnedPromise() {
  if (returnedPromiseWarning === undefined) returnedPromiseWarning = readReturnedPromiseWarning();
  // Looked up at each call, as util does, so a replaced process.emitWarning sees it too.
  if (returnedPromiseWarning !== null) Reflect.apply(process.emitWarning, process, returnedPromiseWarning);
}

function readName(fn, options, fallbackName) {
  const name = options?.name;
  if (name === undefined) return typeof fn.name === 'string' && fn.name !== '' ? fn.name : fallbackName;
  if (typeof name !== 'string') throw invalidArgType('options.name', 'string', name);
  return name;
}

function register(fn, options, fallbackName) {
  const name = readName(fn, options, fallbackName);
  const onMisuse = options?.onMisuse;
  if (onMisuse !== undefined && typeof onMisuse !== 'function') {
    throw invalidArgType('options.onMisuse', 'function', onMisuse);
  }
  return {id: bridgeRegister(name), name, onMisuse, syncCallbacks: 0};
}

// The names that Node's own callback APIs give their several success values (dns.lookup gives
// `{address, family}`, child_process.exec `{stdout, stderr}`), as util.promisify uses them.
function customArgumentNames(fn) {
  for (const symbol of Object.getOwnPropertySymbols(fn)) {
    if (symbol.description === 'customPromisifyArgs' && Array.isArray(fn[symbol])) return fn[symbol];
  }
  return undefined;
}

function copyShape(target, source, {lengthDelta = 0, nameSuffix = ''} = {}) {
  const descriptors = Object.getOwnPropertyDescriptors(source);
  if (lengthDelta && typeof descriptors.length?.value === 'number') descriptors.length.value += lengthDelta;
  if (nameSuffix && typeof descriptors.name?.value === 'string') descriptors.name.value += nameSuffix;
  for (const d of Object.values(descriptors)) Object.setPrototypeOf(d, null);
  Object.defineProperties(target, descriptors);
}

/**
 * A drop-in for util.promisify that also settles once, turns a synchronous throw into a rejection,
 * counts callbacks fired inside the call (the promise still settles asynchronously), and reports a
 * second callback instead of dropping it. `{multiArgs: true}` resolves with every success value.
 */
function promisify(original, options) {
  if (typeof original !== 'function') throwAsUtil(() => utilPromisify(original), 'original', 'function', original);
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw invalidArgType('options', 'object', options);
  }
  const custom = original[kCustomPromisified];
  // A falsy custom value is no custom function, as in util.
  if (custom) {
    if (typeof custom !== 'function') throwAsUtil(() => utilPromisify(original), 'util.promisify.custom', 'function', custom);
    Object.defineProperty(custom, kCustomPromisified, {value: custom, enumerable: false, writable: false, configurable: true});
    return custom;
  }
  const {multiArgs = false} = options ?? {};
  if (typeof multiArgs !== 'boolean') throw invalidArgType('options.multiArgs', 'boolean', multiArgs);
  const entry = register(original, options, 'anonymous');
  const argumentNames = customArgumentNames(original);
  // Only multiArgs and Node's named multi-value APIs need more than the first success value.
  const allValues = multiArgs || argumentNames !== undefined;
  const nameValues = values => {
    if (values.length <= 1) return values[0];
    const named = {};
    for (let i = 0; i < argumentNames.length; i++) named[argumentNames[i]] = values[i];
    return named;
  };

  function promisified(...args) {
    return new Promise((resolve, reject) => {
      let settled = false;
      let inside = true;
      const late = (error, value) => {
        // Naming `promisified` here keeps the wrapper alive while any callback of its calls is
        // reachable: a collected wrapper releases its registry id, which may then be reused.
        keepAlive(promisified);
        misuse(entry, DOUBLE_CALLBACK, error ? {error} : {value});
        // The late error is also a dropped error; it was reported just now.
        if (error) misuse(entry, DROPPED_ERROR, {error}, true);
      };
      // The common case takes two parameters: a rest parameter would allocate an array per call.
      args.push(
        allValues
          ? (error, ...values) => {
              if (settled) return late(error, values[0]);
              settled = true;
              if (inside && (entry.onMisuse !== undefined || entry.syncCallbacks++ === 0)) countSyncCallback(entry);
              if (error) reject(error);
              else resolve(multiArgs ? values : nameValues(values));
            }
          : (error, value) => {
              if (settled) return late(error, value);
              settled = true;
              // Counting a Zalgo callback is one increment; the rest runs once per function.
              if (inside && (entry.onMisuse !== undefined || entry.syncCallbacks++ === 0)) countSyncCallback(entry);
              if (error) reject(error);
              else resolve(value);
            },
      );
      let result;
      try {
        result = Reflect.apply(original, this, args);
      } catch (error) {
        inside = false;
        // A throw after the callback would be lost: the promise has settled already.
        if (settled) {
          misuse(entry, DROPPED_ERROR, {error});
        } else {
          settled = true;
          reject(error);
        }
        return;
      }
      inside = false;
      // One check of the returned value; a callback API returns undefined and stops at typeof.
      // Outside the try, as in util: a warning that throws rejects this call's promise.
      if (typeof result === 'object' && result !== null && isPromise(result)) warnReturnedPromise();
    });
  }

  Object.setPrototypeOf(promisified, Object.getPrototypeOf(original));
  Object.defineProperty(promisified, kCustomPromisified, {value: promisified, enumerable: false, writable: false, configurable: true});
  copyShape(promisified, original);
  releaseOnCollect.register(promisified, entry);
  return promisified;
}
promisify.custom = kCustomPromisified;

// The callbacks run from process.nextTick, inside the microtask checkpoint: marked as reactions
// for the event-loop monitor (nextTick is invisible to promise hooks). No try/finally: a callback
// that throws is an uncaught exception, and the monitor's native sampler clears a flag left set.
function onRejected(reason, callback) {
  reaction[REACTION_COUNTER]++;
  reaction[REACTION_FLAG] = 1;
  callback(reason);
  reaction[REACTION_FLAG] = 0;
}

// A falsy reason reaches the callback as Node's own ERR_FALSY_VALUE_REJECTION (with `.reason`;
// its class, `String(error)` and stack header are util's), made by util itself: util.callbackify
// of a thenable that rejects at once schedules its callback with process.nextTick, in the same
// place as this module's own.
const utilFalsyRejection = utilCallbackify(reason => ({then: (_, reject) => reject(reason)}));

function rejectLater(reason, callback) {
  if (reason) {
    process.nextTick(onRejected, reason, callback);
    return;
  }
  try {
    utilFalsyRejection(reason, error => onRejected(error, callback));
  } catch {
    // A util that refuses the thenable: the same code, message and `.reason`, made here.
    const error = new Error('Promise was rejected with falsy value');
    error.code = 'ERR_FALSY_VALUE_REJECTION';
    error.reason = reason;
    process.nextTick(onRejected, error, callback);
  }
}

function onFulfilled(callback, value) {
  reaction[REACTION_COUNTER]++;
  reaction[REACTION_FLAG] = 1;
  callback(null, value);
  reaction[REACTION_FLAG] = 0;
}

/**
 * A drop-in for util.callbackify whose callback is always called asynchronously and once, also
 * when `original` returns a plain value or throws synchronously. A throw inside the callback is
 * an uncaught exception, as with util.callbackify, never a rejection.
 */
function callbackify(original) {
  if (typeof original !== 'function') throwAsUtil(() => utilCallbackify(original), 'original', 'function', original);

  function callbackified(...args) {
    const last = args.pop();
    if (typeof last !== 'function') throwAsUtil(() => utilCallbackified(last), 'last argument', 'function', last);
    const callback = last.bind(this);
    let result;
    try {
      result = Reflect.apply(original, this, args);
    } catch (error) {
      rejectLater(error, callback);
      return;
    }
    const pending = asPromise(result);
    if (pending === undefined) {
      process.nextTick(onFulfilled, callback, result);
      return;
    }
    // A native promise settles once, whatever a hand-made thenable does.
    pending.then(
      value => process.nextTick(onFulfilled, callback, value),
      reason => rejectLater(reason, callback),
    );
  }

  copyShape(callbackified, original, {lengthDelta: 1, nameSuffix: 'Callbackified'});
  return callbackified;
}

/**
 * Wraps `callback` so that it never runs in the same tick as this call: a call made before the
 * current synchronous code and its microtasks are done is deferred to `process.nextTick`.
 */
function dezalgo(callback) {
  if (typeof callback !== 'function') throw invalidArgType('callback', 'function', callback);
  let sync = true;
  queueMicrotask(() => {
    sync = false;
  });
  return function zalgoSafe(...args) {
    if (sync) process.nextTick(() => Reflect.apply(callback, this, args));
    else return Reflect.apply(callback, this, args);
  };
}

/**
 * Misuse counts per wrapped function name: `{name: {syncCallbacks, doubleCallbacks,
 * droppedErrors}}`, for the functions with any. `{reset: true}` zeroes them after reading.
 */
function bridgeStats(options) {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw invalidArgType('options', 'object', options);
  }
  const {reset = false} = options ?? {};
  if (typeof reset !== 'boolean') throw invalidArgType('options.reset', 'boolean', reset);
  flushSyncCallbacks();
  const out = {};
  for (const e of bridgeSnapshot()) {
    // A function may be named like the shared entry of the functions past the registry's bound.
    const seen = out[e.name];
    out[e.name] = {
      syncCallbacks: e.syncCallbacks + (seen?.syncCallbacks ?? 0),
      doubleCallbacks: e.doubleCallbacks + (seen?.doubleCallbacks ?? 0),
      droppedErrors: e.droppedErrors + (seen?.droppedErrors ?? 0),
    };
  }
  if (reset) bridgeReset();
  return out;
}

/** Entries in the native registry of wrapped functions: for leak tests. */
const bridgeRegistrySizeForTests = () => bridgeRegistrySize();

module.exports = {promisify, callbackify, dezalgo, bridgeStats, bridgeRegistrySize: bridgeRegistrySizeForTests};
