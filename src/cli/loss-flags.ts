// The loss options of `relpo train` and `relpo eval`: which loss (relpo's name or TRL's loss_type,
// several for a weighted sum) and every hyper-parameter of it, under TRL's names where TRL has one.
import * as r from '../index.js';
import type { FlagSpec, Flags } from './args.js';

export const LOSS_FLAGS: FlagSpec[] = [
  { name: 'loss-type', help: "TRL's loss_type instead of --loss (sigmoid = dpo, aot_pair = aot_unpaired, cpo:hinge, …: docs/losses.md); comma-separated for a weighted sum", default: '' },
  { name: 'trl-trainer', help: "whose loss_type --loss-type names: dpo (DPOTrainer, the default), cpo (CPOTrainer: sigmoid, hinge, ipo, simpo, alphapo) or kto", default: '' },
  {
    name: 'nll-alpha',
    help: "TRL's rpo_alpha (Pang et al.'s NLL term, not relpo's RPO): adds α × sft, the chosen answers' NLL, to the loss; empty: none",
    default: '',
  },
  { name: 'loss-weights', help: 'with several losses: their weights, comma-separated (TRL loss_weights; default 1 each)', default: '' },
  { name: 'beta', help: "the loss's β (TRL beta), for every loss of a mix that has one; empty: the loss's default", default: '' },
  { name: 'label-smoothing', help: "the loss's ε (TRL label_smoothing), for every loss of a mix that has one; empty: the default", default: '' },
  {
    name: 'loss-config',
    help: "any other loss option: key=value,key=value or a JSON object, snake_case or camelCase; in a mix, name.key=value sets one loss's (relpo losses --loss NAME lists the keys)",
    default: '',
  },
];

export interface LossChoice {
  /** A registered loss name (a mix is registered under mix_<names>). */
  loss: string;
  /** The config given to trainPreference / evaluatePreference (a mix holds its terms' configs itself). */
  lossConfig: Record<string, r.ConfigValue>;
  /** One line for the run's header: the loss and every config value. */
  summary: string;
}

/** key=value,… or a JSON object, as [key, value] entries (text values stay text). */
function parseEntries(text: string): [string, string | number | boolean][] {
  const t = text.trim();
  if (!t) return [];
  if (t.startsWith('{')) {
    let obj: unknown;
    try {
      obj = JSON.parse(t);
    } catch (e) {
      throw new Error(`--loss-config: not valid JSON (${(e as Error).message})`);
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new Error('--loss-config: the JSON must be an object of key: value');
    for (const [k, v] of Object.entries(obj)) if (!['string', 'number', 'boolean'].includes(typeof v)) throw new Error(`--loss-config: '${k}' must be a number, a boolean or a string`);
    return Object.entries(obj as Record<string, string | number | boolean>);
  }
  return t.split(',').map((part) => {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`--loss-config: '${part}' is not key=value`);
    return [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
  });
}

/** The loss and config the flags ask for; `defaultLoss` is the command's --loss default (to tell it apart from a given one). */
export function lossFromFlags(flags: Flags, defaultLoss: string): LossChoice {
  const types = String(flags['loss-type'] ?? '');
  if (types && String(flags.loss) !== defaultLoss) throw new Error('give --loss or --loss-type, not both');
  const trainer = String(flags['trl-trainer'] ?? '');
  if (trainer && !(r.TRL_TRAINERS as readonly string[]).includes(trainer)) throw new Error(`--trl-trainer: one of ${r.TRL_TRAINERS.join(', ')}, got '${trainer}'`);
  // A TRL type may be an option of a relpo loss (cpo:hinge is cpo with lossType hinge): its preset config.
  const picked = types
    ? types.split(',').map((x) => x.trim()).filter(Boolean).map((x) => r.lossOfTrlType(x, trainer as r.TrlTrainer))
    : String(flags.loss).split(',').map((x) => x.trim()).filter(Boolean).map((loss) => ({ loss, config: undefined }));
  const names = picked.map((p) => p.loss);
  if (names.length === 0) throw new Error('--loss: name a loss (relpo losses lists them)');
  const weightsText = String(flags['loss-weights'] ?? '');
  const weights = weightsText ? weightsText.split(',').map((x) => Number(x)) : names.map(() => 1);
  if (weights.length !== names.length || weights.some((w) => !Number.isFinite(w))) {
    throw new Error(`--loss-weights: ${names.length} finite numbers for ${names.join(', ')}, got '${weightsText}'`);
  }
  // TRL's rpo_alpha: the NLL on the chosen answers (loss_type sft's) added with weight α.
  const nllAlpha = String(flags['nll-alpha'] ?? '');
  if (nllAlpha !== '') {
    const a = Number(nllAlpha);
    if (!Number.isFinite(a) || a < 0) throw new Error(`--nll-alpha (TRL rpo_alpha): a number ≥ 0, got '${nllAlpha}'`);
    picked.push({ loss: 'sft', config: undefined });
    names.push('sft');
    weights.push(a);
  }
  const losses = names.map((n) => r.getLoss(n));
  // Every key=value for the losses it names: name.key for one, key for each loss that has it.
  const entries: [string, string | number | boolean][] = [];
  if (String(flags.beta ?? '') !== '') entries.push(['beta', String(flags.beta)]);
  if (String(flags['label-smoothing'] ?? '') !== '') entries.push(['label_smoothing', String(flags['label-smoothing'])]);
  entries.push(...parseEntries(String(flags['loss-config'] ?? '')));
  const perLoss = picked.map((p) => ({ ...(p.config ?? {}) }) as Record<string, string | number | boolean>);
  for (const [rawKey, value] of entries) {
    const dot = rawKey.indexOf('.');
    const target = dot > 0 ? rawKey.slice(0, dot) : undefined;
    const key = dot > 0 ? rawKey.slice(dot + 1) : rawKey;
    if (target !== undefined && !names.includes(target)) throw new Error(`--loss-config: '${rawKey}' names loss '${target}', which is not in this run (${names.join(', ')})`);
    const hits = names.map((n, i) => i).filter((i) => (target === undefined || names[i] === target) && r.camelKey(key) in losses[i].defaults);
    if (hits.length === 0) {
      const scope = target !== undefined ? [losses[names.indexOf(target)]] : losses;
      const keys = [...new Set(scope.flatMap((l) => Object.keys(l.defaults)))];
      const near = r.nearestName(r.camelKey(key), keys);
      throw new Error(
        `${scope.map((l) => `loss '${l.name}'`).join(', ')} ${scope.length > 1 ? 'have' : 'has'} no option '${key}'${near ? ` (did you mean '${near}'?)` : ''}; ` +
          `options: ${keys.length ? keys.join(', ') : 'none'} (relpo losses --loss ${scope[0].name})`,
      );
    }
    for (const i of hits) perLoss[i][r.camelKey(key)] = value;
  }
  const configs = losses.map((l, i) => r.configFromText(l.plugin, perLoss[i]));
  const show = (c: Record<string, r.ConfigValue>) => Object.entries(c).map(([k, v]) => `${k}=${v}`).join(' ');
  if (names.length === 1) return { loss: names[0], lossConfig: configs[0], summary: `${names[0]}${Object.keys(configs[0]).length ? ` (${show(configs[0])})` : ''}` };
  const name = `mix_${names.join('_')}`;
  r.unregisterLoss(name);
  r.registerLoss(r.mixLosses(names.map((n, i) => ({ loss: n, weight: weights[i], config: configs[i] })), name));
  return { loss: name, lossConfig: {}, summary: names.map((n, i) => `${weights[i]}·${n}${Object.keys(configs[i]).length ? ` (${show(configs[i])})` : ''}`).join(' + ') };
}

/** `relpo losses --loss NAME`: a loss's data, needs and every option with its default and meaning. */
export function describeLoss(name: string): string {
  const l = r.getLoss(name);
  const trl = r.trlTypesOf(name);
  const needs = Object.entries(r.lossNeeds(l.plugin, l.resolveConfig())).filter(([k, v]) => v && k !== 'meanOverPairs').map(([k]) => k);
  const lines = [
    `${l.name}: ${l.description ?? ''}`,
    `  data: ${[l.data.paired && 'paired', l.data.unpaired && 'unpaired'].filter(Boolean).join(', ')}; needs (defaults): ${needs.join(', ') || 'nothing but the policy'}${trl.length ? `; TRL loss_type: ${trl.join(', ')}` : ''}`,
    '  options (--loss-config key=value, snake_case or camelCase):',
  ];
  const keys = Object.keys(l.defaults);
  if (keys.length === 0) lines.push('    (none)');
  for (const k of keys) {
    const choices = l.choices?.[k];
    lines.push(`    ${k.padEnd(18)} default ${JSON.stringify(l.defaults[k])}${choices ? `, one of ${choices.join(', ')}` : ''}${l.configHelp?.[k] ? `: ${l.configHelp[k]}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}
