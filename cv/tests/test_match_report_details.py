"""The match report reads any job as a recruiter would and shows the evidence for every keyword: requirement
lists split into whole terms, codes kept whole, the employer never listed, and for each keyword the job's own
words and the CV's own words (`keywords.details`)."""

import json
import re
from pathlib import Path

import pytest

from cv.evaluation.dataset import PAIRS_DIR, load_pair
from cv.scoring.job import Job
from cv.scoring.job_reader import job_keywords, job_requirements
from cv.scoring.matching import match_report
from cv.tests.factories import AIResponseFactory

DETAIL_KEYS = {"term", "kind", "importance", "job_quote", "cv_evidence"}


def _plain(text: str) -> str:
    """Whitespace and case normalised: how a quote is compared with its text."""
    return re.sub(r"\s+", " ", text).strip().casefold()


def _terms(job: str) -> list[str]:
    return [keyword.term for keyword in job_keywords(job)]


def test_codes_are_kept_whole():
    job = (
        "Requirements:\n"
        "- Experience with HEC-RAS and GD&T\n"
        "- Design controls under ISO 13485\n"
        "- Copy edited to AP style; modern C++ is a plus\n"
    )

    terms = _terms(job)
    assert {"HEC-RAS", "GD&T", "ISO 13485", "AP style", "C++"} <= set(terms)
    assert not {"HEC", "RAS", "hec", "ras", "AP", "ap", "GD", "ISO"} & set(terms)


def test_the_employer_is_never_listed():
    job = (
        "QuantaCorp Ltd\n"
        "Pump Design Engineer\n"
        "QuantaCorp is a maker of industrial pumps for the water sector.\n"
        "Requirements:\n"
        "- Knowledge of pump hydraulics and FEA\n"
        "Apply to QuantaCorp today.\n"
    )

    terms = _terms(job)
    assert "pump hydraulics" in terms and "FEA" in terms
    assert not [term for term in terms if "quanta" in term.lower()]


def test_an_employer_named_after_at_is_never_listed_but_a_tool_after_is():
    job = "Reporter at Harbourline News\nYou will publish to WordPress daily at Harbourline. Experience with Slack."

    terms = _terms(job)
    assert "WordPress" in terms and "Slack" in terms
    assert not [term for term in terms if "harbourline" in term.lower()]


def test_a_coordinated_list_after_a_cue_is_split_into_whole_terms():
    terms = _terms("- Familiarity with seed drills, soil sampling and irrigation scheduling software.")

    assert terms[:3] == ["seed drills", "soil sampling", "irrigation scheduling software"]


def test_a_bullet_that_is_a_list_gives_its_items_and_a_duty_bullet_gives_no_verbs():
    job = "Skills:\n- Multimeters, oscilloscopes and ladder logic\n- Review the drawings and sign them off\n"

    terms = _terms(job)
    assert terms[:3] == ["multimeters", "oscilloscopes", "ladder logic"]
    # The duty's verbs are not terms; its object is the vocabulary's (technical) drawings, shown as written.
    assert not {"review", "sign", "review the drawings", "sign them off"} & {term.lower() for term in terms}


def test_a_list_of_single_nouns_is_split_and_a_list_of_verbs_is_not():
    job = "The desk covers photography, video and podcasts.\nTrain, schedule and coach the night team."

    terms = _terms(job)
    assert {"photography", "video", "podcasts"} <= set(terms)
    assert not {"train", "schedule", "coach"} & set(terms)


def test_importance_comes_from_the_line_or_its_section():
    job = (
        "Requirements:\n- Experience with SolidWorks\n- Knowledge of GD&T; FEA is a plus\nNice to have:\n- Six Sigma\n"
    )

    importance = {r.keyword.term: r.importance for r in job_requirements(job)}
    assert importance == {"SolidWorks": "required", "GD&T": "required", "FEA": "preferred", "Six Sigma": "preferred"}


def test_details_give_the_jobs_words_and_the_cvs_quote(backend_job):
    cv = "Jane Roe\nSkills: Python, k8s, PostgreSQL\nRan Django services.\n"
    report = match_report(job_text=backend_job, cv_text=cv, improved_text=None)

    keywords = report["keywords"]
    details = {detail["term"]: detail for detail in keywords["details"]}
    assert set(details) == set(keywords["found"]) | set(keywords["missing"])
    assert all(set(detail) == DETAIL_KEYS for detail in details.values())
    # A synonym counts only through the CV's own words: the quote is "k8s", not "Kubernetes".
    assert details["Kubernetes"]["cv_evidence"] == "k8s" and "Kubernetes" in keywords["found"]
    assert details["Python"]["cv_evidence"] == "Python"
    # Django implies Python; Django is found through its own quote.
    assert details["Django"]["cv_evidence"] == "Django"
    for term in keywords["missing"]:
        assert details[term]["cv_evidence"] is None
    for detail in details.values():
        assert detail["job_quote"] in backend_job
        assert detail["kind"] in {"skill", "tool", "credential", "domain", "language"}
        assert detail["importance"] in {"required", "preferred"}


def _tuning_pairs() -> list[Path]:
    # Only the tuning half: the held-out pairs are for measuring, never for reading.
    return [
        folder
        for folder in sorted(PAIRS_DIR.iterdir())
        if (folder / "pair.json").is_file()
        and json.loads((folder / "pair.json").read_text(encoding="utf-8"))["split"] == "tuning"
    ]


@pytest.mark.parametrize("folder", _tuning_pairs(), ids=lambda folder: folder.name)
def test_every_quote_is_in_its_text_and_every_term_in_the_job(folder):
    pair = load_pair(folder)
    job_text = Job.from_fields(
        {"position": pair.position, "industry": pair.industry, "job_description": pair.job_text}
    ).text
    report = match_report(job_text=job_text, cv_text=pair.cv_text, improved_text=None)

    keywords = report["keywords"]
    found = set(keywords["found"])
    assert {detail["term"] for detail in keywords["details"]} == found | set(keywords["missing"])
    for detail in keywords["details"]:
        assert detail["job_quote"] in job_text
        assert (detail["cv_evidence"] is not None) == (detail["term"] in found)
        if detail["cv_evidence"] is not None:
            assert _plain(detail["cv_evidence"]) in _plain(pair.cv_text)
    for requirement in job_requirements(job_text):
        if requirement.keyword.source != "vocabulary":
            # A term read from the job's words (not a vocabulary name) stands in the job as written.
            assert _words(requirement.keyword.term) in _words(job_text)


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9+#&]+", text.casefold()))


@pytest.mark.django_db
def test_the_openapi_schema_describes_the_match_report_details(api_client):
    components = api_client.get("/schema/", HTTP_ACCEPT="application/json").json()["components"]["schemas"]

    def resolve(prop: dict) -> dict:
        ref = prop.get("$ref") or prop.get("items", {}).get("$ref") or prop["allOf"][0]["$ref"]
        return components[ref.rsplit("/", 1)[1]]

    field = components["AIResponse"]["properties"]["match_report"]
    assert field["nullable"] is True
    report = resolve(field)
    assert {"score_before", "score_after", "keywords", "sections"} <= set(report["properties"])
    keywords = resolve(report["properties"]["keywords"])
    assert {"found", "missing", "added", "unsupported", "kinds", "details"} <= set(keywords["properties"])
    detail = resolve(keywords["properties"]["details"])
    assert set(detail["properties"]) == DETAIL_KEYS
    assert set(resolve(detail["properties"]["kind"])["enum"]) == {"skill", "tool", "credential", "domain", "language"}
    assert set(resolve(detail["properties"]["importance"])["enum"]) == {"required", "preferred"}
    assert detail["properties"]["cv_evidence"]["nullable"] is True


@pytest.mark.django_db
def test_a_report_stored_before_the_details_is_served_as_it_was(api_client, user):
    stored = {
        "score_before": 40,
        "score_after": 40,
        "keywords": {"found": ["Python"], "missing": ["Go"], "added": [], "unsupported": [], "kinds": {}},
        "sections": {
            "contact": True,
            "summary": False,
            "experience": True,
            "education": True,
            "skills": True,
            "quantified_achievements": False,
        },
    }
    response = AIResponseFactory.create(questionnaire__user=user, status="succeeded", match_report=stored)

    assert api_client.get(f"/cv/ai-responses/{response.pk}/").json()["match_report"] == stored


def test_an_address_a_grade_and_a_preference_word_are_not_keywords():
    job = "Laboratory, 11 Main Road, Hagerstown, MD 21742.\nAccountant II\n- Experience with Sage Intacct preferred."

    terms = _terms(job)
    assert not {"MD 21742", "MD", "II"} & set(terms)
    assert not [term for term in terms if "preferred" in term.lower()]
