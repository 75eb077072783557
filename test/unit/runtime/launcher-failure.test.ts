// launcherFailure: every (status, prefix) pair the launcher reports maps to one error code,
// message, hint and details; anything else is the command's own status (undefined).

import { describe, expect, it } from 'vitest';
import { LAUNCHER_FAILURES, launcherFailure } from '../../../core/runtime/launch.js';

const failure = (status: number | null, last: string, before = '') => launcherFailure({ status, stderr: `${before}envlock-launch: ${last}\n` });
const shape = (status: number | null, last: string) => {
  const error = failure(status, last);
  return error && { code: error.code, exitCode: error.exitCode, message: error.message, hint: error.hint, details: error.details };
};

/** Status, the launcher's last line, and the error it must become (the details add the launcher's line). */
type Row = readonly [status: number, last: string, code: string, exitCode: number, message: string, hint: string, details?: Record<string, string>];
const ROWS: readonly Row[] = [
  [4, 'user namespace: unshare: EPERM', 'USERNS_UNAVAILABLE', 4, 'This host does not let envlock create a user namespace (unshare: EPERM).',
    'Run `envlock doctor` to see which kernel setting blocks it; an administrator must change it.'],
  [125, 'user namespace: uid_map: EACCES', 'USERNS_UNAVAILABLE', 4, 'This host does not let envlock create a user namespace (uid_map: EACCES).',
    'Run `envlock doctor` to see which kernel setting blocks it; an administrator must change it.'],
  [4, 'cpu: avx512f missing', 'CPU_UNSUPPORTED', 4, 'This CPU cannot run the prepared image: avx512f missing.',
    'Run on a node whose CPU has these features, or lock and pull a variant this CPU can run.'],
  [4, 'squashfs: no /dev/fuse', 'RUNTIME_UNAVAILABLE', 4, 'This host cannot mount the squashfs image: no /dev/fuse.',
    'Run `envlock doctor`, or pull the image as a tree (`envlock pull --image-format tree`).'],
  [125, 'image missing: /s/rootfs/sha256/ab', 'LAUNCH_FAILED', 125, 'The image was removed after the run was prepared: /s/rootfs/sha256/ab.',
    'Run the command again; `envlock pull` brings the image back.'],
  [125, 'bind source /data: ENOENT', 'BIND_INVALID', 125, 'A bind mount source cannot be used: /data: ENOENT.',
    'Create the source directory or remove the bind from the declaration.'],
  [125, 'mount /proc: EPERM', 'LAUNCH_FAILED', 125, 'Entering the environment failed: mount /proc: EPERM.', 'Run again with --debug to see each mount the launcher makes.'],
  [125, 'lease: /s/leases: EROFS', 'LAUNCH_FAILED', 125, 'Entering the environment failed: lease: /s/leases: EROFS.', 'Run again with --debug to see each mount the launcher makes.'],
  [125, 'cpu: avx2', 'LAUNCH_FAILED', 125, 'Entering the environment failed: cpu: avx2.', 'Run again with --debug to see each mount the launcher makes.'],
  [126, 'cannot execute /bin/x: EACCES', 'COMMAND_NOT_EXECUTABLE', 126, 'The command could not be executed inside the environment: /bin/x: EACCES.',
    'Check that the file is an executable for this architecture with its execute bit set.'],
  [127, 'command not found inside the environment: frob', 'COMMAND_NOT_FOUND', 127, 'The command frob was not found inside the environment.',
    'Check the command name, or list what the image provides with `envlock run ENV -- ls /usr/bin`.', { command: 'frob' }],
];
const CASES = ROWS.map(([status, last, code, exitCode, message, hint, details = {}]) => ({ status, last, code, exitCode, message, hint, details }));

describe('launcherFailure maps each launcher failure the same way', () => {
  it.each(CASES)('status $status, $last -> $code', ({ status, last, code, exitCode, message, hint, details }) => {
    expect(shape(status, last)).toEqual({ code, exitCode, message, hint, details: { launcher: `envlock-launch: ${last}`, ...details } });
  });

  it('has a case above for every status of every row of LAUNCHER_FAILURES', () => {
    for (const [row, kind] of LAUNCHER_FAILURES.entries()) {
      for (const status of kind.statuses) {
        // The row a case lands on is the first that matches it, as launcherFailure walks them.
        const hit = CASES.some((c) => c.status === status && LAUNCHER_FAILURES.findIndex((k) => k.statuses.includes(status) && c.last.startsWith(k.prefix)) === row);
        expect(hit, `row ${row} (${kind.code}, ${JSON.stringify(kind.prefix)}) at status ${status}`).toBe(true);
      }
    }
  });

  it('reads only the last stderr line, after trailing blank lines', () => {
    expect(launcherFailure({ status: 4, stderr: 'envlock-launch: debug: mount /\nenvlock-launch: cpu: sse4.1\n\n' })?.message).toBe('This CPU cannot run the prepared image: sse4.1.');
    expect(failure(125, 'mount /tmp: ENOSPC', 'some output of the command\n')?.code).toBe('LAUNCH_FAILED');
  });

  it.each([
    [0, 'cpu: avx2'],
    [1, 'user namespace: EPERM'],
    [4, 'bind source /data: ENOENT'],
    [4, 'mount /proc: EPERM'],
    [126, 'command not found inside the environment: frob'],
    [127, 'cannot execute /bin/x: EACCES'],
    [127, 'mount /proc: EPERM'],
    [null, 'user namespace: EPERM'],
  ] as const)('is undefined for status %s with "%s" (the command\'s own status)', (status, last) => {
    expect(failure(status, last)).toBeUndefined();
  });

  it('is undefined when the last line is not the launcher\'s', () => {
    expect(launcherFailure({ status: 125, stderr: 'envlock-launch: mount /proc: EPERM\nsomething else\n' })).toBeUndefined();
    expect(launcherFailure({ status: 127, stderr: '' })).toBeUndefined();
    expect(launcherFailure({ status: 4, stderr: 'cpu: avx2\n' })).toBeUndefined();
  });
});
