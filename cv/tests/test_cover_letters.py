"""Cover letters through the API (queueing, ownership, quota, validation) and the offline writer's letters."""

import re
from pathlib import Path

import pytest

from core.models import QuotaUsage
from cv.letters import services as letters
from cv.models import CoverLetter
from cv.scoring import claims, matching
from cv.scoring.job import Job
from cv.tests.factories import AIResponseFactory, QuestionnaireFactory

pytestmark = pytest.mark.django_db
JANE_MARKDOWN = (Path(__file__).parents[2] / "pdf" / "tests" / "fixtures" / "jane_doe_improved.md").read_text()
LETTER_FIELDS = {
    "id",
    "error_code",
    "stage",
    "progress",
    "ai_response",
    "version",
    "tone",
    "words",
    "status",
    "letter",
    "verification",
    "model",
    "error",
    "created_at",
    "started_at",
    "finished_at",
}


@pytest.fixture
def sent(monkeypatch):
    """The letter jobs sent to the broker, recorded instead of sent."""
    from cv.tasks import write_cover_letter

    recorded: list[int] = []
    monkeypatch.setattr(write_cover_letter, "apply_async", lambda args, **options: recorded.append(args[0]))
    return recorded


@pytest.fixture
def analysis(user, jane_cv_text, backend_job):
    questionnaire = QuestionnaireFactory.create(user=user, resume_text=jane_cv_text, job_description=backend_job)
    return AIResponseFactory.create(questionnaire=questionnaire, status="succeeded", improved_cv=JANE_MARKDOWN)


def ask(client, response_id: int, body: dict | None = None, prefix: str = "cv"):
    return client.post(f"/{prefix}/ai-responses/{response_id}/cover-letter/", body or {}, format="json")


def _ai_used(user) -> int:
    row = QuotaUsage.objects.filter(user=user, scope="ai_responses").first()
    return row.used if row else 0


def test_asking_for_a_letter_answers_202_queues_it_and_takes_one_ai_unit(
    api_client, user, analysis, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = ask(api_client, analysis.pk, {"tone": "warm", "words": 250})

    assert response.status_code == 202, response.content
    body = response.json()
    assert set(body) == LETTER_FIELDS
    assert (body["ai_response"], body["tone"], body["words"], body["status"]) == (analysis.pk, "warm", 250, "pending")
    assert body["letter"] == "" and body["verification"] is None
    assert sent == [body["id"]]
    assert _ai_used(user) == 1
    assert api_client.get(f"/cv/cover-letters/{body['id']}/").json()["id"] == body["id"]
    assert [item["id"] for item in api_client.get("/api/cover-letters/").json()["results"]] == [body["id"]]


def test_tone_and_length_default_to_formal_and_300_words(api_client, analysis, sent):
    body = ask(api_client, analysis.pk, prefix="api").json()

    assert (body["tone"], body["words"]) == ("formal", 300)


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"tone": "sarcastic"}, "tone"), ({"words": 20}, "words"), ({"words": 5000}, "words"), ({"words": "x"}, "words")],
)
def test_bad_tone_or_length_is_a_field_error_and_costs_nothing(api_client, user, analysis, sent, payload, field):
    response = ask(api_client, analysis.pk, payload)

    assert response.status_code == 400
    assert field in response.json()
    assert not CoverLetter.objects.exists()
    assert _ai_used(user) == 0


def test_someone_elses_analysis_is_404_and_anonymous_is_401(other_client, anon_client, analysis, sent):
    assert ask(other_client, analysis.pk).status_code == 404
    assert ask(anon_client, analysis.pk).status_code == 401
    assert not CoverLetter.objects.exists()


def test_an_unfinished_analysis_cannot_have_a_letter(api_client, user, sent):
    pending = AIResponseFactory.create(questionnaire=QuestionnaireFactory.create(user=user), status="running")

    response = ask(api_client, pending.pk)

    assert response.status_code == 409
    assert response.json()["code"] == "ai_response_not_ready"
    assert _ai_used(user) == 0


def test_letters_share_the_daily_ai_quota(api_client, user, analysis, sent):
    for _ in range(3):  # the Free plan's 3 AI responses a day
        assert ask(api_client, analysis.pk).status_code == 202

    refused = ask(api_client, analysis.pk)

    assert refused.status_code == 429
    assert refused.json()["code"] == "quota_exceeded"
    assert CoverLetter.objects.count() == 3
    analysis_refused = api_client.post("/cv/ai-responses/", {"questionnaire": analysis.questionnaire_id}, format="json")
    assert analysis_refused.status_code == 429


def test_other_users_letters_are_invisible(api_client, other_client, analysis, sent):
    letter_id = ask(api_client, analysis.pk).json()["id"]

    assert other_client.get(f"/cv/cover-letters/{letter_id}/").status_code == 404
    assert other_client.get("/cv/cover-letters/").json()["count"] == 0
    assert other_client.post(f"/cv/cover-letters/{letter_id}/generate-pdf/").status_code == 404


def test_a_letter_not_written_yet_cannot_be_rendered(api_client, analysis, sent):
    letter_id = ask(api_client, analysis.pk).json()["id"]

    response = api_client.post(f"/cv/cover-letters/{letter_id}/generate-pdf/")

    assert response.status_code == 409
    assert response.json()["code"] == "cover_letter_not_ready"


def test_list_filters_by_analysis(api_client, user, analysis, sent):
    ask(api_client, analysis.pk)
    other = AIResponseFactory.create(
        questionnaire=analysis.questionnaire, status="succeeded", improved_cv=JANE_MARKDOWN
    )
    ask(api_client, other.pk)

    listed = api_client.get(f"/cv/cover-letters/?ai_response={other.pk}").json()

    assert [item["ai_response"] for item in listed["results"]] == [other.pk]
    assert api_client.get("/cv/cover-letters/?ai_response=x").status_code == 400


@pytest.mark.parametrize("tone", ["formal", "warm", "direct"])
def test_offline_letter_states_only_what_the_uploaded_cv_states(analysis, tone):
    questionnaire = analysis.questionnaire
    letter = letters.write_offline(questionnaire=questionnaire, cv_markdown=JANE_MARKDOWN, tone=tone, words=400)

    source = " ".join(matching.normalise(questionnaire.resume_text).split()).casefold()
    assert letter.startswith("# Jane Doe\n\njane.doe@example.com · +44 20 7946 0958\n")
    assert "Senior Backend Engineer" in letter
    assert "I have been Senior Software Engineer at Ledgerly Ltd since 2021." in letter
    bullets = [line[2:] for line in letter.splitlines() if line.startswith("- ")]
    assert len(bullets) == 3
    for bullet in bullets:
        assert " ".join(bullet.split()).casefold() in source
    # Lines with a measured result come first.
    assert re.search(r"\d", bullets[0])
    found = matching.match_report(
        job_text=Job.of(questionnaire).text, cv_text=questionnaire.resume_text, improved_text=None
    )["keywords"]["found"]
    assert f"My experience with {found[0]}, " in letter
    salutation, closing = {
        "formal": ("Dear Hiring Manager,", "Yours sincerely,"),
        "warm": ("Dear Hiring Team,", "With warm regards,"),
        "direct": ("Hello,", "Best regards,"),
    }[tone]
    assert salutation in letter and closing in letter
    assert letter.rstrip().endswith("Jane Doe")
    # The CV's own truthfulness check agrees that the offline letter claims nothing new.
    checked = claims.verify_rewrite(
        source_text=questionnaire.resume_text,
        request_text=f"Applying for: {questionnaire.position}, {questionnaire.industry}",
        improved_text=letters._letter_claims(letter),
        job_text=Job.of(questionnaire).text,
    )
    assert checked.as_dict() == {"status": "verified", "unsupported": []}


def test_a_shorter_letter_cites_fewer_achievements(analysis):
    short = letters.write_offline(
        questionnaire=analysis.questionnaire, cv_markdown=JANE_MARKDOWN, tone="direct", words=120
    )

    assert len([line for line in short.splitlines() if line.startswith("- ")]) == 1
    assert len(short.split()) < 160


def test_a_claim_the_rewrite_added_never_reaches_the_offline_letter(analysis):
    invented = JANE_MARKDOWN.replace(
        "- Mentored two junior developers", "- Led a team of 25 engineers at Google\n- Mentored two junior developers"
    ).replace("Ledgerly Ltd", "Ledgerly Global Holdings")

    letter = letters.write_offline(questionnaire=analysis.questionnaire, cv_markdown=invented, tone="formal", words=500)

    assert "Google" not in letter and "25 engineers" not in letter
    assert "Ledgerly Global Holdings" not in letter


def test_cover_letter_endpoints_are_in_the_openapi_schema(anon_client):
    schema = anon_client.get("/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    for path in (
        "/cv/ai-responses/{id}/cover-letter/",
        "/cv/cover-letters/",
        "/cv/cover-letters/{id}/",
        "/cv/cover-letters/{id}/generate-pdf/",
        "/api/cover-letters/{id}/generate-pdf/",
    ):
        assert path in paths, path
    assert set(schema["components"]["schemas"]["CoverLetter"]["properties"]) == LETTER_FIELDS
    assert "cover_letter" in schema["components"]["schemas"]["Document"]["properties"]
