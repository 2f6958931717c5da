#!/usr/bin/env node
'use strict';
// Contributors' build: `napi build --platform --release` (@napi-rs/cli) writes
// `async-shape.<platform>.node` in the package folder, which lib/internal/native.js loads before any
// prebuilt package. Runs before `npm test` and `npm run bench`, and only builds when the binary is
// missing or its Rust sources changed since it was built (a content hash, not file times, which a
// checkout or an unpacked tarball sets arbitrarily). `--force` (`npm run build`) always builds.
// Users never run this: the published package has no install script and ships no Rust.
const {spawnSync} = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const {platformNames} = require('../lib/internal/platform');

const root = path.join(__dirname, '..');
// On Windows the host toolchain decides between -msvc and -gnu; elsewhere there is one name.
const binaries = platformNames().map(name => path.join(root, `async-shape.${name}.node`));
const stampDir = process.env.CARGO_TARGET_DIR ?? path.join(root, 'target');
const stamp = path.join(stampDir, 'async-shape.sources');

function sourcesHash() {
  const hash = crypto.createHash('sha256');
  const visit = rel => {
    const abs = path.join(root, rel);
    if (!fs.existsSync(abs)) return;
    if (fs.statSync(abs).isDirectory()) {
      for (const e of fs.readdirSync(abs).sort()) visit(path.join(rel, e));
    } else {
      hash.update(`${rel}\0`).update(fs.readFileSync(abs)).update('\0');
    }
  };
  for (const rel of ['src', 'core/src', 'core/Cargo.toml', 'Cargo.toml', 'Cargo.lock', 'build.rs', '.cargo/config.toml']) visit(rel);
  return hash.digest('hex');
}

const hash = sourcesHash();
const force = process.argv.includes('--force');
const built = () => binaries.find(file => fs.existsSync(file));
// The stamp names the sources' hash and the binary it was written for (its path, size and time), so
// a binary replaced by hand, or a stamp shared through CARGO_TARGET_DIR by another clone, rebuilds.
const stampOf = file => {
  const st = fs.statSync(file);
  return `${file} ${st.size} ${Math.trunc(st.mtimeMs)} ${hash}`;
};
if (!force && built() && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === stampOf(built())) {
  process.exit(0);
}

const napi = path.join(root, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js');
if (!fs.existsSync(napi)) {
  console.error('async-shape: @napi-rs/cli is missing; run `npm install` in the repository first.');
  process.exit(1);
}
const cargo = spawnSync('cargo', ['--version'], {stdio: 'ignore'});
if (cargo.error?.code === 'ENOENT') {
  console.error('async-shape: building the addon needs Rust: `cargo` was not found. Install it (https://rustup.rs, 1.88+).');
  process.exit(1);
}
console.error('async-shape: building the native addon (napi build --platform --release)');
const res = spawnSync(process.execPath, [napi, 'build', '--platform', '--release'], {cwd: root, stdio: 'inherit'});
if (res.status !== 0) process.exit(res.status ?? 1);
if (!built()) {
  console.error(`async-shape: napi build finished without writing ${binaries.join(' or ')}.`);
  process.exit(1);
}
fs.mkdirSync(stampDir, {recursive: true});
fs.writeFileSync(stamp, stampOf(built()));
