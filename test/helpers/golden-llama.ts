// The golden tiny LLaMA of test/models/golden (2 layers; written by make_llama_golden.py from plain
// torch) as a checkpoint folder, with its config, token ids and logits' shape.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const GOLDEN_DIR = new URL('../../../test/models/golden/', import.meta.url).pathname;
export const GOLDEN_LLAMA = JSON.parse(readFileSync(join(GOLDEN_DIR, 'llama.json'), 'utf8')) as { config: Record<string, unknown>; ids: number[]; shape: number[] };

/** A fresh folder with the golden config.json and model.safetensors. */
export function goldenLlamaFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'relpo-golden-llama-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(GOLDEN_LLAMA.config));
  copyFileSync(join(GOLDEN_DIR, 'llama.safetensors'), join(dir, 'model.safetensors'));
  return dir;
}
