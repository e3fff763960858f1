#!/usr/bin/python3
"""Chat-template renderings for test/io/chat-template.test.ts, by Jinja2 as transformers runs it.

transformers' apply_chat_template (utils/chat_template_utils.py, _compile_jinja_template) renders
with jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True), a
raise_exception global, and the variables messages, add_generation_prompt and the special tokens
(bos_token, eos_token, …). This script does the same with Debian's python3-jinja2 on six common
templates (Llama 2 chat, ChatML, Llama 3 instruct, Zephyr, Gemma-2 instruct, Qwen2.5 instruct;
written out below) and writes chat.json: the templates, the special tokens (template_tokens where a
template's tokenizer has its own), the conversations and each rendering (or the error message).

    /usr/bin/python3 test/io/golden/make_chat_golden.py

transformers 4.57.6's own render_jinja_template (jinja2 3.1.6) gives the same 60 renderings and errors.
"""
import json
import os

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))

# The chat_template of google/gemma-2-{2b,9b,27b}-it's tokenizer_config.json, as the JSON string the
# file holds (so it can be compared with it character for character), quoted verbatim in
# ShishirPatil/gorilla berkeley-function-call-leaderboard/bfcl/model_handler/oss_model/gemma.py (the
# handler of the gemma-2-*-it models) and in mattt/Jinja Tests/JinjaTests/ChatTemplateTests.swift
# (as Gemma's instruct template; Gemma-2 kept Gemma 1.1's). A system message raises.
GEMMA2_JSON = (
    r"""{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"""
    r"""{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"""
    r"""{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"""
    r"""{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}"""
    r"""{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}"""
    r"""{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}"""
)
# The chat_template of Qwen/Qwen2.5-{0.5B,…}-Instruct's tokenizer_config.json, likewise as the JSON
# string, quoted verbatim in ShishirPatil/gorilla
# berkeley-function-call-leaderboard/bfcl/model_handler/local_inference/qwen.py, and the same in
# mattt/Jinja Tests/JinjaTests/ChatTemplateTests.swift ("Qwen Qwen2.5-0.5B-Instruct"). Without a
# system message it writes Qwen's default one; tools and tool calls are not exercised here.
QWEN25_JSON = (
    r"""{%- if tools %}\n    {{- '<|im_start|>system\\n' }}\n    {%- if messages[0]['role'] == 'system' %}\n        {{- messages[0]['content'] }}\n    {%- else %}\n        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}\n    {%- endif %}\n"""
    r"""    {{- \"\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>\" }}\n    {%- for tool in tools %}\n        {{- \"\\n\" }}\n        {{- tool | tojson }}\n    {%- endfor %}\n"""
    r"""    {{- \"\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\\"name\\\": <function-name>, \\\"arguments\\\": <args-json-object>}\\n</tool_call><|im_end|>\\n\" }}\n"""
    r"""{%- else %}\n    {%- if messages[0]['role'] == 'system' %}\n        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n    {%- else %}\n        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}\n    {%- endif %}\n{%- endif %}\n"""
    r"""{%- for message in messages %}\n    {%- if (message.role == \"user\") or (message.role == \"system\" and not loop.first) or (message.role == \"assistant\" and not message.tool_calls) %}\n        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}\n"""
    r"""    {%- elif message.role == \"assistant\" %}\n        {{- '<|im_start|>' + message.role }}\n        {%- if message.content %}\n            {{- '\\n' + message.content }}\n        {%- endif %}\n"""
    r"""        {%- for tool_call in message.tool_calls %}\n            {%- if tool_call.function is defined %}\n                {%- set tool_call = tool_call.function %}\n            {%- endif %}\n"""
    r"""            {{- '\\n<tool_call>\\n{\"name\": \"' }}\n            {{- tool_call.name }}\n            {{- '\", \"arguments\": ' }}\n            {{- tool_call.arguments | tojson }}\n            {{- '}\\n</tool_call>' }}\n        {%- endfor %}\n        {{- '<|im_end|>\\n' }}\n"""
    r"""    {%- elif message.role == \"tool\" %}\n        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != \"tool\") %}\n            {{- '<|im_start|>user' }}\n        {%- endif %}\n        {{- '\\n<tool_response>\\n' }}\n        {{- message.content }}\n        {{- '\\n</tool_response>' }}\n"""
    r"""        {%- if loop.last or (messages[loop.index0 + 1].role != \"tool\") %}\n            {{- '<|im_end|>\\n' }}\n        {%- endif %}\n    {%- endif %}\n{%- endfor %}\n{%- if add_generation_prompt %}\n    {{- '<|im_start|>assistant\\n' }}\n{%- endif %}\n"""
)

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
    "gemma2": json.loads('"' + GEMMA2_JSON + '"'),
    "qwen2.5": json.loads('"' + QWEN25_JSON + '"'),
}

CONVERSATIONS = [
    [{"role": "user", "content": "What color is the sky?"}],
    [{"role": "user", "content": "What color is the sky?"}, {"role": "assistant", "content": " Blue. "}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Two plus two?"}, {"role": "assistant", "content": "Four."},
     {"role": "user", "content": "And three plus three?"}],
    [{"role": "user", "content": "Hi"}, {"role": "user", "content": "Again"}],
    [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}, {"role": "system", "content": "Answer in French."},
     {"role": "user", "content": "Thanks"}],
]

TOKENS = {"bos_token": "<s>", "eos_token": "</s>"}
# Their tokenizer_config.json's special tokens (Qwen2.5's bos_token is null: left out, as transformers does).
TEMPLATE_TOKENS = {"gemma2": {"bos_token": "<bos>", "eos_token": "<eos>"}, "qwen2.5": {"eos_token": "<|im_end|>"}}


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
                    out = {"text": template.render(messages=messages, add_generation_prompt=gen, **TEMPLATE_TOKENS.get(name, TOKENS))}
                except TemplateError as e:
                    out = {"error": str(e)}
                cases.append({"template": name, "conversation": i, "add_generation_prompt": gen, **out})
    with open(os.path.join(HERE, "chat.json"), "w") as f:
        json.dump({"jinja2": jinja2.__version__, "tokens": TOKENS, "template_tokens": TEMPLATE_TOKENS, "templates": TEMPLATES, "conversations": CONVERSATIONS, "cases": cases}, f, indent=1)
    print(len(cases), "cases")


if __name__ == "__main__":
    main()
