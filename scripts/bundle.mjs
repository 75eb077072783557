// Bundles the CLI into dist/bundle/ with esbuild, in two parts (docs/benchmarks.md "start-up"):
// - envlock.js, the `bin`: one CommonJS file holding only the entry and its fast paths, so a
//   repeated command pays for Node, one small file and a few reads (CommonJS starts without the
//   ES module loader);
// - main.mjs and chunks/*.mjs: the whole CLI as ES modules, imported by the entry only when no
//   fast path answers. Lazy imports stay lazy as separate chunks.
// Both are then stamped with one build id, a digest of everything built, so an answer recorded
// by one build is never read by another (cli/fast/build-id.ts).
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const out = 'dist/bundle';
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  legalComments: 'none',
  logLevel: 'warning',
};

rmSync(out, { recursive: true, force: true });

await build({
  ...common,
  entryPoints: { main: 'cli/main.ts' },
  outdir: out,
  splitting: true,
  format: 'esm',
  outExtension: { '.js': '.mjs' },
  // ink and React (terminal progress) and undici (network) are loaded only when needed anyway,
  // and ship assets that are best resolved from node_modules as published.
  external: ['ink', 'react', 'react-devtools-core', 'undici', '*.node'],
  // CommonJS dependencies bundled into ESM still call require() for Node built-ins.
  banner: { js: "import { createRequire as __envlockRequire } from 'node:module'; const require = __envlockRequire(import.meta.url);" },
  chunkNames: 'chunks/[name]-[hash]',
});

// Node built-ins that are not loaded at start-up cost a fast answer real time if a shared module
// merely imports them; in the entry they load on first use instead (property access on a module
// object that is filled in lazily).
const LAZY_BUILTINS = ['node:crypto', 'node:fs/promises', 'node:child_process', 'node:stream', 'node:os', 'node:module'];
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    const filter = new RegExp(`^(${LAZY_BUILTINS.join('|')})$`);
    // The stand-in itself requires the real module.
    b.onResolve({ filter }, (args) => (args.namespace === 'lazy-builtin' ? { path: args.path, external: true } : { path: args.path, namespace: 'lazy-builtin' }));
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, async (args) => {
      const names = Object.keys(await import(args.path)).filter((n) => n !== 'default' && /^[A-Za-z_$][\w$]*$/.test(n));
      const getters = names.map((n) => `  get ${n}() { return load().${n}; },`).join('\n');
      return { loader: 'js', contents: `let m;\nconst load = () => (m ??= require(${JSON.stringify(args.path)}));\nmodule.exports = {\n${getters}\n};\n` };
    });
  },
};

await build({
  ...common,
  entryPoints: { envlock: 'cli/entry.ts' },
  plugins: [lazyBuiltins],
  outdir: out,
  format: 'cjs',
  external: ['*.node'],
  // The entry is CommonJS: what ES modules read from import.meta comes from the file's path.
  inject: ['scripts/cjs-import-meta.js'],
  define: { 'import.meta.url': '__envlockImportMeta.url', 'import.meta.dirname': '__dirname', 'import.meta.filename': '__filename' },
  banner: { js: '#!/usr/bin/env node' },
});

// esbuild wraps a built-in module in a fresh namespace object at every file that imports it
// (__toESM copies each export as a getter): node:path alone 19 times in the entry. The entry
// makes each one once and shares it, as ES modules share a namespace.
const entryFile = path.join(out, 'envlock.js');
const entryText = readFileSync(entryFile, 'utf8');
const FRESH = 'var __toESM = (mod, isNodeMode, target) => (';
if (!entryText.includes(FRESH)) throw new Error(`bundle.mjs: esbuild's __toESM helper changed; update the sharing of namespaces`);
const SHARED = `var __envlockNamespaces = new WeakMap();
function __toESMShared(mod, isNodeMode) {
  if (typeof mod !== 'object' || mod === null || !isNodeMode) return __toESMFresh(mod, isNodeMode);
  let namespace = __envlockNamespaces.get(mod);
  if (namespace === undefined) __envlockNamespaces.set(mod, (namespace = __toESMFresh(mod, isNodeMode)));
  return namespace;
}
`;
writeFileSync(entryFile, entryText.replace(FRESH, `${SHARED}var __toESMFresh = (mod, isNodeMode, target) => (`).replaceAll('__toESM(', '__toESMShared('));

// .js files below dist/bundle are CommonJS (the entry); the ES modules are .mjs.
writeFileSync(path.join(out, 'package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);

const PLACEHOLDER = '@@ENVLOCK_BUILD_ID@@';
const files = [];
const walk = (dir) => {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full);
    else files.push(full);
  }
};
walk(out);
const digest = createHash('sha256');
for (const file of files) digest.update(path.relative(out, file)).update('\0').update(readFileSync(file)).update('\0');
const id = digest.digest('hex');
for (const file of files) {
  const text = readFileSync(file, 'utf8');
  if (text.includes(PLACEHOLDER)) writeFileSync(file, text.split(PLACEHOLDER).join(id));
}
