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

// The only requires whose target is computed: the loader's, of the addon binary itself.
const COMPUTED_REQUIRES = new Map([['lib/internal/native.js', 2]]);

test('every require and import names its module literally (so the checks below see every edge)', () => {
  for (const file of sources) {
    const source = fs.readFileSync(path.join(root, file), 'utf8');
    const computed = [...source.matchAll(/\b(?:require|import)\s*\(\s*(?!['"])(?!\))/g)].length;
    assert.equal(computed, COMPUTED_REQUIRES.get(file) ?? 0, `${file} has a require or import of a computed path`);
  }
});
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
// A lib/ file outside a room folder has no layer, and fails the test below.
const layer = file => {
  if (file.startsWith('lib/internal/')) return 'internal';
  const m = /^lib\/([^/]+)\//.exec(file);
  if (m) return m[1];
  if (file.startsWith('bin/')) return 'cli';
  if (file === 'index.js' || file === 'index.mjs') return 'entry';
  return undefined;
};
const allowed = {
  internal: ['internal'],
  fleet: ['internal', 'fleet'],
  pool: ['internal', 'fleet', 'pool'],
  combinators: ['internal', 'pool', 'combinators'],
  bridge: ['internal', 'bridge'],
  'event-loop': ['internal', 'event-loop'],
  cli: ['internal', 'fleet', 'pool', 'combinators', 'bridge', 'event-loop', 'cli', 'entry'],
  entry: ['internal', 'fleet', 'pool', 'combinators', 'bridge', 'event-loop', 'entry'],
};

test('every lib/ file lives in a room, and rooms depend downward only', () => {
  for (const file of jsFiles('lib')) {
    const name = layer(file);
    assert.ok(name !== undefined && name !== 'cli' && name !== 'entry' && Object.hasOwn(allowed, name), `${file} is not in a room folder (lib/${Object.keys(allowed).filter(n => n !== 'cli' && n !== 'entry').join('/, lib/')}/)`);
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
    {rust: 'fleet', js: 'lib/fleet'},
  ];
  for (const {rust, js} of rooms) {
    assert.ok(exists(`core/src/${rust}.rs`) || exists(`core/src/${rust}/mod.rs`), `core/src/${rust}`);
    assert.ok(exists(`src/${rust}.rs`) || exists(`src/${rust}/mod.rs`), `src/${rust}`);
    assert.ok(exists(js), js);
  }
});

test('the core crate cannot name napi: no napi crate anywhere in its dependency tree (Cargo.lock)', () => {
  // Cargo.lock names packages by their real names, so a dependency renamed in core/Cargo.toml
  // (`node_api = {package = "napi"}`) is seen too.
  const lock = fs.readFileSync(path.join(root, 'Cargo.lock'), 'utf8');
  const packages = new Map();
  for (const block of lock.split('[[package]]').slice(1)) {
    const name = /^name = "([^"]+)"/m.exec(block)?.[1];
    const deps = [...(/^dependencies = \[([^\]]*)\]/m.exec(block)?.[1] ?? '').matchAll(/"([^" ]+)/g)].map(m => m[1]);
    if (name) packages.set(name, deps);
  }
  assert.ok(packages.has('async-shape-core'), 'Cargo.lock has no async-shape-core');
  const seen = new Set();
  const visit = name => {
    if (seen.has(name)) return;
    seen.add(name);
    for (const dep of packages.get(name) ?? []) visit(dep);
  };
  visit('async-shape-core');
  const napi = [...seen].filter(name => /napi/.test(name));
  assert.deepEqual(napi, [], `async-shape-core depends on ${napi.join(', ')}`);
  assert.ok(packages.get('async-shape')?.includes('async-shape-core'), 'the addon depends on the core');
});

test('core/Cargo.toml names no napi crate', () => {
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
    // Nor take `wire` from the addon's exports under another name or through a property access.
    assert.doesNotMatch(source, /\{[^}]*\bwire\b[^}]*\}\s*=\s*require\((['"])[./]*(?:internal\/)?native\1\)/, `${file} destructures the addon's wire`);
    assert.doesNotMatch(source, /\.\s*wire\b(?!\s*\))|\[\s*['"]wire['"]\s*\]/, `${file} reads the addon's wire export`);
  }
});
