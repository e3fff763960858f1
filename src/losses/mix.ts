// Mixing: a weighted sum of losses, e.g. [{ loss: 'dpo', weight: 1 }, { loss: 'sft', weight: 0.2 }]
// (RPO/DPO plus an SFT term, as in CPO or RPO-with-NLL set-ups). Each term is computed by its own
// registered loss, so each keeps its config, its data checks and its metrics, which are prefixed
// with the term's label ('dpo/rewards/chosen'); '<label>/loss' holds each unweighted term.
import type { LossConfig, LossNeeds, PreferenceBatch, PreferenceLoss } from './types.js';
import { getLoss, type RegisteredLoss } from './catalog.js';
import { lossNeeds } from './checks.js';
import { add, mul, noGrad } from './ops.js';
import type { Tensor } from '../autograd/tensor.js';

export interface MixTerm {
  /** A registered loss name, or a registered loss object. */
  loss: string | RegisteredLoss;
  weight: number;
  /** Partial config of this term, over the loss's defaults. */
  config?: Partial<LossConfig>;
  /** Metric prefix; defaults to the loss name (with #2, #3 … when a loss appears twice). */
  label?: string;
}

/**
 * A loss that is the weighted sum of `terms`. It is an ordinary PreferenceLoss (it can be
 * registered under a name of its own): it accepts the data every term accepts and needs what any
 * term needs. Term configs are resolved here, so a bad key fails at once.
 */
/** A mix as mixLosses makes it: a loss, with its resolved terms (a trainer records them in checkpoints). */
export type MixedLoss = PreferenceLoss<Record<string, never>> & { mixTerms: { loss: string; weight: number; label: string; config: LossConfig }[] };

export function mixLosses(terms: MixTerm[], name?: string): MixedLoss {
  if (!Array.isArray(terms) || terms.length === 0) throw new Error('mixLosses: needs a non-empty array of { loss, weight } terms');
  const used = new Map<string, number>();
  const parts = terms.map((t, k) => {
    if (!t || typeof t !== 'object') throw new Error(`mixLosses: term ${k} must be { loss, weight, config? }`);
    const loss = typeof t.loss === 'string' ? getLoss(t.loss) : t.loss;
    if (!loss || typeof loss.resolveConfig !== 'function') throw new Error(`mixLosses: term ${k}'s loss must be a registered loss name or object`);
    if (typeof t.weight !== 'number' || !Number.isFinite(t.weight)) throw new Error(`mixLosses: term ${k} (${loss.name}) needs a finite number 'weight', got ${String(t.weight)}`);
    const seen = (used.get(loss.name) ?? 0) + 1;
    used.set(loss.name, seen);
    const label = t.label ?? (seen === 1 ? loss.name : `${loss.name}#${seen}`);
    return { loss, weight: t.weight, config: loss.resolveConfig(t.config), label };
  });
  const labels = parts.map((p) => p.label);
  if (new Set(labels).size !== labels.length) throw new Error(`mixLosses: term labels must differ, got ${labels.join(', ')}`);
  // What each term needs under its own config (rpo with uniform weights needs no embeddings).
  const partNeeds = parts.map((p) => lossNeeds(p.loss.plugin, p.config));
  const needs = {} as LossNeeds;
  for (const k of ['reference', 'promptEmbeddings', 'klEstimate', 'tokenAverage'] as const) needs[k] = partNeeds.some((n) => n[k]);
  for (const k of ['promptTokens', 'wpoWeights'] as const) if (partNeeds.some((n) => n[k])) needs[k] = true;
  // The verbose part's weight is one per batch (it is in the completion mask the log-probs are
  // summed with). A term that reads only the unweighted chosen log-probs (sft) is not touched by
  // it; any other term without the option would read weighted log-probs where TRL's reads the
  // plain ones: refused.
  const weighs = (n: LossNeeds) => !(n.unweightedLogps && (n.verboseWeight ?? 1) === 1);
  const ld = [...new Set(partNeeds.filter(weighs).map((n) => n.verboseWeight ?? 1))];
  if (ld.length > 1) {
    const each = parts.flatMap((p, k) => (weighs(partNeeds[k]) ? [`${p.label} ${partNeeds[k].verboseWeight ?? 1}`] : [])).join(', ');
    throw new Error(`mixLosses: terms weigh the verbose part of the answers differently (${each}); LD-DPO's weight is one per batch, in the log-probs every term but an unweighted NLL (sft) reads (docs/losses.md)`);
  }
  if (ld.length === 1 && ld[0] !== 1) needs.verboseWeight = ld[0];
  // The mix asks for the unweighted log-probs where a term reads them under a verbose weight, and
  // reads only them when every term does (so a mix nested in a mix is judged rightly).
  if (partNeeds.some((n) => n.unweightedLogps) && (needs.verboseWeight !== undefined || partNeeds.every((n) => n.unweightedLogps))) needs.unweightedLogps = true;
  // A weighted sum of means over pairs is one; a single coupled term couples the mix.
  needs.meanOverPairs = partNeeds.every((n) => n.meanOverPairs === true);
  return {
    name: name ?? `mix_${parts.map((p) => p.loss.name).join('_')}`,
    description: `weighted sum: ${parts.map((p) => `${p.weight}·${p.label}`).join(' + ')}`,
    data: { paired: parts.every((p) => p.loss.data.paired), unpaired: parts.every((p) => p.loss.data.unpaired) },
    needs,
    defaults: {},
    mixTerms: parts.map((p) => ({ loss: p.loss.name, weight: p.weight, label: p.label, config: p.config })),
    compute(batch: PreferenceBatch) {
      let total: Tensor | null = null;
      const metrics: Record<string, Tensor> = {};
      for (const p of parts) {
        const out = p.loss.compute(batch, p.config);
        const weighted = mul(out.loss, p.weight);
        total = total ? add(total, weighted) : weighted;
        metrics[`${p.label}/loss`] = noGrad(() => mul(out.loss, 1));
        for (const [k, v] of Object.entries(out.metrics)) metrics[`${p.label}/${k}`] = v;
      }
      return { loss: total!, metrics };
    },
  };
}
