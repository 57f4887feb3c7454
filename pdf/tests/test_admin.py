import pytest

from core.tests.factories import UserFactory
from pdf import services
from pdf.models import Document

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    admin = UserFactory.create(is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


@pytest.fixture
def failed_document(user, ai_response, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        document, _ = services.document_request(user=user, ai_response=ai_response, template="classic")
    Document.objects.filter(pk=document.pk).update(status="failed", error="The PDF could not be rendered.", attempts=1)
    return document


def test_changelist_filters_and_searches(admin_client, failed_document, user):
    response = admin_client.get("/admin/pdf/document/", {"status": "failed", "q": user.email})

    assert response.status_code == 200
    assert f">{failed_document.pk}<" in response.content.decode()


def test_rerender_action_queues_the_document_again(admin_client, failed_document, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            "/admin/pdf/document/", {"action": "rerender", "_selected_action": [failed_document.pk]}
        )

    assert response.status_code == 302
    failed_document.refresh_from_db()
    assert failed_document.status == "pending"
    assert failed_document.error == ""
    assert len(callbacks) == 1


def test_change_page_shows_the_stored_path_without_linking_it(admin_client, user, ai_response, tmp_media, settings):
    document, _ = services.document_request(user=user, ai_response=ai_response, template="classic")
    services.document_render(document_id=document.pk)
    document.refresh_from_db()

    page = admin_client.get(f"/admin/pdf/document/{document.pk}/change/").content.decode()

    assert document.file.name in page
    assert settings.MEDIA_URL not in page
