// RoPE inverse frequencies from a Hugging Face config, on the host in float64, and as the tensor
// the rotation kernels take (applyRope, src/kernels/rope). Transcribed from transformers'
// modeling_rope_utils.py (ROPE_INIT_FUNCTIONS):
//
//   _compute_default_rope_parameters
//     head_dim = config.head_dim or hidden_size // num_attention_heads
//     dim      = int(head_dim * partial_rotary_factor)            (partial_rotary_factor: 1.0)
//     inv_freq[i] = 1 / rope_theta^(2i / dim),  i = 0 … dim/2 − 1
//   _compute_linear_scaling_rope_parameters  (rope_scaling.rope_type == "linear")
//     inv_freq /= factor                     (the same as dividing the positions by factor)
//   _compute_llama3_parameters  (rope_type == "llama3"), with L = original_max_position_embeddings:
//     low_freq_wavelen  = L / low_freq_factor
//     high_freq_wavelen = L / high_freq_factor
//     wavelen = 2π / inv_freq
//     inv_freq_llama = wavelen > low_freq_wavelen ? inv_freq / factor : inv_freq
//     smooth = (L / wavelen − low_freq_factor) / (high_freq_factor − low_freq_factor)
//     smoothed = (1 − smooth) · inv_freq_llama / factor + smooth · inv_freq_llama
//     is_medium = !(wavelen < high_freq_wavelen) && !(wavelen > low_freq_wavelen)
//     inv_freq_llama = is_medium ? smoothed : inv_freq_llama
//
// transformers computes these in float32 and keeps inv_freq as a float32 buffer. The default
// frequencies here round where torch's float32 ops do (exponent 2i/dim, base^exponent, 1/that:
// each rounded to float32), which gives torch's bits for all but a few of them (torch's float32
// pow is not always correctly rounded; measured: 2889 of 2912 over 8 bases and 9 head sizes), where
// rounding once from float64 gave 1726: at rope_theta 1e6 the difference shows in float64 logits at
// 1e-8. Scaling is then computed in float64 and rounded once when the tensor is made, so a scaled
// value may differ from transformers' by an ulp of float32 (test/kernels/golden/rope.json holds both). All three types have
// attention_scaling 1 (cos and sin are not rescaled).
import type { Tensor } from '../autograd/tensor.js';
import { tensor, type TensorOptions } from '../autograd/create.js';

export interface RopeScalingConfig {
  /** "default", "linear" or "llama3" (older configs spell the key `type`). */
  rope_type?: string;
  type?: string;
  factor?: number;
  low_freq_factor?: number;
  high_freq_factor?: number;
  original_max_position_embeddings?: number;
}

/** The fields of a Hugging Face config.json that RoPE reads. */
export interface RopeConfig {
  /** Defaults to 10000 (LlamaConfig's default, as transformers does when the key is absent). */
  rope_theta?: number;
  head_dim?: number | null;
  hidden_size?: number;
  num_attention_heads?: number;
  partial_rotary_factor?: number;
  rope_scaling?: RopeScalingConfig | null;
}

export interface RopeFrequencies {
  /** [rotaryDim / 2] inverse frequencies (radians per position), float64. */
  invFreq: Float64Array;
  /** How many leading dims of each head rotate; the rest pass through. */
  rotaryDim: number;
  headDim: number;
  ropeType: 'default' | 'linear' | 'llama3';
  /** transformers' attention_scaling: 1 for these types. */
  attentionScaling: number;
}

function positive(what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new Error(`ropeFrequencies: ${what} must be a positive number, got ${JSON.stringify(v)}`);
  return v;
}

/** transformers' _compute_default_rope_parameters (see the file comment), in float64. */
function defaultInvFreq(config: RopeConfig): { invFreq: Float64Array; dim: number; headDim: number } {
  const base = positive('rope_theta', config.rope_theta ?? 10000);
  let headDim = config.head_dim ?? null;
  if (!headDim) {
    const hidden = positive('hidden_size (needed when head_dim is absent)', config.hidden_size);
    const heads = positive('num_attention_heads (needed when head_dim is absent)', config.num_attention_heads);
    headDim = Math.floor(hidden / heads);
  }
  positive('head_dim', headDim);
  const factor = positive('partial_rotary_factor', config.partial_rotary_factor ?? 1);
  const dim = Math.trunc(headDim * factor);
  if (dim < 2 || dim % 2 !== 0) throw new Error(`ropeFrequencies: the rotary dimension int(head_dim · partial_rotary_factor) = int(${headDim} · ${factor}) = ${dim} must be even and ≥ 2`);
  const invFreq = new Float64Array(dim / 2);
  const b = Math.fround(base);
  for (let i = 0; i < invFreq.length; i++) invFreq[i] = Math.fround(1 / Math.fround(b ** Math.fround((2 * i) / dim)));
  return { invFreq, dim, headDim };
}

/** transformers' _compute_llama3_parameters applied to the default inverse frequencies, in place. */
function llama3Scale(invFreq: Float64Array, s: RopeScalingConfig): void {
  const factor = positive('rope_scaling.factor', s.factor);
  const lowFreqFactor = positive('rope_scaling.low_freq_factor', s.low_freq_factor);
  const highFreqFactor = positive('rope_scaling.high_freq_factor', s.high_freq_factor);
  const oldContextLen = positive('rope_scaling.original_max_position_embeddings', s.original_max_position_embeddings);
  if (!(lowFreqFactor < highFreqFactor)) throw new Error(`ropeFrequencies: llama3 rope_scaling needs low_freq_factor < high_freq_factor, got ${lowFreqFactor} and ${highFreqFactor}`);
  const lowFreqWavelen = oldContextLen / lowFreqFactor;
  const highFreqWavelen = oldContextLen / highFreqFactor;
  for (let i = 0; i < invFreq.length; i++) {
    const f = invFreq[i];
    const wavelen = (2 * Math.PI) / f;
    let g = wavelen > lowFreqWavelen ? f / factor : f;
    const smooth = (oldContextLen / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
    const smoothed = ((1 - smooth) * g) / factor + smooth * g;
    const isMedium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
    if (isMedium) g = smoothed;
    invFreq[i] = g;
  }
}

/**
 * The inverse frequencies, rotary dimension and scaling of a Hugging Face config (LLaMA 1/2/3,
 * Mistral, and configs with head_dim or partial_rotary_factor). rope_scaling types other than
 * linear and llama3 (dynamic, yarn, longrope, …) are rejected, not approximated.
 */
export function ropeFrequencies(config: RopeConfig): RopeFrequencies {
  const { invFreq, dim, headDim } = defaultInvFreq(config);
  const s = config.rope_scaling ?? null;
  const type = s ? s.rope_type ?? s.type ?? 'default' : 'default';
  if (type === 'linear') {
    const factor = positive('rope_scaling.factor', s!.factor);
    for (let i = 0; i < invFreq.length; i++) invFreq[i] /= factor;
  } else if (type === 'llama3') {
    llama3Scale(invFreq, s!);
  } else if (type !== 'default') {
    throw new Error(`ropeFrequencies: rope_scaling type '${type}' is not supported (supported: default, linear, llama3)`);
  }
  return { invFreq, rotaryDim: dim, headDim, ropeType: type, attentionScaling: 1 };
}

/**
 * ropeFrequencies(config).invFreq as the tensor applyRope takes: float32 (what transformers keeps,
 * and all WebGPU has) unless opts.dtype says otherwise, on opts.device or the default device.
 */
export function ropeInvFreqTensor(freqs: RopeFrequencies, opts: TensorOptions = {}): Tensor {
  return tensor(freqs.invFreq, [freqs.invFreq.length], { dtype: 'float32', ...opts });
}
