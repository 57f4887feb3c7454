from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from core.models import QuotaUsage
from core.services import user_delete
from cv.models import CVQuestionnaire
from cv.tests.factories import QuestionnaireFactory

FIXTURES = Path(__file__).parent / "fixtures"
URL = "/cv/questionnaire/"

JOB = {
    "position": "Senior Backend Engineer",
    "industry": "FinTech",
    "experience_level": "6+",
    "company_size": "medium",
    "location": "London",
    "application_timeline": "immediate",
    "job_description": (FIXTURES / "senior_backend_engineer.txt").read_text(),
}

BAD_FILES = {
    "empty.pdf": "The file is empty",
    "encrypted.pdf": "password-protected",
    "image_only.pdf": "scanned image",
    "png_renamed.pdf": "not a PDF",
    "truncated.pdf": "incomplete",
}
# Refused before any parsing: these cost no upload unit. The others were parsed, and the unit counts the attempt.
REFUSED_BEFORE_PARSING = {"empty.pdf", "png_renamed.pdf"}


def _pdf(name: str, upload_name: str | None = None) -> SimpleUploadedFile:
    path = FIXTURES / name
    return SimpleUploadedFile(upload_name or path.name, path.read_bytes(), content_type="application/pdf")


def _stored_files(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def _used(user, scope: str) -> int:
    row = QuotaUsage.objects.filter(user=user, scope=scope).first()
    return row.used if row else 0


@pytest.mark.django_db
def test_questionnaire_is_created_from_json(api_client, user):
    response = api_client.post(URL, JOB, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["position"] == "Senior Backend Engineer"
    assert body["experience_level"] == "6+"
    assert body["has_resume"] is False
    assert body["resume_pages"] is None
    assert "resume" not in body
    assert CVQuestionnaire.objects.get(pk=body["id"]).user == user
    assert _used(user, "questionnaires") == 1


@pytest.mark.django_db
def test_questionnaire_with_a_cv_stores_the_file_under_a_random_name_and_its_text(api_client, user, tmp_media):
    response = api_client.post(URL, {**JOB, "resume": _pdf("jane_doe_backend.pdf", "my cv.pdf")}, format="multipart")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["has_resume"] is True
    assert body["resume_pages"] == 1
    assert body["resume_text"].startswith("Jane Doe")
    questionnaire = CVQuestionnaire.objects.get(pk=body["id"])
    assert questionnaire.resume.name.startswith(f"cvs/{user.pk}/")
    assert "my cv" not in questionnaire.resume.name
    assert default_storage.open(questionnaire.resume.name).read() == (FIXTURES / "jane_doe_backend.pdf").read_bytes()
    assert _used(user, "uploads") == 1


@pytest.mark.django_db
def test_pdf_is_accepted_by_content_even_with_another_extension(api_client, tmp_media):
    response = api_client.post(URL, {**JOB, "resume": _pdf("jane_doe_backend.pdf", "cv.txt")}, format="multipart")

    assert response.status_code == 201, response.content


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_broken_cv_is_refused_with_its_own_message_and_nothing_is_stored(api_client, user, tmp_media, name):
    response = api_client.post(URL, {**JOB, "resume": _pdf(f"bad/{name}", name)}, format="multipart")

    assert response.status_code == 400
    [message] = response.json()["resume"]
    assert BAD_FILES[name] in message
    assert not CVQuestionnaire.objects.exists()
    assert _stored_files(tmp_media) == []
    assert _used(user, "questionnaires") == 0
    assert _used(user, "uploads") == (0 if name in REFUSED_BEFORE_PARSING else 1)


@pytest.mark.django_db
def test_html_is_stripped_from_text_fields(api_client):
    response = api_client.post(
        URL,
        {
            **JOB,
            "position": "<b>Backend</b> Engineer<script>alert(1)</script>",
            "job_description": "<ul><li>Python</li><li>R&amp;D on <i>Django</i></li></ul>&lt;img src=x&gt;",
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["position"] == "Backend Engineer"
    assert body["job_description"] == "Python\nR&D on Django"


@pytest.mark.django_db
def test_job_description_over_5000_characters_is_refused(api_client):
    response = api_client.post(URL, {**JOB, "job_description": "x" * 5001}, format="json")

    assert response.status_code == 400
    assert "job_description" in response.json()


@pytest.mark.django_db
def test_markup_does_not_count_towards_the_job_description_limit(api_client):
    response = api_client.post(URL, {**JOB, "job_description": "<p>" + "x" * 4990 + "</p>" * 10}, format="json")

    assert response.status_code == 201, response.content


@pytest.mark.django_db
def test_unknown_choice_is_a_field_error(api_client):
    response = api_client.post(URL, {**JOB, "experience_level": "ten"}, format="json")

    assert response.status_code == 400
    assert "experience_level" in response.json()


@pytest.mark.django_db
def test_list_shows_only_ones_own_questionnaires(api_client, user, other_user):
    mine = QuestionnaireFactory.create(user=user)
    QuestionnaireFactory.create(user=other_user)

    response = api_client.get(URL)

    assert response.status_code == 200
    assert [q["id"] for q in response.json()["results"]] == [mine.pk]


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "patch", "put", "delete"])
def test_another_users_questionnaire_is_404(api_client, other_user, method):
    theirs = QuestionnaireFactory.create(user=other_user)

    response = getattr(api_client, method)(f"{URL}{theirs.pk}/", {"position": "Mine now"}, format="json")

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.position == "Senior Backend Engineer"


@pytest.mark.django_db
def test_questionnaire_is_updated_and_a_new_cv_replaces_the_old_file(
    api_client, user, tmp_media, django_capture_on_commit_callbacks
):
    created = api_client.post(URL, {**JOB, "resume": _pdf("jane_doe_backend.pdf")}, format="multipart").json()
    old_name = CVQuestionnaire.objects.get(pk=created["id"]).resume.name

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.patch(
            f"{URL}{created['id']}/",
            {"position": "Growth Marketing Manager", "resume": _pdf("john_smith_marketing.pdf")},
            format="multipart",
        )

    assert response.status_code == 200, response.content
    assert response.json()["position"] == "Growth Marketing Manager"
    assert "John Smith" in response.json()["resume_text"]
    assert not default_storage.exists(old_name)
    assert default_storage.exists(CVQuestionnaire.objects.get(pk=created["id"]).resume.name)
    assert _used(user, "uploads") == 2


@pytest.mark.django_db
def test_refused_cv_on_update_keeps_the_old_one(api_client, tmp_media):
    created = api_client.post(URL, {**JOB, "resume": _pdf("jane_doe_backend.pdf")}, format="multipart").json()

    response = api_client.patch(f"{URL}{created['id']}/", {"resume": _pdf("bad/truncated.pdf")}, format="multipart")

    assert response.status_code == 400
    questionnaire = CVQuestionnaire.objects.get(pk=created["id"])
    assert questionnaire.resume_text.startswith("Jane Doe")
    assert len(_stored_files(tmp_media)) == 1


@pytest.mark.django_db
def test_deleting_a_questionnaire_deletes_its_cv_file(api_client, tmp_media, django_capture_on_commit_callbacks):
    created = api_client.post(URL, {**JOB, "resume": _pdf("jane_doe_backend.pdf")}, format="multipart").json()

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.delete(f"{URL}{created['id']}/")

    assert response.status_code == 204
    assert not CVQuestionnaire.objects.exists()
    assert _stored_files(tmp_media) == []


@pytest.mark.django_db
def test_deleting_the_account_deletes_its_cv_files(api_client, user, tmp_media, django_capture_on_commit_callbacks):
    for _ in range(2):
        api_client.post(URL, {**JOB, "resume": _pdf("jane_doe_backend.pdf")}, format="multipart")
    assert len(_stored_files(tmp_media)) == 2

    with django_capture_on_commit_callbacks(execute=True):
        user_delete(user=user)

    assert _stored_files(tmp_media) == []


@pytest.mark.django_db
def test_questionnaire_quota_is_enforced(api_client):
    statuses = [api_client.post(URL, JOB, format="json").status_code for _ in range(6)]

    assert statuses == [201] * 5 + [429]
    body = api_client.post(URL, JOB, format="json").json()
    assert body["code"] == "quota_exceeded"
    assert body["limit"] == 5
    assert body["reset_at"]


@pytest.mark.django_db
def test_upload_quota_is_enforced_and_a_refused_upload_costs_nothing(api_client, user, tmp_media):
    api_client.post(URL, {**JOB, "resume": _pdf("bad/empty.pdf")}, format="multipart")
    statuses = [
        api_client.post(URL, {**JOB, "resume": _pdf("jane_doe_backend.pdf")}, format="multipart").status_code
        for _ in range(4)
    ]

    assert statuses == [201, 201, 201, 429]
    assert len(_stored_files(tmp_media)) == 3
    # The refused fourth upload gave its questionnaire unit back too (same transaction).
    assert _used(user, "questionnaires") == 3


@pytest.mark.django_db
def test_questionnaires_are_also_served_under_api(api_client, user):
    QuestionnaireFactory.create(user=user)

    response = api_client.get("/api/questionnaire/")

    assert response.status_code == 200
    assert response.json()["count"] == 1


@pytest.mark.django_db
def test_anonymous_caller_is_refused(anon_client):
    assert anon_client.get(URL).status_code == 401


@pytest.mark.django_db
def test_list_query_count_does_not_grow_with_rows(api_client, user, django_assert_max_num_queries):
    QuestionnaireFactory.create_batch(2, user=user)
    api_client.get(URL)  # warm the plan row and caches
    QuestionnaireFactory.create(user=user)  # a change: the next read builds its page (no cached page)
    with django_assert_max_num_queries(10) as few:
        api_client.get(URL)
    QuestionnaireFactory.create_batch(10, user=user)

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = api_client.get(URL)

    assert response.json()["count"] == 13


@pytest.mark.django_db
def test_cv_over_the_size_limit_is_refused_with_the_limit(api_client, settings, tmp_media):
    settings.CV_MAX_UPLOAD_BYTES = 10_000
    big = SimpleUploadedFile("big.pdf", b"%PDF-1.7\n" + b"0" * 20_000, content_type="application/pdf")

    response = api_client.post(URL, {**JOB, "resume": big}, format="multipart")

    assert response.status_code == 400
    assert response.json()["resume"] == ["The file is too large: the limit is 10000 bytes."]
    assert _stored_files(tmp_media) == []


@pytest.mark.django_db
def test_the_job_description_bound_is_the_setting_read_at_each_request(api_client, settings):
    settings.CV_JOB_DESCRIPTION_MAX_CHARS = 10

    refused = api_client.post(URL, {**JOB, "job_description": "x" * 11}, format="json")
    accepted = api_client.post(URL, {**JOB, "job_description": "x" * 10}, format="json")

    assert refused.status_code == 400
    assert refused.json()["job_description"] == ["Ensure this field has no more than 10 characters."]
    assert accepted.status_code == 201, accepted.content


@pytest.mark.django_db
def test_the_schema_states_the_job_description_bound_from_settings(anon_client):
    schema = anon_client.get("/schema/", HTTP_ACCEPT="application/json").json()

    assert schema["components"]["schemas"]["QuestionnaireRequest"]["properties"]["job_description"]["maxLength"] == 5000
