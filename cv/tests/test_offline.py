from cv.llm import offline
from cv.scoring.job import Job
from cv.scoring.matching import match_report

BACKEND_FIELDS = {"position": "Senior Backend Engineer", "industry": "FinTech"}


def _analyse(cv_text, job, prompt="", **fields):
    return offline.analyse(
        job=Job.from_fields({**BACKEND_FIELDS, **fields, "job_description": job}), cv_text=cv_text, prompt=prompt
    )


def test_offline_review_relays_the_cv_and_lists_what_is_missing(jane_cv_text, backend_job):
    result = _analyse(jane_cv_text, backend_job)

    markdown = result.improved_cv_markdown
    assert markdown.startswith("# Jane Doe\n")
    for heading in ("## Summary", "## Experience", "## Education", "## Skills", "## Languages"):
        assert heading in markdown
    assert "### Senior Software Engineer, Ledgerly Ltd - London (2021-present)" in markdown
    # A sentence the PDF wrapped over two lines comes back whole.
    assert (
        "- Moved background jobs from cron to Celery with Redis, cutting nightly batch time from 4 hours to "
        "35 minutes." in markdown
    )
    assert "# Review against the job: Senior Backend Engineer" in markdown
    assert "Kubernetes, Prometheus, Grafana, Sentry" in markdown
    assert "- Mentored two junior developers." in markdown.split("## Make these achievements measurable")[1]
    assert result.model == "offline"
    assert result.prompt_tokens is None and result.completion_tokens is None
    keywords = match_report(job_text=backend_job, cv_text=jane_cv_text, improved_text=None)["keywords"]
    shown = f"{len(keywords['found'])} of {len(keywords['found']) + len(keywords['missing'])} keywords"
    assert any(shown in change for change in result.changes)


def test_offline_review_adds_no_experience(jane_cv_text, backend_job):
    result = _analyse(jane_cv_text, backend_job)

    # The re-laid CV (what the match report scores as "after") names no keyword the CV lacked.
    report = match_report(job_text=backend_job, cv_text=jane_cv_text, improved_text=result.scoring_text)
    assert report["keywords"]["added"] == []
    assert "Kubernetes" not in result.scoring_text


def test_offline_review_points_out_missing_sections_and_numbers(john_cv_text, marketing_job):
    result = _analyse(john_cv_text, marketing_job, position="Growth Marketing Manager")

    assert "Few results are measured" in result.improved_cv_markdown
    assert "- Sent the monthly newsletter." in result.improved_cv_markdown
    assert "**Tools:** HubSpot, Google Analytics, Looker Studio" in result.improved_cv_markdown
    assert any(change.startswith("Section check: Few results are measured") for change in result.changes)


def test_cv_without_summary_gets_advice_for_the_position(backend_job):
    cv = "Sam Roe\nsam@example.com\nEXPERIENCE\nEngineer, Acme (2019-2023)\nBuilt Django services.\nSKILLS\nPython"

    result = _analyse(cv, backend_job)

    assert "There is no summary" in result.improved_cv_markdown
    assert "as Senior Backend Engineer" in result.improved_cv_markdown


def test_offline_review_is_deterministic(jane_cv_text, backend_job):
    first = _analyse(jane_cv_text, backend_job, prompt="Shorter please")
    second = _analyse(jane_cv_text, backend_job, prompt="Shorter please")

    assert first == second
    assert "> Shorter please" in first.improved_cv_markdown


def test_cv_without_recognisable_headings_is_kept_as_written(backend_job):
    result = _analyse("Alex Poe\nI write Python.\nI also like Django.", backend_job)

    cv_part = result.improved_cv_markdown.split(offline.REVIEW_SEPARATOR)[0]
    assert cv_part == "# Alex Poe\n\nI write Python.\n\nI also like Django."
