#!/usr/bin/python3
"""Chat-template renderings for test/io/chat-template.test.ts, by Jinja2 as transformers runs it.

transformers' apply_chat_template (utils/chat_template_utils.py, _compile_jinja_template) renders
with jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True), a
raise_exception global, and the variables messages, add_generation_prompt and the special tokens
(bos_token, eos_token, …). This script does the same with Debian's python3-jinja2 on four common
templates (Llama 2 chat, ChatML, Llama 3 instruct, Zephyr; written out below) and writes
chat.json: the templates, the conversations and each rendering (or the error message).

    /usr/bin/python3 test/io/golden/make_chat_golden.py
"""
import json
import os

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))

TEMPLATES = {
    "llama2": (
        "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}"
        "{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}"
        "{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
        "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
        "{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
        "{% else %}{% set content = message['content'] %}{% endif %}"
        "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
        "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}"
    ),
    "chatml": (
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
    ),
    "llama3": (
        "{% set loop_messages = messages %}{% for message in loop_messages %}"
        "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}"
        "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
    ),
    "zephyr": (
        "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\\n' + message['content'] + eos_token }}\n"
        "{% elif message['role'] == 'system' %}\n{{ '<|system|>\\n' + message['content'] + eos_token }}\n"
        "{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\\n'  + message['content'] + eos_token }}\n{% endif %}\n"
        "{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}"
    ),
}

CONVERSATIONS = [
    [{"role": "user", "content": "What color is the sky?"}],
    [{"role": "user", "content": "What color is the sky?"}, {"role": "assistant", "content": " Blue. "}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Two plus two?"}, {"role": "assistant", "content": "Four."},
     {"role": "user", "content": "And three plus three?"}],
    [{"role": "user", "content": "Hi"}, {"role": "user", "content": "Again"}],
]

TOKENS = {"bos_token": "<s>", "eos_token": "</s>"}


class TemplateError(Exception):
    pass


def raise_exception(message):
    raise TemplateError(message)


def main():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    cases = []
    for name, source in TEMPLATES.items():
        template = env.from_string(source)
        for i, messages in enumerate(CONVERSATIONS):
            for gen in (False, True):
                try:
                    out = {"text": template.render(messages=messages, add_generation_prompt=gen, **TOKENS)}
                except TemplateError as e:
                    out = {"error": str(e)}
                cases.append({"template": name, "conversation": i, "add_generation_prompt": gen, **out})
    with open(os.path.join(HERE, "chat.json"), "w") as f:
        json.dump({"jinja2": jinja2.__version__, "tokens": TOKENS, "templates": TEMPLATES, "conversations": CONVERSATIONS, "cases": cases}, f, indent=1)
    print(len(cases), "cases")


if __name__ == "__main__":
    main()
