"""The cover letter written without a model: a structured letter from facts the uploaded CV states (its most
recent role, lines of its experience, the job's keywords it already covers), so it claims nothing the CV
does not. Used by cv.letters.services when no LLM is configured."""

from __future__ import annotations

import re

from cv.llm import offline, requirements
from cv.models import CVQuestionnaire
from cv.outputs.jsonresume import to_json_resume
from cv.scoring import matching
from cv.scoring.job import Job
from cv.text.cv_document import block_plain_text, parse

_OPENINGS = {
    "formal": ("Dear Hiring Manager,", "Yours sincerely,"),
    "warm": ("Dear Hiring Team,", "With warm regards,"),
    "direct": ("Hello,", "Best regards,"),
}


def _squash(text: str) -> str:
    return " ".join(matching.normalise(text).split()).casefold()


def _stated_in(source: str, text: str) -> bool:
    return bool(text.strip()) and _squash(text) in source


def _first_heading(markdown: str) -> str:
    return next((block_plain_text(b) for b in parse(markdown) if b.kind == "heading" and b.level == 1), "")


def _contact_line(resume: dict, source: str) -> str:
    basics = resume.get("basics", {})
    return " · ".join(part for part in (basics.get("email"), basics.get("phone")) if part and _stated_in(source, part))


def _sentence(line: str) -> str:
    line = line.strip().rstrip(" ;,")
    return line if line.endswith((".", "!", "?")) else f"{line}."


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def write_offline(*, questionnaire: CVQuestionnaire, cv_markdown: str, tone: str, words: int) -> str:
    """A letter from the CV's own facts. Every role, line and keyword in it is stated by the uploaded CV."""
    source = _squash(questionnaire.resume_text)
    resume = to_json_resume(cv_markdown)
    basics = resume.get("basics", {})
    name = basics.get("name") or _first_heading(cv_markdown)
    if not _stated_in(source, name):
        name = ""
    position = questionnaire.position.strip() or "the advertised"
    industry = questionnaire.industry.strip()
    report = matching.match_report(
        job_text=Job.of(questionnaire).text,
        cv_text=questionnaire.resume_text,
        improved_text=None,
        read=requirements.stored_for(questionnaire),
    )
    keywords = report["keywords"]["found"][:6]
    salutation, closing = _OPENINGS.get(tone, _OPENINGS["formal"])

    roles = [
        job
        for job in resume.get("work", [])
        if _stated_in(source, job.get("position", "")) and _stated_in(source, job.get("name", ""))
    ]
    candidates = [line for job in resume.get("work", []) for line in job.get("highlights", [])]
    # The uploaded CV's own experience lines, for a rewrite whose wording differs from it.
    _, sections = offline.split_sections(questionnaire.resume_text)
    candidates += [
        line.lstrip("-*• ").strip()
        for key, _, lines in sections
        if key == "experience"
        for line in lines
        if not re.search(r"\b(19|20)\d{2}\b", line)
    ]
    highlights: list[str] = []
    for line in candidates:
        if _stated_in(source, line) and 4 <= len(line.split()) <= 45 and _squash(line) not in map(_squash, highlights):
            highlights.append(line)
    # Lines with a measurable result, or naming the job's keywords, say the most to a recruiter.
    folded = [k.casefold() for k in keywords]
    highlights.sort(
        key=lambda line: (
            not matching.quantified_statements(line),
            not any(k in line.casefold() for k in folded),
        )
    )
    budget = 1 if words < 200 else 2 if words < 350 else 3
    chosen = highlights[:budget]

    for_whom = f" in {industry}" if industry else ""
    openers = {
        "formal": f"I am writing to apply for the {position} role{for_whom}.",
        "warm": f"I was delighted to see your opening for a {position}{for_whom}, and I would love to bring my "
        "experience to your team.",
        "direct": f"I am applying for your {position} role{for_whom}.",
    }
    paragraphs = [openers.get(tone, openers["formal"])]
    if roles:
        latest = roles[0]
        if latest.get("startDate") and not latest.get("endDate"):
            paragraphs[0] += f" I have been {latest['position']} at {latest['name']} since {latest['startDate'][:4]}."
        else:
            paragraphs[0] += f" Most recently I worked as {latest['position']} at {latest['name']}."
    if chosen:
        paragraphs.append("A few things I have done that matter for this role:")
    body_items = [f"- {_sentence(line)}" for line in chosen]
    closing_paragraphs = []
    if keywords:
        closing_paragraphs.append(
            f"My experience with {_join(keywords)} matches what this role asks for, and I would welcome the "
            "chance to show how I use it."
        )
    closing_paragraphs.append(
        {
            "formal": "Thank you for considering my application. I would be glad to discuss it at your convenience.",
            "warm": "Thank you for reading my application; I would be happy to talk about how I could help.",
            "direct": "I am available for an interview at short notice.",
        }.get(tone, "Thank you for considering my application.")
    )

    out: list[str] = []
    if name:
        out += [f"# {name}", ""]
        contact = _contact_line(resume, source)
        if contact:
            out += [contact, ""]
    out += [salutation, ""]
    out += [paragraphs[0], ""]
    if chosen:
        out += [paragraphs[1], "", *body_items, ""]
    for paragraph in closing_paragraphs:
        out += [paragraph, ""]
    out += [closing, ""]
    if name:
        out.append(name)
    return "\n".join(out).strip() + "\n"
