// Summarises a V8 .cpuprofile (from `node --cpu-prof`) by self time per file and per function,
// so bench/pull.sh can say where envlock's main thread spends a pull.
// Usage: node bench/cpuprofile-summary.mjs FILE.cpuprofile [TOP]

import { readFileSync } from 'node:fs';

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/cpuprofile-summary.mjs FILE.cpuprofile [TOP]');
  process.exit(2);
}
const top = Number(topArg ?? 15);
const profile = JSON.parse(readFileSync(file, 'utf8'));

// Self time of a node = sum of the time deltas of the samples that landed in it.
const selfUs = new Map();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

/** A short, stable name for where the code lives: repo-relative for our files, package for deps. */
function where(url) {
  if (!url) return '(native/V8)';
  if (url.startsWith('node:')) return url;
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + 1).split('/').slice(0, 2).join('/');
  const d = url.indexOf('/dist/');
  return d >= 0 ? url.slice(d + 1) : url.replace(/^file:\/\//, '');
}

const byFile = new Map();
const byFunction = new Map();
for (const node of profile.nodes) {
  const us = selfUs.get(node.id) ?? 0;
  if (us === 0) continue;
  const cf = node.callFrame;
  const fileKey = cf.url ? where(cf.url) : cf.functionName || '(native/V8)';
  const fnKey = `${cf.functionName || '(anonymous)'}  ${cf.url ? `${where(cf.url)}:${cf.lineNumber + 1}` : ''}`;
  byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + us);
  byFunction.set(fnKey, (byFunction.get(fnKey) ?? 0) + us);
}

function print(title, map) {
  console.log(`${title}`);
  for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`  ${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${key}`);
  }
}

// Inclusive view by what the sample was doing: loading modules (resolve, read, compile, link,
// evaluate top level),
// running a dependency, or running envlock code (attributed to the innermost dist/ frame).
const nodeById = new Map(profile.nodes.map((n) => [n.id, n]));
const parentOf = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
const byPhase = new Map();
for (const [id, us] of selfUs) {
  const frames = [];
  for (let x = id; x !== undefined; x = parentOf.get(x)) frames.push(nodeById.get(x).callFrame);
  const leaf = frames[0];
  let key;
  if (!leaf.url && /^\(/.test(leaf.functionName)) key = leaf.functionName;
  else if (frames.some((f) => /^node:internal\/modules\//.test(f.url) && !/^node:internal\/modules\/run_main/.test(f.url))) key = 'module loading (resolve, read, compile, link, evaluate)';
  else {
    // The innermost frame that is ours or a dependency's: envlock code called back by a
    // dependency (a tar parser's entry handler) counts as envlock's.
    const code = frames.find((f) => f.url.includes('/dist/') || f.url.includes('/node_modules/'));
    if (code === undefined) key = 'node start-up and internals';
    else if (code.url.includes('/node_modules/')) key = `running ${where(code.url)}`;
    else key = `running ${where(code.url)} ${code.functionName || (code.lineNumber === 0 ? '(top level)' : `(anonymous, line ${code.lineNumber + 1})`)}`;
  }
  byPhase.set(key, (byPhase.get(key) ?? 0) + us);
}

const wall = (profile.endTime - profile.startTime) / 1000;
console.log(`main-thread profile: ${wall.toFixed(0)} ms wall, ${(total / 1000).toFixed(0)} ms sampled`);
print('self time by file:', byFile);
print('self time by function:', byFunction);
print('time by activity (innermost envlock frame):', byPhase);
