"""`manage.py evaluate_model`: labelled pairs through the worker's analysis path, one row each, nothing left."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from core.models import User
from cv.evaluation.dataset import Fact, load_pairs
from cv.evaluation.judge import judge
from cv.models import AIResponse, CVQuestionnaire
from testing.fake_openai import Answer

# A rewrite of the backend pair's CV that keeps every fact and adds none.
JANE_REWRITE = """# Jane Doe

jane.doe@example.com · +44 20 7946 0958 · London, UK · github.com/janedoe

## Summary

Backend engineer with 6 years of experience building Python web services with Django, PostgreSQL, Celery and
Redis.

## Experience

### Senior Software Engineer, Ledgerly Ltd — London (2021\u2013present)

- Worked on the payments API written in Django and Django REST Framework.
- Moved background jobs from cron to Celery with Redis, cutting nightly batch time from 4 hours to 35 minutes.
- Responsible for the PostgreSQL schema and database migrations.
- Helped with the Stripe billing integration and webhook handling.
- Mentored two junior developers.

### Software Engineer, ShopWave — Manchester (2018\u20132021)

- Wrote unit tests with pytest and improved coverage from 40% to 85%.
- Maintained Docker images and the CI pipeline on GitHub Actions.
- Built internal tools in Flask.

## Education

BSc Computer Science, University of Leeds (2014\u20132018)

## Skills

Python, Django, Django REST Framework, Flask, PostgreSQL, Redis, Celery, Docker, pytest, Git, Linux

## Languages

English (native), Spanish (intermediate)
"""
PLACEHOLDER = "<the complete improved CV in Markdown>"
TWO_PAIRS = "backend_engineer,growth_marketing"


def _evaluate(*args: str) -> dict:
    out = StringIO()
    call_command("evaluate_model", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def _rows(document: dict) -> dict[str, dict]:
    return {row["pair"]: row for row in document["rows"]}


def _nothing_left(users_before: int) -> None:
    assert AIResponse.objects.count() == 0
    assert CVQuestionnaire.objects.count() == 0
    assert User.objects.count() == users_before


@pytest.mark.django_db
def test_a_real_rewrite_is_usable_complete_and_verified(llm_settings, fake_openai):
    fake_openai.default = Answer(improved_cv=JANE_REWRITE, changes=["Put the measured results first."])
    users = User.objects.count()

    document = _evaluate("--only", "backend_engineer")

    row = _rows(document)["backend_engineer"]
    assert row["status"] == "succeeded"
    assert row["result"] == "usable", row["why"]
    assert row["verification"] == "verified"
    assert (row["kept"], row["total"]) == (9, 9)
    assert row["good"] is True and row["junk_stored"] is False
    # The tokens stored are those the server reported, for every call the analysis made.
    assert fake_openai.answered
    assert row["prompt_tokens"] == 120 * len(fake_openai.answered)
    assert row["completion_tokens"] == 80 * len(fake_openai.answered)
    assert document["totals"]["tuning"]["good"] == 1
    assert document["totals"]["held_out"]["pairs"] == 0
    _nothing_left(users)


@pytest.mark.django_db
def test_a_placeholder_answer_is_never_counted_usable(llm_settings, fake_openai):
    """What a small model really answered: the answer template's placeholder as the whole CV. Stored as a
    success, the evaluation calls it junk; refused by the service, it is a failure with the service's code."""
    fake_openai.default = Answer(improved_cv=PLACEHOLDER, changes=["<one short sentence per change>"])

    row = _rows(_evaluate("--only", "growth_marketing"))["growth_marketing"]

    assert row["result"] in ("junk", "failed")
    if row["status"] == "succeeded":
        assert row["junk_stored"] is True
        assert "placeholder" in row["why"] and "most facts lost" in row["why"]
        assert row["kept"] == 0
    else:
        assert row["status"] == "failed" and row["error_code"]
        assert row["error_code"] in row["why"]


@pytest.mark.django_db
def test_offline_two_pairs_print_a_row_each_and_the_totals(settings):
    settings.OPENAI_API_KEY = ""
    users = User.objects.count()
    out = StringIO()

    call_command("evaluate_model", "--only", TWO_PAIRS, stdout=out)

    lines = out.getvalue().splitlines()
    assert "offline analyser" in lines[0]
    rows = {line.split()[0]: line.split() for line in lines if line.startswith(("backend_engineer", "growth_"))}
    assert set(rows) == {"backend_engineer", "growth_marketing"}
    for cells in rows.values():
        # pair, split, field..., result, verification, facts: the offline answer keeps the CV as it is.
        assert cells[1] == "tuning"
        assert "review" in cells and "verified" in cells and "9/9" in cells
    totals = [line.split() for line in lines if line.startswith(("tuning", "all"))]
    assert [cells[:2] for cells in totals] == [["tuning", "2"], ["all", "2"]]
    _nothing_left(users)


@pytest.mark.django_db
def test_an_unknown_pair_is_a_clear_error():
    with pytest.raises(CommandError, match="no pair named nursing_nope"):
        call_command("evaluate_model", "--only", "nursing_nope", stdout=StringIO())


def test_a_rewrite_that_drops_a_job_is_incomplete_and_names_it():
    pair = load_pairs(only={"backend_engineer"})[0]
    without_shopwave = JANE_REWRITE.split("### Software Engineer, ShopWave")[0] + JANE_REWRITE.split("## Education")[1]

    judgement = judge(pair, "## Education" + without_shopwave)

    assert not judgement.complete
    assert Fact(kind="employer", text="ShopWave") in judgement.missing
    assert Fact(kind="dates", text="2018\u20132021") in judgement.missing
    assert judgement.junk == ()


def test_dates_count_as_kept_whatever_the_dash_or_month_names():
    pair = load_pairs(only={"backend_engineer"})[0]
    relaid = JANE_REWRITE.replace("(2021\u2013present)", "(Mar 2021 - Present)").replace(
        "2018\u20132021", "Jan 2018 — 2021"
    )

    assert judge(pair, relaid).complete


def test_the_upload_with_the_request_appended_is_junk():
    pair = load_pairs(only={"backend_engineer"})[0]

    judgement = judge(pair, f"{pair.cv_text}\n\n{pair.request}")

    assert "unchanged" in judgement.junk and "request echoed" in judgement.junk


@pytest.mark.django_db
def test_saved_runs_print_as_one_table(settings, tmp_path):
    settings.OPENAI_API_KEY = ""
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    first.write_text(json.dumps(_evaluate("--only", "backend_engineer")))
    second.write_text(json.dumps(_evaluate("--only", "growth_marketing")))
    assert "# Jane Doe" in json.loads(first.read_text())["rows"][0]["answer"]
    out = StringIO()

    call_command("evaluate_model", "--from-json", str(first), str(second), stdout=out)

    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines if line.startswith(("backend_", "growth_"))] == [
        "backend_engineer",
        "growth_marketing",
    ]
    assert [line.split()[:2] for line in lines if line.startswith(("tuning", "all"))] == [["tuning", "2"], ["all", "2"]]


def test_a_file_that_is_no_saved_run_is_a_clear_error(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{}")

    with pytest.raises(CommandError, match="not an evaluate_model --json output"):
        call_command("evaluate_model", "--from-json", str(broken), stdout=StringIO())
