// The token-level losses and options against TRL v1.9.0's code transcribed in PyTorch
// (golden/make_token_golden.py, float64 autograd), from logits: WPO's weights (useWeighting) and
// LD-DPO (ldAlpha) on every DPO loss type that has them, TRL's token-sum NLLs (sft, cpo) and ORPO's NLL over prompt and completion
// (orpo nllPrompt), and TRL's loss_type [a, b] with loss_weights as relpo's mixes (ld_alpha with sft:
// the DPO term reads weighted log-probs, sft every chosen token). The batch is built by relpo's own path from logits (fieldsFromLogits,
// desensitizeLengths, as the trainer does) and the value and the gradients with respect to the
// policy's logits are compared, on the cpu device in float64 and on WebGPU in float32.
import test from 'ava';
import { readFileSync } from 'node:fs';
import * as r from '../../src/index.js';
import type { Device, DType, PreferenceSide, Tensor } from '../../src/index.js';
import type { TokenizedRows } from '../../src/data/tokenize.js';
import { applyVerboseWeight, wantedFields } from '../../src/train/batch.js';
import { fieldsFromLogits } from '../../src/train/sequence-logps.js';
import { assertClose, gpuOrSkip, values } from '../helpers/devices.js';
import { devices, repoRoot } from './helpers.js';

interface SideFixture { rows: number[][]; promptLengths: number[]; logits: number[]; refLogits: number[] }
interface Fixture { T: number; V: number; chosen: SideFixture; rejected: SideFixture }
type Config = Record<string, number | boolean | string>;
interface TokenCase { id: string; loss: string; config: Config; terms?: { loss: string; weight: number; config: Config }[]; fixture: string; value: number; grad: { chosen: number[]; rejected: number[] } }
const golden: { trl: string; fixtures: Record<string, Fixture>; cases: TokenCase[] } = JSON.parse(readFileSync(`${repoRoot}test/losses/golden/token-losses.json`, 'utf8'));

// A mix case's loss, registered as the trainer would (its compute checks the batch against its needs).
const mixes = new Map(golden.cases.filter((c) => c.terms).map((c, i) => [c, r.registerLoss({ ...r.mixLosses(c.terms!), name: `token_golden_mix_${i}` })]));
const lossOf = (c: TokenCase): r.RegisteredLoss => (mixes.get(c) as r.RegisteredLoss | undefined) ?? r.getLoss(c.loss);

/** The side's rows as tokenize lays them out: targets[t] = row[t + 1], completion where t + 1 ≥ P. */
function rowsOf(s: SideFixture, T: number, device: Device): TokenizedRows {
  const B = s.rows.length;
  const targets = new Int32Array(B * T), mask = new Float32Array(B * T), counts = new Float32Array(B);
  s.rows.forEach((row, b) => {
    for (let t = 0; t + 1 < row.length; t++) {
      targets[b * T + t] = row[t + 1];
      if (t + 1 >= s.promptLengths[b]) {
        mask[b * T + t] = 1;
        counts[b]++;
      }
    }
  });
  return {
    ids: r.tensor(new Int32Array(B * T), [B, T], { device, dtype: 'int32' }),
    targets: r.tensor(targets, [B, T], { device, dtype: 'int32' }),
    completionMask: r.tensor(mask, [B, T], { device, dtype: 'float32' }),
    lengths: r.tensor(s.rows.map((x) => x.length), [B], { device, dtype: 'int32' }),
    tokenCounts: r.tensor(counts, [B], { device, dtype: 'float32' }),
    rows: s.rows, promptLengths: s.promptLengths, truncated: s.rows.map(() => false), length: T, padId: 0,
  };
}

async function evaluateCase(c: TokenCase, device: Device, dtype: DType) {
  const fx = golden.fixtures[c.fixture];
  const loss = lossOf(c);
  const config = loss.resolveConfig(c.config);
  const needs = r.lossNeeds(loss.plugin, config);
  const B = fx.chosen.rows.length, shape = [B, fx.T, fx.V];
  const rows = { chosen: rowsOf(fx.chosen, fx.T, device), rejected: rowsOf(fx.rejected, fx.T, device) };
  applyVerboseWeight({ paired: true, ...rows }, needs);
  const leaves = {
    chosen: r.tensor(fx.chosen.logits, shape, { device, dtype, requiresGrad: true }),
    rejected: r.tensor(fx.rejected.logits, shape, { device, dtype, requiresGrad: true }),
  };
  const value = r.tidy(() => {
    const side = (s: 'chosen' | 'rejected'): PreferenceSide => {
      const f = fieldsFromLogits(leaves[s], rows[s], wantedFields(needs, s));
      const ref = r.noGrad(() => fieldsFromLogits(r.tensor(fx[s].refLogits, shape, { device, dtype }), rows[s]).logps);
      return { policyLogps: f.logps, refLogps: ref, tokenCounts: r.cast(rows[s].tokenCounts, dtype), ...(f.fullLogps ? { fullLogps: f.fullLogps, fullTokenCounts: f.fullTokenCounts } : {}), ...(f.unweightedLogps ? { unweightedLogps: f.unweightedLogps } : {}), ...(f.wpoWeights ? { wpoWeights: f.wpoWeights } : {}) };
    };
    const out = loss.compute({ paired: true, chosen: side('chosen'), rejected: side('rejected') }, config);
    out.loss.backward();
    return out.loss;
  });
  // sft reads no rejected row: its logits get no gradient.
  const grad = async (x: Tensor) => (x.grad ? await values(x.grad) : new Array<number>(x.size).fill(0));
  const got = { value: (await values(value))[0], chosen: await grad(leaves.chosen), rejected: await grad(leaves.rejected) };
  const all: (Tensor | undefined)[] = [value, leaves.chosen, leaves.rejected];
  for (const s of [rows.chosen, rows.rejected]) all.push(s.ids, s.targets, s.completionMask, s.lengths, s.tokenCounts);
  for (const t of all) t?.dispose();
  return got;
}

test('the token golden file covers WPO, LD-DPO, both together, and the token-sum NLLs with and without the prompt', (t) => {
  const has = (loss: string, key: string, v: unknown) => golden.cases.some((c) => c.loss === loss && c.config[key] === v);
  t.true(has('dpo', 'useWeighting', true) && has('dpo', 'ldAlpha', 0.5) && has('dpo', 'ldAlpha', 0) && has('orpo', 'nllPrompt', true));
  t.true(golden.cases.some((c) => c.loss === 'dpo' && c.config.useWeighting === true && c.config.ldAlpha !== undefined));
  t.true(golden.cases.some((c) => c.terms?.some((x) => x.loss === 'sft') && c.terms.some((x) => typeof x.config.ldAlpha === 'number' && x.config.ldAlpha !== 1)));
  t.regex(golden.trl, /^v1\.9\.0/);
});

test('every loss with WPO or LD-DPO has a token golden case with it on', (t) => {
  for (const l of r.builtinLosses) {
    const cases = golden.cases.filter((c) => c.loss === l.name);
    if ('useWeighting' in l.defaults) t.true(cases.some((c) => c.config.useWeighting === true), `${l.name}: no useWeighting case`);
    if ('ldAlpha' in l.defaults) t.true(cases.some((c) => typeof c.config.ldAlpha === 'number' && c.config.ldAlpha !== 1), `${l.name}: no ldAlpha case`);
  }
});

for (const c of golden.cases) {
  test(`token golden: ${c.id}`, async (t) => {
    const gpu = await gpuOrSkip(t);
    for (const { device, dtype, tol } of await devices(gpu)) {
      const got = await evaluateCase(c, device, dtype);
      const where = `${c.id} on ${device.kind}`;
      // The logits' gradients are O(1e-2); float32 keeps them to ~1e-7 absolute.
      const gradTol = dtype === 'float32' ? { rtol: 1e-3, atol: 2e-6 } : tol;
      assertClose(t, [got.value], [c.value], tol, `${where}: loss`);
      assertClose(t, got.chosen, c.grad.chosen, gradTol, `${where}: d/d chosen logits`);
      assertClose(t, got.rejected, c.grad.rejected, gradTol, `${where}: d/d rejected logits`);
    }
  });
}

test.after.always(async () => {
  for (const m of mixes.values()) r.unregisterLoss(m.name);
  await r.shutdown();
});
