"""The admin's front page (cvimprover.admin_home): each section renders above the model lists, every figure
links to the list filtered to exactly the rows it counts, in a fixed number of queries; the unused "Tokens"
section of rest_framework.authtoken is gone. Here because the page reads every app's jobs."""

import re
from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.utils import timezone

from core.models import ModelCall, StripeEvent
from cv.models import AIResponse, CoverLetter
from cv.tests.factories import AIResponseFactory
from pdf.models import Document

pytestmark = pytest.mark.django_db


@pytest.fixture
def trouble(user):
    now = timezone.now()
    failed = {"status": "failed", "finished_at": now - timedelta(hours=1)}
    timeouts = [AIResponseFactory.create(error_code="timeout", **failed) for _ in range(2)]
    AIResponseFactory.create(error_code="answer_unchanged", **failed)
    AIResponseFactory.create(error_code="timeout", status="failed", finished_at=now - timedelta(hours=30))  # too old
    AIResponseFactory.create(status="pending")
    AIResponse.objects.filter(pk=AIResponseFactory.create(status="pending").pk).update(
        created_at=now - timedelta(minutes=40)
    )
    AIResponseFactory.create(status="running", lease_expires_at=now - timedelta(minutes=3))
    AIResponseFactory.create(status="running", lease_expires_at=now + timedelta(minutes=3))
    analysis = AIResponseFactory.create(status="succeeded")
    CoverLetter.objects.create(ai_response=analysis, user=analysis.user, error_code="content_refused", **failed)
    Document.objects.create(
        user=analysis.user, ai_response=analysis, template="classic", error_code="storage_failed", **failed
    )
    for stripe_id, next_attempt in (("evt_retried", now + timedelta(minutes=5)), ("evt_gave_up", None)):
        StripeEvent.objects.create(
            stripe_id=stripe_id,
            type="invoice.paid",
            stripe_created=now,
            payload={},
            status="failed",
            next_attempt_at=next_attempt,
        )
    ModelCall.objects.create(model="gpt-4o-mini", mode="json_schema", cost=Decimal("0.01234567"))
    ModelCall.objects.create(model="gpt-4o-mini", mode="json_schema", cost=Decimal("0.5"))
    return timeouts


def _link(page: str, text: str) -> str:
    """The href of the link whose text is ``text``."""
    match = re.search(r'<a href="([^"]+)">' + re.escape(text) + "</a>", unescape(page))
    assert match, f"no link {text!r} on the page"
    return match.group(1)


def _rows(admin_client, url: str) -> int:
    response = admin_client.get(url)
    assert response.status_code == 200, url  # a filter the admin refuses is a redirect to ?e=1
    return response.context["cl"].result_count


def test_the_front_page_shows_what_needs_a_person_with_links_to_the_rows(
    trouble, admin_client, django_assert_max_num_queries
):
    # Session and user (2), the admin's own (1-2), the page's: one per kind for failures and for waiting (6),
    # Stripe events (1), today's cost (1).
    with django_assert_max_num_queries(12):
        response = admin_client.get("/admin/")
    assert response.status_code == 200
    page = response.content.decode()
    for section in ("failed-jobs", "waiting-jobs", "stripe-events", "queue-depths", "model-cost"):
        assert f'id="{section}"' in page
    # Above the model lists.
    assert page.index('id="operator-front-page"') < page.index('class="app-core module')

    # Failed in 24 h, by error code, each linking to exactly those rows.
    assert _rows(admin_client, _link(page, "3 failed in 24 h")) == 3
    assert _rows(admin_client, _link(page, "timeout: 2")) == 2
    assert _rows(admin_client, _link(page, "answer_unchanged: 1")) == 1
    assert _rows(admin_client, _link(page, "content_refused: 1")) == 1
    assert _rows(admin_client, _link(page, "storage_failed: 1")) == 1

    # Waiting and stuck.
    assert _rows(admin_client, _link(page, "2 waiting")) == 2
    assert "(the oldest since 40" in page
    assert _rows(admin_client, _link(page, "1 running past their lease")) == 1
    assert _rows(admin_client, _link(page, "2 running")) == 2

    # Stripe events.
    assert _rows(admin_client, _link(page, "1 failed, retried by beat")) == 1
    assert _rows(admin_client, _link(page, '1 failed, waiting for "Process again"')) == 1

    # Queue depths from the broker, and today's model cost as money, linking to its totals.
    assert re.search(r"ai: 0, default: \d+, pdf: 0", page)
    totals = _link(page, "$0.5123")
    assert admin_client.get(totals).status_code == 200


def test_the_front_page_costs_the_same_queries_with_more_rows(trouble, admin_client, django_assert_max_num_queries):
    for _ in range(10):
        AIResponseFactory.create(status="failed", error_code=f"code_{_}", finished_at=timezone.now())
    with django_assert_max_num_queries(12):
        assert admin_client.get("/admin/").status_code == 200


def test_the_unused_tokens_section_is_gone(admin_client):
    page = admin_client.get("/admin/").content.decode()
    assert "authtoken" not in page
    assert admin_client.get("/admin/authtoken/tokenproxy/").status_code == 404


def test_only_staff_see_the_front_page(client, user):
    client.force_login(user)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "operator-front-page" not in response.content.decode()
