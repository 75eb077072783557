// What Ctrl-C (SIGINT) and SIGTERM do while a command runs. The first stops the command through
// its abort signal and says so at once; what the command finished stays, a partly downloaded
// blob is kept to be resumed, and nothing incomplete is ever used. Later signals, while the
// command is still undoing its half-done step, only say so: a second Ctrl-C used to kill envlock
// in the middle of that and leave a temporary root filesystem behind.

import type { Reporter } from '../core/context.js';
import { EnvlockError } from '../core/errors.js';

const NAMES: Partial<Record<NodeJS.Signals, string>> = { SIGINT: 'Ctrl-C (SIGINT)', SIGTERM: 'SIGTERM' };

/** The error an interrupted command ends with: true for every command, with what to do next. */
export function interruptedError(signal: NodeJS.Signals): EnvlockError {
  return new EnvlockError('INTERRUPTED', `Stopped by ${NAMES[signal] ?? signal} before the command finished.`, {
    hint: 'Run the same command again to continue: finished downloads and a partly downloaded blob are kept and resumed; nothing incomplete is ever used.',
    exitCode: signal === 'SIGINT' ? 130 : 143,
  });
}

/** Handles SIGINT and SIGTERM for one command; returns the function that stops handling them. */
export function handleInterrupts(controller: AbortController, reporter: () => Reporter | undefined): () => void {
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!controller.signal.aborted) {
      reporter()?.warn(`${NAMES[signal] ?? signal}: stopping, and removing what was half-done.`);
      controller.abort(interruptedError(signal));
    } else {
      reporter()?.warn('Still stopping: envlock is removing what was half-done, so that nothing incomplete stays behind.');
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
