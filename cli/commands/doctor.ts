// `envlock doctor`: what a user needs to know about this host — user namespaces (and the exact
// fix), CPU level, store space, registries, fuse/squashfs, CDI devices — and whether each locked
// environment can run here.

import type { CommandSpec } from '../command-spec.js';
import { EnvlockError, EXIT } from '../../core/errors.js';
import { hostCpu, loadProject, type Project } from '../../core/project.js';
import { discoverProjectDir } from '../../core/project-dir.js';
import { checkCpu, checkStore, checkUserNamespaces, type Check } from '../../core/doctor/checks.js';
import { checkImageFormat } from '../../core/doctor/image-format-check.js';
import { renderTable } from '../output/table.js';

interface DoctorResult {
  ok: boolean;
  checks: Check[];
}

export const command: CommandSpec<DoctorResult> = {
  name: 'doctor',
  summary: 'Check that this host can run envlock environments, and each locked one.',
  usage: 'envlock doctor',
  description: `
Checks user namespaces (with the exact setting to change and who must change it), this CPU's level
and features, the store's location and free space, the image format pulls use here (squashfs or
tree, and why), the host's CDI devices and,
inside a project, whether each locked environment can run here, what host devices and libraries
it would receive, and whether the registries its lock names answer (skipped with --offline).
Exits 1 when a check fails.`,
  flags: [],
  positionals: [],
  async run(_args, ctx) {
    const cpu = await hostCpu(ctx.env);
    const checks: Check[] = [await checkUserNamespaces(), checkCpu(cpu), ...(await checkStore(ctx)), await checkImageFormat(ctx)];
    let project: Project | undefined;
    if (discoverProjectDir(ctx.cwd, ctx.home) !== undefined) {
      try {
        project = await loadProject(ctx, { command: 'doctor', frozen: true });
      } catch (error) {
        checks.push({ area: 'project', status: 'fail', summary: (error as Error).message, fix: 'Run `envlock lock`.' });
      }
    }
    const { checkEnvironments, checkHostDevices, checkRegistries } = await import('../../core/doctor/environment-checks.js');
    if (project) checks.push(...checkEnvironments(project, cpu), ...(await checkRegistries(project, ctx)), ...(await checkHostDevices(project, ctx)));
    const ok = checks.every((c) => c.status !== 'fail');
    const rows = checks.map((c) => [c.status.toUpperCase(), c.area, c.summary + (c.fix ? ` Fix: ${c.fix}` : '')]);
    const failed = checks.filter((c) => c.status === 'fail');
    const failure = ok ? undefined : new EnvlockError('CHECK_FAILED', `${failed.length} of ${checks.length} checks failed: ${failed.map((c) => c.area).join(', ')}.`, {
      hint: 'Each failed check above says what to change (Fix:); run `envlock doctor` again afterwards.',
    });
    return { result: { ok, checks }, text: renderTable(['STATUS', 'CHECK', 'FINDING'], rows), exitCode: ok ? EXIT.OK : EXIT.FAILURE, ...(failure ? { failure } : {}) };
  },
};
