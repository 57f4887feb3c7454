"""The request log has one line per request with exactly its fields: nothing a caller sends (the X-Request-ID
header, the path) can add a field or a line to it."""

import logging

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def logged_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "cvimprover.request"]


def fields(line: str) -> dict[str, str]:
    pairs = [part.split("=", 1) for part in line.split(" ")[1:]]
    assert all(len(pair) == 2 for pair in pairs), line
    return dict(pairs)


@pytest.fixture
def request_log(caplog):
    caplog.set_level(logging.INFO, logger="cvimprover.request")
    return caplog


def test_a_safe_request_id_is_logged_and_echoed_as_given(request_log):
    response = APIClient().get("/core/plans/", HTTP_X_REQUEST_ID="lb-7f3a.9_c-01")

    assert response["X-Request-ID"] == "lb-7f3a.9_c-01"
    [line] = logged_lines(request_log)
    assert fields(line)["id"] == "lb-7f3a.9_c-01"


@pytest.mark.parametrize(
    "forged",
    [
        "abc status=200 user=1",
        "abc\nrequest id=x method=GET path=/admin/ status=200 ms=1 user=1",
        "x" * 65,
        "abc=def",
        "caf\u00e9",
    ],
    ids=["extra-fields", "new-line", "too-long", "equals-sign", "non-ascii"],
)
def test_an_unsafe_request_id_is_replaced_by_a_new_one(request_log, forged):
    client = APIClient()
    # The test client passes header values through untouched, as a WSGI server hands them over.
    response = client.get("/core/plans/", HTTP_X_REQUEST_ID=forged)

    new_id = response["X-Request-ID"]
    assert new_id != forged
    assert len(new_id) == 16 and new_id.isalnum()
    [line] = logged_lines(request_log)
    assert "\n" not in line
    assert fields(line) == {
        "id": new_id,
        "method": "GET",
        "path": "/core/plans/",
        "status": "200",
        "ms": fields(line)["ms"],
        "user": "-",
    }


def test_a_path_cannot_add_fields_or_lines_to_the_log(request_log):
    response = APIClient().get("/core/plans/%20status=200%20user=1%0Arequest%20id=forged")

    assert response.status_code == 404
    [line] = logged_lines(request_log)
    assert "\n" not in line
    logged = fields(line)
    assert set(logged) == {"id", "method", "path", "status", "ms", "user"}
    assert logged["status"] == "404"
    assert logged["user"] == "-"
    assert logged["path"] == "/core/plans/%20status%3D200%20user%3D1%0Arequest%20id%3Dforged"


def test_a_very_long_path_is_logged_bounded(request_log):
    APIClient().get("/" + "a" * 5000)

    [line] = logged_lines(request_log)
    assert len(fields(line)["path"]) <= 520
