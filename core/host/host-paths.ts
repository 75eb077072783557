// Looks at the host filesystem through a root prefix (hostRoot, '/' in production), so tests
// can stage a fake host — /proc/driver, /dev, PATH directories — in a temporary directory.

import fs from 'node:fs/promises';
import path from 'node:path';

export class HostPaths {
  constructor(readonly root: string = '/') {}

  /** The real location of a host path such as /dev/nvidia0. */
  at(hostPath: string): string {
    return path.join(this.root, hostPath);
  }

  async exists(hostPath: string): Promise<boolean> {
    return fs.lstat(this.at(hostPath)).then(
      () => true,
      () => false,
    );
  }

  async readText(hostPath: string): Promise<string | undefined> {
    return fs.readFile(this.at(hostPath), 'utf8').catch(() => undefined);
  }

  /** Entry names in a host directory, code-point sorted; empty when it does not exist. */
  async list(hostDir: string): Promise<string[]> {
    const names = await fs.readdir(this.at(hostDir)).catch(() => [] as string[]);
    return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** The first regular file called `name` in the PATH directories, as a real location. */
  async findOnPath(name: string, pathVariable: string): Promise<string | undefined> {
    for (const dir of pathVariable.split(':')) {
      if (!path.isAbsolute(dir)) continue;
      const candidate = this.at(path.join(dir, name));
      const stat = await fs.stat(candidate).catch(() => undefined);
      if (stat?.isFile()) return fs.realpath(candidate);
    }
    return undefined;
  }
}

/** PATH used to find host utilities when the environment has none. */
export const DEFAULT_HOST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
