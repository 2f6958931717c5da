'use strict';
// The house rules of ARCHITECTURE.md, checked: the rooms exist under the same names in the core,
// the addon and the JS layer; the core cannot name napi; the JS layers depend downward only and
// have no import cycle; only lib/internal/wire.js reads the wire protocol from the addon.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const rel = file => path.relative(root, file).split(path.sep).join('/');

/** Every .js/.mjs file under `dir` (relative to the root), recursively. */
function jsFiles(dir) {
  const out = [];
  const visit = d => {
    for (const e of fs.readdirSync(path.join(root, d), {withFileTypes: true})) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory()) visit(p);
      else if (/\.(c|m)?js$/.test(e.name)) out.push(p);
    }
  };
  visit(dir);
  return out.sort();
}

/** The relative modules `file` requires or imports, anywhere in it (lazy requires included). */
function localImports(file) {
  const source = fs.readFileSync(path.join(root, file), 'utf8');
  const specs = [];
  const pattern = /(?:require\(\s*|\bfrom\s+|\bimport\(\s*)(['"])(\.{1,2}(?:\/[^'"]*)?)\1/g;
  for (const m of source.matchAll(pattern)) specs.push(m[2]);
  return specs.map(spec => {
    const base = path.join(root, path.dirname(file), spec);
    for (const candidate of [base, `${base}.js`, `${base}.mjs`, path.join(base, 'index.js')]) {
      if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return rel(candidate);
    }
    throw new Error(`${file}: cannot resolve ${spec}`);
  });
}

const sources = ['index.js', 'index.mjs', ...jsFiles('lib'), ...jsFiles('bin')];
const graph = new Map(sources.map(file => [file, localImports(file).filter(f => f !== 'package.json')]));

test('the JS modules have no import cycle (lazy requires count)', () => {
  const state = new Map(); // 1 visiting, 2 done
  const stack = [];
  const visit = file => {
    if (state.get(file) === 2) return;
    if (state.get(file) === 1) {
      const cycle = [...stack.slice(stack.indexOf(file)), file];
      assert.fail(`import cycle: ${cycle.join(' → ')}`);
    }
    state.set(file, 1);
    stack.push(file);
    for (const dep of graph.get(file) ?? []) visit(dep);
    stack.pop();
    state.set(file, 2);
  };
  for (const file of graph.keys()) visit(file);
});

// Which layer may import which: a room depends on lib/internal and on the rooms below it only.
const layer = file => {
  if (file.startsWith('lib/internal/')) return 'internal';
  const m = /^lib\/([^/]+)\//.exec(file);
  if (m) return m[1];
  if (file.startsWith('bin/')) return 'cli';
  return 'entry';
};
const allowed = {
  internal: ['internal'],
  pool: ['internal', 'pool'],
  combinators: ['internal', 'pool', 'combinators'],
  bridge: ['internal', 'bridge'],
  'event-loop': ['internal', 'event-loop'],
  cli: ['internal', 'pool', 'combinators', 'bridge', 'event-loop', 'cli', 'entry'],
  entry: ['internal', 'pool', 'combinators', 'bridge', 'event-loop', 'entry'],
};

test('every lib/ file lives in a room, and rooms depend downward only', () => {
  for (const file of jsFiles('lib')) {
    assert.ok(Object.hasOwn(allowed, layer(file)), `${file} is not in a room folder (${Object.keys(allowed).join(', ')})`);
  }
  for (const [file, deps] of graph) {
    for (const dep of deps) {
      assert.ok(
        allowed[layer(file)].includes(layer(dep)),
        `${file} (${layer(file)}) imports ${dep} (${layer(dep)}); allowed: ${allowed[layer(file)].join(', ')}`,
      );
    }
  }
});

test('each room has the same name in the core, the addon and the JS layer', () => {
  const exists = p => fs.existsSync(path.join(root, p));
  const rooms = [
    {rust: 'pool', js: 'lib/pool'},
    {rust: 'combinators', js: 'lib/combinators'},
    {rust: 'bridge', js: 'lib/bridge'},
    {rust: 'event_loop', js: 'lib/event-loop'},
    {rust: 'downstream', js: 'bin/downstream.js'},
  ];
  for (const {rust, js} of rooms) {
    assert.ok(exists(`core/src/${rust}.rs`) || exists(`core/src/${rust}/mod.rs`), `core/src/${rust}`);
    assert.ok(exists(`src/${rust}.rs`) || exists(`src/${rust}/mod.rs`), `src/${rust}`);
    assert.ok(exists(js), js);
  }
});

test('the core crate cannot name napi: napi is not among its dependencies', () => {
  const manifest = fs.readFileSync(path.join(root, 'core', 'Cargo.toml'), 'utf8');
  const deps = [];
  let section = '';
  for (const line of manifest.split('\n')) {
    const header = /^\s*\[([^\]]+)\]/.exec(line);
    if (header) section = header[1].trim();
    else if (/dependencies$/.test(section)) {
      const name = /^\s*([A-Za-z0-9_-]+)\s*=/.exec(line);
      if (name) deps.push(name[1]);
    } else if (/^(target\.|dependencies\.)/.test(section)) {
      deps.push(section);
    }
  }
  assert.ok(deps.length > 0, 'read no dependency from core/Cargo.toml');
  for (const dep of deps) assert.doesNotMatch(dep, /napi/, `core/Cargo.toml depends on ${dep}`);
  // And the addon reaches the core only as a dependency, never by path into its sources.
  for (const file of ['src/lib.rs']) {
    assert.doesNotMatch(fs.readFileSync(path.join(root, file), 'utf8'), /#\[path\s*=/, `${file} includes a file by path`);
  }
});

test('only lib/internal/wire.js reads the wire protocol from the addon', () => {
  for (const file of sources) {
    if (file === 'lib/internal/wire.js') continue;
    const source = fs.readFileSync(path.join(root, file), 'utf8');
    assert.doesNotMatch(source, /\bwire\s*\(\s*\)/, `${file} calls the addon's wire()`);
  }
});
