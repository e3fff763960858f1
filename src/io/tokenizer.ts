// Hugging Face tokenizers (tokenizer.json, plus tokenizer_config.json when present) through the
// official Node binding `tokenizers` (native, bundled binaries). The binding is imported lazily,
// on the first loadTokenizer call, so importing relpo never loads native code it does not need.
import { copyFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Tokenizer as HfTokenizer } from 'tokenizers';
import { type ChatTemplate, readChatTemplate, tokenString } from './chat-template.js';

/** A loaded tokenizer: text ↔ token ids, and its special token ids. */
export interface TextTokenizer {
  /** Token ids of `text`. addSpecialTokens (default false) applies the tokenizer's own template (e.g. LLaMA's BOS). */
  encode(text: string, options?: { addSpecialTokens?: boolean }): Promise<number[]>;
  /** Text of `ids`; skipSpecialTokens (default false) drops BOS/EOS/pad and other special tokens. */
  decode(ids: number[], options?: { skipSpecialTokens?: boolean }): Promise<string>;
  /** Id of a token string, or undefined when it is not in the vocabulary. */
  tokenToId(token: string): number | undefined;
  /** Vocabulary size, added tokens included. */
  vocabSize: number;
  bosId?: number;
  eosId?: number;
  padId?: number;
  /** Whether sequences should start with BOS: tokenizer_config's add_bos_token, else whether there is a BOS. */
  addBos: boolean;
  /** The tokenizer.json it was read from. */
  path: string;
  /** The chat template (tokenizer_config.json's chat_template or chat_template.jinja), when there is one. */
  chatTemplate?: ChatTemplate;
}

/** A problem loading a tokenizer; the message starts with the file. */
export class TokenizerError extends Error {
  constructor(readonly path: string, readonly detail: string) {
    super(`${path}: ${detail}`);
    this.name = 'TokenizerError';
  }
}

// Used when tokenizer_config.json is absent or names no such token: the usual spellings.
const BOS_NAMES = ['<s>', '<|begin_of_text|>', '<bos>', '<|startoftext|>', '[CLS]'];
const EOS_NAMES = ['</s>', '<|end_of_text|>', '<|endoftext|>', '<eos>', '<|im_end|>', '[SEP]'];
const PAD_NAMES = ['<pad>', '<|pad|>', '[PAD]', '<|finetune_right_pad_id|>'];

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new TokenizerError(path, `cannot read the file: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TokenizerError(path, `invalid JSON: ${(e as Error).message}`);
  }
}

/**
 * Loads a tokenizer from a folder holding tokenizer.json (a Hugging Face model folder) or from the
 * tokenizer.json file itself. tokenizer_config.json beside it, when present, names the BOS, EOS and
 * pad tokens (bos_token, eos_token, pad_token) and add_bos_token; tokens it does not name are
 * looked up under their usual spellings (<s>, </s>, <pad>, <|begin_of_text|>, …) among the
 * tokenizer's added tokens and vocabulary. Errors are TokenizerError, naming the file.
 */
export async function loadTokenizer(dirOrFile: string): Promise<TextTokenizer> {
  let file = dirOrFile;
  if (!existsSync(dirOrFile)) throw new TokenizerError(dirOrFile, 'no such file or folder');
  if (statSync(dirOrFile).isDirectory()) {
    file = join(dirOrFile, 'tokenizer.json');
    if (!existsSync(file))
      throw new TokenizerError(dirOrFile, 'no tokenizer.json in this folder (only the fast-tokenizer format is supported, not tokenizer.model)');
  }
  const json = readJson(file);
  if (typeof json !== 'object' || json === null || Array.isArray(json) || !('model' in json))
    throw new TokenizerError(file, "not a Hugging Face tokenizer.json (no 'model' key)");
  let Tokenizer: typeof HfTokenizer;
  try {
    const mod = (await import('tokenizers')) as unknown as { Tokenizer?: typeof HfTokenizer; default?: { Tokenizer: typeof HfTokenizer } };
    Tokenizer = (mod.Tokenizer ?? mod.default?.Tokenizer) as typeof HfTokenizer;
  } catch (e) {
    throw new TokenizerError(file, `cannot load the 'tokenizers' native binding: ${(e as Error).message}`);
  }
  let tok: HfTokenizer;
  try {
    tok = Tokenizer.fromFile(file);
  } catch (e) {
    throw new TokenizerError(file, `the tokenizers library rejected it: ${(e as Error).message}`);
  }
  const tokenToId = (s: string): number | undefined => tok.tokenToId(s) ?? undefined;

  const configPath = join(dirname(file), 'tokenizer_config.json');
  let config: Record<string, unknown> = {};
  if (existsSync(configPath)) {
    const c = readJson(configPath);
    if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new TokenizerError(configPath, 'expected a JSON object');
    config = c as Record<string, unknown>;
  }
  const special = (key: string, names: string[]): number | undefined => {
    const named = tokenString(config[key]);
    if (named !== undefined) {
      const id = tokenToId(named);
      if (id === undefined) throw new TokenizerError(configPath, `${key} '${named}' is not a token of ${file}`);
      return id;
    }
    for (const n of names) {
      const id = tokenToId(n);
      if (id !== undefined) return id;
    }
    return undefined;
  };
  const bosId = special('bos_token', BOS_NAMES);
  const eosId = special('eos_token', EOS_NAMES);
  // pad_token: null in the config means "none" (LLaMA); only fall back to the usual names when absent.
  const padId = config.pad_token === null ? undefined : special('pad_token', PAD_NAMES);
  const addBos = typeof config.add_bos_token === 'boolean' ? config.add_bos_token && bosId !== undefined : bosId !== undefined;
  const chatTemplate = readChatTemplate(dirname(file), config);

  return {
    path: file,
    bosId,
    eosId,
    padId,
    addBos,
    ...(chatTemplate ? { chatTemplate } : {}),
    vocabSize: tok.getVocabSize(true),
    tokenToId,
    async encode(text, options = {}) {
      const enc = await tok.encode(text, undefined, { addSpecialTokens: options.addSpecialTokens ?? false });
      return enc.getIds();
    },
    async decode(ids, options = {}) {
      return tok.decode(ids, options.skipSpecialTokens ?? false);
    },
  };
}

/** The files a tokenizer folder may hold beside tokenizer.json, all of which a saved model carries. */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'chat_template.jinja'];

/**
 * Copies the tokenizer files (and `extra` files) that `fromDir` has into `toDir`, as save_pretrained
 * writes them beside a model; returns the names copied.
 */
export function copyTokenizerFiles(fromDir: string, toDir: string, extra: string[] = []): string[] {
  const copied = [...TOKENIZER_FILES, ...extra].filter((f) => existsSync(join(fromDir, f)));
  for (const f of copied) copyFileSync(join(fromDir, f), join(toDir, f));
  return copied;
}
