// Checks shared by the losses: every refusal names the loss, the missing or malformed field, and
// (for data a loss cannot use) the registered losses that do accept it.
import type { Tensor } from '../autograd/tensor.js';
import { cast } from './ops.js';
import type { LossConfig, LossNeeds, PreferenceBatch, PreferenceLoss, PreferenceSide } from './types.js';
import { listLosses } from './catalog.js';

export type SideName = 'chosen' | 'rejected';

/** Names of the registered losses that pass `accepts`, for error messages. */
export function lossesThat(accepts: (loss: PreferenceLoss) => boolean): string {
  const names = listLosses().filter(accepts).map((l) => l.name);
  return names.length ? names.join(', ') : '(none registered)';
}

/** What `loss` needs under `config`: needsFor(config) when the loss has it, else needs. */
export function lossNeeds<C extends LossConfig>(loss: PreferenceLoss<C>, config: C): LossNeeds {
  return loss.needsFor ? loss.needsFor(config) : loss.needs;
}

/**
 * The central check before any loss runs: shapes agree, the loss takes this kind of data, and the
 * batch holds everything the loss needs under this config.
 */
export function checkBatch(loss: PreferenceLoss<LossConfig>, batch: PreferenceBatch, config: LossConfig): void {
  const who = `loss '${loss.name}'`;
  if (batch === null || typeof batch !== 'object') throw new Error(`${who}: the batch must be an object { paired, chosen, rejected }`);
  if (typeof batch.paired !== 'boolean') throw new Error(`${who}: batch.paired must be true or false`);
  const M = checkSide(who, batch, 'chosen');
  const N = checkSide(who, batch, 'rejected');
  if (batch.paired && M !== N) {
    throw new Error(`${who}: a paired batch needs as many chosen as rejected rows, got ${M} and ${N}`);
  }
  if (batch.paired && !loss.data.paired) {
    throw new Error(`${who} takes unpaired data only; this batch is paired. Losses that accept paired data: ${lossesThat((l) => l.data.paired)}`);
  }
  if (!batch.paired && !loss.data.unpaired) {
    throw new Error(
      `${who} needs paired data (row i of chosen and rejected answering the same prompt); this batch is unpaired. ` +
        `Losses that accept unpaired data: ${lossesThat((l) => l.data.unpaired)}`,
    );
  }
  const e1 = batch.chosen.promptEmbeddings, e2 = batch.rejected.promptEmbeddings;
  if (e1 && e2 && e1.shape[1] !== e2.shape[1]) {
    throw new Error(`${who}: prompt embeddings of chosen [${e1.shape}] and rejected [${e2.shape}] differ in width`);
  }
  const needs = lossNeeds(loss, config);
  if (needs.reference) requireReference(loss.name, batch);
  if (needs.tokenAverage) for (const side of ['chosen', 'rejected'] as const) if (!batch[side].tokenCounts) throw missingTokenCounts(loss.name, side);
  if (needs.promptEmbeddings) {
    // Paired rows share their prompt, so the chosen side's embeddings serve both.
    const why = `needs.promptEmbeddings under config ${JSON.stringify(config)}`;
    requireEmbeddings(loss.name, batch, 'chosen', why);
    if (!batch.paired) requireEmbeddings(loss.name, batch, 'rejected', why);
  }
  if (needs.klEstimate) requireKl(loss.name, batch);
  if (needs.promptTokens) requirePromptTokens(loss.name, batch);
  if (needs.wpoWeights) requireWpoWeights(loss.name, batch);
  if ((needs.verboseWeight ?? 1) !== 1 && !batch.paired) throw new Error(`${who}: LD-DPO's verbose-part weight (${needs.verboseWeight}) splits each pair's answers at the shorter one's length, so it needs paired data`);
  if (needs.unweightedLogps && (needs.verboseWeight ?? 1) !== 1 && !batch.chosen.unweightedLogps) {
    throw new Error(`${who}: needs batch.chosen.unweightedLogps (needs.unweightedLogps with LD-DPO's verbose weight ${needs.verboseWeight}): the chosen rows' completion log-probs with every token counting 1`);
  }
  if (batch.kl) {
    const { policyLogps: p, refLogps: q } = batch.kl;
    if (!p || !q || p.rank !== 1 || q.rank !== 1 || p.shape[0] !== q.shape[0]) {
      throw new Error(`${who}: batch.kl needs policyLogps and refLogps of one shape [K], got [${p?.shape}] and [${q?.shape}]`);
    }
  }
}

function checkSide(who: string, batch: PreferenceBatch, side: SideName): number {
  const s: PreferenceSide | undefined = batch[side];
  if (!s || typeof s !== 'object') throw new Error(`${who}: batch.${side} is missing`);
  const p = s.policyLogps;
  if (!p || p.isTensor !== true) throw new Error(`${who}: batch.${side}.policyLogps must be a tensor`);
  if (p.rank !== 1) throw new Error(`${who}: batch.${side}.policyLogps must be 1-D [rows], got [${p.shape}]`);
  const rows = p.shape[0];
  if (rows === 0) throw new Error(`${who}: batch.${side} has no rows`);
  for (const key of ['refLogps', 'tokenCounts', 'wpoWeights', 'fullLogps', 'fullTokenCounts', 'unweightedLogps'] as const) {
    const t = s[key];
    if (t && (t.rank !== 1 || t.shape[0] !== rows)) throw new Error(`${who}: batch.${side}.${key} must be [${rows}] like policyLogps, got [${t.shape}]`);
  }
  const e = s.promptEmbeddings;
  if (e && (e.rank !== 2 || e.shape[0] !== rows)) throw new Error(`${who}: batch.${side}.promptEmbeddings must be [${rows}, d], got [${e.shape}]`);
  if (s.promptIds && s.promptIds.length !== rows) throw new Error(`${who}: batch.${side}.promptIds has ${s.promptIds.length} entries for ${rows} rows`);
  return rows;
}

/** refLogps of both sides, or an error pointing at reference-free losses. */
export function requireReference(lossName: string, batch: PreferenceBatch): { chosen: Tensor; rejected: Tensor } {
  const c = batch.chosen.refLogps, r = batch.rejected.refLogps;
  if (!c || !r) {
    throw new Error(
      `loss '${lossName}' needs reference log-probs (batch.${!c ? 'chosen' : 'rejected'}.refLogps is missing). ` +
        `Losses that need no reference: ${lossesThat((l) => !l.needs.reference)}`,
    );
  }
  return { chosen: c, rejected: r };
}

/** Token counts of one side in the log-probs' dtype (int32 counts are cast). */
export function requireTokenCounts(lossName: string, batch: PreferenceBatch, side: SideName, why = ''): Tensor {
  const n = batch[side].tokenCounts;
  if (!n) throw missingTokenCounts(lossName, side, why);
  const dtype = batch[side].policyLogps.dtype;
  return n.dtype === dtype ? n : cast(n, dtype);
}

function missingTokenCounts(lossName: string, side: SideName, why = ''): Error {
  return new Error(`loss '${lossName}' needs batch.${side}.tokenCounts${why ? ` (${why})` : ''}: it divides log-probs by the number of completion tokens`);
}

/** The chosen rows' log-probs over prompt and completion, and their token counts (in the log-probs' dtype). */
export function requirePromptTokens(lossName: string, batch: PreferenceBatch): { logps: Tensor; counts: Tensor } {
  const { fullLogps, fullTokenCounts } = batch.chosen;
  if (!fullLogps || !fullTokenCounts) {
    throw new Error(`loss '${lossName}' needs batch.chosen.fullLogps and batch.chosen.fullTokenCounts (needs.promptTokens): the chosen rows' log-probs over prompt and completion tokens`);
  }
  return { logps: fullLogps, counts: fullTokenCounts.dtype === fullLogps.dtype ? fullTokenCounts : cast(fullTokenCounts, fullLogps.dtype) };
}

/** The chosen rows' completion log-probs with every token counting 1 (needs.unweightedLogps). */
export function unweightedChosenLogps(batch: PreferenceBatch): Tensor {
  return batch.chosen.unweightedLogps ?? batch.chosen.policyLogps;
}

/** WPO's per-row weights of both sides. */
export function requireWpoWeights(lossName: string, batch: PreferenceBatch): { chosen: Tensor; rejected: Tensor } {
  const c = batch.chosen.wpoWeights, r = batch.rejected.wpoWeights;
  if (!c || !r) throw new Error(`loss '${lossName}' needs batch.${!c ? 'chosen' : 'rejected'}.wpoWeights (needs.wpoWeights): WPO's per-row weights under the policy`);
  return { chosen: c, rejected: r };
}

export function requireEmbeddings(lossName: string, batch: PreferenceBatch, side: SideName, why: string): Tensor {
  const e = batch[side].promptEmbeddings;
  if (!e) throw new Error(`loss '${lossName}' needs batch.${side}.promptEmbeddings [rows, d] (${why})`);
  return e;
}

export function requireKl(lossName: string, batch: PreferenceBatch): { policyLogps: Tensor; refLogps: Tensor } {
  if (!batch.kl) {
    throw new Error(`loss '${lossName}' needs batch.kl { policyLogps, refLogps }: log-probs of mismatched (prompt, answer) pairs for its KL estimate`);
  }
  return batch.kl;
}

// --- config value checks, for loss.validate ---

export function positive(lossName: string, key: string, v: number): void {
  if (!(v > 0)) throw new Error(`loss '${lossName}': config key '${key}' must be > 0, got ${v}`);
}

export function nonNegative(lossName: string, key: string, v: number): void {
  if (!(v >= 0)) throw new Error(`loss '${lossName}': config key '${key}' must be ≥ 0, got ${v}`);
}

/** lo ≤ v ≤ hi, or with open ends where said. */
export function inRange(lossName: string, key: string, v: number, lo: number, hi: number, open: { lo?: boolean; hi?: boolean } = {}): void {
  const ok = (open.lo ? v > lo : v >= lo) && (open.hi ? v < hi : v <= hi);
  if (!ok) throw new Error(`loss '${lossName}': config key '${key}' must be in ${open.lo ? '(' : '['}${lo}, ${hi}${open.hi ? ')' : ']'}, got ${v}`);
}

/** The range checks above, for a plugin's validate(). */
export const configChecks = { positive, nonNegative, inRange };
