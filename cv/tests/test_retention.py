"""DATA_RETENTION_DAYS: questionnaires nobody used for that long go, with their CV files, their analyses and the
PDFs rendered from them; nothing in use is touched, and a dry run only counts."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from core.tests.factories import UserFactory
from cv.models import AIResponse, CVQuestionnaire
from cv.tests.factories import AIResponseFactory, QuestionnaireFactory
from pdf.models import Document

pytestmark = pytest.mark.django_db


def days_ago(days: int):
    return timezone.now() - timedelta(days=days)


def questionnaire_with_cv(user, *, last_used_days: int) -> CVQuestionnaire:
    questionnaire = QuestionnaireFactory(user=user)
    questionnaire.resume.save("cv.pdf", ContentFile(b"%PDF-1.7 someone's CV"), save=True)
    CVQuestionnaire.objects.filter(pk=questionnaire.pk).update(
        created_at=days_ago(last_used_days), updated_at=days_ago(last_used_days)
    )
    return questionnaire


def response(questionnaire, *, days: int, status: str = "succeeded") -> AIResponse:
    ai_response = AIResponseFactory(questionnaire=questionnaire, user=questionnaire.user, status=status)
    AIResponse.objects.filter(pk=ai_response.pk).update(created_at=days_ago(days))
    return ai_response


def rendered(ai_response) -> Document:
    document = Document(user=ai_response.user, ai_response=ai_response, template="classic", content_hash="a" * 64)
    document.file.save("cv.pdf", ContentFile(b"%PDF-1.7 rendered"), save=True)
    return document


@pytest.fixture
def data(tmp_media):
    alice, bob = UserFactory(), UserFactory()
    abandoned = questionnaire_with_cv(alice, last_used_days=200)
    abandoned_response = response(abandoned, days=190)
    abandoned_document = rendered(abandoned_response)
    bobs_abandoned = questionnaire_with_cv(bob, last_used_days=400)
    # Created long ago, analysed last week: still in use.
    in_use = questionnaire_with_cv(alice, last_used_days=300)
    recent_response = response(in_use, days=7)
    # An analysis still running keeps its questionnaire, however old.
    in_flight = questionnaire_with_cv(bob, last_used_days=250)
    response(in_flight, days=250, status="running")
    fresh = questionnaire_with_cv(alice, last_used_days=3)
    return {
        "gone": [abandoned, bobs_abandoned],
        "kept": [in_use, in_flight, fresh],
        "gone_files": [abandoned.resume.name, bobs_abandoned.resume.name, abandoned_document.file.name],
        "kept_files": [q.resume.name for q in (in_use, in_flight, fresh)],
        "abandoned_response": abandoned_response,
        "abandoned_document": abandoned_document,
        "recent_response": recent_response,
    }


def test_questionnaires_unused_for_the_period_go_with_their_files_and_analyses(
    data, capsys, django_capture_on_commit_callbacks
):
    for name in data["gone_files"] + data["kept_files"]:
        assert default_storage.exists(name)

    with django_capture_on_commit_callbacks(execute=True):
        call_command("cleanup_old_data", "--days", "180")

    remaining = set(CVQuestionnaire.objects.values_list("pk", flat=True))
    assert remaining == {q.pk for q in data["kept"]}
    assert not AIResponse.objects.filter(pk=data["abandoned_response"].pk).exists()
    assert not Document.objects.filter(pk=data["abandoned_document"].pk).exists()
    assert AIResponse.objects.filter(pk=data["recent_response"].pk).exists()
    for name in data["gone_files"]:
        assert not default_storage.exists(name), name
    for name in data["kept_files"]:
        assert default_storage.exists(name), name
    out = capsys.readouterr().out
    assert "Deleted 2 questionnaires not used for 180 days, with their CV files." in out
    assert "Deleted 1 AI responses older than 180 days." in out
    assert "Deleted 1 documents (pdf.Document) with them." in out
    assert "Deleted 0 orphaned files." in out


def test_dry_run_reports_the_counts_and_deletes_nothing(data, capsys, django_capture_on_commit_callbacks):
    before = (CVQuestionnaire.objects.count(), AIResponse.objects.count(), Document.objects.count())

    with django_capture_on_commit_callbacks(execute=True):
        call_command("cleanup_old_data", "--days", "180", "--dry-run")

    assert (CVQuestionnaire.objects.count(), AIResponse.objects.count(), Document.objects.count()) == before
    for name in data["gone_files"] + data["kept_files"]:
        assert default_storage.exists(name), name
    out = capsys.readouterr().out
    assert "Would delete 2 questionnaires not used for 180 days, with their CV files." in out
    assert "Would delete 1 AI responses older than 180 days." in out
    assert "Would delete 1 documents (pdf.Document) with them." in out


def test_the_nightly_run_uses_data_retention_days(data, settings, django_capture_on_commit_callbacks):
    from cv.tasks import cleanup_old_data

    settings.DATA_RETENTION_DAYS = 180
    with django_capture_on_commit_callbacks(execute=True):
        result = cleanup_old_data()

    assert (result["questionnaires"], result["responses"]) == (2, 1)
    assert result["deleted"]["pdf.Document"] == 1
    assert set(CVQuestionnaire.objects.values_list("pk", flat=True)) == {q.pk for q in data["kept"]}
    for name in data["gone_files"]:
        assert not default_storage.exists(name), name


def test_a_longer_period_keeps_everything(data, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("cleanup_old_data", "--days", "500", stdout=open("/dev/null", "w"))
    assert CVQuestionnaire.objects.count() == 5
    for name in data["gone_files"] + data["kept_files"]:
        assert default_storage.exists(name), name
