'use strict';
// A limit shared by a fleet of processes through Redis: the JS side of `{shared: {...}}` on Pool
// and pLimit. Rust (src/fleet.rs, core/src/fleet) owns the leases, the permits, the fleet queue
// and the connection; this module checks the user's options, turns them into the plain object
// `createPool` takes (codes of the fleet room's wire), and turns the addon's events
// (`onEvent(kind, detail)`) into what the pools do about them and what the user's `onEvent` sees.
//
// Loaded only by a pool that is given `shared`: a build without the fleet room loads the rest of
// the library as before, and says so when `shared` is asked for.

const {room, tables} = require('../internal/wire');
const {describe} = require('../internal/validate');
const {NODE_LOOP} = require('../internal/platform');

const hasFleet = () => Object.hasOwn(tables(), 'fleet');
let codes;
const fleet = () => {
  if (codes !== undefined) return codes;
  if (!hasFleet()) throw new Error('async-shape: this build of the addon has no shared limit (no fleet room; a stale build?)');
  codes = room('fleet');
  return codes;
};

// Lease bounds: a lease shorter than a few round trips cannot be kept alive, one longer than an
// hour keeps a crashed process's permits too long. The default: a few seconds (SIGKILL → permits
// back within 5 s).
const DEFAULT_LEASE_MS = 5000;
const MIN_LEASE_MS = 100;
const MAX_LEASE_MS = 3_600_000;
const MAX_KEY_LENGTH = 512;
const MAX_QUANTUM_MS = 60_000;

/** Raised (as a task's rejection and its signal's reason) when this process's fleet lease ran out. */
class LeaseLostError extends Error {
  constructor(leaseMs) {
    super(
      `This process lost its fleet lease (not renewed within ${leaseMs} ms: Redis unreachable, or the event loop blocked): ` +
        'its running tasks were aborted so that the fleet limit holds (fencing)',
    );
    this.name = 'LeaseLostError';
    this.code = 'ASYNC_SHAPE_LEASE_LOST';
  }
}

/** A permanent failure of the shared limit (wrong password, ACL, a script error): every task waiting or added later rejects with it; also ready()'s rejection. */
class FleetError extends Error {
  constructor(message) {
    super(message);
    this.name = 'FleetError';
    this.code = 'ASYNC_SHAPE_FLEET';
  }
}

const EVENT_NAMES = () => {
  const c = fleet();
  return {
    [c.EVENT_STORE_DOWN]: 'storeDown',
    [c.EVENT_STORE_UP]: 'storeUp',
    [c.EVENT_LEASE_LOST]: 'leaseLost',
    [c.EVENT_LEASE_REGAINED]: 'leaseRegained',
    [c.EVENT_FATAL]: 'fatal',
  };
};

function checkUrl(url) {
  if (typeof url !== 'string') {
    throw new TypeError(`Expected \`shared.redis\` to be a redis:// or rediss:// URL string, got ${describe(url)}`);
  }
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`Expected \`shared.redis\` to be a redis:// or rediss:// URL, got ${describe(url)} (not a URL)`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new TypeError(`Expected \`shared.redis\` to be a redis:// or rediss:// URL, got the scheme ${describe(parsed.protocol.slice(0, -1))}`);
  }
  if (parsed.hash !== '' || url.includes('#')) {
    throw new TypeError('Expected `shared.redis` to have no #fragment (TLS options go in `shared.tls`)');
  }
  if (parsed.hostname === '') {
    throw new TypeError(`Expected \`shared.redis\` to name a host (redis://host:6379), got ${describe(url)}`);
  }
}

const TLS_KEYS = ['ca', 'rejectUnauthorized'];

/** One PEM text from `ca` (a string or bytes, or an array of them), or a TypeError naming it. */
function pemOf(ca) {
  const one = (x, label) => {
    if (typeof x === 'string') return x;
    if (x instanceof Uint8Array) return Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('latin1');
    throw new TypeError(`Expected \`${label}\` to be PEM certificates (a string or a Buffer, or an array of them), got ${describe(x)}`);
  };
  const pem = Array.isArray(ca) ? ca.map((x, i) => one(x, `shared.tls.ca[${i}]`)).join('\n') : one(ca, 'shared.tls.ca');
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new TypeError('Expected `shared.tls.ca` to hold PEM certificates (-----BEGIN CERTIFICATE-----), got none');
  }
  return pem;
}

/**
 * Checks `shared.tls` (TLS options of a rediss:// URL, Node's `tls` names): returns the addon's
 * `{ca?: string, rejectUnauthorized?: boolean}` or undefined.
 */
function readTls(tls, url) {
  if (tls === undefined) return undefined;
  if (tls === null || typeof tls !== 'object' || Array.isArray(tls)) {
    throw new TypeError(`Expected \`shared.tls\` to be an object like {ca: pem}, got ${describe(tls)}`);
  }
  if (new URL(url).protocol !== 'rediss:') {
    throw new TypeError('`shared.tls` goes with a rediss:// URL (TLS); the URL given is redis://');
  }
  for (const k of Object.keys(tls)) {
    if (!TLS_KEYS.includes(k)) {
      throw new TypeError(`\`shared.tls.${k}\` is not supported (supported: ${TLS_KEYS.join(', ')})`);
    }
  }
  const {ca, rejectUnauthorized} = tls;
  const out = {};
  if (ca !== undefined) out.ca = pemOf(ca);
  if (rejectUnauthorized !== undefined) {
    if (typeof rejectUnauthorized !== 'boolean') {
      throw new TypeError(`Expected \`shared.tls.rejectUnauthorized\` to be a boolean, got ${describe(rejectUnauthorized)}`);
    }
    out.rejectUnauthorized = rejectUnauthorized;
  }
  return out;
}

/**
 * Checks `shared` for a pool of `concurrency` (the fleet limit; `adaptive` when the pool is
 * adaptive, which is not supported with it). Returns `{native, onEvent, leaseMs}`: `native` is
 * createPool's `shared` argument without its `onEvent` (the pool adds its own), `onEvent` the
 * user's callback or undefined.
 */
function readShared(shared, concurrency, adaptive) {
  if (shared === null || typeof shared !== 'object' || Array.isArray(shared)) {
    throw new TypeError(`Expected \`shared\` to be an object like {redis: 'redis://host:6379', key: 'name'}, got ${describe(shared)}`);
  }
  if (adaptive !== undefined) {
    throw new TypeError('An adaptive limit cannot be shared: give `concurrency` a number with `shared` (the fleet limit), or drop `shared`');
  }
  if (!Number.isFinite(concurrency)) {
    throw new RangeError(`Expected \`concurrency\` to be a finite integer with \`shared\` (the fleet limit), got ${describe(concurrency)}`);
  }
  // Each property read once, in this order.
  const {redis, key, leaseMs = DEFAULT_LEASE_MS, onStoreDown = 'wait', localConcurrency, quantumMs, onEvent, tls} = shared;
  checkUrl(redis);
  const nativeTls = readTls(tls, redis);
  if (typeof key !== 'string') {
    throw new TypeError(`Expected \`shared.key\` to be a string (the limit's name in Redis), got ${describe(key)}`);
  }
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new RangeError(`Expected \`shared.key\` to be 1 to ${MAX_KEY_LENGTH} characters long, got ${key.length === 0 ? 'an empty string' : `${key.length} characters`}`);
  }
  // Its keys are `async-shape:{key}:…`: Redis Cluster hashes what lies between the first `{` and
  // the next `}`, and a key starting with `}` would leave that empty (each key then hashed whole,
  // on different slots: CROSSSLOT).
  if (key.startsWith('}')) {
    throw new RangeError(`Expected \`shared.key\` not to start with '}' (its Redis keys share the hash tag {key}, which would be empty), got ${describe(key)}`);
  }
  if (typeof leaseMs !== 'number' || !Number.isInteger(leaseMs)) {
    throw new TypeError(`Expected \`shared.leaseMs\` to be an integer number of milliseconds, got ${describe(leaseMs)}`);
  }
  if (leaseMs < MIN_LEASE_MS || leaseMs > MAX_LEASE_MS) {
    throw new RangeError(`Expected \`shared.leaseMs\` to be from ${MIN_LEASE_MS} to ${MAX_LEASE_MS} ms, got ${describe(leaseMs)}`);
  }
  if (onStoreDown !== 'wait' && onStoreDown !== 'local') {
    throw new TypeError(`Expected \`shared.onStoreDown\` to be 'wait' or 'local', got ${describe(onStoreDown)}`);
  }
  // Unused under 'wait', where the addon still wants a valid number.
  let local = concurrency;
  if (onStoreDown === 'local') {
    if (!Number.isInteger(localConcurrency) || localConcurrency < 1) {
      throw new TypeError(`Expected \`shared.localConcurrency\` to be an integer from 1 and up (the limit while Redis is down, with onStoreDown: 'local'), got ${describe(localConcurrency)}`);
    }
    if (localConcurrency > concurrency) {
      throw new RangeError(`Expected \`shared.localConcurrency\` (${localConcurrency}) to be at most \`concurrency\` (${concurrency})`);
    }
    local = localConcurrency;
  } else if (localConcurrency !== undefined) {
    throw new TypeError("`shared.localConcurrency` goes with onStoreDown: 'local' (with 'wait', nothing runs beyond the fleet's permits)");
  }
  if (quantumMs !== undefined) {
    if (typeof quantumMs !== 'number' || !Number.isInteger(quantumMs)) {
      throw new TypeError(`Expected \`shared.quantumMs\` to be an integer number of milliseconds, got ${describe(quantumMs)}`);
    }
    if (quantumMs < 0 || quantumMs > MAX_QUANTUM_MS) {
      throw new RangeError(`Expected \`shared.quantumMs\` to be from 0 to ${MAX_QUANTUM_MS} ms, got ${describe(quantumMs)}`);
    }
  }
  if (onEvent !== undefined && typeof onEvent !== 'function') {
    throw new TypeError(`Expected \`shared.onEvent\` to be a function, got ${describe(onEvent)}`);
  }
  const c = fleet();
  const native = {url: redis, key, leaseMs, onStoreDown: onStoreDown === 'wait' ? c.STORE_DOWN_WAIT : c.STORE_DOWN_LOCAL, localConcurrency: local, loopFlush: NODE_LOOP};
  if (quantumMs !== undefined) native.quantumMs = quantumMs;
  if (nativeTls !== undefined) native.tls = nativeTls;
  return {
    native,
    onEvent,
    leaseMs,
    local: onStoreDown === 'local',
  };
}

/**
 * The addon's event `kind` (with `detail`) as the user's `onEvent` sees it:
 * {type: 'storeDown' | 'storeUp' | 'leaseLost' | 'leaseRegained' | 'fatal', detail?, error?}.
 */
function eventOf(kind, detail, error) {
  const type = EVENT_NAMES()[kind] ?? 'unknown';
  const event = {type};
  if (detail !== undefined && detail !== null) event.detail = String(detail);
  if (error !== undefined) event.error = error;
  return event;
}

/** Calls the user's onEvent on its own (a throw is its uncaught exception, never the pool's). */
function emit(onEvent, event) {
  if (onEvent !== undefined) queueMicrotask(() => onEvent(event));
}

/** `fleetStats()`'s Float64Array as an object. */
function statsOf(array) {
  const c = fleet();
  return {
    limit: array[c.STAT_LIMIT],
    held: array[c.STAT_HELD],
    holders: array[c.STAT_HOLDERS],
    inFlight: array[c.STAT_FLEET_IN_FLIGHT],
    fleetQueue: array[c.STAT_FLEET_QUEUE],
    storeUp: array[c.STAT_STORE_UP] === 1,
    leaseRemainingMs: array[c.STAT_LEASE_REMAINING_MS],
    grants: array[c.STAT_GRANTS],
    returned: array[c.STAT_RETURNED],
    roundTrips: array[c.STAT_ROUND_TRIPS],
    maxWaitMs: array[c.STAT_MAX_WAIT_MS],
    fenced: array[c.STAT_FENCED],
    ready: array[c.STAT_READY] === 1,
  };
}

const isKind = (kind, name) => kind === fleet()[name];

/** `ready()` of a shared pool or limit: the addon's promise, its rejection as a FleetError. */
const readyOf = core =>
  core.ready().then(
    () => undefined,
    error => {
      throw new FleetError(String(error?.message ?? error));
    },
  );

/** The FleetError of a FATAL event: what every waiting and later task of the pool rejects with. */
const fatalOf = detail => new FleetError(String(detail ?? 'the shared limit failed'));

module.exports = {readShared, eventOf, emit, statsOf, isKind, readyOf, fatalOf, hasFleet, LeaseLostError, FleetError, DEFAULT_LEASE_MS};
