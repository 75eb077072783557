// A strict scan of the command line for the fast paths (cli/entry.ts): it accepts only the
// global flags and command flags a fast path declares, in the forms cli/args.ts accepts, and
// gives up (undefined) on anything else, so an unusual command line always takes the full CLI.

export interface FastArgs {
  command: string;
  json: boolean;
  quiet: boolean;
  offline: boolean;
  directory?: string;
  store?: string;
  /** The command's boolean flags that were given. */
  booleans: Set<string>;
  /** The command's repeatable value flags, in order. */
  lists: Map<string, string[]>;
  positionals: string[];
}

export interface FastCommandFlags {
  booleans?: readonly string[];
  lists?: readonly string[];
  positionals?: boolean;
}

const GLOBAL_BOOLEANS: Record<string, 'json' | 'quiet' | 'offline'> = { '--json': 'json', '--quiet': 'quiet', '-q': 'quiet', '--offline': 'offline' };
const GLOBAL_VALUES: Record<string, 'directory' | 'store'> = { '--directory': 'directory', '-C': 'directory', '--store': 'store' };

/** The parsed command line when `command` is the command and every token is understood. */
export function scanArgs(argv: readonly string[], command: string, flags: FastCommandFlags): FastArgs | undefined {
  const out: FastArgs = { command, json: false, quiet: false, offline: false, booleans: new Set(), lists: new Map(), positionals: [] };
  let named = false;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (!token.startsWith('-') || token === '-') {
      if (!named) {
        if (token !== command) return undefined;
        named = true;
      } else if (flags.positionals && !/^-\d/.test(token)) {
        out.positionals.push(token);
      } else {
        return undefined;
      }
      continue;
    }
    const eq = token.startsWith('--') ? token.indexOf('=') : -1;
    const name = eq === -1 ? token : token.slice(0, eq);
    const global = GLOBAL_BOOLEANS[name];
    if (global !== undefined) {
      if (eq !== -1 || out[global]) return undefined;
      out[global] = true;
      continue;
    }
    const valued = GLOBAL_VALUES[name] ?? (named && flags.lists?.includes(name.slice(2)) && name.startsWith('--') ? name : undefined);
    if (valued !== undefined) {
      const value = eq !== -1 ? token.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '') return undefined;
      if (valued === 'directory' || valued === 'store') {
        if (out[valued] !== undefined) return undefined;
        out[valued] = value;
      } else {
        const key = valued.slice(2);
        out.lists.set(key, [...(out.lists.get(key) ?? []), value]);
      }
      continue;
    }
    if (named && eq === -1 && name.startsWith('--') && flags.booleans?.includes(name.slice(2)) && !out.booleans.has(name.slice(2))) {
      out.booleans.add(name.slice(2));
      continue;
    }
    return undefined;
  }
  return named ? out : undefined;
}
