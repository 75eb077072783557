// Bundles the CLI into dist/bundle/ with esbuild, in two parts (docs/benchmarks.md "start-up"):
// - envlock.js, the `bin`, and its fast paths fast-run.js and fast-answers.js: small CommonJS
//   files, so a repeated command pays for Node, the dispatch, its one fast path and a few reads
//   (CommonJS starts without the ES module loader);
// - main.mjs and chunks/*.mjs: the whole CLI as ES modules, imported by the entry only when no
//   fast path answers. Lazy imports stay lazy as separate chunks;
// - lock.js: `envlock lock` alone as one CommonJS file (see its build step below).
// Both are then stamped with one build id, a digest of everything built, so an answer recorded
// by one build is never read by another (cli/fast/build-id.ts).
import { build, transform } from 'esbuild';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
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
// merely imports them; in the CommonJS bundles they load on first use instead. The stand-in is an
// ES module, so esbuild hoists it like our own code (no CommonJS wrapper, no namespace object
// copied at load, and exports nobody imports are dropped): each function is a forwarder, the
// default export a proxy, and anything else (a class, a constant) is read when first imported.
const LAZY_BUILTINS = ['node:crypto', 'node:fs/promises', 'node:child_process', 'node:stream', 'node:os', 'node:module'];
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    const filter = new RegExp(`^(${LAZY_BUILTINS.join('|')})$`);
    // The stand-in itself requires the real module.
    b.onResolve({ filter }, (args) => (args.namespace === 'lazy-builtin' ? { path: args.path, external: true } : { path: args.path, namespace: 'lazy-builtin' }));
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, async (args) => {
      const real = await import(args.path);
      const names = Object.keys(real).filter((n) => n !== 'default' && /^[A-Za-z_$][\w$]*$/.test(n));
      const forwarded = (n) => typeof real[n] === 'function' && !/^[A-Z]/.test(n);
      const lines = [
        'let m;',
        `const load = () => (m ??= require(${JSON.stringify(args.path)}));`,
        'export default /* @__PURE__ */ new Proxy({}, { get: (_, key) => load()[key] });',
        ...names.map((n) => (forwarded(n) ? `export function ${n}(...args) { return load().${n}(...args); }` : `export const ${n} = /* @__PURE__ */ (() => load().${n})();`)),
      ];
      return { loader: 'js', contents: `${lines.join('\n')}\n` };
    });
  },
};

// The entry and each fast path are separate CommonJS files: the entry (cli/entry.ts) only
// dispatches, and loads the one fast path a command line may be for.
const COMMONJS_ENTRIES = { envlock: 'cli/entry.ts', 'fast-run': 'cli/fast/run-prepared.ts', 'fast-answers': 'cli/fast/answer.ts' };
for (const [name, source] of Object.entries(COMMONJS_ENTRIES)) {
  await build({
    ...common,
    entryPoints: { [name]: source },
    plugins: [lazyBuiltins],
    outdir: out,
    format: 'cjs',
    external: ['*.node'],
    // CommonJS: what ES modules read from import.meta comes from the file's path.
    inject: ['scripts/cjs-import-meta.js'],
    define: { 'import.meta.url': '__envlockImportMeta.url', 'import.meta.dirname': '__dirname', 'import.meta.filename': '__filename' },
    ...(name === 'envlock' ? { banner: { js: '#!/usr/bin/env node' } } : {}),
  });
  requireBuiltinsOnce(path.join(out, `${name}.js`));
  if (name === 'fast-run') await compact(path.join(out, `${name}.js`));
}

/**
 * The run path's bundle without indentation, blank lines and redundant syntax (names are kept, so
 * a stack trace still reads): a repeated `envlock run` reads its whole text and hands it to V8,
 * which scans it even when the code cache holds its bytecode (about 0.1 ms for a third less text).
 */
async function compact(file) {
  const { code } = await transform(readFileSync(file, 'utf8'), { minifyWhitespace: true, minifySyntax: true, legalComments: 'none', format: 'cjs', platform: 'node', target: 'node20', logLevel: 'warning' });
  writeFileSync(file, code);
}

/**
 * esbuild's CommonJS output calls require("node:fs") once per source file that imports it, and
 * wraps each default import in a copy of the module (__toESM, a getter per export): node:path
 * alone 24 times in lock.js; run at the top of every fast path, the fast-run bundle's thirty such
 * calls cost a quarter of a millisecond. Each built-in (`node:` or, in dependencies, bare) is
 * required once per bundle instead, and its default import is the module itself behind an object
 * that adds `default` (named imports read through to the module, as the copy's getters did).
 */
function requireBuiltinsOnce(file) {
  const text = readFileSync(file, 'utf8');
  const HELPERS = `var __envlockBuiltins = new Map();
function __envlockBuiltin(id) {
  let mod = __envlockBuiltins.get(id);
  if (mod === undefined) __envlockBuiltins.set(id, (mod = require(id)));
  return mod;
}
var __envlockDefaults = new Map();
function __envlockBuiltinDefault(id) {
  let namespace = __envlockDefaults.get(id);
  if (namespace === undefined) {
    const mod = __envlockBuiltin(id);
    __envlockDefaults.set(id, (namespace = { __proto__: mod, default: mod }));
  }
  return namespace;
}
`;
  // After the interpreter line and a "use strict" directive, either of which may be absent
  // (esbuild writes the directive only when it finds a tsconfig.json asking for it).
  let at = text.startsWith('#!') ? text.indexOf('\n') + 1 : 0;
  const STRICT = '"use strict";\n';
  if (text.startsWith(STRICT, at)) at += STRICT.length;
  const rewritten = text
    .replace(/__toESM\(require\("([a-z_/:]+)"\), 1\)/g, (call, id) => (isBuiltin(id) ? `__envlockBuiltinDefault("${id}")` : call))
    .replace(/(?<![\w$.])require\("([a-z_/:]+)"\)/g, (call, id) => (isBuiltin(id) ? `__envlockBuiltin("${id}")` : call));
  writeFileSync(file, `${rewritten.slice(0, at)}${HELPERS}${rewritten.slice(at)}`);
}

// ---- The lock bundle (issue 14, lock throughput) -------------------------------------------
// lock.js: main.ts built once more as one CommonJS file with a command table that holds only
// `lock` (cli/lock-main.ts, cli/lock-command-table.ts), so `envlock lock` loads one file, not the
// dozens of chunks the full CLI splits into, and the entry can compile it from the user's code
// cache as it does the run path (cli/fast/code-cache.ts): a lock runs most of its code once, so
// compiling it was a large part of its cost. Lazy imports stay lazy inside it, except the ink
// reporter, which is the full CLI's own chunk (an ES module that imports ink and React; it shares
// no state with the rest). The entry sends it command lines that mention `lock`.
const inkChunks = readdirSync(path.join(out, 'chunks')).filter((name) => /^ink-reporter-[A-Z0-9]+\.mjs$/.test(name));
if (inkChunks.length !== 1) throw new Error(`bundle.mjs: expected one ink-reporter chunk for lock.js, found ${inkChunks.length}`);
await build({
  ...common,
  entryPoints: { lock: 'cli/lock-main.ts' },
  outdir: out,
  format: 'cjs',
  external: ['ink', 'react', 'react-devtools-core', 'undici', '*.node'],
  inject: ['scripts/cjs-import-meta.js'],
  define: { 'import.meta.url': '__envlockImportMeta.url', 'import.meta.dirname': '__dirname', 'import.meta.filename': '__filename' },
  plugins: [
    lazyBuiltins,
    {
      name: 'lock-command-table',
      setup(b) {
        b.onResolve({ filter: /^\.\/command-table\.js$/ }, (args) => ({ path: path.resolve(args.resolveDir, 'lock-command-table.ts') }));
        b.onResolve({ filter: /^\.\/output\/ink-reporter\.js$/ }, () => ({ path: `./chunks/${inkChunks[0]}`, external: true }));
      },
    },
  ],
});
requireBuiltinsOnce(path.join(out, 'lock.js'));
// Compiled from a code cache (a vm.Script), lock.js cannot call import(): each of its run-time
// imports (node:http, the ink reporter's chunk, the full CLI) calls the entry's instead.
{
  const file = path.join(out, 'lock.js');
  const text = readFileSync(file, 'utf8');
  const calls = [...text.matchAll(/(?<![\w$.])import\(([^)]*)\)/g)].filter((m) => m[1] !== '');
  const allowed = (arg) => arg === 'FULL_CLI' || /^"(node:[a-z_/]+|undici|\.\/chunks\/[\w-]+\.mjs)"$/.test(arg);
  const odd = calls.filter((m) => !allowed(m[1]));
  if (calls.length === 0 || odd.length > 0) throw new Error(`bundle.mjs: lock.js has import() calls it cannot route through the entry: ${odd.map((m) => m[0]).join(', ') || 'none at all'}`);
  writeFileSync(file, text.replace(/(?<![\w$.])import\((?=[^)])/g, '__envlockImport('));
}
// ---- end of the lock bundle -----------------------------------------------------------------

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
const VERSION_PLACEHOLDER = '@@ENVLOCK_VERSION@@';
const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
for (const file of files) {
  const text = readFileSync(file, 'utf8');
  if (text.includes(PLACEHOLDER) || text.includes(VERSION_PLACEHOLDER)) writeFileSync(file, text.split(PLACEHOLDER).join(id).split(VERSION_PLACEHOLDER).join(version));
}
