// The `bin` of envlock: answers the few commands that job scripts repeat (`--version`, `lock
// --check`, a warm `pull`) from small files when it can prove the answer is current, and hands
// everything else to the full CLI (main.ts). Bundled alone as CommonJS (scripts/bundle.mjs), so
// it costs Node's start-up plus one small file; nothing here may load undici, ink or a parser.

import { answerFast } from './fast/answer.js';

// Kept in a variable so the bundler leaves it as a run-time import of the sibling file.
const FULL_CLI = './main.mjs';

if (!answerFast(process.argv.slice(2), process.env)) {
  void import(FULL_CLI);
}
