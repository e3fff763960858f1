// Minimal flag parsing for the relpo commands: --name value, --name=value, --flag; every command
// documents its flags in one table that --help prints, and unknown flags are errors.
export interface FlagSpec {
  name: string;
  help: string;
  /** Default value; a boolean default makes it a switch. */
  default: string | number | boolean;
}

export type Flags = Record<string, string | number | boolean>;

export function parseFlags(argv: string[], specs: FlagSpec[], command: string): Flags {
  const out: Flags = {};
  for (const s of specs) out[s.name] = s.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`relpo ${command}: unexpected argument '${arg}' (see relpo ${command} --help)`);
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
    const spec = specs.find((s) => s.name === name);
    if (!spec) throw new Error(`relpo ${command}: unknown flag --${name} (see relpo ${command} --help)`);
    if (typeof spec.default === 'boolean') {
      out[name] = inline === undefined ? true : inline !== 'false';
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`relpo ${command}: --${name} needs a value`);
    if (typeof spec.default === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n)) throw new Error(`relpo ${command}: --${name} must be a number, got '${value}'`);
      out[name] = n;
    } else {
      out[name] = value;
    }
  }
  return out;
}

export function formatHelp(usage: string, about: string, specs: FlagSpec[]): string {
  const width = Math.max(14, ...specs.map((s) => s.name.length));
  const rows = specs.map((s) => `  --${s.name.padEnd(width)} ${s.help} (default: ${JSON.stringify(s.default)})`);
  return `${usage}\n\n${about}\n\nOptions:\n${rows.join('\n')}\n  --${'help'.padEnd(width)} show this help\n`;
}

/** The flags `argv` names explicitly (--name or --name=value), so a command can tell a given value from a default. */
export function flagsGiven(argv: string[]): Set<string> {
  return new Set(argv.filter((a) => a.startsWith('--')).map((a) => a.slice(2).split('=')[0]));
}

/** A flag whose default is '' (unset) read as a number, or undefined when unset. */
export function optionalNumber(flags: Flags, name: string, command: string): number | undefined {
  const v = flags[name];
  if (v === '' || v === undefined) return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) throw new Error(`relpo ${command}: --${name} must be a number, got '${v}'`);
  return n;
}
