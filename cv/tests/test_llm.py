import json
import socket

import pytest
from django.core.cache import cache

from cv.llm import answers as llm_answers
from cv.llm import client as llm
from cv.llm.errors import LLMPermanentError, LLMTransientError, LLMTruncatedError
from cv.llm.server import MODE_MEMORY_SECONDS, mode_memory_key, recall_form
from cv.scoring.job import Job
from testing.fake_openai import (
    DEFAULT_IMPROVED_CV,
    DEFAULT_THOUGHT,
    Answer,
    CutOff,
    Delay,
    Empty,
    MarkdownCV,
    Prose,
    Reasoning,
    Status,
)

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
    kwargs = {"job": Job.from_fields(FIELDS), "cv_text": "Jane Doe\nPython developer", "prompt": "Focus on APIs"}
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

    _analyse(job=Job.from_fields(fields), cv_text=jane_cv_text)

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
    answer = 'Sure! Here it is:\n{"improved_cv": "# A\nline", "changes": "one"}\nBye'
    improved, changes = llm_answers.parse_answer(answer)

    assert improved == "# A\nline"
    assert changes == ["one"]


@pytest.mark.parametrize(
    ("behaviour", "code"),
    [
        (Empty(), "empty_answer"),
        (Answer(content="I cannot help with JSON today."), "bad_answer"),
        (Answer(content="I'm sorry, but I can't help with rewriting this CV."), "bad_answer"),
        (Answer(content="<think>The user wants a CV.</think>\n\n"), "empty_answer"),
        (Answer(content='{"changes": []}'), "bad_answer"),
        (Answer(content="", finish_reason="content_filter"), "content_refused"),
        (Answer(content='{"improved_cv": "# cut', finish_reason="length"), "answer_truncated"),
    ],
)
def test_unusable_answers_fail_permanently_with_a_clear_message(llm_settings, fake_openai, behaviour, code):
    fake_openai.queue(behaviour)

    with pytest.raises(LLMPermanentError) as info:
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

    with pytest.raises(LLMPermanentError) as info:
        _analyse()

    assert info.value.code == code
    assert len(fake_openai.requests) == 1
    assert "sk-test" not in info.value.message


@pytest.mark.parametrize(("status", "code"), [(429, "rate_limited"), (500, "server_error"), (503, "server_error")])
def test_transient_errors_are_reported_for_a_later_retry(llm_settings, fake_openai, status, code):
    fake_openai.queue(Status(status, headers={"retry-after": "7"}))

    with pytest.raises(LLMTransientError) as info:
        _analyse()

    assert info.value.code == code
    # The SDK itself never retries: retries belong to the task.
    assert len(fake_openai.requests) == 1


def test_rate_limit_carries_the_servers_retry_after(llm_settings, fake_openai):
    fake_openai.queue(Status(429, headers={"retry-after": "7"}))

    with pytest.raises(LLMTransientError) as info:
        _analyse()

    assert info.value.retry_after == 7.0


def test_slow_server_is_a_transient_timeout(llm_settings, fake_openai):
    llm_settings.OPENAI_TIMEOUT = 0.5
    fake_openai.queue(Delay(5))

    with pytest.raises(LLMTransientError) as info:
        _analyse()

    assert info.value.code == "timeout"


def test_unreachable_server_is_a_transient_connection_error(llm_settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    llm_settings.OPENAI_BASE_URL = f"http://127.0.0.1:{port}/v1"

    with pytest.raises(LLMTransientError) as info:
        _analyse()

    assert info.value.code == "connection_error"


def test_server_mounted_without_a_v1_prefix_works(llm_settings, fake_openai):
    llm_settings.OPENAI_BASE_URL = fake_openai.base_url.removesuffix("/v1")

    result = _analyse()

    assert result.improved_cv_markdown
    assert fake_openai.requests[0].path == "/chat/completions"


def test_no_module_but_the_llm_server_and_its_error_reading_imports_openai():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    importers = [
        str(path.relative_to(root))
        for folder in ("core", "cv", "pdf", "cvimprover")
        for path in (root / folder).rglob("*.py")
        if "tests" not in path.parts
        for line in path.read_text().splitlines()
        if line.strip().startswith(("import openai", "from openai"))
    ]

    assert sorted(importers) == ["cv/llm/sdk_errors.py", "cv/llm/server.py"]


def test_request_asks_for_a_strict_json_schema_and_bounds_the_answer(llm_settings, fake_openai):
    llm_settings.OPENAI_MAX_OUTPUT_TOKENS = 1234

    _analyse()

    [request] = fake_openai.requests
    response_format = request.body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["strict"] is True
    schema = response_format["json_schema"]["schema"]
    assert schema["required"] == ["improved_cv", "changes"]
    assert schema["properties"]["changes"] == {
        "type": "array",
        "items": {"type": "string"},
        "description": "One short sentence per change made.",
    }
    assert schema["additionalProperties"] is False
    # Not OpenAI's own server: the bound goes under the name every compatible server knows.
    assert request.body["max_tokens"] == 1234
    assert "max_completion_tokens" not in request.body


@pytest.mark.parametrize("style", ["vllm", "llamacpp", "openai", "pydantic"])
def test_server_refusing_json_schema_is_asked_again_in_json_mode_and_that_is_remembered(
    llm_settings, fake_openai, style
):
    fake_openai.refuse_formats = {"json_schema"}
    fake_openai.refusal_style = style

    first = _analyse()
    second = _analyse()

    assert first.improved_cv_markdown == second.improved_cv_markdown == DEFAULT_IMPROVED_CV
    assert [(r.response_format_type, r.refused) for r in fake_openai.requests] == [
        ("json_schema", True),
        ("json_object", False),
        ("json_object", False),
    ]
    assert all(r.max_tokens == llm_settings.OPENAI_MAX_OUTPUT_TOKENS for r in fake_openai.requests)
    ttl = cache.ttl(mode_memory_key())  # type: ignore[attr-defined]  # django-redis's cache adds ttl()
    assert ttl == pytest.approx(MODE_MEMORY_SECONDS, abs=5)


def test_server_refusing_every_response_format_gets_the_prompt_alone(llm_settings, fake_openai):
    fake_openai.refuse_formats = {"json_schema", "json_object"}
    fake_openai.refusal_style = "llamacpp"

    result = _analyse()
    _analyse()

    assert result.improved_cv_markdown == DEFAULT_IMPROVED_CV
    assert [(r.response_format_type, r.refused) for r in fake_openai.requests] == [
        ("json_schema", True),
        ("json_object", True),
        (None, False),
        (None, False),
    ]
    # The prompt alone asks for the CV as plain Markdown (no JSON to get wrong), with no template to copy.
    system = fake_openai.requests[-1].body["messages"][0]["content"]
    assert "Answer with the improved CV in Markdown and nothing else" in system
    assert "improved_cv" not in system and "<" not in system


def test_a_transient_error_after_a_refusal_retries_in_the_form_that_was_accepted(llm_settings, fake_openai):
    fake_openai.refuse_formats = {"json_schema"}
    fake_openai.queue(Status(503), Answer())

    with pytest.raises(LLMTransientError):
        _analyse()
    _analyse()

    assert [(r.response_format_type, r.refused) for r in fake_openai.requests] == [
        ("json_schema", True),
        ("json_object", False),
        ("json_object", False),
    ]


def test_without_the_cache_the_call_still_works(llm_settings, fake_openai):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    llm_settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    fake_openai.refuse_formats = {"json_schema"}
    with pytest.raises(Exception, match=r"(?i)connect"):
        cache.get(mode_memory_key())

    assert _analyse().improved_cv_markdown == DEFAULT_IMPROVED_CV
    assert [(r.response_format_type, r.refused) for r in fake_openai.requests] == [
        ("json_schema", True),
        ("json_object", False),
    ]


def test_remembered_form_belongs_to_one_server_and_model(llm_settings, fake_openai):
    fake_openai.refuse_formats = {"json_schema"}
    _analyse()
    fake_openai.reset()

    llm_settings.OPENAI_MODEL = "another-model"
    _analyse()

    assert fake_openai.requests[0].response_format_type == "json_schema"


@pytest.mark.parametrize(
    ("first_name", "second_name"), [("max_tokens", "max_completion_tokens"), ("max_completion_tokens", "max_tokens")]
)
def test_refused_name_of_the_output_bound_is_swapped_for_the_other(llm_settings, fake_openai, first_name, second_name):
    fake_openai.refuse_params = {first_name}
    fake_openai.refusal_style = "openai"
    # OpenAI's own API is asked with max_completion_tokens first; here that start is set by hand, as the
    # fake cannot be api.openai.com.
    cache.set(mode_memory_key(), {"mode": "json_schema", "tokens": first_name})

    result = _analyse()
    _analyse()

    assert result.improved_cv_markdown == DEFAULT_IMPROVED_CV
    first, second, third = fake_openai.requests
    assert first.refused and first_name in first.body
    for request in (second, third):
        assert not request.refused
        assert request.body[second_name] == llm_settings.OPENAI_MAX_OUTPUT_TOKENS and first_name not in request.body
        assert request.response_format_type == "json_schema"


def test_openai_itself_gets_max_completion_tokens_other_servers_max_tokens(llm_settings):
    llm_settings.OPENAI_BASE_URL = None
    assert recall_form() == ("json_schema", "max_completion_tokens")
    llm_settings.OPENAI_BASE_URL = "http://127.0.0.1:11434/v1"
    assert recall_form() == ("json_schema", "max_tokens")


def test_a_400_about_something_else_is_a_permanent_error_after_one_request(llm_settings, fake_openai):
    fake_openai.queue(Status(400, message="Invalid value for 'messages[1].role'"))

    with pytest.raises(LLMPermanentError) as info:
        _analyse()

    assert info.value.code == "bad_request"
    assert len(fake_openai.requests) == 1


def test_vllm_context_length_message_is_too_long_not_a_refused_parameter(llm_settings, fake_openai):
    fake_openai.queue(
        Status(
            400,
            message="'max_tokens' or 'max_completion_tokens' is too large: 4000. This model's maximum context "
            "length is 4096 tokens and your request has 900 input tokens (4000 > 4096 - 900).",
        )
    )

    with pytest.raises(LLMPermanentError) as info:
        _analyse()

    assert info.value.code == "too_long"
    assert len(fake_openai.requests) == 1


def test_markdown_cv_answer_is_the_improved_cv_without_the_chatter(llm_settings, fake_openai):
    fake_openai.queue(MarkdownCV())

    result = _analyse()

    assert result.improved_cv_markdown == DEFAULT_IMPROVED_CV
    assert result.changes == []


def test_markdown_cv_in_a_fence_and_plain_text_headings_are_read():
    fenced = f"Here you go:\n\n```markdown\n{DEFAULT_IMPROVED_CV}\n```\n\nGood luck!"
    plain = "Jane Doe\nBackend engineer\n\nEXPERIENCE\nAcme Ltd, Developer (2019-2024)\n\nEDUCATION\nBSc, Leeds"

    assert llm_answers.parse_answer(fenced) == (DEFAULT_IMPROVED_CV, [])
    assert llm_answers.parse_answer(plain) == (plain, [])


@pytest.mark.parametrize(
    "content",
    [
        f"<think>\n{DEFAULT_THOUGHT}\n</think>\n\n" + json.dumps({"improved_cv": "# Jane", "changes": ["Tightened."]}),
        f"<THINKING>{DEFAULT_THOUGHT}</THINKING>" + json.dumps({"improved_cv": "# Jane", "changes": ["Tightened."]}),
        # The chat template opened the block: only its end is in the answer.
        f"{DEFAULT_THOUGHT}\n</think>\n" + json.dumps({"improved_cv": "# Jane", "changes": ["Tightened."]}),
        "<|channel|>analysis<|message|>Thinking.<|end|><|start|>assistant<|channel|>final<|message|>"
        + json.dumps({"improved_cv": "# Jane", "changes": ["Tightened."]}),
    ],
)
def test_reasoning_is_dropped_before_the_answer_is_read(content):
    assert llm_answers.parse_answer(content) == ("# Jane", ["Tightened."])


def test_reasoning_models_answer_is_stored_without_its_thinking(llm_settings, fake_openai):
    fake_openai.queue(Reasoning(changes=["Grouped the skills."]))

    result = _analyse()

    assert result.improved_cv_markdown == DEFAULT_IMPROVED_CV
    assert result.changes == ["Grouped the skills."]
    assert "Google" not in result.improved_cv_markdown + " ".join(result.changes)


def test_reasoning_model_that_never_stops_thinking_is_a_cut_off_answer(llm_settings, fake_openai):
    fake_openai.queue(Reasoning(unterminated=True))

    with pytest.raises(LLMTruncatedError) as info:
        _analyse()

    assert info.value.code == "answer_truncated"
    assert info.value.refund is True


@pytest.mark.parametrize("fenced", [False, True])
def test_json_wrapped_in_prose_is_found(llm_settings, fake_openai, fenced):
    fake_openai.queue(Prose(improved_cv="# Jane\n\n## Skills\n\nPython", changes=["Added skills."], fenced=fenced))

    result = _analyse()

    assert (result.improved_cv_markdown, result.changes) == ("# Jane\n\n## Skills\n\nPython", ["Added skills."])


def test_cv_text_sent_is_capped_and_the_person_is_told(llm_settings, fake_openai):
    llm_settings.LLM_MAX_INPUT_CHARS = 200
    cv_text = "\n".join(f"Line {n}: shipped feature number {n} on time." for n in range(1, 40))

    result = _analyse(cv_text=cv_text)

    prompt = fake_openai.requests[0].prompt_text
    assert "Line 1:" in prompt and "Line 5:" in prompt
    assert "Line 6:" not in prompt and "Line 39:" not in prompt
    assert result.changes[0].startswith(f"Only the first 200 of your CV's {len(cv_text):,} characters were sent")
    assert result.changes[1:] == ["Added a summary."]


def test_answer_cut_off_for_a_normal_cv_is_refunded(llm_settings, fake_openai):
    fake_openai.queue(CutOff())

    with pytest.raises(LLMPermanentError) as info:
        _analyse()

    assert (info.value.code, info.value.refund) == ("answer_truncated", True)
    assert "not caused by your CV" in info.value.message


def test_answer_cut_off_because_the_cv_is_longer_than_any_answer_keeps_the_quota_unit(llm_settings, fake_openai):
    llm_settings.OPENAI_MAX_OUTPUT_TOKENS = 100
    fake_openai.queue(CutOff())

    with pytest.raises(LLMPermanentError) as info:
        _analyse(cv_text="Jane Doe\n" + "Shipped a feature on time.\n" * 40)

    assert (info.value.code, info.value.refund) == ("cv_too_long", False)
    assert "its text has 1,088 characters and an answer holds about 350" in info.value.message


def test_complete_json_is_the_door_for_other_documents(llm_settings, fake_openai):
    schema = {
        "type": "object",
        "properties": {"letter": {"type": "string"}},
        "required": ["letter"],
        "additionalProperties": False,
    }
    fake_openai.queue(Answer(content=json.dumps({"letter": "Dear team, write to [EMAIL_1]."})))

    result = llm.complete_json(
        system="Write a cover letter.",
        user="CV: Jane, jane@example.com",
        schema=schema,
        schema_name="letter",
        prompt_format="Answer with the letter.",
    )

    assert result.data == {"letter": "Dear team, write to jane@example.com."}
    [request] = fake_openai.requests
    assert request.body["response_format"]["json_schema"] == {"name": "letter", "schema": schema, "strict": True}
    assert "jane@example.com" not in request.prompt_text
    # With the schema enforced, the schema alone describes the answer.
    assert request.body["messages"][0]["content"] == "Write a cover letter."


def test_a_repair_round_reuses_the_conversation_and_its_placeholders(llm_settings, fake_openai):
    first = _analyse(cv_text="Jane\njane@example.com\nPython")
    fake_openai.queue(Answer(improved_cv="# Jane\n\n[EMAIL_1]", changes=["Removed the claim."]))

    repaired = llm.complete_cv(
        messages=[
            *first.messages,
            {"role": "assistant", "content": "# Jane\n\njane@example.com\n\nLed 12 people at Google."},
            {"role": "user", "content": "Remove these claims, which the CV does not support: 'Google'."},
        ]
    )

    assert repaired.improved_cv == "# Jane\n\njane@example.com"
    assert repaired.model == "fake-model" and repaired.finish_reason == "stop"
    sent = fake_openai.requests[1].body["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert "[EMAIL_1]" in sent[1]["content"] and "[EMAIL_1]" in sent[2]["content"]
    assert "jane@example.com" not in fake_openai.requests[1].prompt_text
