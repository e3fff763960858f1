// The loss options of relpo train / eval: TRL's names, mixes, key=value and JSON, and the errors a
// mistyped option gets (the loss, the key, the range, the nearest valid name).
import test from 'ava';
import * as r from '../../src/index.js';
import { describeLoss, lossFromFlags } from '../../src/cli/loss-flags.js';

const flags = (extra: Record<string, string>) => ({ loss: 'rpo', 'loss-type': '', 'trl-trainer': '', 'nll-alpha': '', 'loss-weights': '', beta: '', 'label-smoothing': '', 'loss-config': '', ...extra });

test('--beta, --label-smoothing and --loss-config reach the loss config, snake_case or camelCase, key=value or JSON', (t) => {
  t.deepEqual(lossFromFlags(flags({ loss: 'dpo', beta: '0.5', 'label-smoothing': '0.1' }), 'rpo').lossConfig, { beta: 0.5, labelSmoothing: 0.1, fDivergenceType: 'reverse_kl', fAlphaDivergenceCoef: 0.5, useWeighting: false, ldAlpha: 1 });
  const rpo = lossFromFlags(flags({ 'loss-config': 'tau=0.25,weight_scale=mean,weighting=uniform' }), 'rpo');
  t.deepEqual(rpo.lossConfig, { beta: 0.1, tau: 0.25, alpha: 0.8, weighting: 'uniform', weightScale: 'mean', diagonalForm: 'scores' });
  t.is(rpo.summary, 'rpo (beta=0.1 tau=0.25 alpha=0.8 weighting=uniform weightScale=mean diagonalForm=scores)');
  t.deepEqual(lossFromFlags(flags({ loss: 'simpo', 'loss-config': '{"gamma_beta_ratio": 0.5, "beta": 10}' }), 'rpo').lossConfig, { beta: 10, gammaBetaRatio: 0.5, labelSmoothing: 0 });
  t.deepEqual(lossFromFlags(flags({ loss: 'ipo', 'loss-config': 'token_average=false' }), 'rpo').lossConfig, { beta: 0.1, tokenAverage: false, fDivergenceType: 'reverse_kl', fAlphaDivergenceCoef: 0.5, useWeighting: false, ldAlpha: 1 });
});

test("--loss-type takes TRL's names; several losses with --loss-weights make a registered mix whose terms get their options", (t) => {
  t.is(lossFromFlags(flags({ 'loss-type': 'sigmoid' }), 'rpo').loss, 'dpo');
  t.is(lossFromFlags(flags({ 'loss-type': 'aot_pair' }), 'rpo').loss, 'aot_unpaired');
  const mix = lossFromFlags(flags({ 'loss-type': 'sigmoid,bco_pair', 'loss-weights': '1,0.5', beta: '0.2' }), 'rpo');
  t.is(mix.loss, 'mix_dpo_bco_pair');
  t.is(mix.summary, '1·dpo (beta=0.2 labelSmoothing=0 fDivergenceType=reverse_kl fAlphaDivergenceCoef=0.5 useWeighting=false ldAlpha=1) + 0.5·bco_pair (beta=0.2 fDivergenceType=reverse_kl fAlphaDivergenceCoef=0.5 useWeighting=false ldAlpha=1)');
  const terms = (r.getLoss(mix.loss).plugin as r.MixedLoss).mixTerms;
  t.deepEqual(terms.map((x) => [x.loss, x.weight, x.config.beta]), [['dpo', 1, 0.2], ['bco_pair', 0.5, 0.2]]);
  // name.key sets one term's option; a key only one term has goes to that term.
  const rpoSft = lossFromFlags(flags({ loss: 'rpo,sft', 'loss-weights': '1,0.2', 'loss-config': 'rpo.tau=2' }), 'rpo');
  t.deepEqual((r.getLoss(rpoSft.loss).plugin as r.MixedLoss).mixTerms.map((x) => x.config), [{ beta: 0.1, tau: 2, alpha: 0.8, weighting: 'embedding', weightScale: 'row', diagonalForm: 'scores' }, { nllAverage: 'tokens' }]);
});

test("TRL's DPOTrainer options reach every loss type of a mix that TRL gives them to (f-divergence, WPO, LD-DPO), and no other", (t) => {
  const mix = lossFromFlags(flags({ 'loss-type': 'sigmoid,hinge,apo_zero,aot', 'loss-config': 'f_divergence_type=js_divergence,use_weighting=true,ld_alpha=0.5' }), 'rpo');
  const configs = Object.fromEntries((r.getLoss(mix.loss).plugin as r.MixedLoss).mixTerms.map((x) => [x.loss, x.config]));
  for (const l of ['dpo', 'hinge']) t.like(configs[l], { fDivergenceType: 'js_divergence', useWeighting: true, ldAlpha: 0.5 }, l);
  t.deepEqual(configs.apo_zero, { beta: 0.1, useWeighting: true, ldAlpha: 0.5 });
  t.deepEqual(configs.aot, { beta: 0.1, labelSmoothing: 0, ldAlpha: 0.5 });
  t.like(r.getLoss(mix.loss).plugin.needs, { wpoWeights: true, verboseWeight: 0.5 });
  // sft has no ldAlpha: as TRL's, it reads the unweighted tokens (chosen.unweightedLogps), beside dpo's weighted ones;
  // so does --nll-alpha's sft term. A term that reads the log-probs otherwise is still refused, not silently weighted.
  for (const extra of [{ 'loss-type': 'sigmoid,sft', 'loss-weights': '1,0.3' }, { 'loss-type': 'sigmoid', 'nll-alpha': '0.3' }] as Record<string, string>[]) {
    const ld = lossFromFlags(flags({ ...extra, 'loss-config': 'ld_alpha=0.5' }), 'rpo');
    t.deepEqual((r.getLoss(ld.loss).plugin as r.MixedLoss).mixTerms.map((x) => [x.loss, x.weight, x.config.ldAlpha]), [['dpo', 1, 0.5], ['sft', 0.3, undefined]]);
    t.like(r.getLoss(ld.loss).plugin.needs, { verboseWeight: 0.5, unweightedLogps: true });
  }
  t.throws(() => lossFromFlags(flags({ loss: 'dpo,cpo', 'loss-config': 'dpo.ld_alpha=0.5' }), 'rpo'), { message: /weigh the verbose part of the answers differently \(dpo 0.5, cpo 1\)/ });
  t.throws(() => lossFromFlags(flags({ loss: 'apo_zero', 'loss-config': 'f_divergence_type=forward_kl' }), 'rpo'), { message: /loss 'apo_zero' has no option 'f_divergence_type'/ });
});

test("TRL's CPOTrainer and KTOTrainer types are options of relpo losses; rpo_alpha (--nll-alpha) adds α × sft", (t) => {
  const cfg = (extra: Record<string, string>) => { const c = lossFromFlags(flags(extra), 'rpo'); return [c.loss, c.lossConfig]; };
  t.deepEqual(cfg({ 'loss-type': 'hinge', 'trl-trainer': 'cpo' }), ['cpo', { beta: 0.1, lossType: 'hinge', labelSmoothing: 0, cpoAlpha: 1, simpoGamma: 0.5, alpha: 0, nllAverage: 'tokens' }]);
  t.deepEqual(cfg({ 'loss-type': 'cpo:ipo', beta: '0.3' }), ['cpo', { beta: 0.3, lossType: 'ipo', labelSmoothing: 0, cpoAlpha: 1, simpoGamma: 0.5, alpha: 0, nllAverage: 'tokens' }]);
  // CPOConfig's alphapo: simpo with cpo_alpha 0; the user's alpha (AlphaPO's α) goes over the preset.
  t.deepEqual(cfg({ 'loss-type': 'alphapo', 'loss-config': 'alpha=0.25' }), ['cpo', { beta: 0.1, lossType: 'simpo', labelSmoothing: 0, cpoAlpha: 0, simpoGamma: 0.5, alpha: 0.25, nllAverage: 'tokens' }]);
  t.deepEqual(cfg({ 'loss-type': 'simpo', 'loss-config': 'cpo_alpha=0' }), ['cpo', { beta: 0.1, lossType: 'simpo', labelSmoothing: 0, cpoAlpha: 0, simpoGamma: 0.5, alpha: 0, nllAverage: 'tokens' }]);
  t.is(lossFromFlags(flags({ 'loss-type': 'apo_zero_unpaired', 'trl-trainer': 'kto' }), 'rpo').loss, 'apo_zero_unpaired');
  t.is(lossFromFlags(flags({ 'loss-type': 'sigmoid', 'trl-trainer': 'dpo' }), 'rpo').loss, 'dpo');
  t.deepEqual(cfg({ loss: 'dpo', 'loss-config': 'f_divergence_type=alpha_divergence,f_alpha_divergence_coef=0.3' }),
    ['dpo', { beta: 0.1, labelSmoothing: 0, fDivergenceType: 'alpha_divergence', fAlphaDivergenceCoef: 0.3, useWeighting: false, ldAlpha: 1 }]);
  const nll = lossFromFlags(flags({ 'loss-type': 'sigmoid', 'nll-alpha': '0.5' }), 'rpo');
  t.is(nll.loss, 'mix_dpo_sft');
  t.deepEqual((r.getLoss(nll.loss).plugin as r.MixedLoss).mixTerms.map((x) => [x.loss, x.weight]), [['dpo', 1], ['sft', 0.5]]);
  const err = (extra: Record<string, string>) => t.throws(() => lossFromFlags(flags(extra), 'rpo'))!.message;
  t.regex(err({ 'loss-type': 'sigmoid', 'trl-trainer': 'orpo' }), /--trl-trainer: one of dpo, cpo, kto, got 'orpo'/);
  t.regex(err({ 'loss-type': 'robust', 'trl-trainer': 'cpo' }), /unknown TRL loss_type 'cpo:robust'/);
  t.regex(err({ loss: 'dpo', 'nll-alpha': '-1' }), /--nll-alpha \(TRL rpo_alpha\): a number ≥ 0, got '-1'/);
});

test('a mistyped loss option is an error naming the loss, the key, the range and the nearest valid name', (t) => {
  const err = (extra: Record<string, string>) => t.throws(() => lossFromFlags(flags(extra), 'rpo'))!.message;
  t.regex(err({ 'loss-config': 'tua=1' }), /loss 'rpo' has no option 'tua' \(did you mean 'tau'\?\); options: beta, tau, alpha, weighting, weightScale/);
  t.regex(err({ loss: 'sft', beta: '0.5' }), /loss 'sft' has no option 'beta'; options: nllAverage/);
  t.regex(err({ 'loss-config': 'beta=abc' }), /loss 'rpo': config key 'beta' must be a number, got 'abc'/);
  t.regex(err({ beta: '-1' }), /loss 'rpo': config key 'beta' must be > 0, got -1/);
  t.regex(err({ 'loss-config': 'weighting=cosine' }), /config key 'weighting' must be one of 'embedding', 'uniform', 'diagonal', got string 'cosine'/);
  t.regex(err({ loss: 'dpo', 'label-smoothing': '0.7' }), /config key 'labelSmoothing' must be in \[0, 0\.5\], got 0\.7/);
  t.regex(err({ 'loss-type': 'sigmod' }), /unknown TRL loss_type 'sigmod' \(did you mean 'sigmoid'\?\)/);
  t.regex(err({ loss: 'dpo', 'loss-type': 'ipo' }), /give --loss or --loss-type, not both/);
  t.regex(err({ loss: 'dpo,ipo', 'loss-weights': '1' }), /--loss-weights: 2 finite numbers for dpo, ipo/);
  t.regex(err({ loss: 'dpo,ipo', 'loss-config': 'kto.beta=1' }), /names loss 'kto', which is not in this run/);
  t.regex(err({ 'loss-config': 'tau' }), /'tau' is not key=value/);
});

test('relpo losses --loss NAME: every option with its default and meaning; every built-in documents every key', (t) => {
  const text = describeLoss('rpo');
  t.regex(text, /^rpo: Relative Preference Optimization/);
  t.regex(text, /tau +default 0\.5: τ: temperature of the prompt-similarity softmax/);
  t.regex(text, /weighting +default "embedding", one of embedding, uniform, diagonal: /);
  t.regex(describeLoss('dpo'), /TRL loss_type: sigmoid/);
  for (const l of r.builtinLosses) {
    for (const k of Object.keys(l.defaults)) t.true(typeof (l.configHelp as Record<string, string> | undefined)?.[k] === 'string', `${l.name}.${k} has a description`);
  }
});
