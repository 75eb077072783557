// Linux refuses to start a command when one of its arguments or variables is longer than
// MAX_ARG_STRLEN (E2BIG). The launcher would report that as "cannot execute" deep inside the
// environment; saying which variable is too long, before anything starts, is clearer (13.6).

import { EnvlockError } from '../errors.js';
import { VARIABLE_MAX_BYTES, describeLimit } from '../input-limits.js';
import { shown } from '../shown.js';

/** Throws LAUNCH_FAILED naming the first variable or argument the kernel would refuse. */
export function assertEnvironmentFits(envName: string, env: ReadonlyMap<string, string>, argv: readonly string[]): void {
  for (const [name, value] of env) {
    // A UTF-16 unit is at most 3 bytes in UTF-8: most variables are far below the limit by length alone.
    if ((name.length + value.length + 1) * 3 <= VARIABLE_MAX_BYTES) continue;
    const bytes = Buffer.byteLength(name) + 1 + Buffer.byteLength(value);
    if (bytes > VARIABLE_MAX_BYTES) {
      throw new EnvlockError('LAUNCH_FAILED', `The variable ${shown(name)} would be ${bytes.toLocaleString('en-US')} bytes inside ${envName}, more than the ${describeLimit(VARIABLE_MAX_BYTES)} Linux allows one variable, so no command could start.`, {
        hint: 'Shorten it where it is set: on this host, in the declaration, or with --env.',
        details: { variable: name, bytes, limit: VARIABLE_MAX_BYTES },
      });
    }
  }
  for (const [index, arg] of argv.entries()) {
    if ((arg.length + 1) * 3 <= VARIABLE_MAX_BYTES) continue;
    const bytes = Buffer.byteLength(arg) + 1;
    if (bytes > VARIABLE_MAX_BYTES) {
      throw new EnvlockError('LAUNCH_FAILED', `Argument ${index + 1} of the command is ${bytes.toLocaleString('en-US')} bytes, more than the ${describeLimit(VARIABLE_MAX_BYTES)} Linux allows one argument, so the command could not start.`, {
        hint: 'Pass long data in a file or on standard input instead.',
        details: { argument: index + 1, bytes, limit: VARIABLE_MAX_BYTES },
      });
    }
  }
}
