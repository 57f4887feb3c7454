"""`manage.py evaluate_match_report`: the service's match report scored against keyword labels, per field and
pooled, the tuning and held-out halves apart."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from cv.evaluation.dataset import Pair
from cv.evaluation.keyword_labels import same_term, score_pair
from cv.scoring.matching import match_report
from testing.fake_openai import UnusableRequirements

BACKEND_JOB = """Backend Developer

Requirements:
- Experience with Python and PostgreSQL
- Docker is a plus
"""
BACKEND_CV = "Ann Example\nSkills: Python, Docker, Git\n"
NURSE_JOB = """Staff Nurse

Requirements:
- BLS certification
- Wound care experience
- Knowledge of Epic
"""
NURSE_CV = "Bo Example\nCertifications: BLS\nCharted in Cerner.\n"


def _label(term, quote, evidence, kind="skill"):
    return {"term": term, "kind": kind, "importance": "required", "job_quote": quote, "cv_evidence": evidence}


def _pair(root: Path, name: str, *, field, split, job, cv, labels) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "job.txt").write_text(job, encoding="utf-8")
    (folder / "cv.txt").write_text(cv, encoding="utf-8")
    meta = {
        "field": field,
        "split": split,
        "position": job.splitlines()[0],
        "industry": "",
        "request": "Tailor my CV to this job.",
        "facts": [{"kind": "role", "text": cv.splitlines()[0]}],
    }
    (folder / "pair.json").write_text(json.dumps(meta), encoding="utf-8")
    (folder / "keywords.json").write_text(json.dumps({"keywords": labels}), encoding="utf-8")
    return folder


@pytest.fixture
def pairs(tmp_path):
    _pair(
        tmp_path,
        "backend",
        field="software",
        split="tuning",
        job=BACKEND_JOB,
        cv=BACKEND_CV,
        labels=[
            _label("Python", "Python and PostgreSQL", "Python", kind="language"),
            _label("PostgreSQL", "PostgreSQL", None, kind="tool"),
            _label("Docker", "Docker is a plus", "Docker", kind="tool"),
        ],
    )
    _pair(
        tmp_path,
        "nurse",
        field="nursing",
        split="held_out",
        job=NURSE_JOB,
        cv=NURSE_CV,
        labels=[
            _label("BLS", "BLS certification", "BLS", kind="credential"),
            _label("wound care", "Wound care experience", None),
            _label("Epic", "Knowledge of Epic", None, kind="tool"),
        ],
    )
    return tmp_path


def _run(*args: str) -> str:
    out = StringIO()
    call_command("evaluate_match_report", *args, stdout=out)
    return out.getvalue()


def test_each_half_is_scored_per_field_and_pooled(pairs):
    document = json.loads(_run("--pairs", str(pairs), "--json"))

    assert document["mode"] == "offline"
    tuning = document["parts"]["tuning"]
    assert set(tuning["fields"]) == {"software"}
    software = tuning["fields"]["software"]
    # The report finds Python and Docker in the CV and lists PostgreSQL missing: every label on its side.
    assert software["present"] == 2 and software["present_found"] == 2 and software["recall_present"] == 1.0
    assert software["absent"] == 1 and software["absent_missing"] == 1 and software["recall_missing"] == 1.0
    assert software["listed"] == 3 and software["precision"] == 1.0 and software["keyword_share"] == 1.0
    assert tuning["pooled"] == software

    held_out = document["parts"]["held_out"]
    nursing = held_out["fields"]["nursing"]
    # "Knowledge of Epic" names a tool the vocabulary does not know; the report lists it missing all the same.
    assert (nursing["present"], nursing["present_found"], nursing["absent"], nursing["absent_missing"]) == (1, 1, 2, 2)
    assert nursing["recall_missing"] == 1.0 and nursing["recall"] == 1.0
    assert nursing["listed"] == 3 and nursing["precision"] == 1.0
    assert held_out["pooled"]["pairs"] == 1

    rows = {row["pair"]: row for row in document["pairs"]}
    assert rows["backend"]["unrecalled"] == [] and rows["backend"]["not_keywords"] == []
    # The held-out half only measures: its terms are not shown, so nobody tunes on them.
    assert rows["nurse"]["unrecalled"] == "withheld (held out)"


def test_the_table_prints_a_row_per_field_and_a_pooled_row_per_half(pairs):
    lines = _run("--pairs", str(pairs)).splitlines()

    assert "offline" in lines[0] and "2 pairs" in lines[0]
    rows = [line.split() for line in lines[2:6]]
    assert rows[0][:3] == ["tuning", "software", "1"]
    assert rows[1][:3] == ["tuning", "pooled", "1"]
    assert rows[2][:4] == ["held", "out", "nursing", "1"]
    # pairs, present, recall, absent, recall, recall, listed, precision, keywords, wrong side, not in job,
    # quote not in CV
    assert rows[3][2:] == ["pooled", "1", "1", "1.00", "2", "1.00", "1.00", "3", "1.00", "1.00", "0", "0", "0"]


def test_split_scores_one_half_only(pairs):
    document = json.loads(_run("--pairs", str(pairs), "--split", "held_out", "--json"))

    assert list(document["parts"]) == ["held_out"]
    assert [row["pair"] for row in document["pairs"]] == ["nurse"]


def test_a_label_quoting_words_the_job_does_not_have_is_refused(pairs):
    labels = json.loads((pairs / "nurse" / "keywords.json").read_text())
    labels["keywords"].append(_label("ACLS", "ACLS certification", None, kind="credential"))
    (pairs / "nurse" / "keywords.json").write_text(json.dumps(labels))

    with pytest.raises(CommandError, match=r"nurse: 'ACLS': the job_quote 'ACLS certification' is not in job.txt"):
        _run("--pairs", str(pairs))


def test_evidence_the_cv_does_not_have_is_refused(pairs):
    labels = json.loads((pairs / "backend" / "keywords.json").read_text())
    labels["keywords"][1]["cv_evidence"] = "PostgreSQL"
    (pairs / "backend" / "keywords.json").write_text(json.dumps(labels))

    with pytest.raises(CommandError, match=r"backend: 'PostgreSQL': the cv_evidence 'PostgreSQL' is not in cv.txt"):
        _run("--pairs", str(pairs))


def test_with_model_needs_a_configured_model(pairs):
    with pytest.raises(CommandError, match="--with-model needs a model: set OPENAI_API_KEY"):
        _run("--pairs", str(pairs), "--with-model")


def test_with_model_each_job_is_read_by_the_model_and_scored_the_same_way(pairs, llm_settings, fake_openai):
    offline = json.loads(_run("--pairs", str(pairs), "--json"))

    document = json.loads(_run("--pairs", str(pairs), "--json", "--with-model"))

    assert (document["mode"], document["model"]) == ("model", "fake-model")
    assert document["fell_back"] == {"tuning": [], "held_out": []}
    # One reading per pair, of the job as the questionnaire holds it (and the CV for the evidence the CV does
    # not name), as an analysis reads them.
    jobs = [r.prompt_text for r in fake_openai.requirement_requests if "BEGIN JOB (data)" in r.prompt_text]
    assert len(jobs) == 2 and not fake_openai.requests
    assert "BEGIN JOB (data)\nStaff Nurse\n" in jobs[1]
    for part in ("tuning", "held_out"):
        pooled, before = document["parts"][part]["pooled"], offline["parts"][part]["pooled"]
        # The model's terms are merged with the extractor's: at least as many labels are recalled.
        assert pooled["present_found"] + pooled["absent_missing"] >= before["present_found"] + before["absent_missing"]
        assert pooled["listed"] >= before["listed"]
    # The fake reads "Knowledge of Epic" as "Epic": it is listed missing, a label on its side.
    nurse = document["parts"]["held_out"]["fields"]["nursing"]
    assert nurse["absent_missing"] == 2


def test_with_model_a_failed_reading_is_scored_on_the_extractor_alone(pairs, llm_settings, fake_openai):
    offline = json.loads(_run("--pairs", str(pairs), "--json", "--split", "tuning"))
    fake_openai.queue_requirements(UnusableRequirements())

    lines = _run("--pairs", str(pairs), "--split", "tuning", "--with-model").splitlines()
    document = json.loads(_run("--pairs", str(pairs), "--split", "tuning", "--json", "--with-model"))

    assert "model fake-model" in lines[0]
    assert lines[1].startswith("tuning: the model's reading failed for 1 pairs (unusable)")
    rows = [line.split() for line in lines[3:5]]
    assert rows[0][:3] == ["tuning", "software", "1"] and rows[1][:2] == ["tuning", "pooled"]
    # The second run read the job (the queue was used up by the first): its figures are the model's.
    assert document["fell_back"] == {"tuning": []}
    assert offline["parts"]["tuning"]["pooled"]["pairs"] == document["parts"]["tuning"]["pooled"]["pairs"] == 1


@pytest.mark.parametrize(
    ("listed", "labelled", "same"),
    [
        ("HEC-RAS", "hec ras", True),
        ("Wound care", "wound-care", True),
        ("arterial line", "Arterial Lines", True),
        ("tolerance stack-up", "tolerance stack-up analysis", True),  # contained, as whole words, most of it
        ("HEC-RAS modelling", "HEC-RAS", True),
        ("care", "critical care nursing", False),  # contained, but a third of it
        ("ras", "HEC-RAS", False),  # a fragment of a code is not the code
        ("C++", "C", False),
        ("icon", "ICU", False),
    ],
)
def test_the_tolerant_match(listed, labelled, same):
    assert same_term(listed, labelled) is same


def test_the_labelled_set_loads():
    """Every pair of the repository's set has keyword labels whose quotes hold."""
    document = json.loads(_run("--json"))

    assert document["unlabelled"] == []
    assert len(document["pairs"]) >= 22
    assert len({row["field"] for row in document["pairs"]}) >= 13


def test_a_listed_term_the_job_does_not_hold_and_a_quote_the_cv_does_not_have_are_counted():
    pair = Pair(
        name="p",
        field="f",
        split="tuning",
        position="",
        industry="",
        request="",
        cv_text="Ran Postgres clusters.",
        job_text="You know PostgreSQL well.",
        facts=(),
    )
    report = match_report(job_text=pair.job_text, cv_text=pair.cv_text, improved_text=None)
    report["keywords"]["missing"].append("Oracle")
    report["keywords"]["details"] += [
        {"term": "Oracle", "kind": "tool", "importance": "required", "job_quote": "", "cv_evidence": "Oracle DBA"}
    ]

    score = score_pair(pair, (), report)

    assert (score.not_in_job, score.quote_not_in_cv) == (1, 1)
