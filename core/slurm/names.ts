// The value of --envlock=NAME, checked before anything is read. The plugin makes the same
// checks in srun and sbatch (native/src/spank/options.c), so a bad value never reaches a node.

import { EnvlockError } from '../errors.js';

export function checkSlurmName(name: string): void {
  const problem = name === '' ? 'is empty'
    : name.includes('/') ? 'contains `/`'
    : /[\n\r]/.test(name) ? 'contains a line break'
    : undefined;
  if (problem) {
    throw new EnvlockError('FLAG_VALUE', `The environment name ${JSON.stringify(name)} given to --envlock ${problem}.`, {
      hint: 'Pass the name of an environment in envlock.yaml, as in --envlock=analysis.',
    });
  }
}
