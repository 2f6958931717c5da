// One export list: index.js is the source; index.mjs, index.d.ts and index.d.mts must agree with it.
// ESM named exports are static, so index.mjs repeats the names and this test is what keeps the four
// in step: a name added to one of them and not to the others fails here.
import test from 'node:test';
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';
import {fileURLToPath} from 'node:url';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));
const cjs = require('async-shape');
const esm = await import('async-shape');

const sorted = names => [...names].sort();
// The runtime list: index.js's own enumerable names, `default` aside.
const runtimeNames = sorted(Object.keys(cjs).filter(name => name !== 'default'));

test('index.js and index.mjs export the same names, bound to the same objects', () => {
  assert.ok(runtimeNames.length > 0);
  assert.deepEqual(sorted(Object.keys(esm).filter(name => name !== 'default')), runtimeNames);
  for (const name of runtimeNames) {
    assert.equal(esm[name], cjs[name], `ESM export ${name} is not require('async-shape').${name}`);
    assert.notEqual(cjs[name], undefined, `${name} is undefined`);
  }
  assert.equal(cjs.default, cjs.pLimit);
  assert.equal(esm.default, cjs.pLimit);
});

// The declared lists, read by the TypeScript compiler: the exports of each declaration file,
// following re-exports (`export {x} from`, `export *`) to the declarations they name.
function declaredExports() {
  const ts = require('typescript');
  const files = {cjs: `${root}index.d.ts`, esm: `${root}index.d.mts`};
  const program = ts.createProgram(Object.values(files), {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts'],
    types: [],
    strict: true,
    noEmit: true,
  });
  const diagnostics = Object.values(files)
    .flatMap(file => {
      const source = program.getSourceFile(file);
      return [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)];
    })
    .concat(program.getGlobalDiagnostics(), program.getOptionsDiagnostics())
    .map(d => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  const checker = program.getTypeChecker();
  const exportsOf = file => {
    const source = program.getSourceFile(file);
    assert.ok(source, `${file} is not in the program`);
    const module = checker.getSymbolAtLocation(source);
    assert.ok(module, `${file} is not a module`);
    const out = new Map();
    for (const symbol of checker.getExportsOfModule(module)) {
      const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      out.set(symbol.escapedName, {target, value: (target.flags & ts.SymbolFlags.Value) !== 0});
    }
    return out;
  };
  return {diagnostics, cjs: exportsOf(files.cjs), esm: exportsOf(files.esm)};
}

const declared = declaredExports();
const valueNames = exports => sorted([...exports].filter(([name, e]) => e.value && name !== 'default').map(([name]) => name));
const typeNames = exports => sorted([...exports].filter(([, e]) => !e.value).map(([name]) => name));

test('the declaration files compile on their own (with @types/node through their reference)', () => {
  assert.deepEqual(declared.diagnostics, []);
});

test('index.d.ts and index.d.mts declare exactly the runtime exports as values', () => {
  assert.deepEqual(valueNames(declared.cjs), runtimeNames, 'index.d.ts');
  assert.deepEqual(valueNames(declared.esm), runtimeNames, 'index.d.mts');
  for (const name of runtimeNames) {
    assert.equal(declared.esm.get(name).target, declared.cjs.get(name).target, `index.d.mts's ${name} is not index.d.ts's`);
  }
  // The default export is pLimit in both.
  assert.equal(declared.cjs.get('default')?.target, declared.cjs.get('pLimit').target);
  assert.equal(declared.esm.get('default')?.target, declared.cjs.get('pLimit').target);
});

test('index.d.mts re-exports every type export of index.d.ts, and no other', () => {
  const types = typeNames(declared.cjs);
  assert.ok(types.includes('LimitFunction') && types.includes('LoopMonitor'), `type exports: ${types}`);
  assert.deepEqual(typeNames(declared.esm), types);
  for (const name of types) {
    assert.equal(declared.esm.get(name).target, declared.cjs.get(name).target, `index.d.mts's ${name} is not index.d.ts's`);
  }
});
