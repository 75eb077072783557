// The commented starting file `envlock init` writes, in YAML or TOML. Every key is explained;
// only `image` (and platforms when given) is live, so the file is valid as written.

import type { DeclarationFormat } from './syntax.js';

export interface TemplateInput {
  format: DeclarationFormat;
  name: string;
  image: string;
  /** Normalised platforms; empty leaves the key commented out (this host's platform). */
  platforms: string[];
  /** True when `image` is the stand-in example rather than one the user chose. */
  example?: boolean;
}

/** A double-quoted string that YAML and TOML both read back unchanged (JSON escapes are valid in both). */
export function quote(text: string): string {
  return JSON.stringify(text);
}

/** A mapping key: bare when it cannot be misread (a number, a dotted TOML path), quoted otherwise. */
function key(name: string): string {
  return /^[a-z][a-z0-9_-]*$/.test(name) ? name : quote(name);
}

const EXAMPLE_NOTE = 'An example to replace with the image you need.';

function yamlTemplate({ name, image, platforms, example }: TemplateInput): string {
  const platformLine = platforms.length > 0
    ? `    platforms: [${platforms.map(quote).join(', ')}]`
    : '    # platforms: ["linux/amd64", "linux/arm64"]';
  return `# envlock.yaml: the environments this project runs in (docs/declaration.md lists every key).
# Edit it, then run \`envlock lock\` to pin every image to content digests in envlock.lock.

# The version of this file's format. Leave it at 1.
version: 1

# One entry per environment; the name is what you pass to \`envlock run NAME -- CMD\`.
# Names use lower-case letters, digits, ".", "_" and "-".
environments:
  ${key(name)}:
    # The image to start from (required): a registry reference such as
    # "python:3.12-slim" or "registry.example.org/group/tool:1.0",
    # "oci:DIR[:TAG]" for an OCI layout, or "oci-archive:FILE[:TAG]".
${example ? `    # ${EXAMPLE_NOTE}\n` : ''}    image: ${quote(image)}

    # A line for \`envlock list\` and \`module avail\`.
    # description: "Python with the analysis stack"

    # Platforms to lock (os/arch[/variant]); left out, the platform of the host that locks.
${platformLine}

    # The lowest CPU the environment may run on: x86-64, x86-64-v2, x86-64-v3, x86-64-v4
    # or a microarchitecture name such as skylake_avx512 or neoverse_v1.
    # cpu: x86-64-v3

    # Variables to set inside the environment. Values are strings: quote numbers.
    # env:
    #   OMP_NUM_THREADS: "8"

    # Directories to put in front of (prepend-path) or behind (append-path) a search path.
    # prepend-path:
    #   PATH: [/opt/tools/bin]
    # append-path:
    #   LD_LIBRARY_PATH: /opt/extra/lib

    # Variables to remove from the environment.
    # unset: [PYTHONPATH]

    # Host directories to bind in: "SRC[:DST[:ro|rw]]" (read-write unless ":ro"),
    # SRC relative to this file or under "~"; DST an absolute path (default: same as SRC).
    # binds:
    #   - "./data:/data:ro"
    #   - { source: "~/scratch", target: /scratch, read-only: false }

    # Host hardware and software to bring in.
    # host:
    #   gpu: none          # none, nvidia, amd or auto
    #   devices: []        # CDI devices such as "nvidia.com/gpu=all"
    #   mpi: none          # none, or host to use the site's MPI
    #   libraries: []      # extra host libraries, such as "libfabric.so.1"

    # Commands the module shim puts on PATH as wrappers when this environment is loaded.
    # commands: [python, pip]

    # Module names this environment answers to in \`module load\`.
    # provides: ["python/3.12"]
`;
}

function tomlTemplate({ name, image, platforms, example }: TemplateInput): string {
  const platformLine = platforms.length > 0
    ? `platforms = [${platforms.map(quote).join(', ')}]`
    : '# platforms = ["linux/amd64", "linux/arm64"]';
  const table = `environments.${key(name)}`;
  return `# envlock.toml: the environments this project runs in (docs/declaration.md lists every key).
# Edit it, then run \`envlock lock\` to pin every image to content digests in envlock.lock.

# The version of this file's format. Leave it at 1.
version = 1

# One table per environment; the name is what you pass to \`envlock run NAME -- CMD\`.
# Names use lower-case letters, digits, ".", "_" and "-".
[${table}]
# The image to start from (required): a registry reference such as
# "python:3.12-slim" or "registry.example.org/group/tool:1.0",
# "oci:DIR[:TAG]" for an OCI layout, or "oci-archive:FILE[:TAG]".
${example ? `# ${EXAMPLE_NOTE}\n` : ''}image = ${quote(image)}

# A line for \`envlock list\` and \`module avail\`.
# description = "Python with the analysis stack"

# Platforms to lock (os/arch[/variant]); left out, the platform of the host that locks.
${platformLine}

# The lowest CPU the environment may run on: x86-64, x86-64-v2, x86-64-v3, x86-64-v4
# or a microarchitecture name such as skylake_avx512 or neoverse_v1.
# cpu = "x86-64-v3"

# Variables to remove from the environment.
# unset = ["PYTHONPATH"]

# Commands the module shim puts on PATH as wrappers when this environment is loaded.
# commands = ["python", "pip"]

# Module names this environment answers to in \`module load\`.
# provides = ["python/3.12"]

# Host directories to bind in: "SRC[:DST[:ro|rw]]" (read-write unless ":ro"),
# SRC relative to this file or under "~"; DST an absolute path (default: same as SRC).
# binds = ["./data:/data:ro", "~/scratch:/scratch"]
# (or, one [[${table}.binds]] table each, with source, target and read-only;
# a list holds only one kind of value: all strings or all tables)

# Variables to set inside the environment. Values are strings: quote numbers.
# [${table}.env]
# OMP_NUM_THREADS = "8"

# Directories to put in front of (prepend-path) or behind (append-path) a search path.
# [${table}.prepend-path]
# PATH = ["/opt/tools/bin"]
# [${table}.append-path]
# LD_LIBRARY_PATH = "/opt/extra/lib"

# Host hardware and software to bring in.
# [${table}.host]
# gpu = "none"        # none, nvidia, amd or auto
# devices = []        # CDI devices such as "nvidia.com/gpu=all"
# mpi = "none"        # none, or "host" to use the site's MPI
# libraries = []      # extra host libraries, such as "libfabric.so.1"
`;
}

/** The whole file text for `envlock init`. */
export function renderTemplate(input: TemplateInput): string {
  return input.format === 'yaml' ? yamlTemplate(input) : tomlTemplate(input);
}
