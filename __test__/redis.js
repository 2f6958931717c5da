'use strict';
// The tests' redis-server harness: a real `redis-server` (Debian's, on PATH) per test file, on a
// free loopback port, no persistence, stopped in `after` and on any exit of the test process (see
// bin/redis-server.js for the watchdog that also covers SIGKILL). No mocks of Redis.
//
//   const {startRedis, stopAllRedis, skipWithoutRedis} = require('./redis');
//   after(stopAllRedis);
//   const server = await startRedis({password: 's3cret'});
//   server.url; server.pause(); server.resume(); await server.restart(); await server.command('DBSIZE');
//   const tlsServer = await startRedis({tls: true}); tlsServer.tlsUrl; tlsServer.ca; makeCertificates(dir).ca

const {startRedisServer, hasRedisServer, freePort, send, RedisReplyError, makeCertificates} = require('../bin/redis-server');

const started = new Set();

/** Starts a server (see startRedisServer) and remembers it for stopAllRedis. */
async function startRedis(options) {
  const server = await startRedisServer(options);
  started.add(server);
  return server;
}

/** Stops every server this file started (for `after`). */
async function stopAllRedis() {
  const all = [...started];
  started.clear();
  await Promise.all(all.map(s => s.stop()));
}

/** For `test(name, {skip: skipWithoutRedis()}, …)`: a reason when redis-server is missing. */
const skipWithoutRedis = () => (hasRedisServer() ? false : 'redis-server is not on PATH (.ci/run installs it)');

module.exports = {startRedis, stopAllRedis, skipWithoutRedis, hasRedisServer, freePort, send, RedisReplyError, makeCertificates};
