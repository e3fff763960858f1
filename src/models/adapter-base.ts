// Which base a LoRA adapter was trained on. adapter_config.json's base_model_name_or_path names it
// (a folder or a hub id), and relpo_base.json beside it holds a fingerprint (kept out of
// adapter_config.json: older PEFT versions reject keys they do not know): the base's architecture
// and the first values of its token embeddings, enough to tell one checkpoint from another of the
// same shape. merge and generate compare it with the base they are given.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CausalLM } from './causal-lm.js';
import { type CheckpointSource, readSourceJson, sourceHas, sourceName } from '../io/checkpoint.js';

export const BASE_FILE = 'relpo_base.json';

export interface AdapterBase {
  base_model_name_or_path: string;
  fingerprint: string;
}

const SIZES = ['vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads'] as const;

/**
 * The base model's fingerprint: its sizes (the config.json fields that shape its weights, as
 * written and as read back) and its first 64 token-embedding values (embeddings are never quantized).
 */
export async function baseFingerprint(model: CausalLM): Promise<string> {
  const c = model.config;
  const sizes = SIZES.map((k) => c[k] ?? (k === 'num_key_value_heads' ? c.num_attention_heads : null));
  const emb = await model.embeddingWeight.data();
  const head = Array.from(emb.subarray(0, 64), (v) => Math.fround(v));
  // WebCrypto's SHA-256 (Node's globalThis.crypto and a browser's alike).
  const digest = await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(JSON.stringify({ sizes, head })));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('').slice(0, 16);
}

/** relpo_base.json's text. */
export function adapterBaseText(base: AdapterBase): string {
  return `${JSON.stringify(base, null, 2)}\n`;
}

export async function writeAdapterBase(dir: string, base: AdapterBase): Promise<void> {
  await writeFile(join(dir, BASE_FILE), adapterBaseText(base));
}

/** The record beside an adapter (a folder or a FileSource), or null (an adapter from PEFT, or from before relpo recorded it). */
export async function readAdapterBase(source: CheckpointSource): Promise<AdapterBase | null> {
  return (await sourceHas(source, BASE_FILE)) ? ((await readSourceJson(source, BASE_FILE)) as unknown as AdapterBase) : null;
}

/**
 * Refuses to apply the adapter in `dir` to `model` when the adapter records another base (unless
 * forced): the error names both. Call it before the adapter is applied.
 */
export async function checkAdapterBase(model: CausalLM, source: CheckpointSource, baseName: string, force: boolean): Promise<void> {
  const want = await readAdapterBase(source);
  const dir = sourceName(source);
  if (!want || force) return;
  const got = await baseFingerprint(model);
  if (got !== want.fingerprint) {
    throw new Error(
      `${dir} was trained on the base ${want.base_model_name_or_path || '(unnamed)'} (fingerprint ${want.fingerprint}), ` +
        `but ${baseName} is another model (fingerprint ${got}); pass that base, or --force to apply the adapter anyway`,
    );
  }
}
