// What loadTokenizer needs of a tokenizer library, so that Node (the native `tokenizers` binding,
// tokenizer-backend.ts) and the browser build (pure-JS @huggingface/tokenizers,
// tokenizer-backend-js.ts, swapped in by scripts/build-browser.mjs) serve one loader.

/** A tokenizer.json made live: text ↔ ids, nothing of tokenizer_config.json. */
export interface TokenizerModel {
  encode(text: string, addSpecialTokens: boolean): Promise<number[]>;
  decode(ids: number[], skipSpecialTokens: boolean): Promise<string>;
  tokenToId(token: string): number | undefined;
  /** Vocabulary size, added tokens included. */
  vocabSize: number;
}

/** Builds a TokenizerModel from tokenizer.json's text; throws the library's own error when it rejects it. */
export type TokenizerBackend = (json: string) => Promise<TokenizerModel>;

/** The backend's library could not be loaded (a missing native binary): not the tokenizer's fault. */
export class TokenizerLibraryUnavailable extends Error {}
