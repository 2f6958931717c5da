'use strict';
// napi-rs's platform names for this process (`linux-x64-gnu`, `darwin-arm64`, `win32-x64-gnu`…):
// the suffix of a binary `async-shape.<name>.node` and of its package `async-shape-<name>`.
// Shared by the loader (lib/internal/native.js) and the contributors' build (scripts/build-if-needed.js).
const fs = require('node:fs');

/** The platforms a binary package is published for: package.json `napi.targets`, by napi-rs's names. */
const PUBLISHED = ['linux-x64-gnu', 'linux-x64-musl', 'linux-arm64-gnu', 'darwin-arm64', 'darwin-x64', 'win32-x64-gnu'];

function isMusl() {
  // `ldd` is a shell script on glibc systems and the musl loader itself on musl ones.
  try {
    return fs.readFileSync('/usr/bin/ldd', 'latin1').includes('musl');
  } catch {
    // No readable ldd (slim images): a glibc Node reports the glibc it runs on, a musl one does not.
    if (process.report === undefined) return false;
    // No reverse DNS of open sockets for a header (as npm's own libc check does).
    const exclude = process.report.excludeNetwork;
    process.report.excludeNetwork = true;
    try {
      const header = process.report.getReport().header;
      return header != null && !header.glibcVersionRuntime;
    } finally {
      process.report.excludeNetwork = exclude;
    }
  }
}

/** This process's platform names, best first. */
function platformNames() {
  const base = `${process.platform}-${process.arch}`;
  // The other libc second: if the guess is wrong, a binary for it may still be installed.
  if (process.platform === 'linux') return isMusl() ? [`${base}-musl`, `${base}-gnu`] : [`${base}-gnu`, `${base}-musl`];
  if (process.platform === 'win32') return [`${base}-msvc`, `${base}-gnu`];
  return [base];
}

/**
 * Whether Node's libuv runs this process's loops: the addon may then use its `uv_*` functions
 * (Bun's and Deno's exports of those names are stubs that abort).
 */
const NODE_LOOP = process.versions.bun === undefined && typeof globalThis.Deno === 'undefined';

module.exports = {PUBLISHED, NODE_LOOP, isMusl, platformNames};
