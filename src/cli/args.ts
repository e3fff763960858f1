// Minimal flag parsing for the relpo commands: --name value, --name=value, --flag; every command
// documents its flags in one table that --help prints, and unknown flags are errors.
export interface FlagSpec {
  name: string;
  help: string;
  /** Default value; a boolean default makes it a switch. */
  default: string | number | boolean;
  /** What a value must be, checked before any work (checkFlags); '' (unset) always passes. */
  check?: FlagCheck;
}

export interface FlagCheck {
  /** One of these strings. */
  choices?: readonly string[];
  /** A whole number. */
  int?: boolean;
  /** Bounds, inclusive unless said. */
  min?: number;
  max?: number;
  minExclusive?: boolean;
  maxExclusive?: boolean;
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

function describeCheck(c: FlagCheck): string {
  if (c.choices) return `one of ${c.choices.filter(Boolean).join(', ')}`;
  const bounds = [c.min !== undefined ? `${c.minExclusive ? '>' : '≥'} ${c.min}` : '', c.max !== undefined ? `${c.maxExclusive ? '<' : '≤'} ${c.max}` : ''].filter(Boolean);
  return `${c.int ? 'an integer' : 'a number'}${bounds.length ? ` ${bounds.join(' and ')}` : ''}`;
}

/**
 * Every flag's value against its spec's check (the command line's, a config file's or a
 * checkpoint's, after they are merged): an error names the flag, what it must be and what it got.
 */
export function checkFlags(flags: Flags, specs: FlagSpec[], command: string): void {
  for (const s of specs) {
    const c = s.check;
    const v = flags[s.name];
    if (!c || v === '' || v === undefined) continue;
    const fail = () => new Error(`relpo ${command}: --${s.name} must be ${describeCheck(c)}, got ${JSON.stringify(v)}`);
    if (c.choices) {
      if (!c.choices.includes(String(v))) throw fail();
      continue;
    }
    const n = typeof v === 'number' ? v : Number(v);
    if (!Number.isFinite(n) || (c.int && !Number.isInteger(n))) throw fail();
    if (c.min !== undefined && (c.minExclusive ? n <= c.min : n < c.min)) throw fail();
    if (c.max !== undefined && (c.maxExclusive ? n >= c.max : n > c.max)) throw fail();
  }
}
