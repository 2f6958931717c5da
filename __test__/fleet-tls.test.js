'use strict';
// The shared limit over TLS (#16: `rediss://`, `shared.tls`, a password and an ACL user in the
// URL), against a real redis-server with a TLS port (Debian's is built with TLS; __test__/redis.js
// makes a throwaway CA and a server certificate for 127.0.0.1 with the openssl CLI). The harness
// talks to the server on its plain port; the pools only on the TLS one. No mocks; every wait is
// bounded; nothing is left running.

const test = require('node:test');
const {after} = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {Pool, pLimit, FleetError} = require('..');
const {startRedis, stopAllRedis, skipWithoutRedis, makeCertificates} = require('./redis');

after(stopAllRedis);
const noRedis = skipWithoutRedis();
let keys = 0;
const newKey = name => `tls-${name}-${process.pid}-${++keys}`;
const delay = ms => new Promise(resolve => setTimeout(resolve, ms));

/** `promise`, or a rejection naming `what` after `ms` (a hang fails the test, bounded). */
function within(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

const outcome = p => p.then(
  value => ({value}),
  error => error,
);

/** A CA that signed nothing the server has (a different name: the client cannot find the issuer). */
let otherCa;
const anotherCa = () => {
  if (otherCa === undefined) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'async-shape-other-ca-'));
    try {
      otherCa = makeCertificates(dir, {name: 'not the server CA'}).ca;
    } finally {
      fs.rmSync(dir, {recursive: true, force: true});
    }
  }
  return otherCa;
};

/** The limiter's keys as the server holds them: permits held by anyone, and `used`. */
async function ledger(server, key) {
  const held = await server.command('HLEN', `async-shape:{${key}}:permits`);
  const used = await server.command('HGET', `async-shape:{${key}}:meta`, 'used');
  return {held, used: Number(used ?? 0)};
}

// --- bad input: TypeErrors naming the option, synchronously -----------------------------------

test('bad shared.tls options are TypeErrors naming the option', {skip: noRedis}, () => {
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  const url = 'rediss://127.0.0.1:6380';
  const cases = [
    [{redis: url, tls: 'yes'}, /`shared\.tls` to be an object/],
    [{redis: url, tls: null}, /`shared\.tls` to be an object/],
    [{redis: 'redis://127.0.0.1:6379', tls: {ca: pem}}, /`shared\.tls` goes with a rediss:\/\/ URL/],
    [{redis: url, tls: {ca: 42}}, /`shared\.tls\.ca` to be PEM certificates.*`42` \(number\)/],
    [{redis: url, tls: {ca: ['x', 7]}}, /`shared\.tls\.ca\[1\]` to be PEM certificates/],
    [{redis: url, tls: {ca: 'not a certificate'}}, /`shared\.tls\.ca` to hold PEM certificates/],
    // PEM markers around something that is no certificate: the addon's check names it too.
    [{redis: url, tls: {ca: pem}}, /`shared\.tls\.ca` to be PEM certificates/],
    [{redis: url, tls: {rejectUnauthorized: 'no'}}, /`shared\.tls\.rejectUnauthorized` to be a boolean/],
    [{redis: url, tls: {cert: pem}}, /`shared\.tls\.cert` is not supported \(supported: ca, rejectUnauthorized\)/],
    [{redis: `${url}#insecure`}, /`shared\.redis` to have no #fragment/],
  ];
  for (const [shared, message] of cases) {
    const options = {concurrency: 2, shared: {key: 'k', ...shared}};
    assert.throws(() => new Pool(options), {name: 'TypeError', message}, JSON.stringify(shared));
    assert.throws(() => pLimit(options), {name: 'TypeError', message}, `pLimit ${JSON.stringify(shared)}`);
  }
});

// --- a TLS server -------------------------------------------------------------------------------

test('rediss:// with the server\'s CA: a shared pool runs its tasks under the fleet limit, close() gives the permits back', {skip: noRedis, timeout: 30_000}, async () => {
  const server = await startRedis({tls: true});
  const key = newKey('ok');
  // The CA as a string for one pool, as a Buffer (in an array) for the other: both are PEM.
  const a = new Pool({concurrency: 3, shared: {redis: server.tlsUrl, key, tls: {ca: server.ca}}});
  const b = pLimit({concurrency: 3, shared: {redis: server.tlsUrl, key, tls: {ca: [Buffer.from(server.ca)]}}});
  await within(Promise.all([a.ready(), b.ready()]), 10_000, 'ready()');
  let running = 0;
  let max = 0;
  const task = async x => {
    running++;
    max = Math.max(max, running);
    await delay(x % 3);
    running--;
    return x * 2;
  };
  const inputs = Array.from({length: 40}, (_, i) => i);
  const [fromA, fromB] = await within(
    Promise.all([Promise.all(inputs.map(x => a.run(() => task(x)))), Promise.all(inputs.map(x => b(() => task(x))))]),
    20_000,
    'the tasks',
  );
  assert.deepEqual(fromA, inputs.map(x => x * 2));
  assert.deepEqual(fromB, inputs.map(x => x * 2));
  assert.ok(max <= 3, `at most 3 in flight over both pools (the fleet limit), saw ${max}`);
  assert.equal(a.stats().fleet.ready, true);
  assert.ok(a.stats().fleet.grants + b.fleet.grants >= 1);
  await within(Promise.all([a.close(), b.close()]), 5000, 'close()');
  assert.deepEqual(await ledger(server, key), {held: 0, used: 0}, 'every permit is back in Redis');
});

test('rediss:// with a CA that did not sign the server\'s certificate: ready() rejects at once naming the URL (password masked) and TLS; tasks reject; no hang', {skip: noRedis, timeout: 30_000}, async () => {
  const server = await startRedis({tls: true});
  const url = `rediss://fleet:hunter2@127.0.0.1:${server.tlsPort}`;
  const events = [];
  const pool = new Pool({concurrency: 2, shared: {redis: url, key: newKey('wrong-ca'), tls: {ca: anotherCa()}, onEvent: e => events.push(e)}});
  const queued = outcome(pool.run(() => 'ran'));
  const error = await within(pool.ready().then(() => assert.fail('ready() resolved'), e => e), 15_000, 'ready() to reject');
  assert.equal(error.name, 'FleetError');
  assert.match(error.message, /rediss:\/\/fleet:\*\*\*@127\.0\.0\.1:\d+/, 'the URL, password masked');
  assert.doesNotMatch(error.message, /hunter2/);
  assert.match(error.message, /TLS handshake failed: invalid peer certificate: UnknownIssuer/);
  assert.match(error.message, /shared\.tls\.ca/, 'says what to do');
  // Permanent: it did not wait out the connect timeout retrying.
  assert.doesNotMatch(error.message, /no connection within/);
  assert.equal((await within(queued, 5000, 'the queued task')).name, 'FleetError');
  await assert.rejects(pool.run(() => 'later'), {name: 'FleetError'});
  await delay(10);
  assert.ok(events.some(e => e.type === 'fatal' && e.error instanceof FleetError), JSON.stringify(events));
  await within(pool.close(), 5000, 'close()');

  // Without a CA the bundled roots (Mozilla's) do not know a private CA either; with
  // rejectUnauthorized: false nothing is checked and it works.
  const roots = pLimit({concurrency: 2, shared: {redis: server.tlsUrl, key: newKey('roots')}});
  await assert.rejects(within(roots.ready(), 15_000, 'ready()'), {name: 'FleetError', message: /TLS handshake failed: invalid peer certificate: UnknownIssuer/});
  await within(roots.close(), 5000, 'close()');
  const unchecked = pLimit({concurrency: 2, shared: {redis: server.tlsUrl, key: newKey('unchecked'), tls: {rejectUnauthorized: false}}});
  await within(unchecked.ready(), 10_000, 'ready()');
  assert.equal(await unchecked(() => 'ran'), 'ran');
  await within(unchecked.close(), 5000, 'close()');
});

test('rediss:// with a password, and with an ACL user and its password: both work over TLS; a wrong password is a clear error', {skip: noRedis, timeout: 30_000}, async () => {
  const server = await startRedis({tls: true, password: 'right'});
  await server.command('ACL', 'SETUSER', 'fleet', 'on', '>fleet-pass', '~async-shape:*', '&*', '+@all');
  const port = server.tlsPort;
  const tls = {ca: server.ca};

  // requirepass: the default user's password.
  const key = newKey('auth');
  const byPassword = pLimit({concurrency: 2, shared: {redis: server.tlsUrl, key, tls}});
  await within(byPassword.ready(), 10_000, 'ready() with the password');
  assert.deepEqual(await byPassword.map([1, 2, 3], async x => x + 1), [2, 3, 4]);
  await within(byPassword.close(), 5000, 'close()');

  // An ACL user: its commands are the ones the server counts for it.
  const aclKey = newKey('acl');
  const before = Number((await server.command('ACL', 'GETUSER', 'fleet'))?.length ?? 0);
  assert.ok(before > 0, 'the user exists');
  const byUser = new Pool({concurrency: 2, shared: {redis: `rediss://fleet:fleet-pass@127.0.0.1:${port}`, key: aclKey, tls}});
  await within(byUser.ready(), 10_000, 'ready() as the ACL user');
  assert.deepEqual(await Promise.all([1, 2, 3].map(x => byUser.run(async () => x * 3))), [3, 6, 9]);
  const clients = await server.command('CLIENT', 'LIST');
  assert.match(clients, /user=fleet/, 'connected as the ACL user');
  await within(byUser.close(), 5000, 'close()');
  assert.deepEqual(await ledger(server, aclKey), {held: 0, used: 0});

  // A wrong password for that user: a permanent failure, the URL masked.
  const wrong = new Pool({concurrency: 2, shared: {redis: `rediss://fleet:nope@127.0.0.1:${port}`, key: newKey('wrong'), tls}});
  const queued = outcome(wrong.run(() => 'ran'));
  const error = await within(wrong.ready().then(() => assert.fail('ready() resolved'), e => e), 15_000, 'ready() to reject');
  assert.equal(error.name, 'FleetError');
  assert.match(error.message, /WRONGPASS|invalid username-password|[Aa]uthentication failed/);
  assert.match(error.message, /rediss:\/\/fleet:\*\*\*@127\.0\.0\.1:\d+/);
  assert.doesNotMatch(error.message, /nope/);
  assert.equal((await within(queued, 5000, 'the queued task')).name, 'FleetError');
  await within(wrong.close(), 5000, 'close()');
});
