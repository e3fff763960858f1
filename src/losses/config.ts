// A loss's config: its defaults overridden by the user's partial config. Keys and types come from
// the defaults, so a typo ('betta') or a string where a number belongs is an error naming the key.
import type { ConfigValue, LossConfig, PreferenceLoss } from './types.js';

export function resolveConfig<C extends LossConfig>(loss: PreferenceLoss<C>, partial?: Partial<C> | Record<string, unknown>): C {
  const who = `loss '${loss.name}'`;
  if (partial === undefined || partial === null) partial = {};
  if (typeof partial !== 'object' || Array.isArray(partial)) throw new Error(`${who}: the config must be an object of key: value, got ${describe(partial)}`);
  const known = Object.keys(loss.defaults);
  const out: LossConfig = { ...loss.defaults };
  for (const [key, value] of Object.entries(partial)) {
    if (value === undefined) continue;
    if (!Object.prototype.hasOwnProperty.call(loss.defaults, key)) {
      const near = nearestName(key, known);
      throw new Error(`${who}: unknown config key '${key}'${near ? ` (did you mean '${near}'?)` : ''} (known keys: ${known.length ? known.join(', ') : 'none'})`);
    }
    out[key] = checkValue(loss, key, value);
  }
  loss.validate?.(out as C);
  return out as C;
}

function checkValue(loss: PreferenceLoss<LossConfig>, key: string, value: unknown): ConfigValue {
  const want = typeof loss.defaults[key];
  if (typeof value !== want) {
    throw new Error(`loss '${loss.name}': config key '${key}' must be a ${want}, got ${describe(value)}`);
  }
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new Error(`loss '${loss.name}': config key '${key}' must be a finite number, got ${value}`);
  }
  const allowed = loss.choices?.[key];
  if (allowed && !allowed.includes(value as ConfigValue)) {
    throw new Error(`loss '${loss.name}': config key '${key}' must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(value)}`);
  }
  return value as ConfigValue;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return `string '${v}'`;
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  return `${typeof v} ${typeof v === 'object' ? '' : String(v)}`.trim();
}

/** snake_case (TRL's spelling) to camelCase (relpo's): label_smoothing → labelSmoothing. */
export function camelKey(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * A loss's config from text values (command-line flags, key=value lists): keys in snake_case or
 * camelCase, each value parsed by the type of its default (a number, true/false, or a string), then
 * merged over the defaults and checked as resolveConfig does.
 */
export function configFromText<C extends LossConfig>(loss: PreferenceLoss<C>, entries: Record<string, string | number | boolean>): C {
  const partial: Record<string, ConfigValue> = {};
  for (const [raw, value] of Object.entries(entries)) {
    const key = camelKey(raw);
    if (!Object.prototype.hasOwnProperty.call(loss.defaults, key)) {
      resolveConfig(loss, { [raw]: value }); // throws: unknown key, with the nearest name
    }
    partial[key] = typeof value === 'string' ? parseText(loss, key, value) : value;
  }
  return resolveConfig(loss, partial as Partial<C>);
}

function parseText(loss: PreferenceLoss<LossConfig>, key: string, text: string): ConfigValue {
  const want = typeof loss.defaults[key];
  if (want === 'number') {
    const n = text.trim() === '' ? NaN : Number(text);
    if (!Number.isFinite(n)) throw new Error(`loss '${loss.name}': config key '${key}' must be a number, got '${text}'`);
    return n;
  }
  if (want === 'boolean') {
    if (text !== 'true' && text !== 'false') throw new Error(`loss '${loss.name}': config key '${key}' must be true or false, got '${text}'`);
    return text === 'true';
  }
  return text;
}

/** The candidate closest to `name` by edit distance (case-insensitive), when it is close enough to be a typo. */
export function nearestName(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}
