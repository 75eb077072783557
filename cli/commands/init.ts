// Placeholder: replaced by the declaration work.
import type { CommandSpec } from '../command-spec.js';
export const command: CommandSpec = { name: 'init', summary: '', usage: 'envlock init', flags: [], positionals: [], run: async () => ({ result: null }) };
