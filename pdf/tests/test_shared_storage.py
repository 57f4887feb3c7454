"""The whole flow on an S3-compatible object store, with the web server and the worker on separate disks.

Upload, analysis, render and the owner's download run through a real gunicorn server and a real Celery
worker that share nothing but PostgreSQL, Redis and the bucket: each process gets its own empty
MEDIA_ROOT, so anything that silently relied on a shared local disk would fail here.
"""

import io
import time
import uuid
from pathlib import Path

import boto3
import httpx
import pytest
from pypdf import PdfReader

from testing.servers import celery_worker, gunicorn_server, redis_server, s3_server, stop_process

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

FIXTURES = Path(__file__).resolve().parent.parent.parent / "cv" / "tests" / "fixtures"
BUCKET = "cvimprover-test-files"


def _storage_env(endpoint: str, media_root: Path) -> dict[str, str]:
    return {
        "DEFAULT_FILE_STORAGE_BACKEND": "storages.backends.s3.S3Storage",
        "AWS_STORAGE_BUCKET_NAME": BUCKET,
        "AWS_S3_ENDPOINT_URL": endpoint,
        "AWS_S3_REGION_NAME": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "TEST_MEDIA_ROOT": str(media_root),
    }


def _files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()]


def _wait(client: httpx.Client, path: str, *, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(path).json()
        if body["status"] in ("succeeded", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"{path} still {body['status']} after {timeout} s")


@pytest.fixture
def bucket():
    with s3_server() as endpoint:
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        s3.create_bucket(Bucket=BUCKET)
        yield endpoint, s3


def test_upload_analysis_render_and_download_go_through_the_bucket(bucket, tmp_path):
    endpoint, s3 = bucket
    web_media, worker_media = tmp_path / "web-media", tmp_path / "worker-media"
    web_media.mkdir()
    worker_media.mkdir()

    with redis_server() as redis:
        _flow(endpoint, s3, redis.url(), web_media, worker_media, tmp_path)

    # Neither process wrote a file to its own disk.
    assert _files_under(web_media) == []
    assert _files_under(worker_media) == []


def _flow(endpoint, s3, redis_url: str, web_media: Path, worker_media: Path, tmp_path: Path) -> None:
    # A broker of their own, so no other test's worker (with its local storage) takes their jobs.
    worker = celery_worker(
        broker_url=redis_url, log_path=tmp_path / "worker.log", **_storage_env(endpoint, worker_media)
    )
    web_env = {**_storage_env(endpoint, web_media), "TEST_REDIS_URL": redis_url}
    try:
        with gunicorn_server(log_path=tmp_path / "web.log", **web_env) as web:
            base_url = web.url
            client = httpx.Client(base_url=base_url, timeout=30)
            name, password = f"s3user{uuid.uuid4().hex[:8]}", f"Pw-{uuid.uuid4().hex}"
            signed_up = client.post(
                "/auth/registration/",
                json={"username": name, "email": f"{name}@example.com", "password1": password, "password2": password},
            )
            assert signed_up.status_code == 201, signed_up.text
            access = client.post("/auth/login/", json={"username": name, "password": password}).json()["access"]
            client.cookies.clear()
            client.headers["Authorization"] = f"Bearer {access}"

            created = client.post(
                "/cv/questionnaire/",
                data={
                    "position": "Senior Backend Engineer",
                    "industry": "Software",
                    "experience_level": "6+",
                    "company_size": "medium",
                    "location": "Remote",
                    "application_timeline": "immediate",
                    "job_description": (FIXTURES / "senior_backend_engineer.txt").read_text()[:5000],
                },
                files={"resume": ("cv.pdf", (FIXTURES / "jane_doe_backend.pdf").read_bytes(), "application/pdf")},
            )
            assert created.status_code == 201, created.text
            questionnaire_id = created.json()["id"]

            accepted = client.post("/cv/ai-responses/", json={"questionnaire": questionnaire_id, "prompt": ""})
            assert accepted.status_code == 202, accepted.text
            analysis = _wait(client, f"/cv/ai-responses/{accepted.json()['id']}/")
            assert analysis["status"] == "succeeded", analysis["error"]

            queued = client.post(f"/cv/ai-responses/{analysis['id']}/generate-pdf/", json={"template": "classic"})
            assert queued.status_code == 202, queued.text
            document = _wait(client, f"/pdf/documents/{queued.json()['id']}/")
            assert document["status"] == "succeeded", document["error"]

            downloaded = client.get(document["download_url"])
            assert downloaded.status_code == 200
            assert downloaded.headers["content-type"] == "application/pdf"
            assert "Jane Doe" in PdfReader(io.BytesIO(downloaded.content)).pages[0].extract_text()

            # The uploaded CV and the rendered PDF are objects in the bucket, private to the API.
            keys = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
            assert any(key.endswith(".pdf") and key.startswith("cvs/") for key in keys), keys
            assert any(key.startswith("documents/") for key in keys), keys
            rendered = next(key for key in keys if key.startswith("documents/"))
            assert s3.get_object(Bucket=BUCKET, Key=rendered)["Body"].read() == downloaded.content
            for key in keys:
                grants = s3.get_object_acl(Bucket=BUCKET, Key=key)["Grants"]
                assert all("AllUsers" not in str(grant.get("Grantee", {})) for grant in grants), key

            other = httpx.Client(base_url=base_url, timeout=30)
            assert other.get(document["download_url"]).status_code == 401
    finally:
        stop_process(worker)
