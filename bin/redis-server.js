'use strict';
// A throwaway redis-server for the fleet demo, its tests and its benchmark: Debian's `redis-server`
// (from PATH) on a free loopback port, no persistence, in a temporary directory, and a tiny RESP
// client (no library) to ask it things. Nothing outlives the process that started it: each server
// runs under a `sh` watchdog that reads its stdin, which is a pipe from this process; when this
// process ends in any way (even SIGKILL) the pipe closes and the watchdog SIGKILLs the server.
// Normal exits also kill every server still running, synchronously, in an 'exit' listener.

const {spawn, spawnSync} = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const HOST = '127.0.0.1';

/** Whether `redis-server` is on PATH (no shell needed). */
function hasRedisServer() {
  const res = spawnSync('redis-server', ['--version'], {stdio: 'ignore', timeout: 5000});
  return res.error === undefined && res.status === 0;
}

/** A port that was free a moment ago on 127.0.0.1. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, HOST, () => {
      const {port} = server.address();
      server.close(() => resolve(port));
    });
  });
}

// --- RESP: just enough of the protocol to send commands and read any reply. ---

function encode(args) {
  let out = `*${args.length}\r\n`;
  for (const a of args) {
    const s = String(a);
    out += `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
  }
  return out;
}

class RedisReplyError extends Error {
  constructor(message) {
    super(message);
    this.name = 'RedisReplyError';
  }
}

/** Parses one reply at `at` of `buf`; returns [value, next] or undefined when incomplete. */
function parse(buf, at) {
  const eol = buf.indexOf('\r\n', at);
  if (eol < 0) return undefined;
  const type = String.fromCharCode(buf[at]);
  const line = buf.toString('utf8', at + 1, eol);
  const next = eol + 2;
  switch (type) {
    case '+':
      return [line, next];
    case '-':
      return [new RedisReplyError(line), next];
    case ':':
      return [Number(line), next];
    case '$': {
      const n = Number(line);
      if (n < 0) return [null, next];
      if (buf.length < next + n + 2) return undefined;
      return [buf.toString('utf8', next, next + n), next + n + 2];
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return [null, next];
      const items = [];
      let p = next;
      for (let i = 0; i < n; i++) {
        const r = parse(buf, p);
        if (r === undefined) return undefined;
        items.push(r[0]);
        p = r[1];
      }
      return [items, p];
    }
    default:
      throw new Error(`redis: unexpected reply type ${JSON.stringify(type)}`);
  }
}

/**
 * Sends `commands` (arrays of strings) on one fresh connection and resolves with their replies
 * in order (error replies come back as RedisReplyError values, not rejections). Rejects on a
 * connection error or after `timeoutMs`.
 */
function send(port, commands, {timeoutMs = 5000} = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({host: HOST, port});
    let buf = Buffer.alloc(0);
    const replies = [];
    const done = (error, value) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(value);
    };
    const timer = setTimeout(() => done(new Error(`redis on port ${port}: no reply within ${timeoutMs} ms`)), timeoutMs);
    socket.on('error', error => done(error));
    socket.on('close', () => done(new Error(`redis on port ${port}: connection closed after ${replies.length} of ${commands.length} replies`)));
    socket.on('data', chunk => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      let at = 0;
      for (;;) {
        let r;
        try {
          r = parse(buf, at);
        } catch (error) {
          done(error);
          return;
        }
        if (r === undefined) break;
        replies.push(r[0]);
        at = r[1];
      }
      buf = buf.subarray(at);
      if (replies.length === commands.length) done(undefined, replies);
    });
    socket.write(commands.map(encode).join(''));
  });
}

/** `INFO <section>` as {field: string}. */
function parseInfo(text) {
  const out = {};
  for (const line of text.split('\r\n')) {
    const at = line.indexOf(':');
    if (at > 0 && !line.startsWith('#')) out[line.slice(0, at)] = line.slice(at + 1);
  }
  return out;
}

/**
 * Makes a throwaway CA and a server certificate signed by it for `ip` (an IP SAN: clients check
 * the URL's host against it), with the `openssl` CLI, in `dir`. Returns the PEM file paths and
 * the CA's PEM text: {ca, caFile, certFile, keyFile}. EC P-256 keys, valid for two days.
 */
function makeCertificates(dir, {ip = HOST, name = 'async-shape test CA'} = {}) {
  fs.mkdirSync(dir, {recursive: true});
  const f = n => path.join(dir, n);
  const openssl = argv => {
    const res = spawnSync('openssl', argv, {cwd: dir, encoding: 'utf8', timeout: 30_000});
    if (res.error || res.status !== 0) throw new Error(`openssl ${argv[0]} failed: ${res.error?.message ?? res.stderr}`);
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  openssl(['req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', `/CN=${ip}`]);
  fs.writeFileSync(f('server.ext'), `subjectAltName=IP:${ip}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n`);
  openssl(['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial',
    '-out', f('server.pem'), '-days', '2', '-extfile', f('server.ext')]);
  return {ca: fs.readFileSync(f('ca.pem'), 'utf8'), caFile: f('ca.pem'), certFile: f('server.pem'), keyFile: f('server.key')};
}

const running = new Set();
let exitHook = false;
function killAllSync() {
  for (const server of running) server.killNow();
}

/**
 * Starts a redis-server and resolves once it answers PING. Options: `password` (requirepass),
 * `port` (default: a free one), `timeoutMs` (default 10 s to answer), `args` (more server flags),
 * `tls` (true: a TLS port too, with a CA and a server certificate for 127.0.0.1 made by
 * makeCertificates; clients need not present one. The plain port stays, for this harness's own
 * commands: `url` is plain, `tlsUrl` the rediss:// one, `ca` the CA's PEM).
 * The server: {host, port, url, tlsPort, tlsUrl, ca, password, pid, dir, command(...args),
 * pipeline(cmds), info(section), commandCalls(), pause(), resume(), restart(), stop(), log()}.
 */
async function startRedisServer(options = {}) {
  const {password, timeoutMs = 10_000, args = [], tls = false} = options;
  if (!exitHook) {
    exitHook = true;
    process.on('exit', killAllSync);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'async-shape-redis-'));
  let port = options.port ?? (await freePort());
  const certs = tls ? makeCertificates(path.join(dir, 'tls')) : undefined;
  let tlsPort = tls ? await freePort() : undefined;
  let child;
  let pid;
  let logText = '';
  let exited;
  let stopped = false;
  const auth = password === undefined ? [] : [['AUTH', password]];

  const launch = async () => {
    const flags = ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', '', ...args];
    if (password !== undefined) flags.push('--requirepass', password);
    if (tls) {
      flags.push('--tls-port', String(tlsPort), '--tls-cert-file', certs.certFile, '--tls-key-file', certs.keyFile,
        '--tls-ca-cert-file', certs.caFile, '--tls-auth-clients', 'no');
    }
    // The watchdog: the server in the background, its pid on the first line, then wait for either
    // the server to end or our pipe to close (this process gone), which kills the server.
    const script =
      'exec 3<&0\n' +
      'redis-server "$@" </dev/null & p=$!\n' +
      'echo "$p"\n' +
      '{ read _ <&3; kill -KILL "$p" 2>/dev/null; } &\n' +
      'w=$!\n' +
      'wait "$p"; s=$?\n' +
      'kill "$w" 2>/dev/null\n' +
      'exit "$s"\n';
    child = spawn('sh', ['-c', script, 'redis-watchdog', ...flags], {stdio: ['pipe', 'pipe', 'pipe']});
    child.stdin.on('error', () => {});
    let first = '';
    const gotPid = new Promise((resolve, reject) => {
      child.stdout.on('data', chunk => {
        if (pid === undefined) {
          first += chunk.toString('utf8');
          const nl = first.indexOf('\n');
          if (nl >= 0) {
            pid = Number(first.slice(0, nl));
            logText += first.slice(nl + 1);
            resolve();
          }
        } else {
          logText = (logText + chunk.toString('utf8')).slice(-20_000);
        }
      });
      child.stderr.on('data', chunk => (logText = (logText + chunk.toString('utf8')).slice(-20_000)));
      child.on('error', reject);
    });
    exited = new Promise(resolve => child.on('exit', (code, signal) => resolve({code, signal})));
    await gotPid;
    // From here on the server alone keeps no process alive (the PING loop's timers do, until ready).
    child.unref();
    for (const s of [child.stdout, child.stderr, child.stdin]) s.unref?.();
    // Wait until it answers (NOAUTH also means it is up).
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const early = await Promise.race([exited.then(e => e), new Promise(r => setTimeout(r, 20, undefined))]);
      if (early !== undefined) {
        throw new Error(`redis-server on port ${port} exited (${early.signal ?? early.code}) before answering:\n${logText.trim().split('\n').slice(-5).join('\n')}`);
      }
      try {
        const replies = await send(port, [...auth, ['PING']], {timeoutMs: 1000});
        if (replies.at(-1) === 'PONG') return;
      } catch {
        // not yet
      }
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
    }
  };

  // The child is unref'd (a server alone keeps no process alive); while we wait for it to end, it must be ref'd.
  const waitExit = async () => {
    child?.ref();
    try {
      return await exited;
    } finally {
      child?.unref();
    }
  };
  const server = {
    host: HOST,
    get port() {
      return port;
    },
    password,
    dir,
    get pid() {
      return pid;
    },
    /** redis://[:password@]127.0.0.1:port */
    get url() {
      return `redis://${password === undefined ? '' : `:${encodeURIComponent(password)}@`}${HOST}:${port}`;
    },
    /** With `tls`: the TLS port. */
    get tlsPort() {
      return tlsPort;
    },
    /** With `tls`: rediss://[:password@]127.0.0.1:tlsPort */
    get tlsUrl() {
      return tls ? `rediss://${password === undefined ? '' : `:${encodeURIComponent(password)}@`}${HOST}:${tlsPort}` : undefined;
    },
    /** With `tls`: the PEM of the CA that signed the server's certificate. */
    ca: certs?.ca,
    /** One command on a fresh connection (authenticated); error replies reject. */
    async command(...cmd) {
      const replies = await send(port, [...auth, cmd.map(String)]);
      const reply = replies.at(-1);
      if (reply instanceof RedisReplyError) throw reply;
      return reply;
    },
    /** Several commands on one connection; replies (errors as values) in order. */
    async pipeline(cmds, opts) {
      const replies = await send(port, [...auth, ...cmds.map(c => c.map(String))], opts);
      return replies.slice(auth.length);
    },
    async info(section = 'default') {
      return parseInfo(await server.command('INFO', section));
    },
    /** Calls per command since start (or CONFIG RESETSTAT), from INFO commandstats: {get: 3, …}. */
    async commandCalls() {
      const info = await server.info('commandstats');
      const out = {};
      for (const [k, v] of Object.entries(info)) {
        const m = /calls=(\d+)/.exec(v);
        if (k.startsWith('cmdstat_') && m) out[k.slice(8)] = Number(m[1]);
      }
      return out;
    },
    /**
     * Counts the commands the server executes from now on, by MONITOR: those sent by clients
     * (round trips, script calls included once) apart from those scripts ran inside. Resolves
     * with {stop(): Promise<{client, script, byCommand}>} once monitoring has begun.
     */
    async monitor() {
      const socket = net.connect({host: HOST, port});
      const counts = {client: 0, script: 0, byCommand: {}};
      let rest = '';
      let oks = 0;
      let started;
      const begun = new Promise((resolve, reject) => {
        started = resolve;
        socket.once('error', reject);
      });
      socket.setEncoding('utf8');
      socket.on('data', chunk => {
        const lines = (rest + chunk).split('\r\n');
        rest = lines.pop();
        for (const line of lines) {
          if (line === '+OK') {
            // AUTH's, then MONITOR's.
            if (++oks === (password === undefined ? 1 : 2)) started();
            continue;
          }
          // +1700000000.123456 [0 127.0.0.1:52416] "evalsha" "…"   or   [0 lua] "hget" …
          const m = /^\+[\d.]+ \[\d+ ([^\]]+)\] "([^"]+)"/.exec(line);
          if (m === null) continue;
          const name = m[2].toLowerCase();
          if (m[1] === 'lua') counts.script++;
          else if (name !== 'info' && name !== 'auth' && name !== 'echo') {
            counts.client++;
            counts.byCommand[name] = (counts.byCommand[name] ?? 0) + 1;
          }
        }
      });
      socket.on('error', () => {});
      socket.write((password === undefined ? '' : encode(['AUTH', password])) + encode(['MONITOR']));
      await begun;
      return {
        async stop() {
          // A marker through the server, so that every command before it has been seen.
          await send(port, [...auth, ['ECHO', 'monitor-end']]);
          await new Promise(resolve => setTimeout(resolve, 50));
          socket.destroy();
          return counts;
        },
      };
    },
    /** SIGSTOP: the server hangs (connections stay open, nothing answers). */
    pause() {
      process.kill(pid, 'SIGSTOP');
    },
    /** SIGCONT after pause(). */
    resume() {
      process.kill(pid, 'SIGCONT');
    },
    /** SIGKILL and start again on the same port: every key is lost. */
    async restart() {
      server.killNow();
      await waitExit();
      pid = undefined;
      running.add(server);
      await launch();
    },
    /** Kills it now (SIGKILL: no state to save), synchronously. */
    killNow() {
      running.delete(server);
      if (pid !== undefined) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      try {
        child?.stdin.destroy();
      } catch {
        // closed
      }
    },
    /** Stops it and removes its directory. */
    async stop() {
      if (stopped) return;
      stopped = true;
      server.killNow();
      const timer = setTimeout(() => child?.kill('SIGKILL'), 5000);
      await waitExit();
      clearTimeout(timer);
      fs.rmSync(dir, {recursive: true, force: true});
    },
    /** The last lines the server logged. */
    log() {
      return logText;
    },
  };
  running.add(server);
  for (let attempt = 1; ; attempt++) {
    try {
      await launch();
      return server;
    } catch (error) {
      // The free port was taken between our probe and the server's bind: try another one.
      const raced = (options.port === undefined || tls) && attempt < 3 && /already in use/i.test(logText);
      if (!raced) {
        await server.stop();
        throw error;
      }
      server.killNow();
      await waitExit();
      running.add(server);
      pid = undefined;
      logText = '';
      if (options.port === undefined) port = await freePort();
      if (tls) tlsPort = await freePort();
    }
  }
}

module.exports = {startRedisServer, hasRedisServer, freePort, send, parseInfo, RedisReplyError, makeCertificates};
