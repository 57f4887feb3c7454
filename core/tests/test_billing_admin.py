import pytest

from core.models import StripeEvent

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["subscription", "invoice", "stripeevent"])
def test_billing_admin_lists_render_with_filters_and_search(admin_client, subscribed, model):
    response = admin_client.get(f"/admin/core/{model}/", {"q": "x"})

    assert response.status_code == 200


def test_event_admin_shows_the_payload_read_only_and_processes_again(
    admin_client, fake_stripe, plans, django_capture_on_commit_callbacks
):
    event = StripeEvent.objects.create(
        stripe_id="evt_admin_1",
        type="price.updated",
        stripe_created="2026-01-01T00:00:00Z",
        payload=fake_stripe.event("price.updated", fake_stripe.prices[plans.basic_monthly]),
        status=StripeEvent.Status.FAILED,
        attempts=10,
        last_error="StripeTransientError: down",
    )

    page = admin_client.get(f"/admin/core/stripeevent/{event.pk}/change/")
    assert page.status_code == 200
    assert b"price.updated" in page.content
    assert b'name="payload"' not in page.content

    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            "/admin/core/stripeevent/", {"action": "process_again", "_selected_action": [event.pk]}
        )

    assert response.status_code == 302
    event.refresh_from_db()
    assert event.status == StripeEvent.Status.FAILED
    assert event.next_attempt_at is not None
    assert len(callbacks) == 1
