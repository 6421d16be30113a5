#!/usr/bin/env python3
r"""Writes the parity fixtures for the Swift chat-template engine (Tests/ChatTemplateTests/Fixtures),
rendered by Hugging Face transformers' own Jinja environment, so the Swift engine is compared with
exactly what `tokenizer.apply_chat_template(..., tokenize=False)` produces.

    python3 scripts/make_chat_template_fixtures.py            # writes the fixtures
    python3 scripts/make_chat_template_fixtures.py --check    # renders again, fails if a file would change

Needs jinja2 (3.1.6) and transformers (5.x; torch is not needed). Run by hand, never by the suite;
the output is deterministic (no dates: every render that could reach strftime_now is given a
date_string, and the one snippet that prints strftime_now's output is marked "dynamic").

What is used from transformers (transformers/utils/chat_template_utils.py):
  - `_compile_jinja_template(template)`: ImmutableSandboxedEnvironment(trim_blocks=True,
    lstrip_blocks=True, extensions=[AssistantTracker, jinja2.ext.loopcontrols]), with the filter
    `tojson` (json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False) by
    default), the globals `raise_exception` (raises jinja2.TemplateError(message)), `strftime_now`,
    `dict` (a callable with .fromkeys only) and `namespace` (jinja's Namespace refusing names that
    start with "_"); keep_trailing_newline stays False, newline_sequence '\n', autoescape off.
  - `_render_with_assistant_indices(compiled, messages, tools, documents, add_generation_prompt,
    **kwargs)`: renders with the `{% generation %}` tracker on and returns the spans
    (code-point offsets into the rendered string).
  - `_normalize_chat_messages` and `render_jinja_template` for whole conversations: exactly what
    `PreTrainedTokenizerBase.apply_chat_template` calls (None-valued keys dropped, inputs rebuilt
    from plain JSON types, `reasoning_content`/`thinking`/`reasoning` aliased to both
    `thinking` (first key) and `reasoning_content` (last key)). The special tokens that
    apply_chat_template merges in from the tokenizer are given explicitly as kwargs here.
"""
import argparse
import json
import os
import re
import sys

import jinja2
import transformers
from transformers.utils.chat_template_utils import (
    _compile_jinja_template,
    _normalize_chat_messages,
    _render_with_assistant_indices,
    render_jinja_template,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests", "ChatTemplateTests", "Fixtures")
TEMPLATES = os.path.join(FIXTURES, "templates")

# The four variables apply_chat_template always passes; every snippet context has them too, so a
# snippet sees exactly what a chat template sees (e.g. `tools is defined` is true, `tools` is none).
# transformers' own test for a template with generation blocks (render_jinja_template)
GENERATION_TAG = re.compile(r"\{\%-?\s*generation\s*-?\%\}")

BASE_CONTEXT = {"messages": None, "tools": None, "documents": None, "add_generation_prompt": False}


# --------------------------------------------------------------------------------------------
# Snippets
# --------------------------------------------------------------------------------------------

CASES = []


def S(name, template, context=None, dynamic=False):
    CASES.append({"name": name, "template": template, "context": context or {}, "dynamic": dynamic})


USERS = [{"name": "bob", "age": 30, "admin": True}, {"name": "Al", "age": 25, "admin": False}, {"name": "cy", "age": 35}]
MSG = {"role": "user", "content": "hi", "n": None, "items": "X", "keys": 3}
MSGS = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]
PARTS = [{"type": "text", "text": "A"}, {"type": "image"}, {"type": "text", "text": "B"}]
NUMS = [3, 1, 2, 3, 1]
ORDERED = {"b": 2, "a": 1, "C": 0}  # insertion order differs from sorted order on purpose
OBJ = {"k": "é\"<>&'\\", "n": None, "f": 1.5, "i": 2, "t": True, "z": 20.0, "list": [1, {"y": []}], "e": {}}


def snippets():
    # ---- output of every value type (Python str() / repr() rules) ----
    S("value/true", "{{ true }}|{{ True }}|{{ false }}")
    S("value/none", "{{ none }}|{{ None }}")
    S("value/int", "{{ 42 }}|{{ -7 }}|{{ 1_000 }}|{{ 123456789012345678901234567890 }}")
    S("value/float-basic", "{{ 1.0 }}|{{ 0.1 }}|{{ 2.5 }}|{{ -0.0 }}|{{ 1.5e3 }}|{{ 100.0 }}")
    S("value/float-exponent", "{{ 1e-05 }}|{{ 1e-5 }}|{{ 0.0001 }}|{{ 1.5e-7 }}|{{ 1e20 }}|{{ 1e16 }}|{{ 1e15 }}|{{ 1e22 }}")
    S("value/float-shortest-repr", "{{ 0.1 + 0.2 }}|{{ 1/3 }}|{{ 2 ** 0.5 }}|{{ 123456789.123 }}|{{ 2.0 ** 64 }}|{{ 1e16 + 1 }}")
    S("value/float-inf", "{{ 1e308 * 10 }}|{{ -1e308 * 10 }}")
    S("value/big-int", "{{ 2 ** 64 }}|{{ 9007199254740993 }}")
    S("value/list-repr", "{{ [1, 'a', 2.0, none, true, [], {}] }}")
    S("value/list-repr-quotes", r"""{{ ['plain', 'it\'s', "say \"hi\"", "both ' and \""] }}""")
    S("value/list-repr-escapes", r"""{{ ["\n", "\t", "\r", "\\", "\x01", "\x7f"] }}""")
    S("value/list-repr-unicode", r"""{{ ["é😀", "你好", "\xa0", "\xad", "\u200b", "\u2028", "\U0001F600"] }}""")
    S("value/dict-repr", "{{ {'a': [1, (2, 3)], 'b': none, 'c': true, 1: 2.5} }}")
    S("value/dict-repr-quotes", r"""{{ {'k': "v'", "q\"": 'x'} }}""")
    S("value/tuple-repr", "{{ (1,) }}|{{ () }}|{{ (1, 'a') }}|{{ ((1, 2), [3]) }}")
    S("value/string-unicode", "{{ 'é😀你好' }}|{{ 'é😀' | length }}")
    S("value/context-types", "{{ s }}|{{ i }}|{{ f }}|{{ b }}|{{ n }}|{{ l }}|{{ d }}",
      {"s": "str", "i": 20, "f": 20.0, "b": False, "n": None, "l": [1, 2.5, "x", None], "d": {"z": 1, "a": [True]}})
    S("value/context-float-keeps-point", "{{ f }}|{{ f | tojson }}|{{ [f] }}|{{ f == i }}|{{ f is integer }}|{{ i | tojson }}",
      {"f": 20.0, "i": 20})
    S("value/context-message-repr", "{{ m }}", {"m": MSG})
    S("value/macro-varargs-repr", "{% macro m() %}{{ varargs }}|{{ kwargs }}{% endmacro %}{{ m(1, 'a', k=none) }}")
    S("value/range-repr", "{{ range(3) }}|{{ range(1, 5, 2) }}")
    S("value/namespace-repr", "{% set ns = namespace(a=1, b='x') %}{{ ns }}")
    S("value/undefined-in-list-repr", "{{ users | map(attribute='admin') | list }}", {"users": USERS})
    S("value/items-repr", "{{ d.items() }}|{{ d.keys() }}|{{ d.values() }}", {"d": ORDERED})

    # ---- string literals and escapes ----
    S("literal/escapes", r"""{{ 'a\nb' }}|{{ "a\tb" }}|{{ 'it\'s' }}|{{ "say \"hi\"" }}|{{ 'x\\y' }}""")
    S("literal/unicode-escapes", r"""{{ '\x41\u00e9\U0001F600' }}|{{ '\N{BULLET}' }}""")
    S("literal/unknown-escape-kept", r"""{{ 'a\db' }}|{{ 'a\db' | length }}""")
    S("literal/raw-newline-in-string", "{{ 'multi\nline' }}")
    S("literal/crlf-in-string-normalized", "{{ 'a\r\nb' | length }}")
    S("literal/escaped-cr-kept", r"""{{ '\r' | length }}|{{ 'a\r\nb' | length }}""")
    S("literal/adjacent-concat", "{{ 'a' 'b' \"c\" }}")
    S("literal/mixed-quotes", r"""{{ '\'' ~ "'" ~ '"' ~ "\"" }}""")
    S("literal/control-token-text", "{{ '<|im_start|>' + 'user' + '\\n' }}")
    S("literal/non-ascii-in-template", "{{ '<｜User｜>' }}é{{ '▁' }}")

    # ---- arithmetic ----
    S("arith/true-division", "{{ 7 / 2 }}|{{ 6 / 2 }}|{{ 5 / 5 }}|{{ -7 / 2 }}")
    S("arith/floor-division", "{{ 7 // 2 }}|{{ -7 // 2 }}|{{ 7 // -2 }}|{{ -7.5 // 2 }}|{{ 5.0 // 2 }}|{{ 3 // 2.0 }}|{{ -3 // 2.0 }}")
    S("arith/modulo", "{{ 7 % 3 }}|{{ -7 % 3 }}|{{ 7 % -3 }}|{{ 7.5 % 2 }}|{{ -3 % 2.5 }}")
    S("arith/power", "{{ 2 ** 10 }}|{{ 2 ** -1 }}|{{ 2 ** 0.5 }}|{{ 4 ** 0.5 }}")
    S("arith/power-left-associative", "{{ 2 ** 3 ** 2 }}|{{ 2 ** 0.5 ** 2 }}")
    S("arith/unary-minus-before-power", "{{ -2 ** 2 }}|{{ (-2) ** 2 }}|{{ -(2 ** 2) }}")
    S("arith/int-plus-float", "{{ 1 + 1.5 }}|{{ 1 + 2.0 }}|{{ 3 - 1.0 }}|{{ 2 * 1.5 }}")
    S("arith/precedence", "{{ 1 + 2 * 3 - 4 / 2 }}|{{ 10 / 4 * 2 }}|{{ (1 + 2) * 3 }}|{{ 2 * 3 % 4 }}")
    S("arith/string-times-int", "{{ 'ab' * 3 }}|{{ 3 * 'ab' }}|{{ 'a' * 0 }}!|{{ '-' * -1 }}!")
    S("arith/list-plus-list", "{{ [1] + [2, 3] }}|{{ [1] * 2 }}|{{ [] + [] }}")
    S("arith/string-plus-string", "{{ 'a' + 'b' }}")
    S("arith/tilde-concat", "{{ 1 ~ 2 ~ none ~ true ~ 1.0 ~ 'x' }}|{{ [1] ~ {'a': 1} }}")
    S("arith/unary", "{{ - 3 }}|{{ +3 }}|{{ -(-3) }}|{{ -1.5 }}")
    S("arith/bool-arithmetic", "{{ true + 1 }}|{{ true + true }}|{{ false * 5 }}")
    S("arith/percent-format", "{{ '%s-%d' % ('a', 3) }}|{{ '%.2f' % 3.14159 }}|{{ '%05.1f' % 2.25 }}|{{ '%d%%' % 50 }}|{{ '%r' % 'a' }}")
    S("arith/str-format-method", "{{ '{}-{}'.format(1, 2) }}|{{ '{0}{0}'.format('x') }}|{{ '{a}'.format(a=1) }}")
    S("arith/tilde-binds-tighter-than-plus", "{{ 'n=' ~ 2 * 3 }}|{{ 'a' ~ 'b' + 'c' }}|{{ -1 ** 2 }}|{{ 2 * -1 }}|{{ 3 - -1 }}")
    S("arith/error-tilde-then-plus", "{{ 'a' ~ 1 + 2 }}")
    S("arith/error-plus-then-tilde", "{{ 1 + 2 ~ 'a' }}")
    S("arith/error-str-plus-int", "{{ 'a' + 1 }}")
    S("arith/error-int-plus-str", "{{ 1 + 'a' }}")
    S("arith/error-list-plus-str", "{{ [1] + 'x' }}")
    S("arith/error-division-by-zero", "{{ 1 / 0 }}")
    S("arith/error-floor-division-by-zero", "{{ 5 // 0 }}")
    S("arith/error-modulo-by-zero", "{{ 5 % 0 }}")
    S("arith/error-negate-string", "{{ -'a' }}")
    S("arith/error-none-plus", "{{ none + 1 }}")

    # ---- comparisons, logic ----
    S("compare/equality-across-types", "{{ 1 == 1.0 }}|{{ true == 1 }}|{{ 0 == false }}|{{ '1' == 1 }}|{{ [1, 2] == [1, 2] }}|{{ (1, 2) == [1, 2] }}|{{ none == none }}")
    S("compare/dict-equality", "{{ {'a': 1, 'b': 2} == {'b': 2, 'a': 1} }}|{{ m == m2 }}",
      {"m": {"role": "user", "content": "x"}, "m2": {"content": "x", "role": "user"}})
    S("compare/ordering", "{{ 1 < 2 }}|{{ 2 <= 2 }}|{{ 'abc' < 'abd' }}|{{ 'B' < 'a' }}|{{ 'é' > 'z' }}|{{ [1, 2] < [1, 3] }}|{{ 1.5 > 1 }}")
    S("compare/chained", "{{ 1 < 2 < 3 }}|{{ 3 > 2 > 2 }}|{{ 1 < 3 > 2 }}|{{ 1 == 1 == 1 }}|{{ 1 != 2 != 1 }}")
    S("compare/error-int-vs-str", "{{ 1 < 'a' }}")
    S("compare/error-none-vs-int", "{{ none < 1 }}")
    S("logic/and-or-return-operands", "{{ 0 or 'x' }}|{{ 'a' and 'b' }}|{{ none and 1 }}|{{ '' or [] }}|{{ 0 and x }}|{{ [] or 0 or 'last' }}")
    S("logic/and-or-none", "{{ true and none }}|{{ false or none }}|{{ 1 and x }}!")
    S("logic/not", "{{ not none }}|{{ not 0 }}|{{ not 'a' }}|{{ not [] }}|{{ not {} }}|{{ not not 1 }}")
    S("logic/truthiness", "{% for v in [0, 1, 0.0, -1, '', ' ', '0', [], [0], {}, {'a': 0}, none, false, true] %}{{ 'T' if v else 'F' }}{% endfor %}")
    S("logic/in-string", "{{ 'ab' in 'xaby' }}|{{ '' in 'x' }}|{{ 'A' in 'abc' }}|{{ 'a' not in 'abc' }}")
    S("logic/in-list-dict", "{{ 1 in [1, 2] }}|{{ 1.0 in [1] }}|{{ 'a' in {'a': 1} }}|{{ 1 in {'a': 1} }}|{{ 'a' not in {'a': 1} }}|{{ 'content' in m }}|{{ 'tool_calls' in m }}", {"m": MSG})
    S("logic/not-in-precedence", "{{ not 'a' in 'b' }}|{{ not 'a' in 'a' }}")
    S("logic/error-int-in-string", "{{ 1 in 'abc' }}")
    S("logic/conditional-expression", "{{ 'yes' if 1 else 'no' }}|{{ 'yes' if 0 else 'no' }}|{{ 1 if true else 2 if false else 3 }}|{{ 1 if false else 2 if false else 3 }}")
    S("logic/conditional-without-else", "[{{ 'x' if false }}]|{{ ('x' if false) is defined }}|{{ ('x' if false) is none }}|{{ ('x' if false) ~ 'y' }}")
    S("logic/conditional-binds-loosest", "{{ 'a' ~ 'b' if false else 'c' }}|{{ 1 + 1 if true else 0 }}")

    # ---- undefined ----
    S("undefined/print", "[{{ x }}]")
    S("undefined/tests", "{{ x is defined }}|{{ x is undefined }}|{{ x is none }}|{{ x is string }}|{{ x is mapping }}|{{ x is iterable }}|{{ x is not defined }}")
    S("undefined/in-if", "{% if x %}y{% else %}n{% endif %}|{% if not x %}not{% endif %}")
    S("undefined/comparisons", "{{ x == none }}|{{ x == x }}|{{ x != 1 }}|{{ x == '' }}")
    S("undefined/concat", "[{{ x ~ 'a' }}]|[{{ x ~ x }}]")
    S("undefined/or-default", "{{ x or 'z' }}|{{ x | default('d') }}|{{ x | d('d') }}")
    S("undefined/length-is-zero", "{{ x | length }}|{{ x | count }}")
    S("undefined/iterate", "{% for i in x %}{{ i }}{% else %}empty{% endfor %}|{{ x | list }}|{{ x | join(',') }}!")
    S("undefined/filters-pass-through", "[{{ x | trim }}][{{ x | upper }}][{{ x | string }}][{{ x | first }}][{{ x | replace('a', 'b') }}]")
    S("undefined/items-empty", "{{ x | items | list }}")
    S("undefined/in-operator", "{{ 'a' in x }}")
    S("undefined/missing-dict-key", "[{{ m.foo }}][{{ m['foo'] }}]|{{ m.foo is defined }}|{{ m['foo'] is undefined }}", {"m": MSG})
    S("undefined/none-value-is-defined", "{{ m.n }}|{{ m.n is none }}|{{ m.n is defined }}", {"m": MSG})
    S("undefined/attribute-of-none", "[{{ m.n.x }}][{{ n['a'] }}]|{{ n.x is defined }}", {"m": MSG, "n": None})
    S("undefined/attribute-of-scalar-and-list", "[{{ l.foo }}][{{ l['a'] }}][{{ s.foo }}][{{ s['x'] }}][{{ i.foo }}]", {"l": [1, 2], "s": "abc", "i": 5})
    S("undefined/index-out-of-range", "[{{ l[10] }}][{{ l[-10] }}][{{ s[100] }}][{{ [][0] }}]", {"l": [1, 2], "s": "abc"})
    S("undefined/error-attribute-of-undefined", "{{ x.y }}")
    S("undefined/error-item-of-undefined", "{{ x['y'] }}")
    S("undefined/error-attribute-of-missing-key", "{{ m.foo.bar }}", {"m": MSG})
    S("undefined/error-item-of-out-of-range", "{{ [][0].role }}")
    S("undefined/error-defined-test-on-undefined-attribute", "{{ x.y is defined }}")
    S("undefined/error-default-on-undefined-attribute", "{{ x.y | default('z') }}")
    S("undefined/error-loop-outside-for", "{{ loop.index }}")
    S("undefined/guarded-attribute", "{{ x.y if x is defined else 'nd' }}|{{ 'b' if x is defined and x.y else 'c' }}|{{ 'x' if x }}{{ 'y' if not x }}")
    S("undefined/error-plus", "{{ x + 'a' }}")
    S("undefined/error-call", "{{ x() }}")
    S("undefined/error-int-filter", "{{ x | int }}")
    S("undefined/error-tojson", "{{ x | tojson }}")
    S("undefined/error-in-string", "{{ x in 'a' }}")
    S("undefined/error-first-message-of-empty", "{% if messages[0]['role'] == 'system' %}s{% endif %}", {"messages": []})
    S("undefined/missing-macro-argument", "{% macro m(a) %}[{{ a }}]{{ a is defined }}{% endmacro %}{{ m() }}")
    S("undefined/loop-variable-after-loop", "{% for i in [1, 2] %}{% endfor %}[{{ i }}]{{ loop is defined }}")

    # ---- attribute vs item access ----
    S("access/dot-and-subscript", "{{ m.content }}|{{ m['content'] }}|{{ m.role }}|{{ m[k] }}", {"m": MSG, "k": "role"})
    S("access/dot-prefers-dict-method", "{{ m.items is callable }}|{{ m['items'] }}|{{ m.keys is callable }}|{{ m['keys'] }}|{{ m.get is callable }}", {"m": MSG})
    S("access/subscript-prefers-key", "{{ m['items'] }}|{{ m['get'] is defined }}", {"m": {"items": "X"}})
    S("access/key-named-like-method", "{{ m.values is string }}|{{ m['values'] }}|{{ m.content }}", {"m": {"values": "v", "content": "c"}})
    S("access/list-dot-index", "{{ l.0 }}|{{ l.1 }}|{{ l[0] }}", {"l": ["a", "b"]})
    S("access/nested", "{{ d.a.b[1].c }}|{{ d['a']['b'][1]['c'] }}|{{ d.a['b'][-1].c }}", {"d": {"a": {"b": [{"c": 1}, {"c": 2}]}}})
    S("access/int-key", "{{ d[1] }}|{{ d['1'] }}", {"d": {"1": "str-key"}})
    S("access/length-attribute-is-undefined", "[{{ l.length }}][{{ s.length }}]|{{ l | length }}", {"l": [1], "s": "abc"})
    S("access/unsafe-dunder-is-undefined", "[{{ ''.__class__ }}][{{ m.__len__ }}]", {"m": MSG})
    S("access/error-unsafe-mutating-method", "{{ l.append(1) }}", {"l": [1]})
    S("access/error-unsafe-dict-update", "{{ m.update({'z': 1}) }}", {"m": MSG})
    S("access/error-unsafe-list-pop", "{{ l.pop() }}", {"l": [1]})

    # ---- indexing and slicing ----
    S("slice/list", "{{ l[0] }}|{{ l[-1] }}|{{ l[1:] }}|{{ l[:-1] }}|{{ l[::-1] }}|{{ l[::2] }}|{{ l[1:4:2] }}|{{ l[-2:] }}|{{ l[5:] }}|{{ l[-99:2] }}", {"l": [1, 2, 3, 4, 5]})
    S("slice/string", "{{ s[::-1] }}|{{ s[0] }}|{{ s[-1] }}|{{ s[2:5] }}|{{ s[:-1] }}|{{ s[1::-1] }}|{{ s[::3] }}", {"s": "Hello World"})
    S("slice/string-unicode", "{{ s[1] }}|{{ s[::-1] }}|{{ s[:2] }}|{{ s | length }}", {"s": "a😀é"})
    S("slice/messages-rest", "{% for m in messages[1:] %}{{ m.role }},{% endfor %}|{% for m in messages[::-1] %}{{ loop.index0 }}{{ m.role[0] }}{% endfor %}", {"messages": MSGS})
    S("slice/tojson-strip-last-char", "{{ (d | tojson)[:-1] }}", {"d": {"name": "f", "arguments": {"x": 1}}})

    # ---- string methods ----
    S("strmethod/strip", "[{{ '  a b  '.strip() }}][{{ 'xxaxx'.strip('x') }}][{{ '\\n\\na\\n'.strip('\\n') }}][{{ ' \\t\\n a \\r\\n'.strip() }}]")
    S("strmethod/lstrip-rstrip", "[{{ '  a '.lstrip() }}][{{ '  a '.rstrip() }}][{{ 'xya'.lstrip('yx') }}][{{ 'axy'.rstrip('xy') }}][{{ '\\n\\nx'.lstrip('\\n') }}]")
    S("strmethod/strip-unicode-whitespace", "{{ '\\u00a0x\\u3000'.strip() | length }}|{{ '\\u200bx'.strip() | length }}|{{ '\\u00a0x\\u3000' | trim | length }}")
    S("strmethod/split", "{{ 'a b  c'.split() }}|{{ 'a,b,,c'.split(',') }}|{{ 'a,b,c'.split(',', 1) }}|{{ 'a b c'.split(none, 1) }}|{{ 'a,b,c'.rsplit(',', 1) }}")
    S("strmethod/split-edge", "{{ 'a  b'.split(' ') }}|{{ ''.split() }}|{{ ''.split(',') }}|{{ ' a '.split() }}|{{ 'a\\tb\\nc'.split() }}|{{ 'a</think>b</think>c'.split('</think>') }}")
    S("strmethod/split-index", "{{ s.split('</think>')[0] }}|{{ s.split('</think>')[-1] }}|{{ s.split('<think>')[-1] }}", {"s": "<think>\nplan\n</think>\n\nanswer"})
    S("strmethod/startswith-endswith", "{{ s.startswith('He') }}|{{ s.startswith(('x', 'H')) }}|{{ s.endswith('ld') }}|{{ s.endswith(('a', 'b')) }}|{{ s.startswith('') }}|{{ s.startswith('o', 4) }}", {"s": "Hello World"})
    S("strmethod/case", "{{ s.upper() }}|{{ s.lower() }}|{{ 'hello wORLD it\\'s'.title() }}|{{ 'hELLO'.capitalize() }}|{{ s.swapcase() }}|{{ 'ß'.upper() }}|{{ 'ǅ'.lower() }}", {"s": "Hello World"})
    S("strmethod/replace", "{{ s.replace('l', 'L') }}|{{ s.replace('l', 'L', 1) }}|{{ '/think x'.replace('/think', '').rstrip() }}", {"s": "Hello"})
    S("strmethod/find-count-index", "{{ s.find('o') }}|{{ s.find('z') }}|{{ s.rfind('o') }}|{{ s.count('l') }}|{{ s.index('W') }}", {"s": "Hello World"})
    S("strmethod/join", "{{ ', '.join(['a', 'b']) }}|{{ 'x'.join('abc') }}|{{ ''.join([]) }}!")
    S("strmethod/misc", "{{ 'a\\nb'.splitlines() }}|{{ ' x'.isspace() }}|{{ '12'.isdigit() }}|{{ 'ab'.isalpha() }}|{{ 'x'.zfill(3) }}|{{ 'x'.center(5) }}!|{{ 'x'.ljust(3) }}!|{{ 'abc'.removeprefix('a') }}|{{ 'abc'.partition('b') }}")
    S("strmethod/error-join-non-strings", "{{ ', '.join([1, 2]) }}")

    # ---- dict methods ----
    S("dictmethod/items-keys-values", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}|{{ d.keys() | list }}|{{ d.values() | list }}", {"d": ORDERED})
    S("dictmethod/get", "{{ m.get('role') }}|{{ m.get('zz') }}|{{ m.get('zz', 'dflt') }}|{{ m.get('n', 'dflt') }}", {"m": MSG})
    S("dictmethod/iterate-keys", "{% for k in d %}{{ k }}{% endfor %}|{{ d | list }}|{{ d | first }}", {"d": ORDERED})
    S("dictmethod/copy", "{{ d.copy() }}", {"d": ORDERED})

    # ---- filters ----
    S("filter/tojson-default", "{{ o | tojson }}", {"o": OBJ})
    S("filter/tojson-indent-2", "{{ o | tojson(indent=2) }}", {"o": OBJ})
    S("filter/tojson-indent-4", "{{ o | tojson(indent=4) }}", {"o": OBJ})
    S("filter/tojson-indent-0-and-string", "{{ [1, [2]] | tojson(indent=0) }}|{{ {'a': [1]} | tojson(indent='\\t') }}")
    S("filter/tojson-empty-containers-indent", "{{ [] | tojson(indent=2) }}|{{ {} | tojson(indent=2) }}|{{ [[], {}] | tojson(indent=2) }}")
    S("filter/tojson-separators", "{{ o | tojson(separators=(',', ':')) }}", {"o": OBJ})
    S("filter/tojson-indent-with-separators", "{{ {'a': [1, 2]} | tojson(indent=2, separators=(',', ': ')) }}|{{ {'a': [1, 2]} | tojson(indent=2) }}")
    S("filter/tojson-sort-keys", "{{ o | tojson(sort_keys=true) }}|{{ d | tojson(sort_keys=true) }}|{{ d | tojson }}", {"o": OBJ, "d": ORDERED})
    S("filter/tojson-sort-keys-nested-indent", "{{ {'b': 1, 'a': {'d': 1, 'c': 2}} | tojson(sort_keys=true, indent=1) }}")
    S("filter/tojson-unicode-not-escaped", "{{ s | tojson }}", {"s": "é😀你好\u2028\u00a0\x7f"})
    S("filter/tojson-control-chars", "{{ s | tojson }}", {"s": "\n\r\t\b\f\x00\x1f\"\\/"})
    S("filter/tojson-ensure-ascii", "{{ s | tojson(ensure_ascii=true) }}", {"s": "é😀"})
    S("filter/tojson-no-html-escaping", "{{ '<b>&\\'' | tojson }}")
    S("filter/tojson-scalars", "{{ 1e20 | tojson }}|{{ 1e-05 | tojson }}|{{ 1.0 | tojson }}|{{ none | tojson }}|{{ true | tojson }}|{{ (1, 2) | tojson }}|{{ 0.1 | tojson }}|{{ -0.0 | tojson }}|{{ 1e16 | tojson }}|{{ (2 ** 64) | tojson }}")
    S("filter/error-tojson-binds-before-power", "{{ 2 ** 64 | tojson }}")
    S("filter/tojson-int-keys", "{{ {'a': 1, 2: 'b'} | tojson }}|{{ {2: 1, 1: 2} | tojson(sort_keys=true) }}")
    S("filter/tojson-string-argument", "{{ s | tojson }}", {"s": "{\"city\": \"Paris\"}"})
    S("filter/tojson-tool-schema", "{{ t | tojson }}", {"t": {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city.", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}})
    S("filter/tojson-precedence-over-times", "{{ 2 * 3 | tojson }}")
    S("filter/trim", "[{{ '  a  ' | trim }}][{{ 'xxaxx' | trim('x') }}][{{ ' \\n a\\t ' | trim }}][{{ 5 | trim }}]")
    S("filter/trim-on-list-uses-repr", "{{ parts | trim }}", {"parts": PARTS})
    S("filter/length-count", "{{ l | length }}|{{ l | count }}|{{ s | length }}|{{ d | length }}|{{ 'é😀' | length }}", {"l": NUMS, "s": "Hello", "d": ORDERED})
    S("filter/error-length-of-none", "{{ none | length }}")
    S("filter/error-length-of-int", "{{ 5 | length }}")
    S("filter/bool-to-lowercase-string", "{{ true | string | lower }}|{{ false | tojson }}|{{ b | string | lower }}|{{ 1.0 | int | string }}", {"b": True})
    S("filter/string", "{{ 12 | string }}|{{ none | string }}|{{ [1, 'a'] | string }}|{{ 1.0 | string }}|{{ true | string }}|{{ 3 | string | length }}|{{ [1, 2] | string | length }}")
    S("filter/list", "{{ 'ab' | list }}|{{ d | list }}|{{ (1, 2) | list }}|{{ range(2) | list }}", {"d": ORDERED})
    S("filter/first-last", "{{ l | first }}|{{ l | last }}|{{ 'abc' | first }}|{{ 'abc' | last }}|[{{ [] | first }}][{{ [] | last }}]", {"l": NUMS})
    S("filter/join", "{{ l | join }}|{{ l | join(', ') }}|{{ users | join(', ', attribute='name') }}|{{ ['a', none, 1, 1.0] | join('-') }}", {"l": NUMS, "users": USERS})
    S("filter/case", "{{ 'hello wORLD it\\'s' | title }}|{{ \"o'neil mc-d 3rd\" | title }}|{{ 'hELLO world' | capitalize }}|{{ 'aB' | upper }}|{{ 'aB' | lower }}|{{ 'ß' | upper }}")
    S("filter/title-vs-str-title", "{{ s | title }}|{{ s.title() }}", {"s": "o'neil mc-d 3rd x_y"})
    S("filter/replace", "{{ 'aaa' | replace('a', 'b') }}|{{ 'aaa' | replace('a', 'b', 2) }}|{{ 'a.b' | replace('.', '') }}")
    S("filter/default", "{{ x | default('d') }}|{{ none | default('d') }}|[{{ '' | default('d') }}]|{{ '' | default('d', true) }}|{{ none | default('d', boolean=true) }}|{{ 0 | d('z', true) }}|{{ false | d('z') }}|{{ [] | default('e', true) }}")
    S("filter/default-missing-key", "{{ m.foo | default('dflt') }}|{{ m.n | default('dflt') }}|{{ m.content | default('dflt') }}", {"m": MSG})
    S("filter/int", "{{ '42' | int }}|{{ '4.7' | int }}|{{ 4.7 | int }}|{{ -4.7 | int }}|{{ 'x' | int }}|{{ 'x' | int(7) }}|{{ '0x1A' | int(0, 16) }}|{{ '1_0' | int }}|{{ true | int }}|{{ ' 12 ' | int }}|{{ none | int }}")
    S("filter/float", "{{ '4.5' | float }}|{{ 3 | float }}|{{ 'x' | float }}|{{ '1e3' | float }}|{{ 'x' | float(1.5) }}")
    S("filter/abs", "{{ -3 | abs }}|{{ -3.5 | abs }}|{{ 3 | abs }}")
    S("filter/unary-minus-binds-before-filter", "{{ -3 | abs }}|{{ -l | length if false else 'ok' }}", {"l": [1]})
    S("filter/error-unary-minus-then-filter", "{{ - l | length }}", {"l": [1, 2]})
    S("filter/round", "{{ 2.5 | round }}|{{ 3.5 | round }}|{{ -2.5 | round }}|{{ 0.5 | round }}|{{ 1.5 | round }}|{{ 2.675 | round(2) }}|{{ 7 | round }}|{{ 1234 | round(-2) }}|{{ 1.25 | round(1) }}")
    S("filter/round-methods", "{{ 2.4 | round(0, 'ceil') }}|{{ 2.6 | round(method='floor') }}|{{ -2.5 | round(method='floor') }}|{{ 2.45 | round(1, 'ceil') }}|{{ 7 | round(method='ceil') }}")
    S("filter/reverse", "{{ l | reverse | list }}|{{ 'abc' | reverse }}|{{ (l | reverse | first) }}", {"l": NUMS})
    S("filter/sort", "{{ l | sort }}|{{ l | sort(reverse=true) }}|{{ ['b', 'a', 'B', 'A'] | sort }}|{{ ['b', 'a', 'B', 'A'] | sort(case_sensitive=true) }}", {"l": NUMS})
    S("filter/sort-attribute", "{{ users | sort(attribute='age') | map(attribute='name') | list }}|{{ users | sort(attribute='name') | map(attribute='name') | join(',') }}|{{ users | sort(attribute='age', reverse=true) | first }}", {"users": USERS})
    S("filter/error-sort-mixed", "{{ [1, 'a'] | sort }}")
    S("filter/map-attribute", "{{ users | map(attribute='name') | list }}|{{ users | map(attribute='admin', default='?') | list }}|{{ users | map(attribute='name') | join(',') }}", {"users": USERS})
    S("filter/map-filter", "{{ ['a', 'b'] | map('upper') | list }}|{{ l | map('string') | join('+') }}|{{ ['1', '2'] | map('int') | sum }}|{{ [' a ', 'b '] | map('trim') | list }}|{{ 'xy' | map('upper') | list }}", {"l": [1, 2]})
    S("filter/select-reject", "{{ l | select('odd') | list }}|{{ l | reject('odd') | list }}|{{ l | select('gt', 1) | list }}|{{ [0, 1, '', 'a', none, [], [0]] | select | list }}|{{ l | select('equalto', 3) | list }}|{{ l | select('in', [1, 2]) | list }}|{{ l | reject('==', 3) | list }}", {"l": NUMS})
    S("filter/selectattr-rejectattr", "{{ users | selectattr('admin') | map(attribute='name') | list }}|{{ users | rejectattr('admin') | map(attribute='name') | list }}|{{ users | selectattr('age', 'gt', 26) | map(attribute='name') | list }}|{{ users | selectattr('admin', 'defined') | list | length }}|{{ users | selectattr('name', 'equalto', 'Al') | first }}|{{ users | rejectattr('admin', 'undefined') | list | length }}", {"users": USERS})
    S("filter/selectattr-messages", "{{ messages | selectattr('role', 'equalto', 'user') | list | length }}|{{ messages | selectattr('role', '==', 'system') | map(attribute='content') | first }}|{{ messages | rejectattr('role', 'in', ['system']) | map(attribute='role') | join(',') }}", {"messages": MSGS})
    S("filter/unique", "{{ l | unique | list }}|{{ ['a', 'A', 'b'] | unique | list }}|{{ ['B', 'b', 'a'] | unique | list }}|{{ ['a', 'A'] | unique(case_sensitive=true) | list }}|{{ users | unique(attribute='admin') | map(attribute='name') | list }}", {"l": NUMS, "users": USERS})
    S("filter/min-max", "{{ l | min }}|{{ l | max }}|{{ ['a', 'B'] | min }}|{{ ['a', 'B'] | max }}|{{ ['a', 'B'] | min(case_sensitive=true) }}|{{ [3, 1.5] | max }}|[{{ [] | max }}]|{{ users | max(attribute='age') }}|{{ ORD | max }}", {"l": NUMS, "users": USERS, "ORD": ORDERED})
    S("filter/sum", "{{ l | sum }}|{{ users | sum(attribute='age') }}|{{ [] | sum }}|{{ l | sum(start=10) }}|{{ [0.1, 0.2] | sum }}|{{ [1, 2.0] | sum }}", {"l": NUMS, "users": USERS})
    S("filter/dictsort", "{{ d | dictsort }}|{{ d | dictsort(true) }}|{{ d | dictsort(by='value') }}|{{ d | dictsort(reverse=true) }}|{{ {'b': 1, 'A': 2, 'a': 3} | dictsort }}", {"d": ORDERED})
    S("filter/items", "{{ d | items | list }}|{% for k, v in d | items %}{{ k }}{{ v }}{% endfor %}", {"d": ORDERED})
    S("filter/error-items-of-none", "{{ none | items | list }}")
    S("filter/indent", "{{ 'a\\nb\\n\\nc' | indent }}|{{ 'a\\nb\\n\\nc' | indent(2, true) }}|{{ 'a\\nb\\n\\nc' | indent(2, first=true, blank=true) }}|{{ 'a\\nb\\n' | indent(2) }}|{{ 'a\\nb' | indent('> ') }}|{{ '' | indent(first=true) }}!")
    S("filter/safe-escape", "{{ '<b>' | safe }}|{{ '<b>&' }}|{{ '<b>\\'\"&' | escape }}|{{ '<b>' | e }}|{{ ('<b>' | e) ~ '<i>' }}")
    S("filter/wordcount", "{{ 'a b  c\\nd' | wordcount }}|{{ '' | wordcount }}|{{ 'it\\'s a-b' | wordcount }}")
    S("filter/batch-slice", "{{ [1, 2, 3, 4, 5] | batch(2) | list }}|{{ [1, 2, 3] | batch(2, 'x') | list }}|{{ [1, 2, 3, 4, 5] | slice(2) | list }}|{{ 'abc' | batch(2) | list }}")
    S("filter/center-truncate", "{{ 'ab' | center(6) }}!|{{ 'a' | center(4) }}!|{{ 'hello world foo bar' | truncate(11) }}|{{ 'hello world foo bar' | truncate(11, true) }}|{{ 'short' | truncate(11) }}")
    S("filter/format", "{{ '%s=%d' | format('a', 2) }}|{{ '%.1f' | format(2.25) }}|{{ '%(x)s' | format(x='k') }}")
    S("filter/attr", "{{ m | attr('role') }}|[{{ m | attr('missing') }}]|{{ 'Hello' | attr('upper') is callable }}", {"m": MSG})
    S("filter/chained", "{{ '  A,b ,C ' | trim | lower | replace(' ', '') }}|{{ users | map(attribute='name') | map('upper') | sort | join('/') }}", {"users": USERS})
    S("filter/precedence-with-tilde", "{{ ('a' ~ 'b') | upper }}|{{ 'a' ~ 'b' | upper }}|{{ 'ab' ~ l | length }}|{{ l | length + 1 }}|{{ 1 + l | length }}|{{ l[0] | string + 'z' }}", {"l": [1, 2]})
    S("filter/precedence-with-not", "{{ not l | length > 1 }}|{{ not l is defined }}|{{ l is defined and l | length > 1 }}", {"l": [1, 2]})
    S("filter/error-unknown-filter", "{{ [1, [2]] | flatten }}")
    S("filter/error-split-is-not-a-filter", "{{ 'a-b' | split('-') }}")
    S("filter/error-truncate-too-short", "{{ 'abc' | truncate(2) }}")

    # ---- tests ----
    S("test/types", "{{ 'a' is string }}|{{ 1 is number }}|{{ 1.0 is number }}|{{ true is number }}|{{ '1' is number }}|{{ 1 is integer }}|{{ 1.0 is integer }}|{{ true is integer }}|{{ 1 is float }}|{{ 1.0 is float }}|{{ true is float }}")
    S("test/boolean-none", "{{ true is boolean }}|{{ false is boolean }}|{{ 1 is boolean }}|{{ none is boolean }}|{{ none is none }}|{{ 0 is none }}|{{ none is undefined }}")
    S("test/true-false-are-identity", "{{ true is true }}|{{ 1 is true }}|{{ false is false }}|{{ 0 is false }}|{{ none is false }}|{{ '' is false }}")
    S("test/containers", "{{ {} is mapping }}|{{ [] is mapping }}|{{ [] is sequence }}|{{ 'a' is sequence }}|{{ {} is sequence }}|{{ 1 is sequence }}|{{ 'a' is iterable }}|{{ {} is iterable }}|{{ 1 is iterable }}|{{ none is iterable }}")
    S("test/content-shapes", "{{ s is string }}|{{ s is iterable }}|{{ s is mapping }}|{{ p is string }}|{{ p is iterable }}|{{ p is sequence }}|{{ p[0] is mapping }}", {"s": "text", "p": PARTS})
    S("test/numbers", "{{ 4 is even }}|{{ 3 is odd }}|{{ -1 is odd }}|{{ 0 is even }}|{{ 2.0 is even }}|{{ 9 is divisibleby 3 }}|{{ 9 is divisibleby(2) }}")
    S("test/error-divisibleby-zero", "{{ 10 is divisibleby 0 }}")
    S("test/comparison-tests", "{{ 1 is eq 1 }}|{{ 1 is equalto 1 }}|{{ 1 is eq(1) }}|{{ 1 is ne 2 }}|{{ 1 is lt 2 }}|{{ 1 is gt 2 }}|{{ 1 is le 1 }}|{{ 1 is ge 2 }}|{{ 1 is lessthan 2 }}|{{ 1 is greaterthan 2 }}")
    S("test/in", "{{ 1 is in [1] }}|{{ 'x' is in 'xy' }}|{{ 'k' is in {'k': 1} }}|{{ 2 is in [1] }}")
    S("test/lower-upper", "{{ 'ab' is lower }}|{{ 'AB' is upper }}|{{ 'aB' is lower }}|{{ 'a' is upper }}|{{ '1' is lower }}|{{ '' is lower }}|{{ 'A1' is upper }}")
    S("test/callable-sameas", "{{ raise_exception is callable }}|{{ 'x' is callable }}|{{ namespace is callable }}|{{ 4 is sameas 4 }}|{{ none is sameas none }}|{{ 1 is sameas 1.0 }}|{{ true is sameas true }}")
    S("test/filter-test-escaped", "{{ 'upper' is filter }}|{{ 'nope' is filter }}|{{ 'odd' is test }}|{{ 'a' is escaped }}")
    S("test/not", "{{ 3 is not odd }}|{{ not 3 is odd }}|{{ x is not defined }}|{{ none is not none }}")
    S("test/defined-globals", "{{ raise_exception is defined }}|{{ strftime_now is defined }}|{{ namespace is defined }}|{{ range is defined }}|{{ dict is defined }}|{{ lipsum is defined }}|{{ cycler is defined }}|{{ joiner is defined }}|{{ tools is defined }}|{{ tools is none }}|{{ bos_token is defined }}")
    S("test/error-chained-is", "{{ 3 is odd is true }}")
    S("test/error-operator-after-is", "{{ 1 is == 1 }}")
    S("test/error-unknown-test", "{{ 1 is prime }}")

    # ---- for loops ----
    S("for/loop-variables", "{% for i in l %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }}{{ loop.revindex0 }};{% endfor %}", {"l": ["a", "b", "c"]})
    S("for/previtem-nextitem-cycle", "{% for i in l %}[{{ loop.previtem }}|{{ loop.nextitem }}|{{ loop.cycle('x', 'y') }}|{{ loop.depth }}{{ loop.depth0 }}]{% endfor %}", {"l": ["a", "b", "c"]})
    S("for/previtem-defined", "{% for i in l %}{{ loop.previtem is defined }}{{ loop.nextitem is defined }};{% endfor %}", {"l": ["a", "b", "c"]})
    S("for/changed", "{% for i in [1, 1, 2, 2, 1] %}{{ loop.changed(i) }},{% endfor %}")
    S("for/else", "{% for i in [] %}x{% else %}empty{% endfor %}|{% for i in [1] %}{{ i }}{% else %}empty{% endfor %}")
    S("for/else-with-filtered-out", "{% for i in [1, 2] if i > 5 %}{{ i }}{% else %}none-matched{% endfor %}")
    S("for/inline-if", "{% for i in l if i != 'b' %}{{ i }}{{ loop.index }}{{ loop.last }}{{ loop.length }};{% endfor %}", {"l": ["a", "b", "c"]})
    S("for/inline-if-on-items", "{% for k, v in d.items() if k != 'return' %}{{ k }}{{ '' if loop.last else ',' }}{% endfor %}", {"d": {"name": "f", "return": "x", "parameters": {}}})
    S("for/unpacking", "{% for k, v in d.items() %}{{ k }}{{ v }}{% endfor %}|{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }}{% endfor %}|{% for a, b in ['xy'] %}{{ b }}{{ a }}{% endfor %}", {"d": ORDERED})
    S("for/error-unpack-too-many", "{% for a, b in [[1, 2, 3]] %}{{ a }}{% endfor %}")
    S("for/string", "{% for c in 'ab😀' %}{{ c }}.{% endfor %}")
    S("for/dict-iterates-keys", "{% for k in d %}{{ k }}{{ loop.index }}{% endfor %}", {"d": ORDERED})
    S("for/nested-loop-shadowing", "{% for i in l %}{% for j in [1, 2] %}{{ loop.index }}{{ i }}{% endfor %}{{ loop.index }};{% endfor %}", {"l": ["a", "b"]})
    S("for/outer-loop-via-set", "{% for i in l %}{% set outer = loop %}{% for j in [1, 2] %}{{ outer.index }}{{ loop.index }},{% endfor %}{% endfor %}", {"l": ["a", "b"]})
    S("for/set-inside-loop-does-not-leak", "{% set x = 1 %}{% for i in [1, 2, 3] %}{% set x = x + 1 %}{{ x }}{% endfor %}|{{ x }}")
    S("for/set-inside-loop-new-variable", "{% for i in [1, 2] %}{% set y = i * 10 %}{{ y }}{% endfor %}|[{{ y }}]")
    S("for/set-in-if-in-loop-does-not-leak", "{% for m in messages %}{% if m.role == 'system' %}{% set system = m.content %}{% endif %}{% endfor %}[{{ system }}]", {"messages": MSGS})
    S("for/set-in-loop-resets-each-iteration", "{% set system = 'none' %}{% for m in messages %}{% if m.role == 'system' %}{% set system = m.content %}{% endif %}[{{ system }}]{% endfor %}[{{ system }}]", {"messages": MSGS})
    S("for/read-then-set-in-loop", "{% set x = 1 %}{% for i in [1] %}[{{ x }}]{% set x = 2 %}[{{ x }}]{% endfor %}[{{ x }}]")
    S("for/set-in-if-in-loop-visible-in-iteration", "{% for i in [1] %}{% if true %}{% set z = 2 %}{% endif %}{{ z }}{% endfor %}[{{ z }}]")
    S("for/namespace-leaks", "{% set ns = namespace(x=1, found=false) %}{% for i in [1, 2, 3] %}{% set ns.x = ns.x + i %}{% if i == 2 %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.x }}|{{ ns.found }}")
    S("for/loop-var-shadows-outer", "{% set i = 'outer' %}{% for i in [1, 2] %}{{ i }}{% endfor %}|{{ i }}")
    S("for/reassign-loop-var-inside", "{% for t in l %}{% if t.function is defined %}{% set t = t.function %}{% endif %}{{ t.name }},{% endfor %}", {"l": [{"function": {"name": "a"}}, {"name": "b"}]})
    S("for/break-continue", "{% for i in l %}{% if i == 'b' %}{% continue %}{% endif %}{{ i }}{{ loop.last }};{% endfor %}|{% for i in l %}{% if i == 'b' %}{% break %}{% endif %}{{ i }}{% endfor %}", {"l": ["a", "b", "c"]})
    S("for/else-after-break-in-first-iteration", "{% for i in [1, 2] %}{{ i }}{% break %}{% else %}else{% endfor %}|done")
    S("for/else-after-break-in-later-iteration", "{% for i in [1, 2] %}{{ i }}{% if i == 2 %}{% break %}{% endif %}{% else %}else{% endfor %}|done")
    S("for/else-after-continue-every-iteration", "{% for i in [1, 2] %}{{ i }}{% continue %}{% else %}else{% endfor %}|done")
    S("for/else-after-continue-last-iteration", "{% for i in [1, 2] %}{{ i }}{% if i == 2 %}{% continue %}{% endif %}{% else %}else{% endfor %}|done")
    S("for/reverse-filter", "{% for m in messages | reverse %}{{ m.role }},{% endfor %}", {"messages": MSGS})
    S("for/range", "{{ range(3) | list }}|{{ range(1, 4) | list }}|{{ range(5, 0, -2) | list }}|{% for i in range(2) %}{{ i }}{% endfor %}|{{ range(0) | list }}")
    S("for/loop-index-arithmetic", "{% for m in messages %}{% if loop.index0 > 0 %}{{ messages[loop.index0 - 1].role }}>{% endif %}{{ m.role }}{% if not loop.last %}({{ messages[loop.index0 + 1].role }}){% endif %};{% endfor %}", {"messages": MSGS})
    S("for/alternation-check", "{% for m in messages %}{{ (m.role == 'user') != (loop.index0 % 2 == 0) }},{% endfor %}", {"messages": [{"role": "user"}, {"role": "assistant"}, {"role": "assistant"}]})
    S("for/error-loop-over-int", "{% for i in 5 %}{{ i }}{% endfor %}")
    S("for/error-loop-over-none", "{% for i in none %}{{ i }}{% endfor %}")
    S("for/loop-over-none-tool-calls-guarded", "{% for t in m.tool_calls | default([]) %}{{ t }}{% endfor %}done", {"m": {"role": "assistant"}})

    # ---- if / set / macros / namespace ----
    S("if/elif-else", "{% if 0 %}a{% elif '' %}b{% elif [0] %}c{% else %}d{% endif %}|{% if none %}a{% elif false %}b{% else %}e{% endif %}")
    S("if/set-inside-if-leaks", "{% if true %}{% set y = 5 %}{% endif %}{{ y }}")
    S("set/multiple-targets", "{% set a, b = 1, 2 %}{{ a }}{{ b }}|{% set c, d = [3, 4] %}{{ c }}{{ d }}")
    S("set/reassign-context-variable", "{% set messages = messages[1:] %}{{ messages | length }}:{{ messages[0].role }}", {"messages": MSGS})
    S("set/reassign-tools-when-undefined", "{% if not custom is defined %}{% set custom = none %}{% endif %}{{ custom is none }}")
    S("set/self-default", "{% set x = x | default('d') %}{{ x }}|{% set y = y | default('d') %}{{ y }}", {"y": "given"})
    S("set/block-into-namespace", "{% set ns = namespace(a=1) %}{% set ns.b %}blk{{ ns.a }}{% endset %}{{ ns.b }}")
    S("set/tuple-without-parens", "{% set a = 1, 2 %}{{ a }}|{{ [1, 2,] }}|{{ {'a': 1,} }}|{{ (1, 2,) }}")
    S("set/macro-locals-do-not-leak", "{% macro m() %}{% set q = 1 %}{% endmacro %}{{ m() }}[{{ q }}]")
    S("set/block", "{% set x %}inner {{ 1 + 1 }}{% endset %}[{{ x }}]{{ x | length }}")
    S("set/block-with-filter", "{% set x | upper %}abc{% endset %}{{ x }}")
    S("set/block-trim-blocks", "{% set x %}\n  line\n{% endset %}[{{ x }}]")
    S("set/then-print-same-tag-line", "{% set greeting = 'hi' %}{{ greeting }} there")
    S("with/scope", "{% with a = 1 %}{{ a }}{% endwith %}[{{ a }}]")
    S("macro/defaults-kwargs", "{% macro m(a, b='B', c=none) %}{{ a }}{{ b }}{{ c }}{% endmacro %}{{ m(1) }}|{{ m(1, 2) }}|{{ m(1, c=3) }}|{{ m(a=0) }}")
    S("macro/caller", "{% macro w(t) %}<{{ t }}>{{ caller() }}</{{ t }}>{% endmacro %}{% call w('p') %}body{% endcall %}")
    S("macro/caller-with-args", "{% macro w() %}{{ caller(5) }}|{{ caller('x') }}{% endmacro %}{% call(x) w() %}v={{ x }}{% endcall %}")
    S("macro/whitespace-kept", "{% macro m() %}  x  {% endmacro %}[{{ m() }}]")
    S("macro/recursion", "{% macro f(n) %}{{ n }}{% if n > 0 %},{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(3) }}")
    S("macro/sees-globals-not-caller-locals", "{% macro m() %}[{{ g }}][{{ local }}]{% endmacro %}{% for local in [1] %}{{ m() }}{% endfor %}", {"g": "global"})
    S("macro/returns-string", "{% macro m(x) %}{{ x }}{% endmacro %}{{ m(1) ~ m(2) }}|{{ (m(3) | int) + 1 }}|{{ m('  a  ') | trim }}")
    S("macro/error-too-many-args", "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, 2) }}")
    S("macro/error-unknown-kwarg", "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(b=1) }}")
    S("namespace/basic", "{% set ns = namespace() %}{% set ns.a = 'q' %}{{ ns.a }}|[{{ ns.missing }}]")
    S("namespace/init-forms", "{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }}|{% set n2 = namespace(x=[]) %}{{ n2.x }}")
    S("namespace/string-accumulate", "{% set ns = namespace(s='') %}{% for i in ['a', 'b', 'c'] %}{% set ns.s = ns.s ~ i ~ (',' if not loop.last else '') %}{% endfor %}{{ ns.s }}")
    S("namespace/last-query-index", "{% set ns = namespace(multi=true, idx=messages | length - 1) %}{% for m in messages[::-1] %}{% set index = (messages | length - 1) - loop.index0 %}{% if ns.multi and m.role == 'user' %}{% set ns.multi = false %}{% set ns.idx = index %}{% endif %}{% endfor %}{{ ns.idx }}", {"messages": MSGS + [{"role": "tool", "content": "r"}]})
    S("namespace/error-underscore-init", "{% set ns = namespace(_x=1) %}")
    S("namespace/error-underscore-assign", "{% set ns = namespace() %}{% set ns._x = 1 %}")
    S("namespace/error-assign-attribute-of-dict", "{% set d = {} %}{% set d.x = 1 %}")
    S("global/dict", "{{ dict(a=1, b=2) }}|{{ dict([['x', 1]]) }}|{{ dict() }}|{{ dict.fromkeys(['a'], 0) }}")
    S("global/raise-exception", "before{{ raise_exception('bad role: ' ~ 'x') }}")
    S("global/raise-exception-not-reached", "{% if false %}{{ raise_exception('no') }}{% endif %}ok")
    S("global/raise-exception-in-loop", "{% for m in messages %}{% if m.role not in ['user', 'assistant'] %}{{ raise_exception('Unknown role: ' + m.role) }}{% endif %}{{ m.role }}{% endfor %}", {"messages": [{"role": "user"}, {"role": "robot"}]})
    S("global/joiner-cycler", "{% set j = joiner(', ') %}{% for i in [1, 2, 3] %}{{ j() }}{{ i }}{% endfor %}|{% set c = cycler('a', 'b') %}{{ c.next() }}{{ c.next() }}{{ c.next() }}")
    S("global/strftime-now-length", "{{ strftime_now('%Y') | length }}")
    S("global/strftime-now-dynamic", "{{ strftime_now('%d %b %Y') }}", dynamic=True)
    S("global/date-string-guard", "{% if not date_string is defined %}{% set date_string = '26 Jul 2024' %}{% endif %}{{ date_string }}", {"date_string": "01 Jan 2025"})
    S("global/date-string-guard-default", "{% if not date_string is defined %}{% set date_string = '26 Jul 2024' %}{% endif %}{{ date_string }}")
    S("global/add-generation-prompt", "{% if add_generation_prompt %}<|assistant|>{% endif %}|{{ add_generation_prompt }}", {"add_generation_prompt": True})

    # ---- statements that are not there / syntax errors ----
    S("syntax/error-do-not-enabled", "{% do l.append(1) %}", {"l": []})
    S("syntax/error-unclosed-block", "{% if true %}x")
    S("syntax/error-unknown-tag", "{% foo %}")
    S("syntax/error-unclosed-expression", "{{ 1 + }}")
    S("syntax/error-endfor-mismatch", "{% for i in [1] %}{% endif %}")

    # ---- comments, raw, filter blocks ----
    S("comment/inline", "a{# c #}b|{#- c -#}|x {# multi\nline #} y")
    S("raw/basic", "{% raw %}{{ x }}{% if %}{# c #}{% endraw %}")
    S("raw/whitespace", "  {% raw %}  {{ x }}\n  {% endraw %}\nq|{% raw -%}  a  {%- endraw %}|")
    S("filter-block/upper", "{% filter upper %}abc{{ 'd' }}{% endfilter %}")

    # ---- whitespace control: trim_blocks + lstrip_blocks, every marker combination ----
    body = "A  \n  {o} if true {c}  \n  B  \n  {o} endif {c}  \n  C"
    body_nl = "A\n  {o} if true {c}\n  B\n  {o} endif {c}\nC"
    for o, on in (("{%", "plain"), ("{%-", "minus"), ("{%+", "plus")):
        for c, cn in (("%}", "plain"), ("-%}", "minus"), ("+%}", "plus")):
            S(f"ws/block-open-{on}-close-{cn}-spaces", body.replace("{o}", o).replace("{c}", c))
            S(f"ws/block-open-{on}-close-{cn}-newlines", body_nl.replace("{o}", o).replace("{c}", c))
    for o, on in (("{{", "plain"), ("{{-", "minus"), ("{{+", "plus")):
        for c, cn in (("}}", "plain"), ("-}}", "minus"), ("+}}", "plus")):
            S(f"ws/variable-open-{on}-close-{cn}", "A  \n  " + o + " 'x' " + c + "  \n  B")
    for o, on in (("{#", "plain"), ("{#-", "minus"), ("{#+", "plus")):
        for c, cn in (("#}", "plain"), ("-#}", "minus"), ("+#}", "plus")):
            S(f"ws/comment-open-{on}-close-{cn}-spaces", "A  \n  " + o + " c " + c + "  \n  B")
            S(f"ws/comment-open-{on}-close-{cn}-newline", "A  \n  " + o + " c " + c + "\n  B")
    S("ws/trim-blocks-newline-after-tag", "a\n{% if true %}\nb\n{% endif %}\nc")
    S("ws/lstrip-blocks-indented-tags", "a\n  {% if true %}\n  b\n  {% endif %}\nc")
    S("ws/lstrip-not-for-variables", "a\n  {{ 'x' }}\n  {% if true %}y{% endif %}  \nc")
    S("ws/lstrip-only-at-line-start", "a  {% if true %}b{% endif %}  \nc")
    S("ws/lstrip-tabs", "a\n\t {% if true %}b{% endif %}\nc")
    S("ws/trim-only-one-newline", "a{% if true %}\n\nb{% endif %}")
    S("ws/trim-blocks-not-after-variable", "{{ 'a' }}\n{{ 'b' }}\n")
    S("ws/trailing-newline-dropped", "a\n")
    S("ws/only-one-trailing-newline-dropped", "a\n\n")
    S("ws/crlf-normalized", "line1\r\n{% if true %}\r\nline2\r\n{% endif %}\r\nend")
    S("ws/crlf-in-data-kept", "{{ s }}", {"s": "a\r\nb\r"})
    S("ws/lone-cr-normalized", "a\rb{% if true %}\rc{% endif %}")
    S("ws/set-on-own-line", "x\n{% set a = 1 %}\n\ny")
    S("ws/set-mid-line", "x {% set a = 1 %}\ny")
    S("ws/for-loop-lines", "{% for i in [1, 2] %}\n  {{ i }}\n{% endfor %}\n")
    S("ws/for-loop-minus-variable", "{% for i in [1, 2] %}\n  {{- i }}\n{% endfor %}")
    S("ws/for-loop-minus-block", "{% for i in [1, 2] -%}\n  {{ i }}\n{%- endfor %}")
    S("ws/for-join-lines", "{%- for i in [1, 2] %}\n{{ i }}{% if not loop.last %},{% endif %}\n{% endfor -%}\nend")
    S("ws/minus-strips-all-whitespace", "{%- if true -%}\n\n a \n\n{%- endif -%}")
    S("ws/minus-inside-tokens", "<s>{{- ' x ' -}}</s>")
    S("ws/block-after-variable-on-line", "{{ '  ' }}{% if true %}\nz{% endif %}")
    S("ws/macro-definition-lines", "a\n    {% macro m() %}\n    body\n    {% endmacro %}\n{{ m() }}")
    S("ws/minus-before-newline-in-data", "x\n\n  {{- 'y' }}\n\n  z")
    S("ws/minus-after", "x  {{ 'y' -}}\n\n  z")
    S("ws/chatml-one-line-template", "{% for m in messages %}{{'<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}",
      {"messages": MSGS, "add_generation_prompt": True})
    S("ws/indented-template-with-minus", "{%- for m in messages %}\n    {%- if m.role == 'user' %}\n        {{- '[U]' + m.content }}\n    {%- else %}\n        {{- '[O]' + m.content }}\n    {%- endif %}\n{%- endfor %}\n", {"messages": MSGS})
    S("ws/indented-template-without-minus", "{% for m in messages %}\n    {% if m.role == 'user' %}\n        {{ m.content }}\n    {% endif %}\n{% endfor %}\n", {"messages": MSGS})

    # ---- generation blocks (AssistantTracker) ----
    S("generation/basic", "{% generation %}abc{% endgeneration %}")
    S("generation/unicode-offsets", "x{% generation %}é😀{{ 'y' }}{% endgeneration %}z{% generation %}{% endgeneration %}")
    S("generation/in-loop", "{% for m in ['a', 'bb'] %}<{% generation %}{{ m }}{% endgeneration %}>{% endfor %}")
    S("generation/nested", "{% generation %}{% generation %}in{% endgeneration %}out{% endgeneration %}")
    S("generation/whitespace-control", "{%- generation -%}\n  x  \n{%- endgeneration -%}")
    S("generation/trim-blocks", "A\n  {% generation %}\n  body\n  {% endgeneration %}\nB")
    S("generation/inside-set-block-offsets-wrong", "{% set x %}{% generation %}q{% endgeneration %}{% endset %}A{{ x }}")
    S("generation/inside-macro", "{% macro m() %}{% generation %}M{% endgeneration %}{% endmacro %}pre{{ m() }}{{ m() }}")
    S("generation/inside-macro-one-expression", "{% macro m() %}{% generation %}M{% endgeneration %}{% endmacro %}pre{{ m() ~ m() }}")
    S("generation/after-astral-chars", "é{% if true %}😀{% endif %}{% generation %}ab{% endgeneration %}")
    S("generation/chatml", "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' }}{% if m.role == 'assistant' %}{% generation %}{{ m.content + '<|im_end|>' }}{% endgeneration %}{% else %}{{ m.content + '<|im_end|>' }}{% endif %}{{ '\\n' }}{% endfor %}",
      {"messages": MSGS + [{"role": "user", "content": "again 😀"}, {"role": "assistant", "content": "ok ✓"}]})


def utf8_offsets(text, spans):
    return [[len(text[:s].encode("utf-8")), len(text[:e].encode("utf-8"))] for s, e in spans]


def render_snippet(case):
    context = json.loads(json.dumps({**BASE_CONTEXT, **case["context"]}))
    out = {"name": case["name"], "template": case["template"], "context": context}
    try:
        compiled = _compile_jinja_template(case["template"])
    except Exception as e:  # noqa: BLE001 - every failure is a fixture
        return {**out, "error": True, "error_class": type(e).__name__, "error_phase": "compile"}
    kwargs = dict(context)
    try:
        text, spans = _render_with_assistant_indices(
            compiled, kwargs.pop("messages"), kwargs.pop("tools"), kwargs.pop("documents"),
            kwargs.pop("add_generation_prompt"), **kwargs)
    except Exception as e:  # noqa: BLE001
        out.update({"error": True, "error_class": type(e).__name__, "error_phase": "render"})
        if type(e) is jinja2.exceptions.TemplateError:  # raise_exception: the message is the template's
            out["message"] = str(e)
        return out
    if case["dynamic"]:
        return {**out, "dynamic": True}
    if " at 0x" in text:
        sys.exit(f"snippet {case['name']} prints an object address: {text!r}")
    out["expected"] = text
    if GENERATION_TAG.search(case["template"]):
        out["generation"] = [list(s) for s in spans]
        out["generation_utf8"] = utf8_offsets(text, spans)
    return out


# --------------------------------------------------------------------------------------------
# Conversations
# --------------------------------------------------------------------------------------------

TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "City name, e.g. \"Paris\""},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"]}}},
    {"type": "function", "function": {
        "name": "add",
        "description": "Add two numbers.",
        "parameters": {"type": "object", "properties": {
            "a": {"type": "number", "description": "The first number"},
            "b": {"type": "number", "description": "The second number"}}, "required": ["a", "b"]},
        "return": {"type": "number", "description": "The sum"}}},
]

DATE = "15 Mar 2025"


def conversations():
    tc = lambda id_, name, args: {"id": id_, "type": "function", "function": {"name": name, "arguments": args}}  # noqa: E731
    return [
        {"name": "single_turn", "messages": [{"role": "user", "content": "Hello!"}]},
        {"name": "system_user", "messages": [
            {"role": "system", "content": "You are a concise assistant."},
            {"role": "user", "content": "What is 2+2?"}]},
        {"name": "multi_turn", "messages": [
            {"role": "system", "content": "You are a concise assistant."},
            {"role": "user", "content": "What is 2+2?"},
            {"role": "assistant", "content": "4"},
            {"role": "user", "content": "And times 3?"},
            {"role": "assistant", "content": "12"}]},
        {"name": "multi_turn_no_system", "messages": [
            {"role": "user", "content": "Name a colour."},
            {"role": "assistant", "content": "Blue."},
            {"role": "user", "content": "Another one?"}]},
        {"name": "tool_call", "tools": TOOLS, "messages": [
            {"role": "user", "content": "What's the weather in Paris?"},
            {"role": "assistant", "tool_calls": [tc("abc123def", "get_weather", {"city": "Paris", "unit": "celsius"})]},
            {"role": "tool", "tool_call_id": "abc123def", "name": "get_weather", "content": "{\"temperature\": 22.5, \"condition\": \"sunny\"}"},
            {"role": "assistant", "content": "It is 22.5 °C and sunny in Paris."}]},
        {"name": "parallel_tool_calls", "tools": TOOLS, "messages": [
            {"role": "system", "content": "You can call tools."},
            {"role": "user", "content": "Add 2 and 3.5, and tell me the weather in Zürich."},
            {"role": "assistant", "content": "", "tool_calls": [
                tc("call00001", "add", {"a": 2, "b": 3.5}),
                tc("call00002", "get_weather", {"city": "Zürich", "unit": None})]},
            {"role": "tool", "tool_call_id": "call00001", "name": "add", "content": "5.5"},
            {"role": "tool", "tool_call_id": "call00002", "name": "get_weather", "content": "{\"temperature\": -1.0, \"condition\": \"snow ❄\"}"},
            {"role": "assistant", "content": "2 + 3.5 = 5.5, and Zürich has snow at -1 °C."}]},
        {"name": "tool_call_string_arguments", "tools": TOOLS, "messages": [
            {"role": "user", "content": "Add 1 and 2."},
            {"role": "assistant", "content": "", "tool_calls": [tc("call_7f3a9b2c1d", "add", "{\"a\": 1, \"b\": 2}")]},
            {"role": "tool", "tool_call_id": "call_7f3a9b2c1d", "content": "3"},
            {"role": "assistant", "content": "1 + 2 = 3."}]},
        {"name": "content_parts", "messages": [
            {"role": "system", "content": [{"type": "text", "text": "You describe things."}]},
            {"role": "user", "content": [{"type": "text", "text": "Describe"}, {"type": "text", "text": " a cat."}]},
            {"role": "assistant", "content": [{"type": "text", "text": "A small furry animal."}]}]},
        {"name": "reasoning", "kwargs": {"enable_thinking": True}, "messages": [
            {"role": "user", "content": "What is 2+2?"},
            {"role": "assistant", "reasoning_content": "Two plus two.\nThat is 4.", "content": "4"},
            {"role": "user", "content": "Times 3?"},
            {"role": "assistant", "reasoning_content": "\n4 * 3 = 12\n", "content": "\n12"}]},
        {"name": "think_in_content", "messages": [
            {"role": "user", "content": "Greet me."},
            {"role": "assistant", "content": "<think>\nI should greet.\n</think>\n\nHello there!"},
            {"role": "user", "content": "Again."},
            {"role": "assistant", "content": "<think>\nAgain.\n</think>\n\nHi!"}]},
        {"name": "agent_multi_step", "tools": TOOLS, "kwargs": {"enable_thinking": True}, "messages": [
            {"role": "system", "content": "Use tools when needed."},
            {"role": "user", "content": "Weather in Oslo, then add 1 to the temperature."},
            {"role": "assistant", "reasoning_content": "Need the weather first.", "content": "",
             "tool_calls": [tc("step00001", "get_weather", {"city": "Oslo"})]},
            {"role": "tool", "tool_call_id": "step00001", "name": "get_weather", "content": "{\"temperature\": 3}"},
            {"role": "assistant", "reasoning_content": "Now add 1 to 3.", "content": "Adding.",
             "tool_calls": [tc("step00002", "add", {"a": 3, "b": 1})]},
            {"role": "tool", "tool_call_id": "step00002", "name": "add", "content": "4"},
            {"role": "assistant", "reasoning_content": "Done.", "content": "Oslo is 3 °C; plus one is 4."}]},
        {"name": "unicode_whitespace", "messages": [
            {"role": "system", "content": "  Système : réponds en français. 🤖  \n"},
            {"role": "user", "content": "Quotes: 'single' \"double\" `back` \\ backslash\nNew line\ttab — emoji 👩‍💻 CJK 你好 {{ not_a_tag }} {% raw %}"},
            {"role": "assistant", "content": "  Réponse avec espaces  \n\n"},
            {"role": "user", "content": "<|im_end|> literal control text & <b>html</b>\r\nCRLF"}]},
        {"name": "empty_content", "messages": [
            {"role": "user", "content": ""},
            {"role": "assistant", "content": "", "tool_calls": None},
            {"role": "user", "content": "?", "name": None}]},
        {"name": "no_thinking", "kwargs": {"enable_thinking": False}, "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello."},
            {"role": "user", "content": "Bye"}]},
        {"name": "system_only", "messages": [{"role": "system", "content": "Only a system prompt."}]},
        {"name": "bad_alternation", "messages": [
            {"role": "user", "content": "One."},
            {"role": "user", "content": "Two."}]},
    ]


# Per template: the special tokens apply_chat_template would merge in from the tokenizer
# (special_tokens_map), given explicitly here.
TEMPLATE_KWARGS = {
    "llama-3.1": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "llama-3.2": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "qwen2.5": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    "qwen3": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    "smollm2": {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>"},
    "smollm3": {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>"},
    "phi-3": {"bos_token": "<s>", "eos_token": "<|endoftext|>"},
    "gemma-2": {"bos_token": "<bos>", "eos_token": "<eos>"},
    "gemma-3": {"bos_token": "<bos>", "eos_token": "<eos>"},
    "olmo-2": {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>"},
    "mistral-v0.3": {"bos_token": "<s>", "eos_token": "</s>"},
    "deepseek-r1-distill": {"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"},
    "chatml-generation": {"eos_token": "<|im_end|>"},
}


def load_templates():
    out = {}
    for name in TEMPLATE_KWARGS:
        with open(os.path.join(TEMPLATES, name + ".jinja"), encoding="utf-8", newline="") as f:
            out[name] = f.read()
    return out


def render_all(templates, convs):
    cases = []
    for tname, template in templates.items():
        tracks = bool(GENERATION_TAG.search(template))
        for conv in convs:
            kwargs = {**TEMPLATE_KWARGS[tname], "date_string": DATE, **conv.get("kwargs", {})}
            for agp in (False, True):
                entry = {"template": tname, "conversation": conv["name"], "add_generation_prompt": agp, "kwargs": kwargs}
                messages = _normalize_chat_messages(json.loads(json.dumps(conv["messages"])))
                try:
                    rendered, spans = render_jinja_template(
                        conversations=[messages], tools=json.loads(json.dumps(conv.get("tools"))), documents=None,
                        chat_template=template, return_assistant_tokens_mask=tracks,
                        add_generation_prompt=agp, **json.loads(json.dumps(kwargs)))
                except Exception as e:  # noqa: BLE001
                    entry.update({"error": True, "error_class": type(e).__name__, "message": str(e)})
                    cases.append(entry)
                    continue
                text = rendered[0]
                # The same render from the recorded template_messages, as the Swift tests will do it.
                direct, direct_spans = _render_with_assistant_indices(
                    _compile_jinja_template(template), template_messages(conv), json.loads(json.dumps(conv.get("tools"))),
                    None, agp, **json.loads(json.dumps(kwargs)))
                if direct != text or (tracks and [list(x) for x in direct_spans] != [list(x) for x in spans[0]]):
                    sys.exit(f"{tname} x {conv['name']}: template_messages do not reproduce apply_chat_template's render")
                if " at 0x" in text:
                    sys.exit(f"{tname} x {conv['name']} prints an object address")
                entry["rendered"] = text
                if tracks:
                    entry["generation"] = [list(s) for s in spans[0]]
                    entry["generation_utf8"] = utf8_offsets(text, spans[0])
                cases.append(entry)
    return cases


def template_messages(conv):
    """What the template sees as `messages`: apply_chat_template's preprocessing, recorded so the
    engine can be tested without reimplementing it."""
    from transformers.utils.chat_template_utils import _alias_reasoning_fields, _plain_template_data
    messages = _normalize_chat_messages(json.loads(json.dumps(conv["messages"])))
    return _alias_reasoning_fields(_plain_template_data(messages))


def dump(obj):
    return json.dumps(obj, ensure_ascii=False, indent=1) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if any fixture file would change")
    args = parser.parse_args()

    snippets()
    names = [c["name"] for c in CASES]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        sys.exit(f"duplicate snippet names: {sorted(dupes)}")
    snippet_out = [render_snippet(c) for c in CASES]

    templates = load_templates()
    convs = conversations()
    conv_out = {
        "versions": {"jinja2": jinja2.__version__, "transformers": transformers.__version__},
        "date_string": DATE,
        "templates": {name: {"file": f"templates/{name}.jinja", "kwargs": TEMPLATE_KWARGS[name]} for name in templates},
        "conversations": [{**c, "template_messages": template_messages(c)} for c in convs],
    }
    rendered = {
        "versions": {"jinja2": jinja2.__version__, "transformers": transformers.__version__},
        "cases": render_all(templates, convs),
    }

    files = {
        "snippets.json": dump(snippet_out),
        "conversations.json": dump(conv_out),
        "rendered.json": dump(rendered),
    }
    changed = []
    for name, text in files.items():
        path = os.path.join(FIXTURES, name)
        old = open(path, encoding="utf-8").read() if os.path.exists(path) else None
        if old != text:
            changed.append(name)
            if not args.check:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
    errors = sum(1 for s in snippet_out if s.get("error"))
    rerrors = sum(1 for c in rendered["cases"] if c.get("error"))
    print(f"snippets: {len(snippet_out)} ({errors} errors, {sum(1 for s in snippet_out if s.get('dynamic'))} dynamic); "
          f"templates: {len(templates)}; conversations: {len(convs)}; "
          f"renders: {len(rendered['cases'])} ({rerrors} errors)")
    for name in files:
        print(f"  {name}: {len(files[name].encode('utf-8'))} bytes{' (changed)' if name in changed else ''}")
    if args.check and changed:
        sys.exit(f"fixtures out of date: {', '.join(changed)}")


if __name__ == "__main__":
    main()
