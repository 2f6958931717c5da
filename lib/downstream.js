'use strict';
// The built-in downstream: a rate-limited HTTP service on 127.0.0.1, served from Rust on its own
// thread (src/downstream_server.rs), so that it never shares the event loop with the load that
// measures it. `capacity` requests a second at `latency` ms each: its knee is capacity × latency.

const {NativeDownstream} = require('./native');
const {describe, validateOptionsObject} = require('./validate');

function positive(value, name) {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`Expected \`${name}\` to be a positive number, got ${describe(value)}`);
  }
}

/**
 * Starts the downstream. `queue` (default: as many places as servers) requests may wait; more are
 * answered 429. Returns `{url, port, knee, capacity, latency, queue, counters(), resetMaxima(), close()}`.
 */
function startDownstream(options = {}) {
  validateOptionsObject(options);
  const {capacity = 400, latency = 50, queue, port = 0} = options;
  positive(capacity, 'capacity');
  positive(latency, 'latency');
  if (queue !== undefined && (!Number.isInteger(queue) || queue < 0)) {
    throw new TypeError(`Expected \`queue\` to be an integer from 0 up, got ${describe(queue)}`);
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
      positive(requestsPerSecond, 'requestsPerSecond');
      native.setServers(Math.max(1, Math.round((requestsPerSecond * latency) / 1000)));
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
