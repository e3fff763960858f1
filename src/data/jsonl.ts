// Text-level preference datasets from JSONL, in TRL's formats (docs/data.md): paired standard,
// paired conversational, implicit prompt (standard or conversational) and unpaired (KTO-style).
// The file is read line by line (readline over a stream), validated, and prompts are
// deduplicated into prompt ids (identical prompt text or messages → the same id).
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

/** A chat message, as in TRL's conversational formats. */
export interface Message {
  role: MessageRole;
  content: string;
}
export const MESSAGE_ROLES = ['system', 'user', 'assistant', 'tool'] as const;
export type MessageRole = (typeof MESSAGE_ROLES)[number];

/** A prompt or a completion: plain text (standard formats) or a message list (conversational). */
export type PreferenceText = string | Message[];

export const PREFERENCE_FORMATS = [
  'paired',
  'paired_conversational',
  'implicit_prompt',
  'implicit_prompt_conversational',
  'unpaired',
  'unpaired_conversational',
] as const;
export type PreferenceFormat = (typeof PREFERENCE_FORMATS)[number];

/** Which keys a record carries: {prompt, chosen, rejected}, {chosen, rejected}, {prompt, completion, label}. */
type Family = 'paired' | 'implicit_prompt' | 'unpaired';

export interface PairedRecord {
  /** 1-based line of the record in its file. */
  line: number;
  /** The record's file, where a dataset was read from several (a dataset folder's shards). */
  file?: string;
  /** For implicit-prompt files, the extracted common prefix. */
  prompt: PreferenceText;
  chosen: PreferenceText;
  rejected: PreferenceText;
  promptId: number;
}

export interface UnpairedRecord {
  line: number;
  file?: string;
  prompt: PreferenceText;
  completion: PreferenceText;
  /** true = desirable (the chosen side), false = undesirable. */
  label: boolean;
  promptId: number;
}

interface DatasetBase {
  /** The file it was read from (as given). */
  path: string;
  format: PreferenceFormat;
  conversational: boolean;
  /** Per record: its prompt id (the same as records[i].promptId). */
  promptIds: number[];
  /** The distinct prompts, indexed by prompt id. */
  prompts: PreferenceText[];
  /** Non-fatal findings, each "file:line: …" (identical chosen/rejected under onIdentical 'warn'). */
  warnings: string[];
}
export interface PairedPreferenceDataset extends DatasetBase {
  paired: true;
  records: PairedRecord[];
}
export interface UnpairedPreferenceDataset extends DatasetBase {
  paired: false;
  records: UnpairedRecord[];
}
export type PreferenceDataset = PairedPreferenceDataset | UnpairedPreferenceDataset;

export interface ReadPreferenceOptions {
  /** Skip detection and require this format on every line. */
  format?: PreferenceFormat;
  /**
   * A paired record whose chosen equals its rejected: 'warn' (default) keeps it and adds a
   * warning (in implicit-prompt files such a pair has no completion to split, so it is dropped,
   * with a warning); 'skip' drops it silently; 'error' throws.
   */
  onIdentical?: 'warn' | 'skip' | 'error';
  /**
   * How the prompt of an implicit-prompt *string* pair is cut: 'word' (default) cuts the longest
   * common prefix back to its last whitespace, so no word is split; 'char' is TRL's rule
   * (longest common prefix, moved back one character when that character is a space).
   */
  implicitPromptSplit?: 'word' | 'char';
  /**
   * For a dataset folder (as Hugging Face lays one out): which split's files to read, e.g. 'train'
   * (the default), 'test', 'train_prefs'. Ignored for a file.
   */
  split?: string;
}

/** "file:line" of a record, for messages (its own file when the dataset has several). */
export function recordLocation(dataset: { path: string }, record: { line: number; file?: string }): string {
  return `${record.file ?? dataset.path}:${record.line}`;
}

/** A problem in a dataset file; the message starts "file:line: ". */
export class PreferenceDataError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly detail: string,
    readonly field?: string,
  ) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${detail}`);
    this.name = 'PreferenceDataError';
  }
}

const isFamily = (f: PreferenceFormat): Family =>
  f.startsWith('paired') ? 'paired' : f.startsWith('implicit_prompt') ? 'implicit_prompt' : 'unpaired';
const formatOf = (family: Family, conversational: boolean): PreferenceFormat =>
  (conversational ? `${family}_conversational` : family) as PreferenceFormat;

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** The key family of a record, or a reason why it has none. */
function familyOf(rec: Record<string, unknown>): Family | string {
  const pairedKeys = 'chosen' in rec || 'rejected' in rec;
  const unpairedKeys = 'completion' in rec || 'label' in rec;
  if (pairedKeys && unpairedKeys)
    return "record mixes paired keys (chosen/rejected) with unpaired keys (completion/label)";
  if (unpairedKeys) return 'unpaired';
  if (pairedKeys) return 'prompt' in rec ? 'paired' : 'implicit_prompt';
  return "no preference fields: expected 'prompt'/'chosen'/'rejected' (paired), 'chosen'/'rejected' (implicit prompt) or 'prompt'/'completion'/'label' (unpaired)";
}

/** The fields each family requires, in the order they are checked. */
const FIELDS: Record<Family, string[]> = {
  paired: ['prompt', 'chosen', 'rejected'],
  implicit_prompt: ['chosen', 'rejected'],
  unpaired: ['prompt', 'completion', 'label'],
};

/** Distinct prompts in first-seen order; idOf gives a prompt's id, adding it when new. */
export function promptTable(): { prompts: PreferenceText[]; idOf: (p: PreferenceText) => number } {
  const prompts: PreferenceText[] = [];
  const index = new Map<string, number>();
  const idOf = (p: PreferenceText): number => {
    const key = textKey(p);
    let id = index.get(key);
    if (id === undefined) index.set(key, (id = prompts.push(p) - 1));
    return id;
  };
  return { prompts, idOf };
}

const textKey = (t: PreferenceText): string =>
  typeof t === 'string' ? `s${t}` : `m${JSON.stringify(t.map((m) => [m.role, m.content]))}`;
const sameText = (a: PreferenceText, b: PreferenceText): boolean => textKey(a) === textKey(b);

/**
 * The implicit prompt of a pair: for message lists, the longest common prefix of whole messages
 * (role and content equal); for strings, see ReadPreferenceOptions.implicitPromptSplit.
 * Returns an error string when the prompt or either completion would be empty.
 */
export function extractImplicitPrompt(
  chosen: PreferenceText,
  rejected: PreferenceText,
  split: 'word' | 'char' = 'word',
): { prompt: PreferenceText; chosen: PreferenceText; rejected: PreferenceText } | string {
  if (typeof chosen === 'string' && typeof rejected === 'string') {
    let k = 0;
    const n = Math.min(chosen.length, rejected.length);
    while (k < n && chosen[k] === rejected[k]) k++;
    if (split === 'char') {
      if (k > 0 && k < n && chosen[k - 1] === ' ') k--;
    } else if (k < chosen.length || k < rejected.length) {
      // Cut back to the last whitespace inside the common prefix, unless the prefix already ends
      // at a word boundary (a whitespace character on either side of the cut).
      // A prefix that is all of one side is never a boundary: that completion would be empty.
      const boundary =
        k < n && (/\s/.test(chosen[k - 1] ?? '') || (/\s/.test(chosen[k]) && /\s/.test(rejected[k])));
      if (!boundary) {
        while (k > 0 && !/\s/.test(chosen[k - 1])) k--;
      }
      // The whitespace goes with the completions, as in TRL.
      if (k > 0 && /\s/.test(chosen[k - 1])) k--;
    }
    const prompt = chosen.slice(0, k);
    if (prompt.length === 0) return 'chosen and rejected share no common prefix to use as the implicit prompt';
    const c = chosen.slice(k), r = rejected.slice(k);
    if (c.length === 0 || r.length === 0)
      return `the implicit prompt (common prefix) leaves an empty ${c.length === 0 ? 'chosen' : 'rejected'} completion`;
    return { prompt, chosen: c, rejected: r };
  }
  if (Array.isArray(chosen) && Array.isArray(rejected)) {
    let k = 0;
    const n = Math.min(chosen.length, rejected.length);
    while (k < n && chosen[k].role === rejected[k].role && chosen[k].content === rejected[k].content) k++;
    if (k === 0) return 'chosen and rejected share no common prefix of messages to use as the implicit prompt';
    if (k === chosen.length || k === rejected.length)
      return `the implicit prompt (common prefix of messages) leaves an empty ${k === chosen.length ? 'chosen' : 'rejected'} completion`;
    return { prompt: chosen.slice(0, k), chosen: chosen.slice(k), rejected: rejected.slice(k) };
  }
  return "'chosen' and 'rejected' must both be strings or both be message lists";
}

/**
 * Reads a preference dataset from a JSONL file, streaming it line by line. The format is
 * detected from the first record's keys (and whether its texts are strings or message lists)
 * unless `options.format` names it; every later line must match. Blank lines are skipped, a
 * UTF-8 BOM is accepted, extra keys are ignored. Errors are PreferenceDataError "file:line: …".
 */
/**
 * The record checks and bookkeeping shared by every file format: add(record, line) takes one
 * parsed record (a JSON line, a Parquet row) with the 1-based line or row it came from; finish()
 * gives the dataset. Errors are PreferenceDataError "file:line: …".
 */
export function recordReader(path: string, options: ReadPreferenceOptions) {
  const onIdentical = options.onIdentical ?? 'warn';
  const split = options.implicitPromptSplit ?? 'word';
  if (options.format !== undefined && !PREFERENCE_FORMATS.includes(options.format))
    throw new PreferenceDataError(path, undefined, `unknown format '${options.format}' (expected one of ${PREFERENCE_FORMATS.join(', ')})`);
  let format: PreferenceFormat | undefined = options.format;
  let formatLine = 0;
  const paired: PairedRecord[] = [];
  const unpaired: UnpairedRecord[] = [];
  const promptIds: number[] = [];
  const { prompts, idOf } = promptTable();
  const warnings: string[] = [];

  const add = (rec: unknown, lineNo: number): void => {
    const fail = (detail: string, field?: string): never => {
      throw new PreferenceDataError(path, lineNo, detail, field);
    };
    if (typeof rec !== 'object' || rec === null || Array.isArray(rec))
      fail(`a record must be a JSON object, got ${typeName(rec)}`);
    const obj = rec as Record<string, unknown>;
    const family = familyOf(obj);
    if (format === undefined) {
      if (!FIELDS[family as Family]) fail(`cannot detect the format: ${family}`);
      const first = obj[family === 'unpaired' ? 'completion' : 'chosen'] ?? obj.prompt;
      format = formatOf(family as Family, Array.isArray(first));
      formatLine = lineNo;
    }
    const fileFamily = isFamily(format);
    const conversational = format.endsWith('_conversational');
    const origin = formatLine > 0 ? `detected from line ${formatLine}` : 'given as an option';
    if (!FIELDS[family as Family]) fail(`${family}; the file is ${format} format (${origin})`);
    if (family !== fileFamily) {
      const missing = FIELDS[fileFamily].find((f) => !(f in obj));
      fail(
        `record is ${family} format but the file is ${format} format (${origin})` +
          (missing ? `: missing field '${missing}'` : ''),
        missing,
      );
    }
    const get = (field: string): PreferenceText => {
      if (!(field in obj)) fail(`missing field '${field}' (expected ${conversational ? 'a list of messages' : 'a string'})`, field);
      const v = obj[field];
      if (!conversational) {
        if (typeof v !== 'string')
          fail(
            `field '${field}' must be a string, got ${typeName(v)}` +
              (Array.isArray(v) ? ` (the file is ${format} format, ${origin}; conversational lines cannot be mixed in)` : ''),
            field,
          );
        if ((v as string).length === 0) fail(`field '${field}' must be a non-empty string`, field);
        return v as string;
      }
      if (!Array.isArray(v))
        fail(
          `field '${field}' must be a list of messages {role, content}, got ${typeName(v)}` +
            (typeof v === 'string' ? ` (the file is ${format} format, ${origin}; standard lines cannot be mixed in)` : ''),
          field,
        );
      const list = v as unknown[];
      if (list.length === 0) fail(`field '${field}' must be a non-empty list of messages`, field);
      return list.map((m, i) => {
        const at = `${field}[${i}]`;
        if (typeof m !== 'object' || m === null || Array.isArray(m))
          fail(`field '${at}' must be a message object {role, content}, got ${typeName(m)}`, at);
        const msg = m as Record<string, unknown>;
        if (!('role' in msg)) fail(`field '${at}.role' is missing (expected one of ${MESSAGE_ROLES.join(', ')})`, `${at}.role`);
        if (typeof msg.role !== 'string') fail(`field '${at}.role' must be a string, got ${typeName(msg.role)}`, `${at}.role`);
        if (!(MESSAGE_ROLES as readonly string[]).includes(msg.role as string))
          fail(`field '${at}.role' has unknown role '${msg.role}' (allowed: ${MESSAGE_ROLES.join(', ')})`, `${at}.role`);
        if (!('content' in msg)) fail(`field '${at}.content' is missing (expected a string)`, `${at}.content`);
        if (typeof msg.content !== 'string') fail(`field '${at}.content' must be a string, got ${typeName(msg.content)}`, `${at}.content`);
        if ((msg.content as string).length === 0) fail(`field '${at}.content' must be a non-empty string`, `${at}.content`);
        return { role: msg.role as MessageRole, content: msg.content as string };
      });
    };

    if (fileFamily === 'unpaired') {
      const prompt = get('prompt');
      const completion = get('completion');
      if (!('label' in obj)) fail(`missing field 'label' (expected a boolean: true = desirable)`, 'label');
      if (typeof obj.label !== 'boolean')
        fail(`field 'label' must be a boolean (true = desirable), got ${typeName(obj.label)}`, 'label');
      const promptId = idOf(prompt);
      unpaired.push({ line: lineNo, prompt, completion, label: obj.label as boolean, promptId });
      promptIds.push(promptId);
      return;
    }
    let prompt = fileFamily === 'paired' ? get('prompt') : undefined;
    let chosen = get('chosen');
    let rejected = get('rejected');
    if (sameText(chosen, rejected)) {
      const msg = `'chosen' is identical to 'rejected'`;
      if (onIdentical === 'error') fail(msg, 'rejected');
      if (fileFamily === 'implicit_prompt') {
        if (onIdentical === 'warn') warnings.push(`${path}:${lineNo}: ${msg}; record dropped (no completion to split off an implicit prompt)`);
        return;
      }
      if (onIdentical === 'skip') return;
      warnings.push(`${path}:${lineNo}: ${msg}; kept`);
    }
    if (prompt === undefined) {
      const ex = extractImplicitPrompt(chosen, rejected, split);
      if (typeof ex === 'string') fail(ex, 'chosen');
      ({ prompt, chosen, rejected } = ex as Exclude<typeof ex, string>);
    }
    const promptId = idOf(prompt);
    paired.push({ line: lineNo, prompt, chosen, rejected, promptId });
    promptIds.push(promptId);
  };
  const finish = (): PreferenceDataset => {
    if (format === undefined) throw new PreferenceDataError(path, undefined, 'empty file: no records (only blank lines, or nothing)');
    const base = { path, format, conversational: format.endsWith('_conversational'), promptIds, prompts, warnings };
    if (isFamily(format) === 'unpaired') {
      if (unpaired.length === 0) throw new PreferenceDataError(path, undefined, 'no records left after reading');
      return { ...base, paired: false, records: unpaired };
    }
    if (paired.length === 0) throw new PreferenceDataError(path, undefined, 'no records left (every pair was dropped as identical)');
    return { ...base, paired: true, records: paired };
  };
  return { add, finish };
}

/**
 * Reads a preference dataset from a JSONL file, streaming it line by line. The format is
 * detected from the first record's keys (and whether its texts are strings or message lists)
 * unless `options.format` names it; every later line must match. Blank lines are skipped, a
 * UTF-8 BOM is accepted, extra keys are ignored. Errors are PreferenceDataError "file:line: …".
 */
export async function readPreferenceJsonl(path: string, options: ReadPreferenceOptions = {}): Promise<PreferenceDataset> {
  const reader = recordReader(path, options);
  const stream = createReadStream(path, { encoding: 'utf8' });
  const opened = new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  try {
    await opened;
  } catch (e) {
    throw new PreferenceDataError(path, undefined, `cannot read the file: ${(e as Error).message}`);
  }
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let lineNo = 0;
  try {
    for await (let text of lines) {
      lineNo++;
      if (lineNo === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      if (text.trim() === '') continue;
      let rec: unknown;
      try {
        rec = JSON.parse(text);
      } catch (e) {
        throw new PreferenceDataError(path, lineNo, `invalid JSON: ${(e as Error).message}`);
      }
      reader.add(rec, lineNo);
    }
  } finally {
    lines.close();
    stream.destroy();
  }
  return reader.finish();
}
