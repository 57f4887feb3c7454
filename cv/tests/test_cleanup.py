import os
import time
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from cv.models import AIResponse
from cv.tests.factories import AIResponseFactory, QuestionnaireFactory
from pdf.models import Document


def _age(path_name: str, hours: float) -> None:
    path = default_storage.path(path_name)
    past = time.time() - hours * 3600
    os.utime(path, (past, past))


@pytest.fixture
def old_and_new(user):
    questionnaire = QuestionnaireFactory(user=user)
    old = AIResponseFactory(questionnaire=questionnaire, status="succeeded")
    AIResponse.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    stuck_old = AIResponseFactory(questionnaire=questionnaire, status="running")
    AIResponse.objects.filter(pk=stuck_old.pk).update(created_at=timezone.now() - timedelta(days=40))
    new = AIResponseFactory(questionnaire=questionnaire, status="succeeded")
    return old, stuck_old, new


@pytest.fixture
def files(user, tmp_media):
    questionnaire = QuestionnaireFactory(user=user)
    questionnaire.resume.save("cv.pdf", ContentFile(b"%PDF-1.7 kept"), save=True)
    orphan = default_storage.save(f"cvs/{user.pk}/orphan.pdf", ContentFile(b"%PDF-1.7 orphan"))
    fresh_orphan = default_storage.save(f"cvs/{user.pk}/uploading.pdf", ContentFile(b"%PDF-1.7 in flight"))
    other = default_storage.save("elsewhere/keep.txt", ContentFile(b"not ours"))
    for name in (questionnaire.resume.name, orphan, other):
        _age(name, hours=2)
    return {"kept": questionnaire.resume.name, "orphan": orphan, "fresh_orphan": fresh_orphan, "other": other}


@pytest.mark.django_db
def test_cleanup_deletes_old_finished_responses_and_orphaned_files(
    old_and_new, files, capsys, django_capture_on_commit_callbacks
):
    old, stuck_old, new = old_and_new
    document = Document(user=old.user, ai_response=old, template="classic", content_hash="x" * 64)
    document.file.save("cv.pdf", ContentFile(b"%PDF-1.7 rendered"), save=True)

    with django_capture_on_commit_callbacks(execute=True):
        call_command("cleanup_old_data", "--days", "30")

    assert set(AIResponse.objects.values_list("pk", flat=True)) == {stuck_old.pk, new.pk}
    assert not Document.objects.exists()
    assert not default_storage.exists(document.file.name)
    assert not default_storage.exists(files["orphan"])
    for name in ("kept", "fresh_orphan", "other"):
        assert default_storage.exists(files[name]), name
    out = capsys.readouterr().out
    assert "Deleted 1 AI responses older than 30 days." in out
    assert "Deleted 1 documents (pdf.Document) with them." in out
    assert "Deleted 1 orphaned files." in out
    assert files["orphan"] in out


@pytest.mark.django_db
def test_cleanup_dry_run_deletes_nothing(old_and_new, files, capsys):
    call_command("cleanup_old_data", "--days", "30", "--dry-run")

    assert AIResponse.objects.count() == 3
    assert default_storage.exists(files["orphan"])
    out = capsys.readouterr().out
    assert "Would delete 1 AI responses" in out
    assert "Would delete 1 orphaned files." in out


@pytest.mark.django_db
def test_nightly_task_uses_the_retention_setting(old_and_new, settings):
    from cv.tasks import cleanup_old_data

    settings.DATA_RETENTION_DAYS = 30

    result = cleanup_old_data()

    assert result["responses"] == 1
    assert AIResponse.objects.count() == 2
