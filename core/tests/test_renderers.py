"""The orjson renderer writes what DRF's renderer writes."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy
from rest_framework import renderers
from rest_framework.exceptions import ErrorDetail

from core.renderers import JSONRenderer

PAYLOADS = [
    {"count": 2, "next": None, "results": [{"id": 1, "position": "Nurse \u2013 ward 3", "ok": True, "x": 1.5}]},
    {"when": dt.datetime(2026, 12, 1, 12, 30, 5, 123456, tzinfo=dt.UTC), "day": dt.date(2026, 12, 1)},
    {"naive": dt.datetime(2026, 12, 1, 12, 30), "at": dt.time(9, 15, 30, 250000), "span": dt.timedelta(hours=2)},
    {"amount": Decimal("5.00"), "id": uuid.UUID("12345678-1234-5678-1234-567812345678")},
    {"detail": ErrorDetail("Not found.", code="not_found"), "lazy": gettext_lazy("This field is required.")},
    {"lines": "one\u2028two\u2029three", "emoji": "CV ✓ 🚀", 7: "an int key", "nested": {"list": [[], {}]}},
    [1, "two", None, False, 3.25],
]


@pytest.mark.parametrize("data", PAYLOADS)
def test_the_same_bytes_as_drf(data):
    assert JSONRenderer().render(data) == renderers.JSONRenderer().render(data)


def test_indented_answers_are_left_to_drf():
    data = {"a": [1, 2]}
    indented = JSONRenderer().render(data, "application/json; indent=2")
    assert indented == renderers.JSONRenderer().render(data, "application/json; indent=2")
    assert b"\n  " in indented


def test_nothing_renders_as_nothing():
    assert JSONRenderer().render(None) == b""


@pytest.mark.django_db
def test_the_api_answers_with_it(anon_client):
    response = anon_client.get("/auth/csrf-token/")
    assert response.status_code == 200
    assert isinstance(response.accepted_renderer, JSONRenderer)
    assert response.content == renderers.JSONRenderer().render(response.data)
