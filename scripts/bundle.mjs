// Bundles the CLI into dist/bundle/ with esbuild: every module envlock loads at start-up becomes
// one of a few files, because per-module resolution and loading is most of envlock's start-up
// cost beyond Node's own (docs/benchmarks.md). Lazy imports stay lazy as separate chunks.
import { build } from 'esbuild';

await build({
  entryPoints: { envlock: 'cli/main.ts' },
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // ink and React (terminal progress) and undici (network) are loaded only when needed anyway,
  // and ship assets that are best resolved from node_modules as published.
  external: ['ink', 'react', 'react-devtools-core', 'undici', '*.node'],
  // CommonJS dependencies bundled into ESM still call require() for Node built-ins.
  banner: { js: "import { createRequire as __envlockRequire } from 'node:module'; const require = __envlockRequire(import.meta.url);" },
  chunkNames: 'chunks/[name]-[hash]',
  legalComments: 'none',
  logLevel: 'warning',
});
