"""core.text: what every store and file format of the service can hold."""

import json

from core.text import clean_data, clean_text

# Every code point below U+10000 that XML 1.0 leaves out, and so PostgreSQL's NUL and jsonb's lone surrogates.
UNSTORABLE = [chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0xD800, 0xE000)]]
UNSTORABLE += ["\ufffe", "\uffff"]


def test_every_unstorable_character_is_removed_and_nothing_else():
    kept = "Jane\tDoe\r\n· café \u2013 😀 \x7f \u0085 \ufffd \U0001fffe"

    assert clean_text("".join(UNSTORABLE) + kept + "".join(UNSTORABLE)) == kept


def test_text_that_holds_none_is_returned_as_it_is():
    text = "Senior Backend Engineer\n\n- Python, Django"

    assert clean_text(text) is text


def test_parsed_json_is_cleaned_in_keys_and_values_at_any_depth():
    parsed = json.loads('{"a\\u0000": ["x\\u0001", {"k": "\\ud800v"}], "n": 1, "b": null, "t": true}')
    deep = json.loads("[" * 900 + '"\\u0000x"' + "]" * 900)

    assert clean_data(parsed) == {"a": ["x", {"k": "v"}], "n": 1, "b": None, "t": True}
    inner = clean_data(deep)
    for _ in range(900):
        inner = inner[0]
    assert inner == "x"


def test_a_long_text_full_of_control_characters_is_cleaned_whole():
    assert clean_text("a\x00" * 500_000) == "a" * 500_000
