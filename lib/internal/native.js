'use strict';
// Finds and loads the Rust addon. In order:
//   1. ASYNC_SHAPE_NATIVE_PATH, when set: that file and nothing else;
//   2. a local build, `async-shape.<platform>.node` in the package folder (a clone after `npm run build`);
//   3. the prebuilt binary package for this platform, `async-shape-<platform>` (an optionalDependency).
// <platform> is napi-rs's name: `linux-x64-gnu`, `linux-x64-musl`, `darwin-arm64`, `win32-x64-gnu`…
const fs = require('node:fs');
const path = require('node:path');

const {PUBLISHED, isMusl, platformNames} = require('./platform');

function load() {
  const explicit = process.env.ASYNC_SHAPE_NATIVE_PATH;
  if (explicit) {
    try {
      return require(path.resolve(explicit));
    } catch (error) {
      throw failure(`ASYNC_SHAPE_NATIVE_PATH=${explicit} could not be loaded: ${firstLine(error)}`, error);
    }
  }
  const names = platformNames();
  const tried = [];
  for (const name of names) {
    const local = path.join(__dirname, '..', '..', `async-shape.${name}.node`);
    tried.push(local);
    if (fs.existsSync(local)) return loadFile(local);
  }
  for (const name of names) {
    const pkg = `async-shape-${name}`;
    tried.push(pkg);
    let file;
    try {
      file = require.resolve(`${pkg}/async-shape.${name}.node`);
    } catch {
      continue;
    }
    // In a checkout (its Rust sources beside lib/), a prebuilt package would test the published
    // code, not the sources: say so.
    if (fs.existsSync(path.join(__dirname, '..', '..', 'src', 'lib.rs'))) {
      process.emitWarning(
        `no local build of this checkout; loaded the prebuilt ${pkg} instead. Run \`npm run build\` to test the sources.`,
        {code: 'ASYNC_SHAPE_PREBUILT_IN_CHECKOUT'},
      );
    }
    return loadFile(file);
  }
  const here = `${process.platform}-${process.arch}${process.platform === 'linux' ? ` (${isMusl() ? 'musl' : 'glibc'})` : ''}`;
  const published = names.some(name => PUBLISHED.includes(name));
  throw failure(
    `no native binary for ${here}; looked for ${tried.join(', ')}. ` +
      (published
        ? `Reinstall so npm installs the optional dependency async-shape-${names.find(n => PUBLISHED.includes(n))} ` +
          '(not with --omit=optional or --no-optional; a package-lock.json made on another platform can skip it: ' +
          'delete it and node_modules, then `npm install`).'
        : `Prebuilt binaries exist for ${PUBLISHED.join(', ')}. Elsewhere, build from a clone of the repository ` +
          '(Rust 1.88+: `npm install && npm run build`) and set ASYNC_SHAPE_NATIVE_PATH to the .node file it writes.'),
  );
}

function loadFile(file) {
  try {
    return require(file);
  } catch (error) {
    throw failure(`${file} could not be loaded: ${firstLine(error)}`, error);
  }
}

// Node's "Cannot find module" message goes on with its require stack: the cause keeps it.
const firstLine = error => String(error?.message).split('\n')[0];

function failure(message, cause) {
  const error = new Error(`async-shape: ${message}`);
  if (cause) error.cause = cause;
  return error;
}

module.exports = load();
