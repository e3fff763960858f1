// RPO's contrast matrix (Yin et al., 2024, Eq. 9): every chosen answer against
// every rejected one, also across prompts. S_ij = sc_i − sr_j, shape [M, N]; its diagonal (paired
// data) holds DPO's margins.
import type { Tensor } from '../../autograd/tensor.js';
import { reshape, sub } from '../ops.js';

export function contrastMatrix(chosenScores: Tensor, rejectedScores: Tensor): Tensor {
  if (chosenScores.rank !== 1 || rejectedScores.rank !== 1) {
    throw new Error(`contrastMatrix: needs 1-D scores, got [${chosenScores.shape}] and [${rejectedScores.shape}]`);
  }
  return sub(reshape(chosenScores, [-1, 1]), reshape(rejectedScores, [1, -1]));
}
