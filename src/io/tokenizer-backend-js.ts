// The browser's tokenizer backend: @huggingface/tokenizers (pure JavaScript, the tokenizer of
// transformers.js). The browser build swaps it in for tokenizer-backend.ts; test/io/tokenizer-js
// checks its ids and texts against the native binding's on the repository's tokenizers.
import { Tokenizer } from '@huggingface/tokenizers';
import type { TokenizerModel } from './tokenizer-model.js';

export const TOKENIZER_LIBRARY = '@huggingface/tokenizers (pure JavaScript)';

export async function tokenizerModel(json: string): Promise<TokenizerModel> {
  // tokenizer.json alone decides, as it does for the native binding (tokenizer_config's
  // clean_up_tokenization_spaces and friends are transformers' Python-side options). But the
  // library reads a WordLevel model's unknown token from the config, not the model: pass it on.
  const parsed = JSON.parse(json) as { model?: { type?: string; unk_token?: string } };
  const wordLevelUnk = parsed.model?.type === 'WordLevel' ? parsed.model.unk_token : undefined;
  const tok = new Tokenizer(parsed, wordLevelUnk === undefined ? {} : { unk_token: wordLevelUnk });
  return {
    vocabSize: tok.get_vocab(true).size,
    tokenToId: (s) => tok.token_to_id(s),
    encode: async (text, addSpecialTokens) => tok.encode(text, { add_special_tokens: addSpecialTokens }).ids,
    // It refuses an empty list, which is the empty text.
    decode: async (ids, skipSpecialTokens) => (ids.length === 0 ? '' : tok.decode(ids, { skip_special_tokens: skipSpecialTokens })),
  };
}
