// Hugging Face tokenizers (tokenizer.json, plus tokenizer_config.json and chat_template.jinja when
// present) read through a FileSource (a Node folder, a URL, files in memory) and made live by the
// tokenizer backend: the native `tokenizers` binding in Node, pure-JS @huggingface/tokenizers in
// the browser build (tokenizer-backend.ts and tokenizer-backend-js.ts).
import { copyFileSync, existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { type ChatTemplate, chatTemplateOf, tokenString } from './chat-template.js';
import { type FileSource, joinName } from './file-source.js';
import { folderSource } from './folder-source.js';
import { tokenizerModel } from './tokenizer-backend.js';
import { type TokenizerModel, TokenizerLibraryUnavailable } from './tokenizer-model.js';

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

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TokenizerError(path, `invalid JSON: ${(e as Error).message}`);
  }
}

async function readText(source: FileSource, file: string, path: string): Promise<string> {
  try {
    return await source.readText(file);
  } catch (e) {
    throw new TokenizerError(path, `cannot read the file: ${(e as Error).message}`);
  }
}

/** A Node path (a folder or the tokenizer.json file) as the folder's source and the file's name. */
function pathSource(dirOrFile: string): { source: FileSource; file: string; at: (f: string) => string } {
  if (!existsSync(dirOrFile)) throw new TokenizerError(dirOrFile, 'no such file or folder');
  const isDir = statSync(dirOrFile).isDirectory();
  const dir = isDir ? dirOrFile : dirname(dirOrFile);
  if (isDir && !existsSync(join(dir, 'tokenizer.json')))
    throw new TokenizerError(dirOrFile, 'no tokenizer.json in this folder (only the fast-tokenizer format is supported, not tokenizer.model)');
  return { source: folderSource(dir), file: isDir ? 'tokenizer.json' : basename(dirOrFile), at: (f) => join(dir, f) };
}

/**
 * Loads a tokenizer from a folder holding tokenizer.json (a Hugging Face model folder), from the
 * tokenizer.json file itself, or from a FileSource holding tokenizer.json (urlSource, memorySource:
 * what a browser page uses). tokenizer_config.json beside it, when present, names the BOS, EOS and
 * pad tokens (bos_token, eos_token, pad_token) and add_bos_token; tokens it does not name are
 * looked up under their usual spellings (<s>, </s>, <pad>, <|begin_of_text|>, …) among the
 * tokenizer's added tokens and vocabulary. Errors are TokenizerError, naming the file.
 */
export async function loadTokenizer(from: string | FileSource): Promise<TextTokenizer> {
  let source: FileSource, fileName: string, at: (f: string) => string;
  if (typeof from === 'string') ({ source, file: fileName, at } = pathSource(from));
  else {
    source = from;
    fileName = 'tokenizer.json';
    at = (f) => joinName(from.name, f);
    if (!(await source.has(fileName)))
      throw new TokenizerError(from.name, 'no tokenizer.json here (only the fast-tokenizer format is supported, not tokenizer.model)');
  }
  const file = at(fileName);
  const text = await readText(source, fileName, file);
  const json = parseJson(text, file);
  if (typeof json !== 'object' || json === null || Array.isArray(json) || !('model' in json))
    throw new TokenizerError(file, "not a Hugging Face tokenizer.json (no 'model' key)");
  let tok: TokenizerModel;
  try {
    tok = await tokenizerModel(text);
  } catch (e) {
    const message = (e as Error).message;
    throw new TokenizerError(file, e instanceof TokenizerLibraryUnavailable ? message : `the tokenizers library rejected it: ${message}`);
  }
  const tokenToId = tok.tokenToId;

  const configPath = at('tokenizer_config.json');
  let config: Record<string, unknown> = {};
  if (await source.has('tokenizer_config.json')) {
    const c = parseJson(await readText(source, 'tokenizer_config.json', configPath), configPath);
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
  const jinjaPath = at('chat_template.jinja');
  const jinja = (await source.has('chat_template.jinja')) ? { source: await readText(source, 'chat_template.jinja', jinjaPath), path: jinjaPath } : undefined;
  const chatTemplate = chatTemplateOf(config, configPath, jinja);

  return {
    path: file,
    bosId,
    eosId,
    padId,
    addBos,
    ...(chatTemplate ? { chatTemplate } : {}),
    vocabSize: tok.vocabSize,
    tokenToId,
    encode: (text, options = {}) => tok.encode(text, options.addSpecialTokens ?? false),
    decode: (ids, options = {}) => tok.decode(ids, options.skipSpecialTokens ?? false),
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
