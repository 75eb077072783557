// Turns the NVIDIA Container Toolkit's well-known CDI hooks into plain plan data that envlock
// applies itself, without root and without running a host helper inside the container's
// namespaces (pitfalls 4.3; CVE-2025-23266). Any other hook is refused unless the site allows hooks.

import path from 'node:path';
import { EnvlockError } from '../../errors.js';
import type { Sourced } from './resolve.js';
import type { CdiHook } from './spec-types.js';

export interface HookTranslation {
  symlinks: { target: string; link: string; source: string }[];
  /** Folders the update-ldcache hook would add to the container's loader cache. */
  ldcacheFolders: string[];
  /** Folders the create-soname-symlinks hook would give SONAME links (ldconfig -n), without a cache update. */
  sonameFolders: string[];
  hooksToRun: { hook: CdiHook; source: string }[];
  notes: string[];
}

interface ParsedCall {
  subcommand: string;
  flags: Map<string, string[]>;
  positional: string[];
}

const NVIDIA_HOOK_BINARIES = new Set(['nvidia-cdi-hook', 'nvidia-ctk']);
/** Flags that only tell the hook where the OCI state is; meaningless once envlock applies the edit itself. */
const STATE_FLAGS = new Set(['container-spec', 'ldconfig-path']);

/** Parses `nvidia-cdi-hook SUB --flag v --flag=v` or `nvidia-ctk hook SUB …`; undefined if it is not one. */
function parseNvidiaCall(hook: CdiHook): ParsedCall | undefined {
  const binary = path.posix.basename(hook.path);
  if (!NVIDIA_HOOK_BINARIES.has(binary)) return undefined;
  let args = [...hook.args];
  if (args.length > 0 && path.posix.basename(args[0]!) === binary) args = args.slice(1);
  if (binary === 'nvidia-ctk') {
    if (args[0] !== 'hook') return undefined;
    args = args.slice(1);
  }
  const subcommand = args.shift();
  if (subcommand === undefined) return undefined;
  const flags = new Map<string, string[]>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (i + 1 < args.length && !args[i + 1]!.startsWith('--')) value = args[++i]!;
    else value = 'true';
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return { subcommand, flags, positional };
}

function onlyFlags(call: ParsedCall, allowed: string[]): boolean {
  return call.positional.length === 0 && [...call.flags.keys()].every((f) => allowed.includes(f) || STATE_FLAGS.has(f));
}

/** An absolute container path that does not climb above the root, normalised. */
function safeContainerPath(p: string): string | undefined {
  if (!p.startsWith('/')) return undefined;
  let depth = 0;
  for (const part of p.split('/')) {
    if (part === '..') depth -= 1;
    else if (part !== '' && part !== '.') depth += 1;
    if (depth < 0) return undefined;
  }
  return path.posix.normalize(p);
}

/** Applies the hook natively when it is a known NVIDIA one; returns false when it is not recognised. */
function translateOne(call: ParsedCall, source: string, out: HookTranslation): boolean {
  switch (call.subcommand) {
    case 'create-symlinks': {
      if (!onlyFlags(call, ['link'])) return false;
      const pairs = (call.flags.get('link') ?? []).map((l) => l.split('::'));
      const parsed = pairs.map((p) => (p.length === 2 && p[0] !== '' ? { target: p[0]!, link: safeContainerPath(p[1]!) } : undefined));
      if (parsed.some((p) => p === undefined || p.link === undefined)) return false;
      for (const p of parsed) out.symlinks.push({ target: p!.target, link: p!.link!, source });
      return true;
    }
    case 'update-ldcache': {
      if (!onlyFlags(call, ['folder'])) return false;
      const folders = (call.flags.get('folder') ?? []).map(safeContainerPath);
      if (folders.some((f) => f === undefined)) return false;
      for (const f of folders) if (!out.ldcacheFolders.includes(f!)) out.ldcacheFolders.push(f!);
      return true;
    }
    case 'create-soname-symlinks': {
      // Newer toolkits (1.18) emit it for library folders that should get links but no cache entry.
      if (!onlyFlags(call, ['folder'])) return false;
      const folders = (call.flags.get('folder') ?? []).map(safeContainerPath);
      if (folders.some((f) => f === undefined)) return false;
      for (const f of folders) if (!out.sonameFolders.includes(f!)) out.sonameFolders.push(f!);
      return true;
    }
    case 'chmod':
      if (!onlyFlags(call, ['mode', 'path'])) return false;
      out.notes.push(`chmod hook from ${source} is ignored: the container's root is read-only and device modes come from the host.`);
      return true;
    case 'enable-cuda-compat':
      if (!onlyFlags(call, ['host-driver-version'])) return false;
      out.notes.push(`enable-cuda-compat hook from ${source} is ignored: envlock always uses the host driver's libraries.`);
      return true;
    case 'disable-device-node-modification':
      if (!onlyFlags(call, [])) return false;
      out.notes.push(`disable-device-node-modification hook from ${source} is not needed: envlock never lets the container create device nodes.`);
      return true;
    default:
      return false;
  }
}

/** Translates every hook; unknown hooks throw CDI_HOOK_FORBIDDEN unless allowHooks (site config) is set. */
export function translateHooks(hooks: Sourced<CdiHook>[], options: { allowHooks?: boolean } = {}): HookTranslation {
  const out: HookTranslation = { symlinks: [], ldcacheFolders: [], sonameFolders: [], hooksToRun: [], notes: [] };
  for (const { value: hook, origin } of hooks) {
    const source = `${origin.owner} in ${origin.file}`;
    const call = parseNvidiaCall(hook);
    if (call !== undefined && translateOne(call, source, out)) continue;
    if (options.allowHooks === true) {
      out.hooksToRun.push({ hook, source });
      continue;
    }
    throw new EnvlockError(
      'CDI_HOOK_FORBIDDEN',
      `CDI hook ${hook.path} (${[hook.path, ...hook.args.slice(1)].join(' ')}) from ${origin.file} is not one envlock can apply itself.`,
      {
        hint: 'Ask the site administrator to allow CDI hooks in the site configuration, or to remove the hook from the spec.',
        details: { hook: hook.path, args: hook.args, file: origin.file, device: origin.owner },
      },
    );
  }
  return out;
}
