"""How well the match report reads jobs outside tech and marketing, against labelled job/CV pairs.

Each field has a job description, a CV and the terms a recruiter would call present in the CV or missing
from it (``<field>_labels.json``; "a|b" lists other names of one term). A keyword the report puts in
``found`` is right when it names a "present" term, one in ``missing`` when it names a "missing" term.
Precision: right keywords / keywords reported; recall: labelled terms reported on their side / labelled terms.

The six development fields were written with the field vocabulary; the two held-out fields were written
after it, and no vocabulary entry was added for them.
"""

import json
import time
from pathlib import Path

import pytest

from cv.scoring.job_reader import job_keywords
from cv.scoring.keywords import Keyword
from cv.scoring.matching import match_report
from cv.scoring.term_index import TermIndex
from cv.scoring.words import STOPWORDS, stem

FIELDS = Path(__file__).parent / "fixtures" / "fields"
DEVELOPMENT = ("health_care", "finance", "education", "skilled_trades", "hospitality", "law")
HELD_OUT = ("logistics", "social_care")


def _name(text: str) -> tuple[str, ...]:
    words = text.replace("-", " ").replace("/", " / ").replace("'", "").split()
    return tuple(stem(w) for w in words if w.lower() not in STOPWORDS)


def _names(label: str) -> set[tuple[str, ...]]:
    return {_name(alternative) for alternative in label.split("|")}


def _is(keyword: Keyword, label: str) -> bool:
    return bool({_name(n) for n in (keyword.term, *keyword.aliases)} & _names(label))


def _score(field: str) -> dict[str, int]:
    labels = json.loads((FIELDS / f"{field}_labels.json").read_text())
    job = job_keywords((FIELDS / f"{field}_job.txt").read_text())
    cv = TermIndex((FIELDS / f"{field}_cv.txt").read_text())
    sides = {"present": [k for k in job if cv.covers(k)], "missing": [k for k in job if not cv.covers(k)]}
    counts = {"reported": 0, "right": 0, "labelled": 0, "recalled": 0}
    for side, reported in sides.items():
        counts["reported"] += len(reported)
        counts["right"] += sum(any(_is(k, label) for label in labels[side]) for k in reported)
        counts["labelled"] += len(labels[side])
        counts["recalled"] += sum(any(_is(k, label) for k in reported) for label in labels[side])
    return counts


def _table(fields: tuple[str, ...]) -> tuple[str, dict[str, float]]:
    rows = ["| field | keywords | labelled terms | precision | recall |", "| --- | --- | --- | --- | --- |"]
    pooled = {"reported": 0, "right": 0, "labelled": 0, "recalled": 0}
    figures = {}
    for field in fields:
        counts = _score(field)
        for key in pooled:
            pooled[key] += counts[key]
        precision, recall = counts["right"] / counts["reported"], counts["recalled"] / counts["labelled"]
        figures[field] = recall
        name = field.replace("_", " ")
        rows.append(f"| {name} | {counts['reported']} | {counts['labelled']} | {precision:.2f} | {recall:.2f} |")
    figures["precision"] = pooled["right"] / pooled["reported"]
    figures["recall"] = pooled["recalled"] / pooled["labelled"]
    rows.append(
        f"| **pooled** | {pooled['reported']} | {pooled['labelled']} | {figures['precision']:.2f} "
        f"| {figures['recall']:.2f} |"
    )
    return "\n".join(rows), figures


def test_every_field_reaches_the_aim():
    table, figures = _table(DEVELOPMENT)
    print("\n" + table)

    assert {field: figures[field] for field in DEVELOPMENT if figures[field] < 0.8} == {}
    assert figures["precision"] >= 0.9
    assert figures["recall"] >= 0.9


def test_held_out_fields_keep_precision():
    table, figures = _table(HELD_OUT)
    print("\n" + table)

    # Without a vocabulary of their own, recall is lower; what is reported must still be mostly right. Reading
    # noun phrases with the parser raised recall here from 0.53 to 0.59 and cost precision (0.89 to 0.79):
    # an everyday noun in a list ("absence", "checks") is not always a term.
    assert figures["recall"] >= 0.55
    assert figures["precision"] >= 0.75


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Improve our CI/CD; modern C++ a plus.", ["CI/CD", "C++"]),
        ("Own the P&L and the FP&A calendar; support M&A.", ["P&L", "FP&A", "M&A"]),
        ("HACCP records and BLS/ACLS certification.", ["HACCP records", "BLS", "ACLS"]),
        ("Expected credit losses under IFRS 9; wiring to BS 7671; a 5S programme.", ["IFRS 9", "BS 7671", "5S"]),
    ],
)
def test_codes_keep_their_symbols_and_numbers(text, expected):
    assert [k.term for k in job_keywords(text)][: len(expected)] == expected


def test_generic_words_are_never_keywords():
    job = (
        "Responsibilities: work with the team. Requirements: experience in a similar role, the ability to "
        "prioritise, strong communication skills, teamwork, attention to detail and a positive attitude."
    )

    assert job_keywords(job) == []


def test_domain_phrases_outside_the_vocabulary_are_keywords():
    keywords = job_keywords("- Experience of animal welfare and crop production; knowledge of tax legislation.")

    assert [(k.term, k.kind) for k in keywords] == [
        ("animal welfare", "skill"),
        ("crop production", "skill"),
        ("tax legislation", "domain"),
    ]


def test_inflections_and_word_order_are_matched_in_the_cv():
    job = {k.term: k for k in job_keywords("Negotiation, audit, contract drafting and discharge planning.")}
    cv = TermIndex("Negotiated supplier terms. Ran audits. Drafted contracts. Planned discharges with the MDT.")

    assert all(cv.covers(job[term]) for term in ("Negotiation", "Audit", "Contract drafting", "Discharge planning"))
    assert not TermIndex("Ran the contract team.").covers(job["Contract drafting"])


def test_each_keyword_has_a_kind():
    kinds = {k.term: k.kind for k in job_keywords("BLS, Excel, GDPR, negotiation and fluent French.")}

    assert kinds == {
        "BLS": "credential",
        "Excel": "tool",
        "GDPR": "domain",
        "Negotiation": "skill",
        "French": "language",
    }


def test_what_the_employer_offers_is_not_asked_of_the_person():
    job = "Teacher of Physics.\nWe offer a training budget, a mentor and a pension.\nBenefits: free parking."

    assert [k.term for k in job_keywords(job)] == ["Physics"]


def test_the_report_gives_the_kind_of_every_keyword():
    job = (FIELDS / "hospitality_job.txt").read_text()
    report = match_report(job_text=job, cv_text=(FIELDS / "hospitality_cv.txt").read_text(), improved_text=None)

    keywords = report["keywords"]
    assert set(keywords["kinds"]) == set(keywords["found"]) | set(keywords["missing"])
    assert keywords["kinds"]["HACCP records"] == "domain"
    assert keywords["kinds"]["Level 3 Food Safety"] == "credential"
    assert "Natasha's Law" in keywords["missing"] and "Food safety" in keywords["found"]


def test_a_long_job_costs_in_proportion_to_its_length():
    job = "\n".join((FIELDS / f"{field}_job.txt").read_text() for field in DEVELOPMENT)[:5000]
    cv = (FIELDS / "finance_cv.txt").read_text()
    match_report(job_text=job, cv_text=cv, improved_text=cv)

    def best_of_three(text: str) -> float:
        timings = []
        for attempt in range(3):
            started = time.perf_counter()
            # A new text each time: the job's reading is kept per process (cv.scoring.job_reader).
            match_report(job_text=f"{text} {attempt}", cv_text=cv, improved_text=f"{cv}\n{attempt}")
            timings.append(time.perf_counter() - started)
        return min(timings)

    # Four times the job (and the same CV): a linear reading costs at most about four times as much, a
    # quadratic one sixteen. The time itself is measured in bench/, not here.
    assert best_of_three(job) < 8 * best_of_three(job[:1250])
