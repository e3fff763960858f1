// Chat templates: the Jinja template a Hugging Face tokenizer_config.json carries (chat_template,
// or a chat_template.jinja file beside it), rendered as transformers' apply_chat_template renders
// it, with @huggingface/jinja (Hugging Face's own JavaScript Jinja, the one transformers.js uses):
// the variables messages, add_generation_prompt and the special tokens' strings (bos_token,
// eos_token, …); @huggingface/jinja supplies raise_exception for templates that check the conversation.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';

export interface ChatMessage {
  role: string;
  content: string;
}

export class ChatTemplate {
  private readonly template: Template;

  /**
   * @param source the Jinja source
   * @param tokens the special tokens' strings the template may use (bos_token, eos_token, …)
   * @param path where it was read from (errors name it)
   */
  constructor(readonly source: string, readonly tokens: Record<string, string>, readonly path: string) {
    try {
      this.template = new Template(source);
    } catch (e) {
      throw new Error(`${path}: the chat template does not parse: ${(e as Error).message}`);
    }
  }

  /** The conversation as text; addGenerationPrompt appends the opening of an assistant turn. */
  render(messages: ChatMessage[], options: { addGenerationPrompt?: boolean } = {}): string {
    try {
      return this.template.render({
        messages,
        add_generation_prompt: options.addGenerationPrompt ?? false,
        ...this.tokens,
      });
    } catch (e) {
      throw new Error(`${this.path}: the chat template failed: ${(e as Error).message}`);
    }
  }
}

/** A special token's string in tokenizer_config.json: a string or an AddedToken object {content}. */
export function tokenString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

/**
 * The chat template of a tokenizer folder: chat_template.jinja, else tokenizer_config.json's
 * chat_template (a string, or a list of {name, template} from which 'default' is taken); undefined
 * when there is none. `config` is the parsed tokenizer_config.json ({} when absent).
 */
export function readChatTemplate(dir: string, config: Record<string, unknown>): ChatTemplate | undefined {
  const jinjaPath = join(dir, 'chat_template.jinja');
  const jinja = existsSync(jinjaPath) ? { source: readFileSync(jinjaPath, 'utf8'), path: jinjaPath } : undefined;
  return chatTemplateOf(config, join(dir, 'tokenizer_config.json'), jinja);
}

/**
 * readChatTemplate's choice over files already read (a FileSource's, in a browser): the
 * chat_template.jinja text when there is one, else the config's chat_template.
 */
export function chatTemplateOf(config: Record<string, unknown>, configPath: string, jinja?: { source: string; path: string }): ChatTemplate | undefined {
  const tokens: Record<string, string> = {};
  for (const key of ['bos_token', 'eos_token', 'unk_token', 'pad_token', 'sep_token', 'cls_token', 'mask_token']) {
    const s = tokenString(config[key]);
    if (s !== undefined) tokens[key] = s;
  }
  if (jinja) return new ChatTemplate(jinja.source, tokens, jinja.path);
  const t = config['chat_template'];
  if (t === undefined || t === null) return undefined;
  if (typeof t === 'string') return new ChatTemplate(t, tokens, configPath);
  if (Array.isArray(t)) {
    const named = t.find((x) => (x as { name?: unknown }).name === 'default') as { template?: unknown } | undefined;
    if (named && typeof named.template === 'string') return new ChatTemplate(named.template, tokens, configPath);
    throw new Error(`${configPath}: chat_template is a list without a 'default' entry (names: ${t.map((x) => JSON.stringify((x as { name?: unknown }).name)).join(', ')})`);
  }
  throw new Error(`${configPath}: chat_template must be a string or a list of {name, template}, got ${typeof t}`);
}
