// What Ctrl-C (SIGINT) and SIGTERM do while a command runs. The first stops the command through
// its abort signal and says so at once; what the command finished stays, a partly downloaded
// blob is kept to be resumed, and nothing incomplete is ever used. Later signals only say that
// envlock is still stopping: a second Ctrl-C used to kill envlock in the middle of undoing its
// half-done step and leave a temporary root filesystem behind. The handlers stay until the
// process exits, so a signal that comes while the error is being written cannot kill it either.

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

export interface InterruptHandling {
  /** The command has ended: later signals are ignored while envlock writes its result and exits. */
  finish(): void;
  /** For a command that completed although a signal asked it to stop: one line that says so. */
  lateNote(): string | undefined;
}

/** Handles SIGINT and SIGTERM for one command, from now until the process exits. */
export function handleInterrupts(controller: AbortController, reporter: () => Reporter | undefined): InterruptHandling {
  let finished = false;
  let first: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (finished) return;
    if (first === undefined) {
      first = signal;
      reporter()?.warn(`${NAMES[signal] ?? signal}: stopping, and removing what was half-done.`);
      controller.abort(interruptedError(signal));
    } else {
      reporter()?.warn('Still stopping: envlock is removing what was half-done, so that nothing incomplete stays behind.');
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    finish: () => {
      finished = true;
    },
    lateNote: () =>
      first === undefined ? undefined : `note: ${NAMES[first] ?? first} came as the command was completing; it completed, and everything it reported is done.\n`,
  };
}
