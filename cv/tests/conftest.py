from pathlib import Path

import pytest

from cv.intake.pdf_text import extract_cv_text
from testing.fake_openai import FakeOpenAI

FIXTURES = Path(__file__).parent / "fixtures"


def _cv_text(name: str) -> str:
    text, _ = extract_cv_text((FIXTURES / name).read_bytes(), max_bytes=10 * 1024 * 1024, max_pages=20, timeout=20)
    return text


@pytest.fixture(scope="session")
def jane_cv_text() -> str:
    return _cv_text("jane_doe_backend.pdf")


@pytest.fixture(scope="session")
def john_cv_text() -> str:
    return _cv_text("john_smith_marketing.pdf")


@pytest.fixture(scope="session")
def backend_job() -> str:
    return (FIXTURES / "senior_backend_engineer.txt").read_text()


@pytest.fixture(scope="session")
def marketing_job() -> str:
    return (FIXTURES / "growth_marketing_manager.txt").read_text()


@pytest.fixture
def fake_openai():
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def llm_settings(settings, fake_openai):
    """Point cv.llm.client at the local fake with a short timeout."""
    settings.OPENAI_API_KEY = "sk-test-not-a-real-key"
    settings.OPENAI_BASE_URL = fake_openai.base_url
    settings.OPENAI_MODEL = "fake-model"
    settings.OPENAI_TIMEOUT = 2
    return settings


@pytest.fixture
def enqueued(monkeypatch):
    """Record the analysis jobs sent to the broker instead of sending them."""
    from cv.tasks import run_analysis

    sent: list[int] = []
    monkeypatch.setattr(run_analysis, "apply_async", lambda args, **options: sent.append(args[0]))
    return sent


@pytest.fixture
def questionnaire_with_cv(user, jane_cv_text, backend_job):
    from cv.tests.factories import QuestionnaireFactory

    return QuestionnaireFactory.create(user=user, resume_text=jane_cv_text, job_description=backend_job)
