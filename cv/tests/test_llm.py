import socket

import pytest

from cv import llm
from testing.fake_openai import Answer, Delay, Empty, Status

FIELDS = {
    "position": "Senior Backend Engineer",
    "industry": "FinTech",
    "experience_level": "6+",
    "company_size": "medium",
    "location": "London",
    "application_timeline": "immediate",
    "job_description": "Build REST APIs with Django.",
}


def _analyse(**overrides):
    kwargs = {"questionnaire_fields": FIELDS, "cv_text": "Jane Doe\nPython developer", "prompt": "Focus on APIs"}
    return llm.analyse(**{**kwargs, **overrides})


def test_answer_is_returned_with_model_and_token_counts(llm_settings, fake_openai):
    fake_openai.queue(Answer(improved_cv="# Jane\n\n## Summary\n\nAPIs.", changes=["Added a summary."]))

    result = _analyse()

    assert result.improved_cv_markdown == "# Jane\n\n## Summary\n\nAPIs."
    assert result.changes == ["Added a summary."]
    assert result.model == "fake-model"
    assert (result.prompt_tokens, result.completion_tokens) == (120, 80)
    request = fake_openai.requests[0]
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test-not-a-real-key"
    assert request.body["model"] == "fake-model"


def test_prompt_carries_job_cv_and_request_but_nothing_personal(llm_settings, fake_openai, jane_cv_text):
    fields = {**FIELDS, "email": "account@example.com", "date_of_birth": "1990-04-01", "first_name": "Janet"}

    _analyse(questionnaire_fields=fields, cv_text=jane_cv_text)

    prompt = fake_openai.requests[0].prompt_text
    assert "Position: Senior Backend Engineer" in prompt
    assert "Build REST APIs with Django." in prompt
    assert "Moved background jobs from cron to Celery" in prompt
    assert "Focus on APIs" in prompt
    for personal in ("account@example.com", "1990-04-01", "Janet", "jane.doe@example.com", "7946 0958"):
        assert personal not in prompt
    assert "[EMAIL_1]" in prompt and "[PHONE_1]" in prompt


def test_contact_placeholders_in_the_answer_are_put_back(llm_settings, fake_openai):
    fake_openai.queue(Answer(improved_cv="# Jane\n\n[EMAIL_1] | [PHONE_1]", changes=["Kept [EMAIL_1]."]))

    result = _analyse(cv_text="Jane\njane@example.com +44 20 7946 0958\nPython")

    assert result.improved_cv_markdown == "# Jane\n\njane@example.com | +44 20 7946 0958"
    assert result.changes == ["Kept jane@example.com."]


def test_json_inside_a_code_fence_is_accepted(llm_settings, fake_openai):
    fake_openai.queue(Answer(improved_cv="# Fenced", fenced=True))

    assert _analyse().improved_cv_markdown == "# Fenced"


def test_json_with_chatter_around_it_is_accepted():
    improved, changes = llm.parse_answer('Sure! Here it is:\n{"improved_cv": "# A\nline", "changes": "one"}\nBye')

    assert improved == "# A\nline"
    assert changes == ["one"]


@pytest.mark.parametrize(
    ("behaviour", "code"),
    [
        (Empty(), "empty_answer"),
        (Answer(content="I cannot help with JSON today."), "bad_answer"),
        (Answer(content='{"changes": []}'), "bad_answer"),
        (Answer(content="", finish_reason="content_filter"), "content_refused"),
        (Answer(content='{"improved_cv": "# cut', finish_reason="length"), "answer_truncated"),
    ],
)
def test_unusable_answers_fail_permanently_with_a_clear_message(llm_settings, fake_openai, behaviour, code):
    fake_openai.queue(behaviour)

    with pytest.raises(llm.LLMPermanentError) as info:
        _analyse()

    assert info.value.code == code
    assert info.value.message.startswith("The AI service")


@pytest.mark.parametrize(
    ("status", "error_code", "code"),
    [
        (401, None, "auth_failed"),
        (403, None, "permission_denied"),
        (404, "model_not_found", "model_not_found"),
        (400, None, "bad_request"),
        (400, "content_filter", "content_refused"),
        (400, "context_length_exceeded", "too_long"),
        (429, "insufficient_quota", "insufficient_quota"),
    ],
)
def test_permanent_errors_are_not_retried(llm_settings, fake_openai, status, error_code, code):
    fake_openai.queue(Status(status, code=error_code))

    with pytest.raises(llm.LLMPermanentError) as info:
        _analyse()

    assert info.value.code == code
    assert len(fake_openai.requests) == 1
    assert "sk-test" not in info.value.message


@pytest.mark.parametrize(("status", "code"), [(429, "rate_limited"), (500, "server_error"), (503, "server_error")])
def test_transient_errors_are_reported_for_a_later_retry(llm_settings, fake_openai, status, code):
    fake_openai.queue(Status(status, headers={"retry-after": "7"}))

    with pytest.raises(llm.LLMTransientError) as info:
        _analyse()

    assert info.value.code == code
    # The SDK itself never retries: retries belong to the task.
    assert len(fake_openai.requests) == 1


def test_rate_limit_carries_the_servers_retry_after(llm_settings, fake_openai):
    fake_openai.queue(Status(429, headers={"retry-after": "7"}))

    with pytest.raises(llm.LLMTransientError) as info:
        _analyse()

    assert info.value.retry_after == 7.0


def test_slow_server_is_a_transient_timeout(llm_settings, fake_openai):
    llm_settings.OPENAI_TIMEOUT = 0.5
    fake_openai.queue(Delay(5))

    with pytest.raises(llm.LLMTransientError) as info:
        _analyse()

    assert info.value.code == "timeout"


def test_unreachable_server_is_a_transient_connection_error(llm_settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    llm_settings.OPENAI_BASE_URL = f"http://127.0.0.1:{port}/v1"

    with pytest.raises(llm.LLMTransientError) as info:
        _analyse()

    assert info.value.code == "connection_error"


def test_server_mounted_without_a_v1_prefix_works(llm_settings, fake_openai):
    llm_settings.OPENAI_BASE_URL = fake_openai.base_url.removesuffix("/v1")

    result = _analyse()

    assert result.improved_cv_markdown
    assert fake_openai.requests[0].path == "/chat/completions"


def test_no_module_but_cv_llm_imports_openai():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = [
        str(path.relative_to(root))
        for folder in ("core", "cv", "pdf", "cvimprover")
        for path in (root / folder).rglob("*.py")
        if "tests" not in path.parts and path.name != "llm.py"
        for line in path.read_text().splitlines()
        if line.strip().startswith(("import openai", "from openai"))
    ]

    assert offenders == []
