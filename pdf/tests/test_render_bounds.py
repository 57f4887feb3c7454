"""A text past the size bounds of a CV (settings CV_MAX_*) is refused before WeasyPrint runs: at
`generate-pdf` with a 400 naming the bound, and by the worker for a document queued before the bounds."""

import pytest
from django.conf import settings

from cv.models import CoverLetter
from pdf import services
from pdf.models import Document
from pdf.tests.factories import ai_response_for

pytestmark = pytest.mark.django_db


def _table(rows: int, columns: int) -> str:
    header = "| " + " | ".join(f"Skill {n}" for n in range(columns)) + " |"
    delimiter = "|" + "---|" * columns
    body = ["| " + " | ".join(f"r{r}c{c}" for c in range(columns)) + " |" for r in range(rows)]
    return "\n".join([header, delimiter, *body])


def _past(bound: str, jane_markdown: str) -> tuple[str, int]:
    """Jane's CV made to exceed `bound` by one, and the value the answer should report."""
    if bound == "text_chars":
        filler = "\n\n".join(["- Built and ran payment services in Python."] * 2000)
        text = (jane_markdown + "\n\n" + filler)[: settings.CV_MAX_TEXT_CHARS + 1]
        return text, len(text)
    if bound == "word_chars":
        return jane_markdown + "\n\n" + "x" * (settings.CV_MAX_WORD_CHARS + 1), settings.CV_MAX_WORD_CHARS + 1
    if bound == "line_chars":
        line = ("Delivered reliable services " * 200)[: settings.CV_MAX_LINE_CHARS + 1]
        return jane_markdown + "\n\n" + line, len(line)
    if bound == "table_rows":
        return jane_markdown + "\n\n" + _table(settings.CV_MAX_TABLE_ROWS + 1, 3), settings.CV_MAX_TABLE_ROWS + 2
    return jane_markdown + "\n\n" + _table(2, settings.CV_MAX_TABLE_COLUMNS + 1), settings.CV_MAX_TABLE_COLUMNS + 1


BOUNDS = ["text_chars", "word_chars", "line_chars", "table_rows", "table_columns"]
CODES = {
    "text_chars": "cv_text_too_long",
    "word_chars": "cv_word_too_long",
    "line_chars": "cv_line_too_long",
    "table_rows": "cv_table_too_many_rows",
    "table_columns": "cv_table_too_many_columns",
}


@pytest.mark.parametrize("bound", BOUNDS)
def test_a_cv_past_a_bound_is_refused_at_generate_pdf_with_a_400_naming_it(
    api_client, user, jane_markdown, bound, django_capture_on_commit_callbacks
):
    text, found = _past(bound, jane_markdown)
    response = ai_response_for(user=user, improved_cv=text)

    with django_capture_on_commit_callbacks() as callbacks:
        answer = api_client.post(f"/cv/ai-responses/{response.pk}/generate-pdf/", {}, format="json")

    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == CODES[bound]
    assert body["actual"] == found
    assert body["limit"] == getattr(settings, "CV_MAX_" + bound.upper())
    assert f"the limit is {body['limit']:,}." in body["detail"]
    assert f"{found:,}" in body["detail"]
    assert "the CV" in body["detail"].replace("The CV", "the CV")
    assert not Document.objects.exists()
    assert callbacks == []


def test_a_cv_at_every_bound_is_rendered(user, jane_markdown, tmp_media, django_capture_on_commit_callbacks):
    at_bounds = "\n\n".join(
        [
            jane_markdown,
            "x" * settings.CV_MAX_WORD_CHARS,
            ("Delivered reliable services " * 100)[: settings.CV_MAX_LINE_CHARS],
            _table(settings.CV_MAX_TABLE_ROWS - 1, settings.CV_MAX_TABLE_COLUMNS),  # the header is a row too
        ]
    )
    response = ai_response_for(user=user, improved_cv=at_bounds)

    with django_capture_on_commit_callbacks():
        document, created = services.document_request(user=user, ai_response=response)
    services.document_render(document_id=document.pk)

    document.refresh_from_db()
    assert created
    assert document.status == "succeeded", document.error


def test_a_cover_letter_past_a_bound_is_refused_at_generate_pdf(api_client, user, ai_response):
    letter = CoverLetter.objects.create(
        ai_response=ai_response, user=user, status="succeeded", letter="Dear team,\n\n" + "y" * 5000
    )

    answer = api_client.post(f"/cv/cover-letters/{letter.pk}/generate-pdf/")

    assert answer.status_code == 400
    assert answer.json()["code"] == "cv_word_too_long"
    assert answer.json()["detail"].startswith("A word in the cover letter is 5,000 characters long")
    assert not Document.objects.exists()


def test_a_document_queued_before_the_bounds_fails_at_once_without_rendering(
    user, jane_markdown, tmp_media, monkeypatch
):
    text, _ = _past("word_chars", jane_markdown)
    response = ai_response_for(user=user, improved_cv=text)
    # What a document queued before the bounds existed looks like: the request never checked it.
    document = Document.objects.create(
        user=user,
        ai_response=response,
        template="classic",
        content_hash=services.content_hash_for(markdown=text, template="classic"),
    )
    rendered = []
    monkeypatch.setattr(services, "render_pdf", lambda **kwargs: rendered.append(kwargs))

    services.document_render(document_id=document.pk)

    document.refresh_from_db()
    assert rendered == []
    assert document.status == "failed"
    assert document.error_code == "content_too_large"
    assert document.error.startswith("A word in the CV is")
    assert f"the limit is {settings.CV_MAX_WORD_CHARS:,}." in document.error
