// WGSL kernel for aligned token log-probs, f32 logits, int32 targets, f32 or i32 mask. One
// workgroup per row (rows folded into a 2-D grid past 65535), as tokenLogprobs's forward: each
// thread walks a strided slice of the row once keeping an online (m, s₁ = Σ e^{x−m}, s₂ = Σ e^{2(x−m)});
// a larger value rescales s₁ by e^{m_old − m_new} and s₂ by its square, so each logit costs one exp.
// The triples meet in a tree in workgroup memory, then thread 0 gathers the target logit and writes
// x_t − m + log s₁ − log s₂. The running max starts at −FLT_MAX (a −Inf logit adds 0, not NaN);
// masked rows return before reading anything. Soft-capping reads each logit as cap·tanh(x/cap).
import { registerKernel } from '../../autograd/kernel.js';
import type { WebGPUDevice } from '../../device/webgpu/webgpu-device.js';
import { BUILTINS_1D, memoShader } from '../wgsl.js';
import { LOWEST, NAN, dispatchLogitRows, logitAt, logitRowStart, logitRowsBindings } from '../logprobs/webgpu.js';
import type { AlignedLogprobsAttrs } from './contract.js';


function kernelSource(wg: number, maskType: 'f32' | 'i32' | null, capped: boolean): string {
  const logit = (at: string) => logitAt(at, capped);
  return /* wgsl */ `
${logitRowsBindings(maskType, capped)}
var<workgroup> pm: array<f32, ${wg}>;
var<workgroup> p1: array<f32, ${wg}>;
var<workgroup> p2: array<f32, ${wg}>;
@compute @workgroup_size(${wg})
fn main(${BUILTINS_1D}) {
${logitRowStart(maskType, capped, 'out[row] = 0.0;')}
  var m = ${LOWEST};
  var s1 = 0.0;
  var s2 = 0.0;
  for (var k = lid.x; k < vocab; k += ${wg}u) {
    let v = ${logit('base + k')};
    if (v > m) {
      let r = exp(m - v);
      s1 = s1 * r + 1.0;
      s2 = s2 * r * r + 1.0;
      m = v;
    } else {
      let e = exp(v - m);
      s1 += e;
      s2 += e * e;
    }
  }
  pm[lid.x] = m;
  p1[lid.x] = s1;
  p2[lid.x] = s2;
  workgroupBarrier();
  for (var h = ${wg / 2}u; h > 0u; h >>= 1u) {
    if (lid.x < h) {
      let m1 = pm[lid.x];
      let m2 = pm[lid.x + h];
      let mx = max(m1, m2);
      let a = exp(m1 - mx);
      let b = exp(m2 - mx);
      p1[lid.x] = p1[lid.x] * a + p1[lid.x + h] * b;
      p2[lid.x] = p2[lid.x] * a * a + p2[lid.x + h] * b * b;
      pm[lid.x] = mx;
    }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    let mx = pm[0];
    let l1 = log(p1[0]);
    let l2 = log(p2[0]);
    let t = ids[row];
    let ok = t >= 0 && u32(t) < vocab && is_finite(mx + l1 + l2);
    let xt = ${logit('base + select(0u, u32(t), ok)')};
    out[row] = select(${NAN}, weight * (((xt - mx) + l1) - l2), ok);
  }
}`;
}

export function registerAlignedLogprobsWebGPU(): void {
  registerKernel<AlignedLogprobsAttrs>('alignedTokenLogprobs', 'webgpu', (dev, inputs, attrs) => dispatchLogitRows(dev as WebGPUDevice, 'alignedTokenLogprobs', inputs, attrs, 1, kernel));
}

const kernel = memoShader(kernelSource);
