"""The offline analyser: what the person gets when no LLM is configured (no OPENAI_API_KEY).

It cannot rewrite prose, so it does what is safe and deterministic: re-lays the extracted CV into clean
Markdown sections (keeping every line the person wrote, adding nothing to their experience) and appends a
review of the CV against the job (missing keywords, missing sections, achievements without numbers). Because
it adds nothing, its answer is verified by construction (``cv.llm.verification``): the review names the job's
missing keywords, but only as advice after the separator, never as part of the CV.
"""

from __future__ import annotations

import re

from django.conf import settings

from cv.intake import limits
from cv.llm.client import AnalysisResult
from cv.scoring import matching
from cv.scoring.job import Job
from cv.scoring.vocabulary import TERMS

MODEL_NAME = "offline"
REVIEW_SEPARATOR = "\n\n---\n\n"
_MAX_QUANTIFY_HINTS = 5
_MAX_ECHOED_PROMPT = 500
_SECTION_TITLES = {
    "summary": "Summary",
    "experience": "Experience",
    "education": "Education",
    "skills": "Skills",
    "languages": "Languages",
    "certifications": "Certifications",
    "projects": "Projects",
}
_SECTION_ADVICE = {
    "contact": "No contact details were found: add an email address or phone number at the top.",
    "summary": (
        "There is no summary: add two or three lines at the top saying who you are, your years of "
        "experience and what you bring to this role{for_position}."
    ),
    "experience": 'No experience section was recognised: give it a clear heading such as "Experience".',
    "education": "No education section was recognised: add your degree or training, or a clear heading.",
    "skills": (
        "There is no skills section: list the tools and methods you really use, starting with the ones "
        "this job asks for."
    ),
    "quantified_achievements": (
        "Few results are measured: add numbers where you can (how much, how many, how fast, compared with what)."
    ),
}
_YEAR_RANGE = re.compile(r"\b(19|20)\d{2}\b")
_CATEGORY = {term.name: term.category for term in TERMS}
_CATEGORY_LABELS = {
    "language": "Programming languages",
    "framework": "Frameworks and libraries",
    "data": "Data and storage",
    "cloud": "Cloud",
    "devops": "Infrastructure and operations",
    "tool": "Tools",
    "method": "Methods and practices",
    "channel": "Channels",
    "domain": "Domains",
    "spoken language": "Spoken languages",
    "certification": "Certifications",
    "other terms": "Other terms",
}


_CONTINUED = re.compile(r"(,|&|\band|\bor|\bto|\bthe|\bof|\bwith)$")


def _unwrap(lines: list[str]) -> list[str]:
    """Join lines that a PDF wrapped in the middle of a sentence."""
    joined: list[str] = []
    for line in lines:
        line = line.strip()
        if not line:
            continue
        continues = joined and (
            line[:1].islower() or re.search(r"(,|&|\band|\bor|\bto|\bthe|\bof|\bwith)$", joined[-1])
        )
        # A joined line stays within the line bound (cv.intake.limits), so the re-laid CV can be exported and rendered.
        if continues and len(joined[-1]) + 1 + len(line) <= settings.CV_MAX_LINE_CHARS:
            joined[-1] = f"{joined[-1]} {line}"
        else:
            joined.append(line)
    return joined


def _by_category(keywords: list[str]) -> list[tuple[str, list[str]]]:
    groups: dict[str, list[str]] = {}
    for keyword in keywords:
        groups.setdefault(_CATEGORY.get(keyword, "other terms"), []).append(keyword)
    return list(groups.items())


def split_sections(cv_text: str) -> tuple[list[str], list[tuple[str | None, str, list[str]]]]:
    """Split a CV into its header lines and (section key, heading as written, lines) blocks."""
    header: list[str] = []
    sections: list[tuple[str | None, str, list[str]]] = []
    for line in matching.normalise(cv_text).splitlines():
        key = matching.section_of_heading(line)
        if key is not None:
            sections.append((key, line.strip().strip("#*: ").strip(), []))
        elif sections:
            sections[-1][2].append(line)
        else:
            header.append(line)
    # The header (name, contact line) is kept line by line: an email address starts in lower case.
    header = [line.strip() for line in header if line.strip()]
    return header, [(key, title, _unwrap(lines)) for key, title, lines in sections]


def section_title(key: str | None, title: str) -> str:
    """The heading a re-laid CV gives a section: the usual name of a known one, else its own in title case."""
    return _SECTION_TITLES.get(key or "", title.title())


def _relay_cv(cv_text: str) -> str:
    header, sections = split_sections(cv_text)
    out: list[str] = []
    if header:
        out.append(f"# {header[0]}")
        for line in header[1:]:
            # One paragraph per line: Markdown would otherwise run the contact lines together.
            out.extend(["", line])
    for key, title, lines in sections:
        out.extend(["", f"## {section_title(key, title)}", ""])
        if key == "summary":
            out.append(" ".join(lines))
            continue
        for line in lines:
            if key in {"experience", "projects"} and _YEAR_RANGE.search(line) and len(line) < 120:
                out.extend(["", f"### {line}", ""])
            else:
                out.append(f"- {line.lstrip('-*• ').strip()}")
    relaid = re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()
    try:
        limits.check_cv_text(relaid)
    except limits.CVTextOutOfBounds:
        # Markdown markers made a CV near the bounds exceed them: it is kept as the person wrote it, which
        # passed them at upload.
        return cv_text.strip()
    return relaid


def _unquantified_lines(cv_text: str) -> list[str]:
    _, sections = split_sections(cv_text)
    lines = []
    for key, _, section_lines in sections:
        if key != "experience":
            continue
        for line in section_lines:
            if _YEAR_RANGE.search(line) or len(line.split()) < 3:
                continue
            if not matching.quantified_statements(line):
                lines.append(line.lstrip("-*• ").strip())
    return lines


def analyse(*, job: Job, cv_text: str, prompt: str) -> AnalysisResult:
    position = job.position.strip()
    job_text = job.text
    report = matching.match_report(job_text=job_text, cv_text=cv_text, improved_text=None)
    found, missing = report["keywords"]["found"], report["keywords"]["missing"]
    sections = report["sections"]
    cv_markdown = _relay_cv(cv_text)

    review = [f"# Review against the job{': ' + position if position else ''}", ""]
    review.append(
        "> Produced by the offline analyser (no AI model was used): your CV above is re-laid as it is, "
        "and this review shows what to work on. Nothing was added to your experience, so the truthfulness "
        "check is verified by construction: every line of the CV above is one you wrote."
    )
    total = len(found) + len(missing)
    review += ["", f"**Match score:** {report['score_before']}/100"]
    if total:
        review[-1] += f", {len(found)} of {total} keywords of the job found in your CV."
    if missing:
        review += ["", "## Keywords of the job your CV does not mention", ""]
        review += [
            f"- **{_CATEGORY_LABELS.get(cat, cat)}:** {', '.join(words)}" for cat, words in _by_category(missing)
        ]
        review += [
            "",
            "Where you have real experience with one of these, name it and say where and what you did with it. "
            "Where you do not, leave it out: a recruiter will ask.",
        ]
    if found:
        review += ["", "## Keywords already covered", "", ", ".join(found)]
    for_position = f" as {position}" if position else ""
    gaps = [_SECTION_ADVICE[key].format(for_position=for_position) for key, ok in sections.items() if not ok]
    review += ["", "## Sections", ""]
    review += [f"- {gap}" for gap in gaps] or ["- Contact, summary, experience, education and skills are all there."]
    unquantified = _unquantified_lines(cv_text)
    if unquantified:
        review += [
            "",
            "## Make these achievements measurable",
            "",
            "These lines state no result. Where you know one, add it: how much, how many, how fast, compared "
            "with what.",
            "",
        ]
        review += [f"- {line}" for line in unquantified[:_MAX_QUANTIFY_HINTS]]
    request = " ".join((prompt or "").split())
    if request:
        echoed = request[:_MAX_ECHOED_PROMPT] + ("..." if len(request) > _MAX_ECHOED_PROMPT else "")
        review += [
            "",
            "## Your request",
            "",
            f"> {echoed}",
            "",
            "The offline analyser cannot rewrite text on request; an AI model configured on the server can.",
        ]

    changes = ["Re-laid the CV as Markdown sections without changing its wording."]
    if total:
        changes.append(f"Checked the CV against the job: {len(found)} of {total} keywords found.")
    if missing:
        shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        changes.append(f"Listed {len(missing)} keywords of the job the CV does not mention ({shown}).")
    changes += [f"Section check: {gap}" for gap in gaps]
    if unquantified:
        changes.append(f"Pointed out {min(len(unquantified), _MAX_QUANTIFY_HINTS)} achievements without numbers.")

    markdown = (cv_markdown + REVIEW_SEPARATOR if cv_markdown else "") + "\n".join(review).strip() + "\n"
    return AnalysisResult(
        improved_cv_markdown=markdown,
        changes=changes,
        model=MODEL_NAME,
        prompt_tokens=None,
        completion_tokens=None,
        # The review names the missing keywords; scoring it would count them as "added".
        scoring_text=cv_markdown,
    )


def cv_part(*, model: str, improved_cv: str) -> str:
    """The CV itself out of a stored answer, for the PDF an employer will read: this analyser appends its
    review of the CV after a separator, and that review is for the applicant only."""
    if model == MODEL_NAME:
        return improved_cv.split(REVIEW_SEPARATOR, 1)[0]
    return improved_cv
