// Tensor methods for the gather family (x.gather(axis, index), x.indexSelect(axis, ids),
// x.sort(axis, descending)), installed by declaration merging, as every kernel family installs its own.
import { Tensor } from '../../autograd/tensor.js';
import * as g from './op.js';

declare module '../../autograd/tensor.js' {
  interface Tensor {
    gather(axis: number, index: Tensor): Tensor;
    indexSelect(axis: number, indices: Tensor): Tensor;
    sort(axis?: number, descending?: boolean): g.SortResult;
    /** Out-of-place scatter-add into this tensor (torch.Tensor.scatter_add). */
    scatterAdd(axis: number, index: Tensor, src: Tensor): Tensor;
    /** Out-of-place index-add into this tensor (torch.Tensor.index_add). */
    indexAdd(axis: number, indices: Tensor, src: Tensor): Tensor;
  }
}

const P = Tensor.prototype;
P.gather = function (axis, index) { return g.gather(this, axis, index); };
P.indexSelect = function (axis, indices) { return g.indexSelect(this, axis, indices); };
P.sort = function (axis = -1, descending = false) { return g.sort(this, axis, descending); };
P.scatterAdd = function (axis, index, src) { return g.scatterAdd(this, axis, index, src); };
P.indexAdd = function (axis, indices, src) { return g.indexAdd(this, axis, indices, src); };

