// The validated declaration: what envlock.yaml / envlock.toml say, after parsing and checks.
// Both file formats produce exactly this model; nothing downstream knows which file it was.

export const DECLARATION_VERSION = 1;
export const DECLARATION_FILES = ['envlock.yaml', 'envlock.toml'] as const;

export interface BindSpec {
  /** Host path (absolute after validation; `~` and relative paths are resolved against the declaration). */
  source: string;
  /** Path inside the environment; defaults to the source. */
  target: string;
  readOnly: boolean;
}

export interface HostRequest {
  /** CDI device names, fully qualified: vendor.com/class=name (or =all). */
  devices: string[];
  gpu: 'none' | 'nvidia' | 'amd' | 'auto';
  mpi: 'none' | 'host';
  /** Extra host libraries (sonames or absolute paths) to inject. */
  libraries: string[];
}

export interface EnvironmentDecl {
  name: string;
  /** The image reference exactly as written (registry ref, oci:DIR[:TAG], oci-archive:FILE[:TAG]). */
  image: string;
  /** Normalised platforms "os/arch[/variant]"; empty means "this host's platform". */
  platforms: string[];
  /** Minimum CPU level (x86-64-v2…v4) or named microarchitecture, if declared. */
  cpu: string | undefined;
  description: string | undefined;
  env: Record<string, string>;
  prependPath: Record<string, string[]>;
  appendPath: Record<string, string[]>;
  unset: string[];
  binds: BindSpec[];
  host: HostRequest;
  /** Commands exported to the module shim as wrappers. */
  commands: string[];
  /** Legacy module names this environment answers to (python/3.11). */
  provides: string[];
}

export interface Declaration {
  version: typeof DECLARATION_VERSION;
  /** Absolute path of the file it was read from. */
  file: string;
  format: 'yaml' | 'toml';
  /** Sorted by name (code-point order). */
  environments: EnvironmentDecl[];
}
