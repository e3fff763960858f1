// Reading preference JSONL: format detection, prompt ids, implicit prompts, and error messages.
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractImplicitPrompt, PreferenceDataError, readPreferenceJsonl } from '../../src/data/index.js';

const dir = mkdtempSync(join(tmpdir(), 'relpo-data-'));
let counter = 0;
/** Writes lines (objects are JSON-encoded, strings written raw) to a fresh temp file. */
function file(lines: (object | string)[], raw?: string): string {
  const path = join(dir, `f${counter++}.jsonl`);
  writeFileSync(path, raw ?? lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return path;
}
const fixture = (name: string) => fileURLToPath(new URL(`../../../test/data/fixtures/${name}`, import.meta.url));
const u = (content: string) => ({ role: 'user', content });
const a = (content: string) => ({ role: 'assistant', content });

test('paired standard: detected, parsed, prompts deduplicated', async (t) => {
  const ds = await readPreferenceJsonl(fixture('paired.jsonl'));
  t.is(ds.format, 'paired');
  t.true(ds.paired);
  t.false(ds.conversational);
  t.is(ds.records.length, 3);
  t.deepEqual(ds.records.map((r) => r.line), [1, 2, 3]);
  t.deepEqual(ds.promptIds, [0, 1, 0]);
  t.deepEqual(ds.prompts, ['What is 2+2?', 'Capital of France?']);
  t.deepEqual(ds.records[1], { line: 2, prompt: 'Capital of France?', chosen: 'Paris', rejected: 'Lyon', promptId: 1 });
  t.deepEqual(ds.warnings, []);
});

test('paired conversational: message lists, dedup by messages, extra keys ignored', async (t) => {
  const p = [u('hi')];
  const path = file([
    { prompt: p, chosen: [a('hello')], rejected: [a('go away')], id: 7 },
    { prompt: [{ role: 'system', content: 'x' }, u('hi')], chosen: [a('a')], rejected: [a('b')] },
    { prompt: p, chosen: [a('hey')], rejected: [a('meh')] },
  ]);
  const ds = await readPreferenceJsonl(path);
  t.is(ds.format, 'paired_conversational');
  t.true(ds.conversational);
  t.deepEqual(ds.promptIds, [0, 1, 0]);
  if (!ds.paired) return t.fail();
  t.deepEqual(ds.records[0].chosen, [a('hello')]);
  t.false('id' in ds.records[0]);
});

test('unpaired standard and conversational', async (t) => {
  const path = file([
    { prompt: 'q1', completion: 'good', label: true },
    { prompt: 'q1', completion: 'bad', label: false },
    { prompt: 'q2', completion: 'meh', label: false },
  ]);
  const ds = await readPreferenceJsonl(path);
  t.is(ds.format, 'unpaired');
  t.false(ds.paired);
  if (ds.paired) return;
  t.deepEqual(ds.records.map((r) => r.label), [true, false, false]);
  t.deepEqual(ds.promptIds, [0, 0, 1]);
  const conv = await readPreferenceJsonl(fixture('unpaired_conversational.jsonl'));
  t.is(conv.format, 'unpaired_conversational');
  t.deepEqual(conv.promptIds, [0, 0, 1]);
});

test('implicit prompt, conversational: longest common prefix of messages', async (t) => {
  const path = file([
    { chosen: [u('hi'), a('hello'), u('bye'), a('ciao')], rejected: [u('hi'), a('hello'), u('bye'), a('whatever')] },
    { chosen: [u('hi'), a('hey')], rejected: [u('hi'), a('no')] },
  ]);
  const ds = await readPreferenceJsonl(path);
  t.is(ds.format, 'implicit_prompt_conversational');
  if (!ds.paired) return t.fail();
  t.deepEqual(ds.records[0].prompt, [u('hi'), a('hello'), u('bye')]);
  t.deepEqual(ds.records[0].chosen, [a('ciao')]);
  t.deepEqual(ds.records[0].rejected, [a('whatever')]);
  t.deepEqual(ds.records[1].prompt, [u('hi')]);
  t.deepEqual(ds.promptIds, [0, 1]);
  const bad = file([{ chosen: [u('yo'), a('hey')], rejected: [u('hi'), a('no')] }]);
  const err = await t.throwsAsync(readPreferenceJsonl(bad));
  t.regex(err!.message, /:1: chosen and rejected share no common prefix of messages/);
  const prefixOnly = file([{ chosen: [u('hi'), a('x')], rejected: [u('hi'), a('x'), u('more'), a('y')] }]);
  t.regex((await t.throwsAsync(readPreferenceJsonl(prefixOnly)))!.message, /:1: .*leaves an empty chosen completion/);
});

test('implicit prompt, strings: word rule (default) and TRL char rule', async (t) => {
  t.deepEqual(extractImplicitPrompt('Q: hi A: yes', 'Q: hi A: no'), { prompt: 'Q: hi A:', chosen: ' yes', rejected: ' no' });
  // The word rule does not split "ye|s" / "ye|llow"; TRL's char rule does.
  t.deepEqual(extractImplicitPrompt('Q: hi A: yes', 'Q: hi A: yellow'), { prompt: 'Q: hi A:', chosen: ' yes', rejected: ' yellow' });
  t.deepEqual(extractImplicitPrompt('Q: hi A: yes', 'Q: hi A: yellow', 'char'), { prompt: 'Q: hi A: ye', chosen: 's', rejected: 'llow' });
  t.deepEqual(extractImplicitPrompt('Q: hi A: yes', 'Q: hi A: no', 'char'), { prompt: 'Q: hi A:', chosen: ' yes', rejected: ' no' });
  // One side a prefix of the other: the cut backs off to the previous word boundary.
  t.deepEqual(extractImplicitPrompt('Q: A: yes', 'Q: A: yes please'), { prompt: 'Q: A:', chosen: ' yes', rejected: ' yes please' });
  t.deepEqual(extractImplicitPrompt('Q:\nyes', 'Q:\nno'), { prompt: 'Q:', chosen: '\nyes', rejected: '\nno' });
  t.regex(extractImplicitPrompt('yes', 'no') as string, /no common prefix/);
  t.regex(extractImplicitPrompt('yes', 'yellow') as string, /no common prefix/);
  const ds = await readPreferenceJsonl(file([{ chosen: 'User: hi\nBot: hello', rejected: 'User: hi\nBot: go' }]));
  t.is(ds.format, 'implicit_prompt');
  t.deepEqual(ds.prompts, ['User: hi\nBot:']);
  const trl = await readPreferenceJsonl(file([{ chosen: 'P: yes', rejected: 'P: yellow' }]), { implicitPromptSplit: 'char' });
  t.deepEqual(trl.prompts, ['P: ye']);
});

test('BOM accepted, blank lines skipped with line numbers kept, CRLF', async (t) => {
  const raw = '\uFEFF{"prompt":"p","chosen":"a","rejected":"b"}\r\n\r\n   \r\n{"prompt":"q","chosen":"c","rejected":"d"}\r\n\n';
  const ds = await readPreferenceJsonl(file([], raw));
  t.deepEqual(ds.records.map((r) => r.line), [1, 4]);
  t.is(ds.records[0].prompt, 'p');
});

test('explicit format option overrides detection', async (t) => {
  const path = file([{ prompt: 'p', chosen: 'a', rejected: 'b' }]);
  const err = await t.throwsAsync(readPreferenceJsonl(path, { format: 'unpaired' }));
  t.regex(err!.message, /:1: record is paired format but the file is unpaired format \(given as an option\): missing field 'completion'/);
  const err2 = await t.throwsAsync(readPreferenceJsonl(path, { format: 'paired_conversational' }));
  t.regex(err2!.message, /:1: field 'prompt' must be a list of messages \{role, content\}, got string/);
  t.is((await readPreferenceJsonl(path, { format: 'paired' })).format, 'paired');
  await t.throwsAsync(readPreferenceJsonl(path, { format: 'dpo' as never }), { message: /unknown format 'dpo'/ });
});

test('identical chosen and rejected: warn (default), skip, error', async (t) => {
  const lines = [{ prompt: 'p', chosen: 'same', rejected: 'same' }, { prompt: 'p', chosen: 'a', rejected: 'b' }];
  const path = file(lines);
  const warn = await readPreferenceJsonl(path);
  t.is(warn.records.length, 2);
  t.is(warn.warnings.length, 1);
  t.regex(warn.warnings[0], /f\d+\.jsonl:1: 'chosen' is identical to 'rejected'; kept/);
  t.is((await readPreferenceJsonl(path, { onIdentical: 'skip' })).records.length, 1);
  const err = await t.throwsAsync(readPreferenceJsonl(path, { onIdentical: 'error' }));
  t.true(err instanceof PreferenceDataError);
  t.regex(err!.message, /\.jsonl:1: 'chosen' is identical to 'rejected'/);
  const implicit = await readPreferenceJsonl(file([{ chosen: 'P: x', rejected: 'P: x' }, { chosen: 'P: x', rejected: 'P: y' }]));
  t.is(implicit.records.length, 1);
  t.regex(implicit.warnings[0], /:1: .*dropped/);
});

/** Each bad file with the line and message fragment it must produce. */
const BAD: [string, (object | string)[], number | undefined, RegExp, string?][] = [
  ['invalid JSON', [{ prompt: 'p', chosen: 'a', rejected: 'b' }, '{"prompt": "p", "chosen": '], 2, /invalid JSON/],
  ['not an object', ['[1, 2]'], 1, /a record must be a JSON object, got array/],
  ['a bare string', [{ prompt: 'p', chosen: 'a', rejected: 'b' }, '"hello"'], 2, /a record must be a JSON object, got string/],
  ['no preference keys', [{ text: 'x' }], 1, /cannot detect the format: no preference fields/],
  ['missing rejected', [{ prompt: 'p', chosen: 'a' }], 1, /missing field 'rejected' \(expected a string\)/, 'rejected'],
  ['chosen wrong type', [{ prompt: 'p', chosen: 3, rejected: 'b' }], 1, /field 'chosen' must be a string, got number/, 'chosen'],
  ['empty prompt', [{ prompt: 'p', chosen: 'a', rejected: 'b' }, { prompt: '', chosen: 'a', rejected: 'b' }], 2, /field 'prompt' must be a non-empty string/, 'prompt'],
  ['null completion', [{ prompt: 'p', completion: null, label: true }], 1, /field 'completion' must be a string, got null/, 'completion'],
  ['label not boolean', [{ prompt: 'p', completion: 'c', label: 1 }], 1, /field 'label' must be a boolean \(true = desirable\), got number/, 'label'],
  ['label missing', [{ prompt: 'p', completion: 'c', label: true }, { prompt: 'p', completion: 'c' }], 2, /missing field 'label'/, 'label'],
  ['message without role', [{ prompt: [{ content: 'hi' }], chosen: [a('x')], rejected: [a('y')] }], 1, /field 'prompt\[0\]\.role' is missing/, 'prompt[0].role'],
  ['message without content', [{ prompt: [u('hi')], chosen: [a('x')], rejected: [{ role: 'assistant' }] }], 1, /field 'rejected\[0\]\.content' is missing/, 'rejected[0].content'],
  ['unknown role', [{ prompt: [u('hi'), { role: 'bot', content: 'x' }], chosen: [a('x')], rejected: [a('y')] }], 1, /field 'prompt\[1\]\.role' has unknown role 'bot' \(allowed: system, user, assistant, tool\)/, 'prompt[1].role'],
  ['message not an object', [{ prompt: ['hi'], chosen: [a('x')], rejected: [a('y')] }], 1, /field 'prompt\[0\]' must be a message object/, 'prompt[0]'],
  ['empty content', [{ prompt: [u('')], chosen: [a('x')], rejected: [a('y')] }], 1, /field 'prompt\[0\]\.content' must be a non-empty string/],
  ['empty message list', [{ prompt: [], chosen: [a('x')], rejected: [a('y')] }], 1, /field 'prompt' must be a non-empty list of messages/],
  ['conversational line in a standard file', [{ prompt: 'p', chosen: 'a', rejected: 'b' }, { prompt: [u('p')], chosen: [a('a')], rejected: [a('b')] }], 2,
    /field 'prompt' must be a string, got array \(the file is paired format, detected from line 1; conversational lines cannot be mixed in\)/],
  ['unpaired line in a paired file', [{ prompt: 'p', chosen: 'a', rejected: 'b' }, '', { prompt: 'p', completion: 'c', label: true }], 3,
    /record is unpaired format but the file is paired format \(detected from line 1\): missing field 'chosen'/],
  ['implicit line in a paired file', [{ prompt: 'p', chosen: 'a', rejected: 'b' }, { chosen: 'a', rejected: 'b' }], 2,
    /record is implicit_prompt format but the file is paired format \(detected from line 1\): missing field 'prompt'/, 'prompt'],
  ['mixed keys', [{ prompt: 'p', chosen: 'a', rejected: 'b', label: true }], 1, /mixes paired keys/],
];

for (const [name, lines, line, re, field] of BAD) {
  test(`error: ${name}`, async (t) => {
    const path = file(lines);
    const err = await t.throwsAsync(readPreferenceJsonl(path));
    t.true(err instanceof PreferenceDataError);
    const e = err as PreferenceDataError;
    t.is(e.file, path);
    t.is(e.line, line);
    t.true(e.message.startsWith(`${path}:${line}: `), e.message);
    t.regex(e.message, re);
    if (field) t.is(e.field, field);
  });
}

test('error: empty file and blank-only file', async (t) => {
  for (const raw of ['', '\n  \n\n', '\uFEFF']) {
    const path = file([], raw);
    const err = await t.throwsAsync(readPreferenceJsonl(path));
    t.is(err!.message, `${path}: empty file: no records (only blank lines, or nothing)`);
  }
});

test('error: missing file', async (t) => {
  const path = join(dir, 'nope.jsonl');
  const err = await t.throwsAsync(readPreferenceJsonl(path));
  t.regex(err!.message, new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot read the file: .*ENOENT`));
});

test('a larger file streams through', async (t) => {
  const n = 5000;
  const lines = Array.from({ length: n }, (_, i) => ({ prompt: `prompt ${i % 100}`, completion: `c${i}`, label: i % 3 === 0 }));
  const ds = await readPreferenceJsonl(file(lines));
  t.is(ds.records.length, n);
  t.is(ds.prompts.length, 100);
  t.is(ds.records[n - 1].line, n);
});
