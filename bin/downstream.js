'use strict';
// The built-in downstream: a rate-limited HTTP service on 127.0.0.1, served from Rust on its own
// thread (core/src/downstream/server.rs), so that it never shares the event loop with the load that
// measures it. `capacity` requests a second at `latency` ms each: its knee is capacity × latency.
// `mode` puts a limiter in front, as a proxy in front of an app: `'conn'` answers 503 at once beyond
// `limit` requests in flight (nginx's limit_conn), `'rate'` answers 429 with `Retry-After` beyond
// `limit` requests a second (nginx's limit_req); `'queue'` (the default) has none.

const {NativeDownstream} = require('../lib/internal/native');
const {describe, validateOptionsObject} = require('../lib/internal/validate');
const {room} = require('../lib/internal/wire');

// The Rust side's bounds (core/src/downstream/wire.rs, enforced by its model): checked here
// first, for messages that name the option. Every number here becomes a Duration or a count of
// semaphore permits.
const {MAX_CAPACITY, MAX_LATENCY_MS, MAX_SERVERS, MAX_QUEUE, MODE_QUEUE, MODE_CONN, MODE_RATE, MAX_CONN_LIMIT, MAX_RATE_LIMIT} =
  room('downstream');
const MODES = {queue: MODE_QUEUE, conn: MODE_CONN, rate: MODE_RATE};
const MODE_NAMES = Object.fromEntries(Object.entries(MODES).map(([name, code]) => [code, name]));

/** `mode` and `limit` checked: returns the mode's wire code. */
function limiterOf(mode, limit) {
  if (!Object.hasOwn(MODES, mode)) {
    throw new TypeError(`Expected \`mode\` to be 'queue', 'conn' or 'rate', got ${describe(mode)}`);
  }
  if (mode === 'queue') {
    if (limit !== undefined) throw new TypeError(`Expected no \`limit\` in mode 'queue' (it goes with 'conn' or 'rate'), got ${describe(limit)}`);
  } else if (mode === 'conn') {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_CONN_LIMIT) {
      throw new TypeError(`Expected \`limit\` (mode 'conn') to be an integer from 1 to ${MAX_CONN_LIMIT} requests in flight, got ${describe(limit)}`);
    }
  } else if (typeof limit !== 'number' || !(limit > 0 && limit <= MAX_RATE_LIMIT)) {
    throw new TypeError(`Expected \`limit\` (mode 'rate') to be a positive number of requests per second up to ${MAX_RATE_LIMIT}, got ${describe(limit)}`);
  }
  return MODES[mode];
}

function number(value, name, max, unit) {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`Expected \`${name}\` to be a positive number of ${unit}, got ${describe(value)}`);
  }
  if (!(value > 0 && value <= max)) {
    throw new RangeError(`Expected \`${name}\` to be a positive number of ${unit} up to ${max}, got ${describe(value)}`);
  }
}

/** Requests in service at once for a capacity and latency: the knee. */
function serversFor(capacity, latency, name) {
  const servers = Math.max(1, Math.round((capacity * latency) / 1000));
  if (servers > MAX_SERVERS) {
    throw new RangeError(
      `Expected \`${name}\` × \`latency\` / 1000 (requests in service at once) to be at most ${MAX_SERVERS}, got ${servers}`,
    );
  }
  return servers;
}

/**
 * Starts the downstream. `queue` (default: as many places as servers) requests may wait; more are
 * answered 429. `mode` (`'queue'`, `'conn'`, `'rate'`) and `limit`: the limiter in front.
 * Returns `{url, port, knee, capacity, latency, queue, mode, limit, counters(), resetMaxima(), close()}`.
 */
function startDownstream(options = {}) {
  validateOptionsObject(options);
  const {capacity = 400, latency = 50, queue, port = 0, mode = 'queue', limit} = options;
  number(capacity, 'capacity', MAX_CAPACITY, 'requests per second');
  number(latency, 'latency', MAX_LATENCY_MS, 'milliseconds');
  serversFor(capacity, latency, 'capacity');
  if (queue !== undefined && (!Number.isInteger(queue) || queue < 0 || queue > MAX_QUEUE)) {
    throw new TypeError(`Expected \`queue\` to be an integer from 0 to ${MAX_QUEUE}, got ${describe(queue)}`);
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`Expected \`port\` to be an integer from 0 to 65535, got ${describe(port)}`);
  }
  const code = limiterOf(mode, limit);
  const native = NativeDownstream.start({capacity, latency, queue, port, mode: code, limit});
  return {
    url: `http://127.0.0.1:${native.port}/`,
    port: native.port,
    get knee() {
      return native.servers;
    },
    /** A step change of capacity, in requests per second (the latency stays). */
    setCapacity(requestsPerSecond) {
      number(requestsPerSecond, 'requestsPerSecond', MAX_CAPACITY, 'requests per second');
      native.setServers(serversFor(requestsPerSecond, latency, 'requestsPerSecond'));
    },
    queue: native.queue,
    mode: MODE_NAMES[native.mode],
    limit: native.limit ?? null,
    /** What it really serves, in requests per second: whole servers, so `capacity` × `latency` is
     * rounded (30/s at 50 ms is 2 servers: 40/s), and it follows `setCapacity`. */
    get capacity() {
      return (native.servers * 1000) / latency;
    },
    latency,
    counters: () => native.counters(),
    resetMaxima: () => native.resetMaxima(),
    close: () => native.close(),
  };
}

module.exports = {startDownstream};
