// RPO (Yin et al., 2024, Eq. 14 and Listing 1): every chosen answer contrasted with every rejected
// one, each cell weighted by how related the two prompts are:
// L = mean_ij −logσ(β·W_ij·S_ij), S_ij = sc_i − sr_j.
import type { PreferenceLoss } from './types.js';
import { positive } from './checks.js';
import { logRatios, rewardMetrics, scaled } from './terms.js';
import { checkWeighting, contrastMatrix, contrastWeights, weightMetrics, WEIGHTINGS, WEIGHT_SCALES, type Weighting, type WeightScale } from './rpo/index.js';
import { logSigmoid, mean, mul, neg } from './ops.js';

export type RpoConfig = { beta: number; tau: number; alpha: number; weighting: Weighting; weightScale: WeightScale };

export const rpo: PreferenceLoss<RpoConfig> = {
  name: 'rpo',
  description: 'Relative Preference Optimization: an M×N contrast matrix across prompts, weighted by prompt similarity',
  data: { paired: true, unpaired: true },
  needs: { reference: true, promptEmbeddings: true, klEstimate: false, tokenAverage: false },
  defaults: { beta: 0.1, tau: 0.5, alpha: 0.8, weighting: 'embedding', weightScale: 'row' },
  configHelp: { beta: 'β: scale of the weighted contrast cells, as DPO\'s (the paper: 0.1)', tau: 'τ: temperature of the prompt-similarity softmax; smaller puts more weight on close prompts (the paper: 0.5 paired, 0.75 unpaired)', alpha: 'α: the diagonal weight of \'diagonal\', in [0, 1]', weighting: 'how cells are weighted: embedding (prompt similarity), uniform, diagonal', weightScale: 'row: rows of W sum to 1 (the paper\'s code); mean: W·N, so β keeps DPO\'s meaning' },
  needsFor: (c) => ({ ...rpo.needs, promptEmbeddings: c.weighting === 'embedding' }),
  choices: { weighting: WEIGHTINGS, weightScale: WEIGHT_SCALES },
  validate(c) {
    positive('rpo', 'beta', c.beta);
    checkWeighting('rpo', c);
  },
  compute(batch, config) {
    const s = logRatios('rpo', batch);
    const w = contrastWeights('rpo', batch, config);
    const cells = mul(mul(contrastMatrix(s.chosen, s.rejected), w), config.beta);
    const loss = mean(neg(logSigmoid(cells)));
    const metrics = { ...rewardMetrics(batch, scaled(s.chosen, config.beta), scaled(s.rejected, config.beta)), ...weightMetrics(batch, w) };
    return { loss, metrics };
  },
};
