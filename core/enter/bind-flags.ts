// Parsing `--bind SRC[:DST[:ro|rw]]` and `--env NAME=VALUE` for run and shell.

import path from 'node:path';
import { EnvlockError } from '../errors.js';
import type { BindMount } from '../runtime/spec.js';

/** `SRC[:DST[:ro|rw]]` from --bind; the source must exist (checked here, before anything runs). */
export function parseBindFlag(text: string, cwd: string): BindMount {
  const parts = text.split(':');
  if (parts.length > 3 || parts[0] === '' || (parts[2] !== undefined && parts[2] !== 'ro' && parts[2] !== 'rw')) {
    throw new EnvlockError('BIND_INVALID', `The bind ${JSON.stringify(text)} is not of the form SRC[:DST[:ro|rw]].`, { hint: 'Write e.g. --bind /scratch or --bind /data:/data:ro.' });
  }
  const source = path.resolve(cwd, parts[0]!);
  const destination = parts[1] || source;
  if (!destination.startsWith('/') || destination.split('/').includes('..')) {
    throw new EnvlockError('BIND_INVALID', `The bind destination ${JSON.stringify(destination)} must be an absolute path without "..".`, { hint: 'Write the path inside the environment as /some/dir.' });
  }
  return { source, destination: path.posix.normalize(destination), readOnly: parts[2] === 'ro' };
}


export function parseEnvFlag(text: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(text.slice(0, eq))) {
    throw new EnvlockError('FLAG_VALUE', `--env ${JSON.stringify(text)} is not of the form NAME=VALUE.`, { hint: 'Write e.g. --env OMP_NUM_THREADS=8.' });
  }
  return [text.slice(0, eq), text.slice(eq + 1)];
}
