// The Node tokenizer backend: Hugging Face's official binding `tokenizers` (native, bundled
// binaries), imported on first use so that importing relpo loads no native code it does not need.
// The browser build replaces this file by tokenizer-backend-js.ts.
import type { Tokenizer as HfTokenizer } from 'tokenizers';
import { type TokenizerModel, TokenizerLibraryUnavailable } from './tokenizer-model.js';

export const TOKENIZER_LIBRARY = "the 'tokenizers' native binding";

let binding: Promise<typeof HfTokenizer> | null = null;

async function loadBinding(): Promise<typeof HfTokenizer> {
  const mod = (await import('tokenizers')) as unknown as { Tokenizer?: typeof HfTokenizer; default?: { Tokenizer: typeof HfTokenizer } };
  return (mod.Tokenizer ?? mod.default?.Tokenizer) as typeof HfTokenizer;
}

export async function tokenizerModel(json: string): Promise<TokenizerModel> {
  const Tokenizer = await (binding ??= loadBinding().catch((e: Error) => {
    binding = null;
    throw new TokenizerLibraryUnavailable(`cannot load ${TOKENIZER_LIBRARY}: ${e.message}`);
  }));
  const tok = Tokenizer.fromString(json);
  return {
    vocabSize: tok.getVocabSize(true),
    tokenToId: (s) => tok.tokenToId(s) ?? undefined,
    encode: async (text, addSpecialTokens) => (await tok.encode(text, undefined, { addSpecialTokens })).getIds(),
    decode: async (ids, skipSpecialTokens) => tok.decode(ids, skipSpecialTokens),
  };
}
