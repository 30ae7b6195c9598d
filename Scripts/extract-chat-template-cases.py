#!/usr/bin/env python3
"""Extract chat-template golden cases into Tests/LLMTests/Fixtures/chat-templates.json.

Sources (llama.cpp commit 0c1e57098, as vendored by PyPI llama-cpp-python==0.3.36, MIT):
  1. tests/test-chat-template.cpp: the conversation, each case's Jinja source, bos/eos and the
     expected Jinja rendering (`expected_output_jinja`, or `expected_output` when that is empty).
     llama.cpp's Jinja path always renders with add_generation_prompt=true, and when a template
     ignores the system message's content it first merges the system message into the next
     message joined by "\n" (common/chat.cpp, system_message_not_supported). The fixture stores the
     messages as the template receives them, after that merge.
  2. models/templates/*.jinja (listed below): no expected text ships for these, so the expected
     rendering comes from jinja2 configured as Hugging Face transformers configures it
     (trim_blocks, lstrip_blocks, loopcontrols, tojson without HTML escaping, raise_exception).

Every case is cross-checked: the jinja2 rendering of a test-chat-template.cpp case must equal
llama.cpp's expected text, otherwise the case is left out (and reported on stderr).

Usage: python3 Scripts/extract-chat-template-cases.py [LLAMA_CPP_DIR]
  LLAMA_CPP_DIR defaults to /work/dl/llamacpp/llama_cpp_python-0.3.36/vendor/llama.cpp
Needs: jinja2 (pip install jinja2).
"""
import json
import os
import sys

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

LLAMA_CPP_COMMIT = "0c1e57098"
PACKAGE = "llama-cpp-python==0.3.36"
DEFAULT_DIR = "/work/dl/llamacpp/llama_cpp_python-0.3.36/vendor/llama.cpp"
OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "LLMTests", "Fixtures",
                      "chat-templates.json")

# Template files rendered with jinja2 (role/content messages only, no tools).
TEMPLATE_FILES = [
    "Qwen-Qwen2.5-7B-Instruct.jinja",
    "meta-llama-Llama-3.1-8B-Instruct.jinja",
    "google-gemma-2-2b-it.jinja",
    "mistralai-Mistral-Nemo-Instruct-2407.jinja",
    "microsoft-Phi-3.5-mini-instruct.jinja",
    "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja",
    "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja",
    "ibm-granite-granite-3.3-2B-Instruct.jinja",
]
# Extra variables some template files read (passed to both renderers).
TEMPLATE_FILE_EXTRA = {
    "ibm-granite-granite-3.3-2B-Instruct.jinja": {"date_string": "July 26, 2024"},
}


# --- C++ source reading -------------------------------------------------------------------------

def cpp_tokens(text):
    """Yield ('str', value) / ('word', value) / ('punct', ch) tokens, skipping comments."""
    i, n = 0, len(text)
    escapes = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "0": "\0"}
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            i = text.index("\n", i)
        elif text.startswith("/*", i):
            i = text.index("*/", i) + 2
        elif c == '"':
            i += 1
            out = []
            while text[i] != '"':
                if text[i] == "\\":
                    out.append(escapes[text[i + 1]])
                    i += 2
                else:
                    out.append(text[i])
                    i += 1
            i += 1
            yield ("str", "".join(out))
        elif c.isalnum() or c == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            word = text[i:j]
            i = j
            if word in ("u8", "U8C") :
                continue  # u8"..." prefix and the U8C(...) macro keep the literal as is
            yield ("word", word)
        elif c in "{},()":
            yield ("punct", c)
            i += 1
        else:
            i += 1


def parse_value(tokens, k):
    """Parse one initializer value starting at tokens[k]; return (value, next index)."""
    kind, val = tokens[k]
    if kind == "str":
        # adjacent literals concatenate
        parts = [val]
        k += 1
        while k < len(tokens) and tokens[k][0] == "str":
            parts.append(tokens[k][1])
            k += 1
        return "".join(parts), k
    if kind == "word":
        return {"true": True, "false": False}.get(val, val), k + 1
    if val == "(":
        value, k = parse_value(tokens, k + 1)
        assert tokens[k] == ("punct", ")")
        return value, k + 1
    if val == "{":
        items = []
        k += 1
        while tokens[k] != ("punct", "}"):
            item, k = parse_value(tokens, k)
            items.append(item)
            if tokens[k] == ("punct", ","):
                k += 1
        return items, k + 1
    raise ValueError(f"unexpected token {tokens[k]}")


def read_cpp_cases(path):
    text = open(path, encoding="utf-8").read()
    conv_start = text.index("std::vector<llama_chat_message> conversation")
    conv_text = text[text.index("{", conv_start):text.index("};", conv_start) + 1]
    conversation, _ = parse_value(list(cpp_tokens(conv_text)), 0)
    cases_start = text.index("std::vector<TestCase> test_cases")
    body = text[text.index("{", cases_start):text.index("\n    };", cases_start) + 6]
    cases, _ = parse_value(list(cpp_tokens(body)), 0)
    fields = ["name", "template", "expected", "expected_jinja", "bos_token", "eos_token",
              "supported_with_jinja", "extra_conversation"]
    result = []
    for values in cases:
        case = dict(zip(fields, values))
        case.setdefault("bos_token", "")
        case.setdefault("eos_token", "")
        case.setdefault("supported_with_jinja", True)
        case.setdefault("extra_conversation", [])
        result.append(case)
    return conversation, result


# --- reference renderer (jinja2 as transformers configures it) ----------------------------------

class TemplateRaised(Exception):
    pass


def raise_exception(message):
    raise TemplateRaised(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def render(source, messages, add_generation_prompt, bos, eos, extra=None):
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    template = env.from_string(source)
    return template.render(messages=messages, add_generation_prompt=add_generation_prompt,
                           bos_token=bos, eos_token=eos, **(extra or {}))


def uses_system_content(source, bos, eos):
    """llama.cpp's capability probe: does the template read a leading system message's content?"""
    probe = [{"role": "system", "content": "System message"}, {"role": "user", "content": "User message"}]
    try:
        return "System message" in render(source, probe, False, bos, eos)
    except Exception:
        return False


def merge_system(messages):
    if messages and messages[0]["role"] == "system" and len(messages) > 1:
        merged = dict(messages[1])
        merged["content"] = messages[0]["content"] + "\n" + messages[1]["content"]
        return [merged] + messages[2:]
    return messages


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_DIR
    test_file = os.path.join(root, "tests", "test-chat-template.cpp")
    conversation, cpp_cases = read_cpp_cases(test_file)
    base = [{"role": r, "content": c} for r, c in conversation]
    out_cases = []
    for case in cpp_cases:
        if not case["supported_with_jinja"]:
            print(f"skip (not supported with jinja upstream): {case['name']}", file=sys.stderr)
            continue
        messages = base + [{"role": r, "content": c} for r, c in case["extra_conversation"]]
        if not uses_system_content(case["template"], case["bos_token"], case["eos_token"]):
            messages = merge_system(messages)
        expected = case["expected_jinja"] or case["expected"]
        try:
            check = render(case["template"], messages, True, case["bos_token"], case["eos_token"])
        except Exception as error:  # noqa: BLE001 - reported, case left out
            print(f"skip (jinja2 failed: {error}): {case['name']}", file=sys.stderr)
            continue
        if check != expected:
            print(f"skip (jinja2 disagrees with llama.cpp): {case['name']}\n  jinja2: {check!r}\n"
                  f"  llama.cpp: {expected!r}", file=sys.stderr)
            continue
        out_cases.append({
            "name": case["name"],
            "oracle": "llama.cpp tests/test-chat-template.cpp (checked against jinja2)",
            "template": case["template"],
            "messages": messages,
            "add_generation_prompt": True,
            "bos_token": case["bos_token"],
            "eos_token": case["eos_token"],
            "extra": {},
            "expected": expected,
        })

    for file_name in TEMPLATE_FILES:
        source = open(os.path.join(root, "models", "templates", file_name), encoding="utf-8").read()
        extra = TEMPLATE_FILE_EXTRA.get(file_name, {})
        bos, eos = "<s>", "</s>"
        for add_generation_prompt in (True, False):
            messages = base if add_generation_prompt else base[:5]
            try:
                expected = render(source, messages, add_generation_prompt, bos, eos, extra)
            except TemplateRaised:
                messages = merge_system(messages)
                expected = render(source, messages, add_generation_prompt, bos, eos, extra)
            out_cases.append({
                "name": f"models/templates/{file_name} (add_generation_prompt={add_generation_prompt})",
                "oracle": f"jinja2 {jinja2.__version__} with transformers' settings",
                "template": source,
                "messages": messages,
                "add_generation_prompt": add_generation_prompt,
                "bos_token": bos,
                "eos_token": eos,
                "extra": extra,
                "expected": expected,
            })

    fixture = {
        "source": "tests/test-chat-template.cpp and models/templates/*.jinja of llama.cpp",
        "llama_cpp_commit": LLAMA_CPP_COMMIT,
        "package": PACKAGE,
        "license": "MIT (llama.cpp); templates belong to their model authors",
        "generator": "Scripts/extract-chat-template-cases.py",
        "cases": out_cases,
    }
    with open(OUTPUT, "w", encoding="utf-8") as f:
        json.dump(fixture, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {len(out_cases)} cases to {os.path.normpath(OUTPUT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
