'use strict';
// lib/internal/native.js: which binary it loads, and the one error it gives when there is none.
const test = require('node:test');
const assert = require('node:assert/strict');
const {spawnSync} = require('node:child_process');
const path = require('node:path');

const native = path.join(__dirname, '..', 'lib', 'internal', 'native.js');

/** Loads lib/internal/native.js in a fresh node that reports `platform`/`arch`; returns its stderr and status. */
function loadAs({platform = process.platform, arch = process.arch, env = {}} = {}) {
  const fake = `Object.defineProperty(process, 'platform', {value: ${JSON.stringify(platform)}});` +
    `Object.defineProperty(process, 'arch', {value: ${JSON.stringify(arch)}});`;
  const res = spawnSync(process.execPath, ['-e', `${fake} require(${JSON.stringify(native)}); console.log('loaded')`], {
    encoding: 'utf8',
    env: {...process.env, ASYNC_SHAPE_NATIVE_PATH: '', ...env},
  });
  return {status: res.status, stdout: res.stdout, stderr: res.stderr};
}

test('loads the local build in a checkout', () => {
  const {status, stdout, stderr} = loadAs();
  assert.equal(status, 0, stderr);
  assert.equal(stdout.trim(), 'loaded');
});

test('an unsupported platform gets one error naming it and what was looked for', () => {
  const {status, stderr} = loadAs({platform: 'freebsd', arch: 'riscv64'});
  assert.notEqual(status, 0);
  const [line] = stderr.split('\n').filter(l => l.startsWith('Error: async-shape:'));
  assert.ok(line, stderr);
  assert.match(line, /no native binary for freebsd-riscv64/);
  assert.match(line, /async-shape\.freebsd-riscv64\.node/);
  assert.match(line, /async-shape-freebsd-riscv64\b/);
  assert.match(line, /Prebuilt binaries exist for linux-x64-gnu, .*win32-x64-gnu/);
  assert.match(line, /ASYNC_SHAPE_NATIVE_PATH/);
});

test('a supported platform whose package is missing is told to reinstall the optional dependency', () => {
  const platform = process.platform === 'linux' ? 'darwin' : 'linux';
  const {status, stderr} = loadAs({platform, arch: 'x64'});
  assert.notEqual(status, 0);
  assert.match(stderr, new RegExp(`no native binary for ${platform}-x64`));
  assert.match(stderr, /optional dependency async-shape-(darwin-x64|linux-x64-(gnu|musl))/);
  assert.match(stderr, /--omit=optional/);
});

test('ASYNC_SHAPE_NATIVE_PATH names the binary to load, and only that one', () => {
  const missing = path.join(__dirname, 'no-such-addon.node');
  const {status, stderr} = loadAs({env: {ASYNC_SHAPE_NATIVE_PATH: missing}});
  assert.notEqual(status, 0);
  assert.match(stderr, /ASYNC_SHAPE_NATIVE_PATH=.*no-such-addon\.node could not be loaded/);
});

test('the CLI prints its version and help without the native addon, and a missing addon in one line', () => {
  const cli = path.join(__dirname, '..', 'bin', 'async-shape.js');
  const env = {...process.env, ASYNC_SHAPE_NATIVE_PATH: path.join(__dirname, 'no-such-binary.node')};
  const version = spawnSync(process.execPath, [cli, '--version'], {encoding: 'utf8', env});
  assert.equal(version.status, 0, version.stderr);
  assert.equal(version.stdout.trim(), require('../package.json').version);
  const help = spawnSync(process.execPath, [cli, 'help'], {encoding: 'utf8', env});
  assert.equal(help.status, 0, help.stderr);
  const demo = spawnSync(process.execPath, [cli, 'demo', '--requests', '10'], {encoding: 'utf8', env});
  assert.equal(demo.status, 1);
  const lines = demo.stderr.trim().split('\n');
  assert.equal(lines.length, 1, demo.stderr);
  assert.match(lines[0], /^async-shape: ASYNC_SHAPE_NATIVE_PATH=.*could not be loaded: Cannot find module/);
});
