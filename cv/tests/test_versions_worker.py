"""The person stays the author, the whole story through real Celery workers on the real Redis: an analysis by
the local fake model on a worker of this module's own queue, PDFs rendered by the session's worker.

Upload a CV, analyse it (the model invents claims that survive its repair round), edit the flagged line away,
add a fact of one's own, lose a race with a stale second tab, restore version 1, export and render version 2,
compare versions 1 and 3, then reuse the same CV for a second job without paying an upload, and delete the
first questionnaire while the second keeps the file."""

import io
import os
import time
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfReader

from core.models import QuotaUsage
from cv.models import AIResponseVersion, CVQuestionnaire
from testing.fake_openai import DEFAULT_IMPROVED_CV, Answer
from testing.workers import llm_worker_fixtures

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

FIXTURES = Path(__file__).parent / "fixtures"
QUEUE = f"cv-test-versions-{os.getpid()}"
WAIT_SECONDS = 45
INVENTED_LINE = "- Integrated the Monzo payments API serving 2 million requests a day on Kubernetes."
INVENTED = DEFAULT_IMPROVED_CV.replace(
    "- Mentored two junior developers.", f"- Mentored two junior developers.\n{INVENTED_LINE}"
).replace("Git, Linux", "Git, Linux, Kubernetes")
OWN_FACT = "- Ran the on-call rota for the Kubernetes platform of Ledgerly Ltd, 3 million requests a day."


# No temporary media folder: the session worker renders PDFs into the test settings' one.
versions_fake, versions_worker, fake = llm_worker_fixtures(
    name="cv-versions",
    queue=QUEUE,
    server="versions_fake",
    worker="versions_worker",
    tmp_media=False,
)


def _wait(client, url: str) -> dict:
    deadline = time.monotonic() + WAIT_SECONDS
    body: dict = {}
    while time.monotonic() < deadline:
        answer = client.get(url)
        body = answer.json()
        assert answer.status_code == 200, body
        if body.get("status") in ("succeeded", "failed"):
            return body
        time.sleep(0.5)  # slow enough to stay inside the Free plan's API calls per hour
    raise AssertionError(f"{url} still {body.get('status')} after {WAIT_SECONDS} s")


def _used(user, scope: str) -> int:
    row = QuotaUsage.objects.filter(user=user, scope=scope).first()
    return row.used if row else 0


def _flagged(verification: dict) -> set[tuple[str, str, str, int]]:
    return {(c["kind"], c["text"], c["source"], c["introduced_in"]) for c in verification["unsupported"]}


def test_the_person_edits_versions_and_reuses_one_cv_for_two_jobs(celery_worker, fake, api_client, user, backend_job):
    # The model invents three claims and keeps them through its repair round.
    fake.queue(Answer(improved_cv=INVENTED), Answer(improved_cv=INVENTED))
    upload = SimpleUploadedFile(
        "cv.pdf", (FIXTURES / "jane_doe_backend.pdf").read_bytes(), content_type="application/pdf"
    )
    created = api_client.post(
        "/api/questionnaire/",
        {"position": "Senior Backend Engineer", "job_description": backend_job, "resume": upload},
        format="multipart",
    )
    assert created.status_code == 201, created.content
    first_job = created.json()["id"]
    assert _used(user, "uploads") == 1

    queued = api_client.post("/cv/ai-responses/", {"questionnaire": first_job}, format="json")
    assert queued.status_code == 202
    url = f"/cv/ai-responses/{queued.json()['id']}/"
    analysis = _wait(api_client, url)
    assert analysis["status"] == "succeeded", analysis["error"]
    assert analysis["version"] == 1
    assert analysis["verification"]["status"] == "flagged"
    assert _flagged(analysis["verification"]) == {
        ("number", "2 million", "model", 1),
        ("keyword", "Kubernetes", "model", 1),
        ("organisation", "Monzo", "model", 1),
    }
    assert api_client.get(url)["ETag"] == '"v1"'
    ai_used = _used(user, "ai_responses")

    # Version 2: the flagged line edited away (and the invented skill): verified.
    edited = INVENTED.replace(f"\n{INVENTED_LINE}", "").replace("Git, Linux, Kubernetes", "Git, Linux")
    saved = api_client.patch(url, {"improved_cv": edited, "base_version": 1}, format="json")
    assert saved.status_code == 200, saved.content
    assert saved["ETag"] == '"v2"'
    second = saved.json()
    assert (second["version"], second["improved_cv"]) == (2, edited)
    assert second["verification"] == {"status": "verified", "unsupported": [], "missing": []}
    assert second["match_report"]["keywords"]["unsupported"] == []

    # Version 3: a fact of the person's own, with a skill, an employer and a number: theirs, never flagged.
    own = edited.replace("- Mentored two junior developers.", f"- Mentored two junior developers.\n{OWN_FACT}")
    saved = api_client.patch(url, {"improved_cv": own}, format="json", HTTP_IF_MATCH='"v2"')
    assert saved.status_code == 200, saved.content
    third = saved.json()
    assert third["version"] == 3
    assert third["verification"] == {"status": "verified", "unsupported": [], "missing": []}
    assert "Kubernetes" in third["match_report"]["keywords"]["added"]

    # A second tab still on version 2 saves: refused with the latest, nothing saved.
    stale = api_client.patch(url, {"improved_cv": edited + "\n\nOne more line.", "base_version": 2}, format="json")
    assert stale.status_code == 409
    assert stale.json()["code"] == "version_conflict"
    assert stale.json()["latest"]["version"] == 3
    assert stale.json()["latest"]["improved_cv"] == own
    assert api_client.get(url).json()["version"] == 3

    # Version 4 restores version 1: its text and its flags, still the model's from version 1.
    restored = api_client.post(f"{url}versions/1/restore/")
    assert restored.status_code == 200, restored.content
    assert restored.json()["version"] == 4
    assert restored.json()["improved_cv"] == INVENTED
    assert _flagged(restored.json()["verification"]) == _flagged(analysis["verification"])
    listed = api_client.get(f"{url}versions/").json()
    assert [(v["number"], v["source"], v["based_on"]) for v in listed["results"]] == [
        (1, "model", None),
        (2, "person", 1),
        (3, "person", 2),
        (4, "restore", 1),
    ]
    assert [v["stats"]["verification"] for v in listed["results"]] == ["flagged", "verified", "verified", "flagged"]
    assert api_client.get(f"/api{url[3:]}versions/2/").json()["improved_cv"] == edited

    # Export and render version 2, though version 4 is the latest.
    markdown = api_client.get(f"{url}export/?format=md&version=2")
    assert markdown.status_code == 200
    assert markdown.content.decode().strip() == edited.strip()
    rendering = api_client.post(f"{url}generate-pdf/", {"version": 2}, format="json")
    assert rendering.status_code == 202, rendering.content
    document = _wait(api_client, f"/pdf/documents/{rendering.json()['id']}/")
    assert document["status"] == "succeeded", document["error"]
    assert document["version"] == 2
    download = api_client.get(document["download_url"])
    pdf_text = " ".join(
        " ".join(page.extract_text().split())
        for page in PdfReader(io.BytesIO(b"".join(download.streaming_content))).pages
    )
    assert "Mentored two junior developers." in pdf_text
    assert "Monzo" not in pdf_text and "on-call rota" not in pdf_text
    again = api_client.post(f"/api{url[3:]}generate-pdf/", {"version": 2}, format="json")
    assert again.json()["id"] == document["id"]  # the same version and template: the same document

    # What changed from the model's answer to the person's own version.
    changes = api_client.get(f"{url}diff/?from=1&to=3").json()
    deleted = [line["text"] for line in changes["lines"] if line["op"] == "delete"]
    inserted = [line["text"] for line in changes["lines"] if line["op"] == "insert"]
    assert any("Monzo" in line for line in deleted)
    assert any("on-call rota" in line for line in inserted)
    assert not any("on-call rota" in line for line in deleted)
    # No edit, restore, export or render took a unit of the daily AI quota.
    assert _used(user, "ai_responses") == ai_used

    # The same CV for a second job: no upload unit, the same file.
    reused = api_client.post(
        "/cv/questionnaire/", {"position": "Platform Engineer", "resume_from": first_job}, format="json"
    )
    assert reused.status_code == 201, reused.content
    assert reused.json()["has_resume"] is True
    assert reused.json()["resume_text"] == created.json()["resume_text"]
    assert _used(user, "uploads") == 1
    assert _used(user, "questionnaires") == 2
    file_name = CVQuestionnaire.objects.get(pk=first_job).resume.name
    assert CVQuestionnaire.objects.get(pk=reused.json()["id"]).resume.name == file_name

    # Deleting the first questionnaire (and its analysis and versions) keeps the file the second uses.
    assert api_client.delete(f"/cv/questionnaire/{first_job}/").status_code == 204
    assert not AIResponseVersion.objects.filter(response_id=analysis["id"]).exists()
    assert default_storage.exists(file_name)
    second_analysis = api_client.post("/cv/ai-responses/", {"questionnaire": reused.json()["id"]}, format="json")
    assert second_analysis.status_code == 202
    assert _wait(api_client, f"/cv/ai-responses/{second_analysis.json()['id']}/")["status"] == "succeeded"

    # The last one gone, the file goes too.
    assert api_client.delete(f"/cv/questionnaire/{reused.json()['id']}/").status_code == 204
    assert not default_storage.exists(file_name)
