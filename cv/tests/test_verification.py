# ruff: noqa: RUF001 (the en dashes of real CVs are what these tests feed the check)
"""The truthfulness check on its own: what a faithful rewrite may change, what an invention looks like, and
its precision and recall over the labelled set of rewrites in fixtures/verification/."""

import json
import re
import time
from pathlib import Path

import pytest

from cv.scoring.claims import verify_rewrite

LABELLED = Path(__file__).parent / "fixtures" / "verification" / "rewrites.json"

JANE_SNIPPET = """Jane Doe
EXPERIENCE
Senior Software Engineer, Ledgerly Ltd — London (2021–present)
Worked on the payments API with Postgres. Mentored two junior developers.
Cut batch time from 4 hours to 35 minutes; coverage from 40% to 85%; budget of 5,000 euros.
EDUCATION
Bachelor of Science in Computer Science, University of Leeds (2014–2018)
"""


def _claims(improved: str, *, source: str = JANE_SNIPPET, request: str = "", job: str = "") -> list[tuple[str, str]]:
    check = verify_rewrite(source_text=source, request_text=request, improved_text=improved, job_text=job)
    return [(claim.kind, claim.text) for claim in check.unsupported]


@pytest.mark.parametrize(
    "improved",
    [
        "### Senior Software Engineer — Ledgerly Ltd, London (2021 - Present)",
        "### Senior Software Engineer, Ledgerly Ltd (2021 to current)",
        "### Ledgerly Ltd: Senior Software Engineer, since 2021",
        "Mentored 2 junior developers.",
        "Worked on the payments API on PostgreSQL.",
        "Improved coverage from 40 percent to 85 per cent.",
        "Managed a budget of 5k euros.",
        "Cut batch time from four hours to 35 minutes.",
        "BSc Computer Science, University of Leeds, 2014-18",
        "**WORKED ON THE PAYMENTS API** at Ledgerly with Postgres.",
    ],
)
def test_faithful_rewordings_raise_no_alarm(improved):
    assert _claims(improved) == []


@pytest.mark.parametrize(
    ("improved", "expected"),
    [
        ("### Senior Software Engineer, Ledgerly Ltd (2019–present)", ("date", "2019-present")),
        ("### Senior Software Engineer, Ledgerly Ltd (Jan 2021–present)", ("date", "Jan 2021")),
        ("Mentored three junior developers.", ("number", "three")),
        ("Improved coverage from 40% to 95%.", ("number", "95%")),
        ("Cut batch time by 35%.", ("number", "35%")),
        ("Served 2 million requests a day.", ("number", "2 million")),
        ("Saved $40 a month.", ("number", "$40")),
        ("Worked on the payments API at Monzo.", ("organisation", "Monzo")),
        ("### Staff Engineer, Ledgerly Ltd (2021–present)", ("title", "Staff Engineer")),
        ("MSc Computer Science, University of Leeds (2014–2018)", ("credential", "MSc Computer Science")),
        ("Certified Kubernetes Administrator.", ("credential", "CKA")),
        ("Ran the payments API on Kubernetes.", ("keyword", "Kubernetes")),
    ],
)
def test_each_kind_of_invention_is_caught(improved, expected):
    assert expected in _claims(improved)


def test_the_persons_request_may_add_facts():
    improved = "Ran the payments API on Kubernetes for 3 years at Monzo."

    assert _claims(improved) == [("number", "3"), ("keyword", "Kubernetes"), ("organisation", "Monzo")]
    assert _claims(improved, request="I also ran it on k8s, 3 years, and I worked at Monzo before.") == []


def test_the_jobs_own_terms_are_checked_but_never_support_a_claim():
    job = "You know ClickHouse and Kubernetes. Monzo is our parent company."

    assert _claims("Tuned ClickHouse clusters and Kubernetes at Monzo.", job=job) == [
        ("keyword", "Kubernetes"),
        ("keyword", "ClickHouse"),
        ("organisation", "Monzo"),
    ]


def test_contact_details_and_markdown_are_not_claims():
    improved = "# Jane Doe\n\njane.doe@example.com | +44 20 7946 0958 | github.com/janedoe\n\n1. Worked on the API."

    assert _claims(improved) == []


def test_a_broader_term_reached_through_an_invented_one_is_reported_once():
    # Kubernetes implies Containers; the claim is Kubernetes.
    assert _claims("Ran everything on Kubernetes.") == [("keyword", "Kubernetes")]


def test_the_check_is_fast(jane_cv_text, backend_job):
    # It runs after every answer, twice with a repair: a typical rewrite takes a small fraction of a second.
    improved = json.loads(LABELLED.read_text())["cases"][0]["improved"]
    verify_rewrite(source_text=jane_cv_text, improved_text="warm up", job_text=backend_job)

    started = time.perf_counter()
    for _ in range(5):
        verify_rewrite(source_text=jane_cv_text, improved_text=improved, job_text=backend_job)
    elapsed = (time.perf_counter() - started) / 5

    assert elapsed < 0.5


def _norm(text: str) -> str:
    text = re.sub(r"[\u2010-\u2015]", "-", " ".join(text.casefold().split()))
    return re.sub(r"\s*-\s*", "-", text)


def _same(found: dict, expected: dict) -> bool:
    # A claim may be reported a little wider or narrower than labelled ("Monzo Bank" for "Monzo").
    a, b = _norm(found["text"]), _norm(expected["text"])
    return found["kind"] == expected["kind"] and (a in b or b in a)


def test_labelled_rewrites_precision_and_recall(jane_cv_text, john_cv_text, backend_job, marketing_job):
    data = json.loads(LABELLED.read_text())
    sources = {"jane": (jane_cv_text, backend_job), "john": (john_cv_text, marketing_job)}
    faithful = [case for case in data["cases"] if not case["unsupported"]]
    planted = [case for case in data["cases"] if case["unsupported"]]
    kinds = {claim["kind"] for case in planted for claim in case["unsupported"]}
    assert len(data["cases"]) >= 20 and len(faithful) >= 10 and len(planted) >= 10
    assert kinds == {"organisation", "title", "date", "number", "credential", "keyword"}

    reported = correct = expected_total = caught = 0
    false_alarms, misses = [], []
    for case in data["cases"]:
        source, job = sources[case["cv"]]
        found = verify_rewrite(
            source_text=source, request_text=case["request"], improved_text=case["improved"], job_text=job
        ).as_dict()["unsupported"]
        expected = case["unsupported"]
        reported += len(found)
        correct += sum(any(_same(f, e) for e in expected) for f in found)
        expected_total += len(expected)
        caught += sum(any(_same(f, e) for f in found) for e in expected)
        false_alarms += [(case["id"], f) for f in found if not any(_same(f, e) for e in expected)]
        misses += [(case["id"], e) for e in expected if not any(_same(f, e) for f in found)]

    precision = correct / reported
    recall = caught / expected_total
    flagged_faithful = sum(1 for case_id, _ in false_alarms if case_id in {c["id"] for c in faithful})
    print(
        f"\ntruthfulness check on {len(data['cases'])} labelled rewrites ({len(faithful)} faithful, "
        f"{len(planted)} with {expected_total} planted claims): precision {precision:.2f}, recall {recall:.2f}, "
        f"faithful rewrites flagged {flagged_faithful}/{len(faithful)}"
    )
    assert not false_alarms, false_alarms
    assert not misses, misses
    assert precision == 1.0 and recall == 1.0
