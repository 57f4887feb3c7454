"""Text that every store and file format of the service can hold.

PostgreSQL refuses NUL in ``text`` and ``\\u0000`` or an unpaired surrogate in ``jsonb``; XML 1.0 (Word
exports, the PDF's HTML) refuses every C0 control but tab, line feed and carriage return, lone surrogates and
U+FFFE/U+FFFF; UTF-8 cannot encode a surrogate at all. Text is cleaned once where it comes in (the CV's
extracted text, the questionnaire's fields, the model's answer, a webhook body), so nothing further on has to
think about it.
"""

from __future__ import annotations

import re
from typing import Any

# Exactly the code points below U+10000 that XML 1.0's Char production leaves out: it allows
# #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD]. Python strings hold a surrogate only unpaired (a pair
# decodes to one code point), so the whole surrogate block goes.
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean_text(text: str) -> str:
    """``text`` without the characters PostgreSQL text/jsonb or XML cannot hold. One pass, linear in the
    length; text that holds none of them is returned as it is."""
    if _UNSTORABLE.search(text) is None:
        return text
    return _UNSTORABLE.sub("", text)


def clean_data(value: Any) -> Any:
    """A copy of ``value`` (parsed JSON: dicts, lists, strings, numbers) with every string, keys included,
    cleaned. Iterative, so any depth the JSON parser accepted is cleaned too; each node is visited once."""
    root = [value]
    todo: list[tuple[Any, Any]] = [(root, 0)]
    while todo:
        container, key = todo.pop()
        item = container[key]
        if isinstance(item, str):
            container[key] = clean_text(item)
        elif isinstance(item, dict):
            copy = {clean_text(k) if isinstance(k, str) else k: v for k, v in item.items()}
            container[key] = copy
            todo.extend((copy, k) for k in copy)
        elif isinstance(item, list):
            items = list(item)
            container[key] = items
            todo.extend((items, index) for index in range(len(items)))
    return root[0]
