from cv.scoring import job_reader
from cv.scoring.matching import cv_keywords, job_keywords, match_report, section_checks


def test_backend_cv_against_backend_job(jane_cv_text, backend_job):
    report = match_report(job_text=backend_job, cv_text=jane_cv_text, improved_text=None)

    found, missing = set(report["keywords"]["found"]), set(report["keywords"]["missing"])
    assert {
        "Python",
        "Django",
        "Django REST Framework",
        "PostgreSQL",
        "Celery",
        "Redis",
        "Stripe",
        "Webhooks",
        "Docker",
        "GitHub Actions",
        "CI/CD",
        "mentor",  # the job's word for the vocabulary's Mentoring
        "On-call",
    } <= found
    assert {
        "Kubernetes",
        "Prometheus",
        "Grafana",
        "Sentry",
        "Observability",
        "Code review",
        "FinTech",
        "Zero-downtime",
        "idempotent",  # the job's word for the vocabulary's Idempotency
    } <= missing
    assert not found & missing
    # Flask is in the CV but the job does not ask for it; ordinary words are not keywords.
    assert "Flask" not in found | missing
    assert not {"Senior", "Engineer", "London", "Design"} & (found | missing)
    assert report["sections"] == {
        "contact": True,
        "summary": True,
        "experience": True,
        "education": True,
        "skills": True,
        "quantified_achievements": True,
    }
    assert 55 <= report["score_before"] <= 85
    assert report["score_after"] == report["score_before"]
    assert report["keywords"]["added"] == []


def test_marketing_cv_against_growth_marketing_job(john_cv_text, marketing_job):
    report = match_report(job_text=marketing_job, cv_text=john_cv_text, improved_text=None)

    found, missing = set(report["keywords"]["found"]), set(report["keywords"]["missing"])
    assert {"LinkedIn", "email nurture", "English", "German", "Spreadsheets"} <= found
    assert {
        "HubSpot",
        "Google Ads",
        "Google Analytics",
        "SEO",
        "A/B tests",
        "B2B",
        "SaaS",
        "CAC",
        "ROI",
        "Looker Studio",
        "Landing pages",
    } <= missing
    assert report["sections"]["quantified_achievements"] is False
    assert report["score_before"] < 50


def test_keywords_are_listed_in_the_order_the_job_names_them(backend_job):
    keywords = job_keywords(backend_job)

    assert keywords.index("Python") < keywords.index("PostgreSQL") < keywords.index("Kubernetes")
    assert len(keywords) == len(set(keywords))


def test_aliases_and_spelling_variants_match_one_keyword():
    # Shown as the job writes them; one keyword each, found in a CV by any of its names.
    assert job_keywords("Postgres, k8s, CI/CD and GA4") == ["Postgres", "k8s", "CI/CD", "GA4"]
    assert job_keywords("PostgreSQL (Postgres) and Kubernetes or k8s") == ["PostgreSQL", "Kubernetes"]
    assert cv_keywords("I run postgresql on kubernetes", ["PostgreSQL", "Kubernetes"]) == {"PostgreSQL", "Kubernetes"}
    job = job_reader.job_keywords("Postgres, k8s and GA4")
    assert cv_keywords("I run postgresql on kubernetes with Google Analytics", job) == {"Postgres", "k8s", "GA4"}


def test_a_longer_term_hides_the_shorter_one_inside_it():
    assert job_keywords("Weekly reports in Looker Studio") == ["Looker Studio"]
    assert job_keywords("JavaScript") == ["JavaScript"]


def test_common_words_only_count_with_their_product_capitalisation():
    assert job_keywords("You will excel at writing and go the extra mile.") == []
    assert job_keywords("Modelling in Excel; services in Go.") == ["Excel", "Go"]


def test_specific_skill_in_the_cv_implies_the_broader_one():
    assert cv_keywords("Built APIs with Django REST Framework", ["Django", "REST APIs", "Python"]) == {
        "Django",
        "REST APIs",
        "Python",
    }
    assert cv_keywords("Excel power user", ["Spreadsheets"]) == {"Spreadsheets"}


def test_unknown_tools_written_as_product_names_become_keywords():
    keywords = job_keywords("You know PagerDuty-like tooling, ClickHouse and the OWASP top ten.")

    assert "ClickHouse" in keywords
    assert cv_keywords("Ran ClickHouse clusters", keywords) == {"ClickHouse"}


def test_capitalised_headings_are_not_taken_for_abbreviations():
    assert job_keywords("WHAT YOU WILL DO\nWrite Python.") == ["Python"]


def test_keywords_the_rewrite_invents_are_unsupported_and_do_not_raise_the_score(jane_cv_text, backend_job):
    # Jane's CV never mentions these: a rewrite that names them claims skills she did not give.
    improved = jane_cv_text + "\nRan services on Kubernetes with Prometheus and Grafana dashboards."

    report = match_report(job_text=backend_job, cv_text=jane_cv_text, improved_text=improved)

    assert report["keywords"]["added"] == []
    assert report["keywords"]["unsupported"] == ["Kubernetes", "Observability", "Prometheus", "Grafana"]
    assert report["score_after"] == report["score_before"]


def test_keywords_the_persons_request_supports_are_added_and_raise_the_score(jane_cv_text, backend_job):
    improved = jane_cv_text + "\nRan services on Kubernetes with Prometheus and Grafana dashboards."

    report = match_report(
        job_text=backend_job,
        cv_text=jane_cv_text,
        improved_text=improved,
        request_text="Mention that I ran our services on Kubernetes and watched them in Grafana.",
    )

    # Grafana implies Observability, as it does in a CV.
    assert report["keywords"]["added"] == ["Kubernetes", "Observability", "Grafana"]
    assert report["keywords"]["unsupported"] == ["Prometheus"]
    assert report["score_after"] > report["score_before"]


def test_section_checks_read_markdown_and_plain_headings():
    markdown = (
        "# Ann\n\nann@example.com\n\n## Profile\n\nx\n\n## Work Experience\n\n- Cut costs by 20%\n"
        "- Served 3000 customers\n\n**Education**\n\nMSc\n\n### Technical Skills\n\nPython"
    )
    assert all(section_checks(markdown).values())
    assert section_checks("Just a line of text.") == {
        "contact": False,
        "summary": False,
        "experience": False,
        "education": False,
        "skills": False,
        "quantified_achievements": False,
    }


def test_year_ranges_are_not_counted_as_achievements():
    assert section_checks("Engineer (2018-2021)\nAnalyst 2015 - 2018")["quantified_achievements"] is False


def test_empty_job_scores_on_sections_alone(jane_cv_text):
    report = match_report(job_text="", cv_text=jane_cv_text, improved_text=None)

    empty: dict[str, list | dict] = {"found": [], "missing": [], "added": [], "unsupported": [], "kinds": {}}
    assert report["keywords"] == {**empty, "details": []}
    assert report["score_before"] == 100
