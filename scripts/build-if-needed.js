#!/usr/bin/env node
'use strict';
// Builds the native addon with cargo when it is missing or older than its Rust sources.
// Runs on `npm install` (the `install` script), before `npm test` and before `npm run bench`.
const {spawnSync} = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const target = path.join(root, 'async-shape.node');
const libName = {darwin: 'libasync_shape.dylib', win32: 'async_shape.dll'}[process.platform] ?? 'libasync_shape.so';

function newestSource() {
  let newest = 0;
  const visit = p => {
    const st = fs.statSync(p);
    if (st.isDirectory()) {
      for (const e of fs.readdirSync(p)) visit(path.join(p, e));
    } else {
      newest = Math.max(newest, st.mtimeMs);
    }
  };
  for (const p of ['src', 'Cargo.toml', 'Cargo.lock', 'build.rs']) {
    if (fs.existsSync(path.join(root, p))) visit(path.join(root, p));
  }
  return newest;
}

const force = process.argv.includes('--force');
if (!force && fs.existsSync(target) && fs.statSync(target).mtimeMs >= newestSource()) {
  process.exit(0);
}

console.error('async-shape: building the native addon (cargo build --release)…');
const res = spawnSync('cargo', ['build', '--release', '--lib'], {cwd: root, stdio: 'inherit'});
if (res.error?.code === 'ENOENT') {
  console.error('async-shape: `cargo` was not found. Install Rust (https://rustup.rs) and run `npm install` again.');
  process.exit(1);
}
if (res.status !== 0) {
  process.exit(res.status ?? 1);
}
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(root, 'target');
fs.copyFileSync(path.join(targetDir, 'release', libName), target);
