// Stands in for the `envlock` executable in shell tests until `module`, `shim` and `modulefiles`
// are in the command table: runs one of those commands from the built dist/ and renders it.
import { parseArgs } from '../../../dist/cli/args.js';
import { makeContext } from '../../../dist/core/context.js';
import { isEnvlockError } from '../../../dist/core/errors.js';

const [name, ...rest] = process.argv.slice(2);
const files = { module: 'module.js', shim: 'shim.js', modulefiles: 'modulefiles.js' };
if (!(name in files)) {
  process.stderr.write(`cli-runner: unknown command ${name}\n`);
  process.exit(2);
}
const { command } = await import(`../../../dist/cli/commands/${files[name]}`);
try {
  const env = { ...process.env };
  const outcome = await command.run(parseArgs(rest, command), makeContext({ cwd: process.cwd(), env }));
  if (outcome.text) process.stdout.write(outcome.text);
  process.exitCode = outcome.exitCode ?? 0;
} catch (error) {
  if (!isEnvlockError(error)) throw error;
  process.stderr.write(`envlock: ${error.message}\n${error.hint ? `${error.hint}\n` : ''}`);
  process.exitCode = error.exitCode;
}
