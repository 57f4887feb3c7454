"""Log lines carry the request id of their story: ``request_id=<id>`` at the end of a plain line, a field of
its own in LOG_FORMAT=json, where each line is one JSON object. The way from a POST into a worker's lines is
in cv/tests/test_operations_worker.py."""

import io
import json
import logging

import pytest

from core import request_context


def _logger(formatter: logging.Formatter) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(request_context.RequestIdFilter())
    logger = logging.getLogger(f"test.log_format.{id(stream)}")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


@pytest.fixture
def story():
    token = request_context.bind("story-42")
    yield "story-42"
    request_context.unbind(token)


def test_a_plain_line_ends_with_the_request_id_inside_a_story_only(settings, story):
    logger, stream = _logger(logging.Formatter(settings.LOGGING["formatters"]["line"]["format"]))
    logger.info("ai response succeeded id=%s", 7)
    token = request_context.bind(None)
    logger.info("beat sweep")
    request_context.unbind(token)
    first, second = stream.getvalue().splitlines()
    assert first.endswith("ai response succeeded id=7 request_id=story-42")
    assert second.endswith("beat sweep")


def test_a_json_line_is_one_object_with_the_request_id_and_no_task_arguments(settings, story):
    config = settings.LOGGING["formatters"]["json"]
    logger, stream = _logger(request_context.JSONLineFormatter(config["fmt"]))
    logger.info("Task %s received", "core.tasks.send_password_reset_mail", extra={"data": {"kwargs": "x@y.z"}})
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("crashed")
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    assert len(lines) == 2
    first, second = lines
    assert first["message"] == "Task core.tasks.send_password_reset_mail received"
    assert (first["level"], first["request_id"]) == ("INFO", "story-42")
    assert {"time", "logger"} <= first.keys()
    assert "data" not in first and "x@y.z" not in stream.getvalue()
    assert "request_suffix" not in first
    assert "ValueError: boom" in second["exc_info"]


@pytest.mark.django_db
def test_the_request_line_itself_carries_its_request_id(settings, client):
    config = settings.LOGGING["formatters"]["json"]
    logger, stream = _logger(request_context.JSONLineFormatter(config["fmt"]))
    request_logger = logging.getLogger("cvimprover.request")
    saved = request_logger.handlers, request_logger.propagate
    request_logger.handlers, request_logger.propagate = logger.handlers, False
    try:
        client.get("/core/health/", HTTP_X_REQUEST_ID="from-the-spa-7")
    finally:
        request_logger.handlers, request_logger.propagate = saved
    (line,) = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert "request id=from-the-spa-7 method=GET path=/core/health/" in line["message"]
    assert line["request_id"] == "from-the-spa-7"
