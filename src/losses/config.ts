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
      throw new Error(`${who}: unknown config key '${key}' (known keys: ${known.length ? known.join(', ') : 'none'})`);
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
