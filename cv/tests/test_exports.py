"""Exports of the improved CV, opened the way a person or another tool would open them."""

import io
import json
import time
from pathlib import Path

import docx
import jsonschema
import pytest

from cv.llm import offline
from cv.outputs.dates import date_range
from cv.outputs.jsonresume import schema, to_json_resume
from cv.tests.factories import AIResponseFactory, QuestionnaireFactory

pytestmark = pytest.mark.django_db

JANE_MARKDOWN = (Path(__file__).parents[2] / "pdf" / "tests" / "fixtures" / "jane_doe_improved.md").read_text()
JOHN_MARKDOWN = (Path(__file__).parents[2] / "pdf" / "tests" / "fixtures" / "john_smith_improved.md").read_text()
VALIDATOR = jsonschema.Draft7Validator(schema(), format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


@pytest.fixture
def succeeded(user):
    return AIResponseFactory.create(
        questionnaire=QuestionnaireFactory.create(user=user, position="Senior Backend Engineer"),
        status="succeeded",
        improved_cv=JANE_MARKDOWN,
        model="fake-model",
    )


def export(client, response_id: int, fmt: str | None, prefix: str = "cv"):
    query = f"?format={fmt}" if fmt else ""
    return client.get(f"/{prefix}/ai-responses/{response_id}/export/{query}")


def test_docx_export_keeps_headings_bullets_and_emphasis_as_word_structure(api_client, succeeded):
    response = export(api_client, succeeded.pk, "docx")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert response["Content-Disposition"] == 'attachment; filename="cv-jane-doe-senior-backend-engineer.docx"'
    document = docx.Document(io.BytesIO(response.content))
    paragraphs = [(p.style.name, p.text) for p in document.paragraphs if p.text]
    assert paragraphs[0] == ("Heading 1", "Jane Doe")
    headings2 = [text for style, text in paragraphs if style == "Heading 2"]
    assert headings2 == ["Summary", "Experience", "Education", "Skills", "Languages"]
    assert ("Heading 3", "Senior Software Engineer — Ledgerly Ltd, London") in paragraphs
    bullets = [text for style, text in paragraphs if style == "List Bullet"]
    assert bullets[0] == (
        "Own the payments API (Django, Django REST Framework) serving 1,200 requests per second at peak."
    )
    assert "Spanish — intermediate (B1)" in bullets
    assert len(bullets) == 10
    bold = [run.text for p in document.paragraphs for run in p.runs if run.bold]
    assert bold[:2] == ["payments API", "Celery with Redis"]
    italic = [run.text for p in document.paragraphs for run in p.runs if run.italic]
    assert italic == ["2021 \u2013 present", "2018 \u2013 2021", "2014 \u2013 2018"]
    table = document.tables[0]
    assert [cell.text for cell in table.rows[1].cells] == [
        "Languages & frameworks",
        "Python, Django, Django REST Framework, Flask",
    ]
    # The GitHub link is a real hyperlink Word can follow.
    assert "https://github.com/janedoe" in [rel.target_ref for rel in document.part.rels.values() if rel.is_external]


def test_json_export_is_a_valid_json_resume_with_partial_iso_dates(api_client, succeeded):
    response = export(api_client, succeeded.pk, "json", prefix="api")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].endswith('.json"')
    resume = json.loads(response.content)
    assert list(VALIDATOR.iter_errors(resume)) == []
    assert resume["basics"]["name"] == "Jane Doe"
    assert resume["basics"]["email"] == "jane.doe@example.com"
    assert resume["basics"]["phone"] == "+44 20 7946 0958"
    assert resume["basics"]["profiles"] == [
        {"network": "GitHub", "username": "janedoe", "url": "https://github.com/janedoe"}
    ]
    assert resume["basics"]["summary"].startswith("Backend engineer with six years")
    first_job = resume["work"][0]
    assert (first_job["position"], first_job["name"], first_job["startDate"]) == (
        "Senior Software Engineer",
        "Ledgerly Ltd",
        "2021",
    )
    assert "endDate" not in first_job
    assert len(first_job["highlights"]) == 5
    assert resume["work"][1]["startDate"] == "2018" and resume["work"][1]["endDate"] == "2021"
    assert resume["education"] == [
        {
            "institution": "University of Leeds",
            "studyType": "BSc",
            "area": "Computer Science",
            "startDate": "2014",
            "endDate": "2018",
        }
    ]
    assert {"name": "Data & messaging", "keywords": ["PostgreSQL", "Redis", "Celery"]} in resume["skills"]
    assert resume["languages"] == [
        {"language": "English", "fluency": "native"},
        {"language": "Spanish", "fluency": "intermediate (B1)"},
    ]


def test_json_resume_reads_month_dates_certificates_and_skill_lines():
    markdown = """# Ana Lima

ana@example.org | +351 912 345 678 | Lisbon, Portugal | [linkedin.com/in/analima](https://www.linkedin.com/in/analima)

## Professional Experience

### Data Analyst | Banco Azul, Lisbon | Mar 2021 \u2013 Present

- Built 14 dashboards.

### Junior Analyst at Retail Co (06/2018 - 02/2021)

Reporting for the sales team.

## Certifications

- AWS Certified Cloud Practitioner — Amazon Web Services, 2022
- Google Data Analytics Certificate (2020)

## Skills

- **Analysis:** SQL, Python, Excel
- Tableau

## Languages

Portuguese (native), English (C1)
"""
    resume = to_json_resume(markdown)

    assert list(VALIDATOR.iter_errors(resume)) == []
    assert resume["basics"]["location"] == {"city": "Lisbon", "region": "Portugal"}
    assert resume["basics"]["profiles"][0]["network"] == "LinkedIn"
    assert resume["work"][0] == {
        "name": "Banco Azul",
        "location": "Lisbon",
        "position": "Data Analyst",
        "highlights": ["Built 14 dashboards."],
        "startDate": "2021-03",
    }
    assert resume["work"][1]["position"] == "Junior Analyst"
    assert resume["work"][1]["name"] == "Retail Co"
    assert (resume["work"][1]["startDate"], resume["work"][1]["endDate"]) == ("2018-06", "2021-02")
    assert resume["certificates"] == [
        {"name": "AWS Certified Cloud Practitioner", "issuer": "Amazon Web Services", "date": "2022"},
        {"name": "Google Data Analytics Certificate", "date": "2020"},
    ]
    assert resume["skills"] == [{"name": "Analysis", "keywords": ["SQL", "Python", "Excel"]}, {"name": "Tableau"}]
    assert resume["languages"] == [
        {"language": "Portuguese", "fluency": "native"},
        {"language": "English", "fluency": "C1"},
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jan 2019 \u2013 Dec 2020", ("2019-01", "2020-12", "")),
        ("2020-09 to present", ("2020-09", None, "")),
        ("9/2017\u20136/2019", ("2017-09", "2019-06", "")),
        ("Engineer, Acme, 2015 - 2016", ("2015", "2016", "Engineer, Acme")),
        ("No dates here", (None, None, "No dates here")),
    ],
)
def test_dates_become_partial_iso_dates(text, expected):
    assert date_range(text) == expected


def test_the_schema_rejects_what_json_resume_does_not_allow():
    assert list(VALIDATOR.iter_errors({"work": [{"startDate": "March 2021"}]}))
    assert list(VALIDATOR.iter_errors({"unknown_section": []}))
    assert not list(VALIDATOR.iter_errors(to_json_resume(JOHN_MARKDOWN)))


def test_txt_export_is_plain_text_without_markdown_markers(api_client, succeeded):
    response = export(api_client, succeeded.pk, "txt")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    text = response.content.decode()
    assert text.startswith("Jane Doe\n========\n")
    assert "\nExperience\n----------\n" in text
    assert "- Own the payments API (Django, Django REST Framework)" in text
    assert "**" not in text and "##" not in text and "](" not in text


def test_markdown_export_is_the_improved_cv_without_the_offline_review(api_client, user):
    review = "# Review against the job\n\nMissing keywords: Kubernetes."
    response = AIResponseFactory.create(
        questionnaire=QuestionnaireFactory.create(user=user),
        status="succeeded",
        model=offline.MODEL_NAME,
        improved_cv="# Jane Doe\n\n## Skills\n\n- Python" + offline.REVIEW_SEPARATOR + review,
    )

    answer = export(api_client, response.pk, None)

    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/markdown; charset=utf-8"
    assert answer.content.decode() == "# Jane Doe\n\n## Skills\n\n- Python\n"


def test_other_users_response_is_404_and_anonymous_is_401(other_client, anon_client, succeeded):
    for fmt in ("md", "docx", "json"):
        assert export(other_client, succeeded.pk, fmt).status_code == 404
    assert export(anon_client, succeeded.pk, "docx").status_code == 401
    assert other_client.get(f"/cv/ai-responses/{succeeded.pk}/diff/").status_code == 404
    assert anon_client.get(f"/cv/ai-responses/{succeeded.pk}/diff/").status_code == 401


@pytest.mark.parametrize("status", ["pending", "running", "failed"])
def test_unfinished_response_cannot_be_exported(api_client, user, status):
    response = AIResponseFactory.create(questionnaire=QuestionnaireFactory.create(user=user), status=status)

    answer = export(api_client, response.pk, "docx")

    assert answer.status_code == 409
    assert answer.json()["code"] == "ai_response_not_ready"
    assert api_client.get(f"/cv/ai-responses/{response.pk}/diff/").json()["code"] == "ai_response_not_ready"


def test_unknown_export_format_is_a_400_naming_the_choices(api_client, succeeded):
    answer = export(api_client, succeeded.pk, "pdf")

    assert answer.status_code == 400
    assert "format" in answer.json()


def test_diff_shows_what_the_rewrite_changed_line_by_line(api_client, user):
    questionnaire = QuestionnaireFactory.create(
        user=user,
        resume_text="Jane Doe\njane@example.com\nEXPERIENCE\n• Wrote Python services\n• Fixed bugs\nSKILLS\nPython",
    )
    response = AIResponseFactory.create(
        questionnaire=questionnaire,
        status="succeeded",
        improved_cv=(
            "# Jane Doe\n\njane@example.com\n\n## Experience\n\n- Wrote Python services\n"
            "- Fixed 40 production bugs in Django\n\n## Skills\n\nPython"
        ),
    )

    answer = api_client.get(f"/api/ai-responses/{response.pk}/diff/")

    assert answer.status_code == 200
    body = answer.json()
    assert body["lines"] == [
        {"op": "equal", "text": "Jane Doe"},
        {"op": "equal", "text": "jane@example.com"},
        {"op": "equal", "text": "Experience"},
        {"op": "equal", "text": "Wrote Python services"},
        {"op": "delete", "text": "• Fixed bugs"},
        {"op": "insert", "text": "Fixed 40 production bugs in Django"},
        {"op": "equal", "text": "Skills"},
        {"op": "equal", "text": "Python"},
    ]
    assert body["stats"] == {
        "unchanged": 6,
        "inserted": 1,
        "deleted": 1,
        "lines_before": 7,
        "lines_after": 7,
        "similarity": 0.857,
    }


def test_export_and_diff_are_in_the_openapi_schema(anon_client):
    paths = anon_client.get("/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    export_op = paths["/cv/ai-responses/{id}/export/"]["get"]
    assert {"md", "txt", "docx", "json"} == set(
        next(p for p in export_op["parameters"] if p["name"] == "format")["schema"]["enum"]
    )
    assert (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        in export_op["responses"]["200"]["content"]
    )
    assert "/api/ai-responses/{id}/diff/" in paths


def test_the_longest_exportable_cv_exports_quickly_and_a_longer_one_is_refused(api_client, user):
    from cv.text.cv_document import max_markdown_chars

    longest = "\n\n".join([JANE_MARKDOWN] * 40)[: max_markdown_chars()]
    response = AIResponseFactory.create(
        questionnaire=QuestionnaireFactory.create(user=user), status="succeeded", improved_cv=longest
    )

    for fmt in ("docx", "json", "txt"):
        started = time.monotonic()
        assert export(api_client, response.pk, fmt).status_code == 200
        assert time.monotonic() - started < 15, fmt
    assert api_client.get(f"/cv/ai-responses/{response.pk}/diff/").status_code == 200

    response.improved_cv = longest + "\n\nx" * 10
    response.save()
    refused = export(api_client, response.pk, "docx")
    assert refused.status_code == 422
    assert refused.json()["code"] == "cv_too_large"
