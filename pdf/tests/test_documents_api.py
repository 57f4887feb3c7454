import io

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pypdf import PdfReader

from core.plans import free_plan
from pdf import services
from pdf.models import Document
from pdf.tests.factories import ai_response_for

pytestmark = pytest.mark.django_db


def rendered_document(*, user, ai_response, template="classic") -> Document:
    """A document rendered for real, in-process (the worker path is covered in test_worker.py)."""
    document, _ = services.document_request(user=user, ai_response=ai_response, template=template)
    services.document_render(document_id=document.pk)
    document.refresh_from_db()
    return document


def test_templates_lists_every_look(anon_client):
    response = anon_client.get("/pdf/templates/")

    assert response.status_code == 200
    body = response.json()
    slugs = [template["slug"] for template in body["results"]]
    assert {"classic", "modern"} <= set(slugs)
    assert body["count"] == len(slugs)
    assert all(template["name"] and template["description"] for template in body["results"])


def test_detail_of_a_rendered_document_links_to_its_download(api_client, user, ai_response, tmp_media):
    document = rendered_document(user=user, ai_response=ai_response)

    body = api_client.get(f"/pdf/documents/{document.pk}/").json()

    assert body["status"] == "succeeded"
    assert body["pages"] == 1
    assert body["size"] == document.file.size
    assert body["download_url"] == f"http://testserver/pdf/documents/{document.pk}/download/"


def test_download_streams_the_pdf_as_an_attachment(api_client, user, ai_response, tmp_media):
    document = rendered_document(user=user, ai_response=ai_response, template="modern")

    response = api_client.get(f"/pdf/documents/{document.pk}/download/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert response["Content-Disposition"].endswith('-modern.pdf"')
    content = b"".join(response.streaming_content)
    text = PdfReader(io.BytesIO(content)).pages[0].extract_text()
    assert "Jane Doe" in text
    assert "Senior Software Engineer" in text


def test_download_before_the_file_exists_is_409(api_client, user, ai_response, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        document, _ = services.document_request(user=user, ai_response=ai_response, template="classic")

    response = api_client.get(f"/pdf/documents/{document.pk}/download/")

    assert response.status_code == 409
    assert response.json()["code"] == "document_not_ready"


def test_other_users_document_is_404(other_client, user, ai_response, tmp_media):
    document = rendered_document(user=user, ai_response=ai_response)

    assert other_client.get(f"/pdf/documents/{document.pk}/").status_code == 404
    assert other_client.get(f"/pdf/documents/{document.pk}/download/").status_code == 404
    assert other_client.get("/pdf/documents/").json()["results"] == []


def test_anonymous_is_401_everywhere_but_templates(anon_client, user, ai_response, tmp_media):
    document = rendered_document(user=user, ai_response=ai_response)

    for url in ("/pdf/documents/", f"/pdf/documents/{document.pk}/", f"/pdf/documents/{document.pk}/download/"):
        assert anon_client.get(url).status_code == 401


def test_stored_file_is_not_reachable_by_any_url(anon_client, api_client, user, ai_response, tmp_media, settings):
    document = rendered_document(user=user, ai_response=ai_response)

    for client in (anon_client, api_client):
        for url in (
            f"{settings.MEDIA_URL}{document.file.name}",
            f"/media/{document.file.name}",
            f"/{document.file.name}",
        ):
            assert client.get(url).status_code == 404


def test_list_shows_only_own_documents_newest_first_in_constant_queries(
    api_client, user, other_user, ai_response, django_capture_on_commit_callbacks
):
    def add_documents(count: int) -> None:
        with django_capture_on_commit_callbacks():
            for number in range(count):
                response = ai_response_for(user=user, improved_cv=f"# Someone\n\n## Section {number}\n")
                services.document_request(user=user, ai_response=response, template="classic")

    free_plan()  # seeded, as on a real installation (creating it on first use would empty the plan cache)
    foreign = ai_response_for(user=other_user, improved_cv="# Other person\n")
    with django_capture_on_commit_callbacks():
        services.document_request(user=other_user, ai_response=foreign, template="classic")
    add_documents(2)
    api_client.get("/pdf/documents/")  # warms the per-user caches (plan, throttle) that later calls reuse
    with CaptureQueriesContext(connection) as few:
        assert api_client.get("/pdf/documents/").json()["count"] == 2
    add_documents(8)

    with CaptureQueriesContext(connection) as many:
        response = api_client.get("/pdf/documents/")

    assert len(many) == len(few) <= 5
    body = response.json()
    assert response.status_code == 200
    assert body["count"] == 10
    ids = [document["id"] for document in body["results"]]
    assert ids == sorted(ids, reverse=True)
    assert set(Document.objects.filter(user=user).values_list("id", flat=True)) == set(ids)


@pytest.mark.django_db(transaction=True)
def test_deleting_a_document_deletes_its_file(user, ai_response, tmp_media):
    document = rendered_document(user=user, ai_response=ai_response)
    name = document.file.name
    assert default_storage.exists(name)

    document.delete()

    assert not default_storage.exists(name)


@pytest.mark.django_db(transaction=True)
def test_deleting_the_user_deletes_their_document_files(user, ai_response, tmp_media):
    document = rendered_document(user=user, ai_response=ai_response)
    name = document.file.name

    user.delete()

    assert not Document.objects.filter(pk=document.pk).exists()
    assert not default_storage.exists(name)
