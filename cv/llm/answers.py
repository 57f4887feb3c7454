"""What a model wrote, read: reasoning blocks dropped, then the improved CV and its changes found in the
requested JSON (bare, in a code fence or in prose) or, failing that, a CV in plain Markdown with the chatter
around it removed. An answer that is neither is an LLMPermanentError. Nothing here talks to a server.
"""

from __future__ import annotations

import json
import re
from typing import Any

from cv.intake import limits
from cv.llm.errors import LLMPermanentError

_FENCED = re.compile(r"```[ \t]*([\w-]*)[ \t]*\n(.*?)```", re.DOTALL)
MAX_CHANGES = 30  # an answer's list of changes is cut at this length
_MAX_JSON_STARTS = 50

_REASONING_TAGS = "think|thinking|reasoning|reflection|thought"
_REASONING_BLOCK = re.compile(rf"<({_REASONING_TAGS})\b[^>]*>.*?</\1\s*>", re.DOTALL | re.IGNORECASE)
_REASONING_OPEN = re.compile(rf"^\s*<({_REASONING_TAGS})\b[^>]*>", re.IGNORECASE)
_REASONING_CLOSE = re.compile(rf"</({_REASONING_TAGS})\s*>", re.IGNORECASE)
# gpt-oss served without its chat template parser: the final answer follows this marker.
_HARMONY_FINAL = "<|channel|>final<|message|>"

_HEADING = re.compile(r"^(#{1,6}\s+\S.*|\*\*[^*]{2,60}\*\*:?|__[^_]{2,60}__:?)$")
_BULLET = re.compile(r"^([-*+•]|\d{1,2}[.)])\s+\S")
_SECTION_WORD = re.compile(
    r"\b(summary|profile|about me|objective|experience|employment|work history|career|education|"
    r"qualifications|skills|competencies|expertise|projects|certifications?|licen[cs]es|languages|"
    r"achievements|publications|training|volunteering|references|interests)\b",
    re.IGNORECASE,
)
_PREAMBLE = re.compile(
    r"^(here|sure|certainly|of course|absolutely|below|okay|ok|great|i have|i've|i rewrote|this is)\b", re.IGNORECASE
)
_SIGN_OFF = re.compile(
    r"^(let me know|i hope|hope this|feel free|would you like|if you('d| would)? like|if you want|"
    r"good luck|note:|please note)",
    re.IGNORECASE,
)


def strip_reasoning(content: str) -> str:
    """The answer without the model's reasoning: <think>…</think> and similar blocks, a reasoning block
    left open at the start (the model stopped while thinking), or reasoning whose opening tag the chat
    template already sent (text up to a lone closing tag)."""
    text = content or ""
    if _HARMONY_FINAL in text:
        text = text.rsplit(_HARMONY_FINAL, 1)[1]
    text = _REASONING_BLOCK.sub("", text)
    if _REASONING_OPEN.match(text):
        return ""
    close = _REASONING_CLOSE.search(text)
    if close:
        text = text[close.end() :]
    return text.strip()


def parse_answer(content: str) -> tuple[str, list[str]]:
    """The improved CV and changes in a model's answer (see read_cv_answer)."""
    improved, changes, _ = read_cv_answer(content)
    return improved, changes


def read_cv_answer(content: str) -> tuple[str, list[str], bool]:
    """Read (improved CV, changes, was JSON) from a model's answer.

    The JSON object may be bare, in a code fence or in prose. An answer with no such object that is a CV
    in Markdown is the improved CV itself, with no list of changes. Anything else, or an improved CV past the
    bounds of a CV (cv.intake.limits), is LLMPermanentError.
    """
    text = strip_reasoning(content)
    if not text:
        raise LLMPermanentError("The AI service returned an empty answer.", code="empty_answer")
    data = find_json_object(text, accept=lambda parsed: any(key in parsed for key in _CV_KEYS))
    if data is None:
        markdown = _markdown_cv(text)
        if markdown is not None:
            check_answer(markdown)
            return markdown, [], False
        if find_json_object(text, accept=lambda parsed: True) is not None:
            raise LLMPermanentError("The AI service's answer did not contain an improved CV.", code="bad_answer")
        raise LLMPermanentError(
            "The AI service's answer could not be used: it was neither the requested JSON nor a CV.",
            code="bad_answer",
        )
    improved = next((data[key] for key in _CV_KEYS if isinstance(data.get(key), str) and data[key].strip()), None)
    if improved is None:
        raise LLMPermanentError("The AI service's answer did not contain an improved CV.", code="bad_answer")
    raw_changes = data.get("changes")
    if isinstance(raw_changes, str):
        raw_changes = [raw_changes]
    if not isinstance(raw_changes, list):
        raw_changes = []
    changes = [str(c).strip() for c in raw_changes if isinstance(c, str | int | float) and str(c).strip()]
    improved = strip_reasoning(improved)
    check_answer(improved)
    return improved, changes[:MAX_CHANGES], True


_CV_KEYS = ("improved_cv", "improved_cv_markdown", "cv")


def find_json_object(text: str, *, accept) -> dict[str, Any] | None:
    """The first JSON object in ``text`` (whole, in a code fence, or starting at any "{") that ``accept``s."""
    # strict=False: models often put raw newlines inside JSON strings.
    decoder = json.JSONDecoder(strict=False)
    candidates = [text, *(match.group(2).strip() for match in _FENCED.finditer(text))]
    for candidate in candidates:
        try:
            parsed = decoder.decode(candidate)
        except ValueError:
            continue
        if isinstance(parsed, dict) and accept(parsed):
            return parsed
    start = text.find("{")
    for _ in range(_MAX_JSON_STARTS):
        if start < 0:
            break
        try:
            parsed, _end = decoder.raw_decode(text, start)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and accept(parsed):
            return parsed
        start = text.find("{", start + 1)
    return None


def _markdown_cv(text: str) -> str | None:
    """The CV in an answer that is Markdown (or plain text) rather than JSON, without chatter around it;
    None if it does not read as a CV."""
    for match in _FENCED.finditer(text):
        if match.group(1).lower() in ("", "markdown", "md", "text") and _looks_like_cv(match.group(2)):
            return match.group(2).strip()
    if text.lstrip().startswith(("{", "[")):
        # Broken JSON is not a CV, even when its strings hold one.
        return None
    paragraphs = re.split(r"\n\s*\n", text.strip())
    if len(paragraphs) > 1 and len(paragraphs[0]) <= 300 and _PREAMBLE.match(paragraphs[0].strip()):
        paragraphs = paragraphs[1:]
    while len(paragraphs) > 1 and len(paragraphs[-1]) <= 400 and _SIGN_OFF.match(paragraphs[-1].strip()):
        paragraphs = paragraphs[:-1]
    while paragraphs and paragraphs[-1].strip() in ("---", "***", "___"):
        paragraphs = paragraphs[:-1]
    markdown = "\n\n".join(paragraphs).strip()
    return markdown if _looks_like_cv(markdown) else None


def _looks_like_cv(text: str) -> bool:
    """At least two CV sections under headings (Markdown, bold, or short title lines), or one with bullets."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if len(text or "") < 80 or len(lines) < 3:
        return False
    sections: set[str] = set()
    headings = 0
    for line in lines:
        is_heading = bool(_HEADING.match(line)) or (len(line) <= 40 and (line.isupper() or line.endswith(":")))
        bare = line.strip("#*_: ").strip()
        word = _SECTION_WORD.search(bare)
        if not is_heading and word and len(bare) <= 40 and word.group(0).lower() == bare.lower():
            is_heading = True
        if is_heading:
            headings += 1
            if word:
                sections.add(word.group(1).lower())
    bullets = sum(1 for line in lines if _BULLET.match(line))
    return len(sections) >= 2 or (len(sections) == 1 and headings >= 2 and bullets >= 2)


def check_answer(text: str, *, subject: str = "the AI's answer", max_chars: int | None = None) -> None:
    """``check_cv_text`` for what a model wrote: past a bound, the answer cannot be used (LLMPermanentError, the
    unit given back: the person did not cause it). Its code is the bound's, with ``answer_`` for ``cv_``."""
    try:
        limits.check_cv_text(text, subject=subject, max_chars=max_chars)
    except limits.CVTextOutOfBounds as exc:
        raise LLMPermanentError(
            f"The AI service's answer could not be used: {exc.detail} It does not count towards your quota.",
            code="answer_" + exc.code.removeprefix("cv_"),
        ) from exc
