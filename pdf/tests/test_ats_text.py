"""What an applicant-tracking system reads back: every template's PDF, text-extracted with pypdf, gives back
the Markdown's headings and bullets in reading order, whole words, and no ligature glyphs."""

import io
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from cv.text.cv_document import parse
from pdf.rendering import LETTER_TEMPLATE, TEMPLATES, render_pdf

FIXTURES = Path(__file__).parent / "fixtures"
LIGATURES = "\ufb00\ufb01\ufb02\ufb03\ufb04\ufb05\ufb06"
# Words full of ligature pairs (ff, fi, fl, ffi, ffl) and long words at line ends, where hyphenation would split.
LIGATURE_CV = """# Fiona Ffoulkes

fiona@example.com · Sheffield, UK

## Profile

Efficient, affable office manager; fluent in offline and online workflows, officially certified in
first-aid, with difficult-to-fill shifts staffed efficiently, internationalisation, telecommunications,
responsibilities, characteristically straightforward, counterintuitively uncomplicated.

## Experience

### Office Manager — Waffle & Truffle Ltd, Sheffield

*2019 \u2013 present*

- Streamlined the affiliate workflow, cutting staff turnover by fifteen percent in five months.
- Fulfilled 1,500 fluffy-toy orders a week; defined the office's traffic-flow floor plan.
- Supervised a difficult, multidisciplinary reconfiguration of the financial infrastructure.

## Skills

- Microsoft Office, Excel, scheduling, officiating, bookkeeping
"""
CVS = {
    "jane": (FIXTURES / "jane_doe_improved.md").read_text(),
    "john": (FIXTURES / "john_smith_improved.md").read_text(),
    "ligatures": LIGATURE_CV,
}


def _squash(text: str) -> str:
    return " ".join(text.split()).casefold()


def extracted_text(markdown: str, template: str) -> str:
    rendered = render_pdf(markdown=markdown, template=template, title="CV")
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(rendered.content)).pages)


def expected_in_order(markdown: str) -> list[str]:
    """The headings, bullets and paragraphs of the Markdown, then each table cell, in reading order."""
    expected = []
    for block in parse(markdown):
        if block.kind == "table":
            expected += [cell for row in block.rows for cell in row if cell]
        elif block.kind != "rule":
            expected.append(block.text)
    return expected


@pytest.mark.parametrize("template", sorted(TEMPLATES))
@pytest.mark.parametrize("cv", sorted(CVS))
def test_extracted_text_gives_back_every_heading_and_bullet_in_reading_order(template, cv):
    markdown = CVS[cv]
    text = extracted_text(markdown, template)

    assert not set(text) & set(LIGATURES), "a ligature glyph reached the text layer"
    squashed = _squash(text)
    position = 0
    for item in expected_in_order(markdown):
        found = squashed.find(_squash(item), position)
        assert found >= 0, f"{item!r} is missing or out of order in the {template} PDF"
        position = found + len(_squash(item))
    # Bullets are text at the start of their own line, not glyphs collected after the page's text.
    bullets = [block.text for block in parse(markdown) if block.kind == "bullet"]
    bullet_lines = [line for line in text.splitlines() if line.startswith("\u2022")]
    assert len(bullet_lines) == len(bullets)
    for line, bullet in zip(bullet_lines, bullets, strict=True):
        first_line = _squash(line[1:])
        assert first_line, "a bullet glyph stands on a line of its own"
        assert _squash(bullet).startswith(first_line)


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_no_word_is_split_across_lines(template):
    text = extracted_text(LIGATURE_CV, template)

    words_in_pdf = set(re.findall(r"[a-z]+", text.casefold()))
    words_in_cv = set(re.findall(r"[a-z]+", LIGATURE_CV.casefold()))
    assert words_in_cv - words_in_pdf == set()
    assert not re.search(r"[a-z]-\n[a-z]", text), "a word was hyphenated at a line end"


LETTER = """# Fiona Ffoulkes

fiona@example.com · +44 114 496 0000

Dear Hiring Manager,

I am writing to apply for the Office Manager position. I have been Office Manager at Waffle & Truffle Ltd
since 2019, where efficiency, fluency with difficult workflows and affable service matter every day.

A few things I have done that matter for this role:

- Streamlined the affiliate workflow, cutting staff turnover by fifteen percent in five months.
- Fulfilled 1,500 fluffy-toy orders a week.

Yours sincerely,

Fiona Ffoulkes
"""


def test_the_letter_template_is_ats_readable_too():
    text = extracted_text(LETTER, LETTER_TEMPLATE.slug)

    assert not set(text) & set(LIGATURES)
    squashed = _squash(text)
    position = 0
    for item in expected_in_order(LETTER):
        found = squashed.find(_squash(item), position)
        assert found >= 0, f"{item!r} is missing or out of order in the letter PDF"
        position = found + len(_squash(item))
    assert set(re.findall(r"[a-z]+", LETTER.casefold())) <= set(re.findall(r"[a-z]+", text.casefold()))
    assert [line[:12] for line in text.splitlines() if line.startswith("\u2022")] == ["• Streamline", "• Fulfilled "]
