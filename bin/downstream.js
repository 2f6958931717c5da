'use strict';
// The built-in downstream: a rate-limited HTTP service on 127.0.0.1, served from Rust on its own
// thread (core/src/downstream/server.rs), so that it never shares the event loop with the load that
// measures it. `capacity` requests a second at `latency` ms each: its knee is capacity × latency.

const {NativeDownstream} = require('../lib/internal/native');
const {describe, validateOptionsObject} = require('../lib/internal/validate');
const {room} = require('../lib/internal/wire');

// The Rust side's bounds (core/src/downstream/wire.rs, enforced by its model): checked here
// first, for messages that name the option. Every number here becomes a Duration or a count of
// semaphore permits.
const {MAX_CAPACITY, MAX_LATENCY_MS, MAX_SERVERS, MAX_QUEUE} = room('downstream');

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
 * answered 429. Returns `{url, port, knee, capacity, latency, queue, counters(), resetMaxima(), close()}`.
 */
function startDownstream(options = {}) {
  validateOptionsObject(options);
  const {capacity = 400, latency = 50, queue, port = 0} = options;
  number(capacity, 'capacity', MAX_CAPACITY, 'requests per second');
  number(latency, 'latency', MAX_LATENCY_MS, 'milliseconds');
  serversFor(capacity, latency, 'capacity');
  if (queue !== undefined && (!Number.isInteger(queue) || queue < 0 || queue > MAX_QUEUE)) {
    throw new TypeError(`Expected \`queue\` to be an integer from 0 to ${MAX_QUEUE}, got ${describe(queue)}`);
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`Expected \`port\` to be an integer from 0 to 65535, got ${describe(port)}`);
  }
  const native = NativeDownstream.start({capacity, latency, queue, port});
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
    capacity,
    latency,
    counters: () => native.counters(),
    resetMaxima: () => native.resetMaxima(),
    close: () => native.close(),
  };
}

module.exports = {startDownstream};
