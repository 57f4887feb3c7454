"""The shared job-lease module, on a real table (Stripe events) in PostgreSQL."""

import itertools
from datetime import timedelta

import pytest
from django.db.models import Q
from django.utils import timezone

from core import jobs
from core.models import StripeEvent

pytestmark = pytest.mark.django_db

LEASE_SECONDS = 60
Status = StripeEvent.Status
_ids = itertools.count(1)

# The lease stored as its start (pdf, billing) and, on the same table, as its end (cv): next_attempt_at
# stands in for an expiry column here.
STARTED = jobs.JobKind(
    model=StripeEvent, running=Status.PROCESSING, lease_seconds=lambda: LEASE_SECONDS, claimed_field="claimed_at"
)
EXPIRING = jobs.JobKind(
    model=StripeEvent, running=Status.PROCESSING, lease_seconds=lambda: LEASE_SECONDS, expires_field="next_attempt_at"
)
WAITING = Q(status=Status.RECEIVED)


def _event(**fields) -> StripeEvent:
    return StripeEvent.objects.create(
        stripe_id=f"evt_jobs_{next(_ids)}", type="price.updated", stripe_created=timezone.now(), payload={}, **fields
    )


@pytest.mark.parametrize("kind", [STARTED, EXPIRING], ids=["lease-start", "lease-end"])
def test_a_waiting_job_is_claimed_once(kind):
    event = _event()

    claimed = jobs.claim(kind, pk=event.pk, claimable=WAITING)

    assert (claimed.status, claimed.attempts) == (Status.PROCESSING, 1)
    assert claimed.lease_token is not None
    assert jobs.claim(kind, pk=event.pk, claimable=WAITING) is None
    assert StripeEvent.objects.get(pk=event.pk).attempts == 1


def test_a_claim_writes_the_lease_and_extra_fields():
    event = _event()
    before = timezone.now()

    started = jobs.claim(STARTED, pk=event.pk, claimable=WAITING, note="taken")
    assert before <= started.claimed_at <= timezone.now()
    assert started.note == "taken"

    other = _event()
    expiring = jobs.claim(EXPIRING, pk=other.pk, claimable=WAITING)
    assert expiring.next_attempt_at >= before + timedelta(seconds=LEASE_SECONDS)


def test_a_job_that_is_not_claimable_is_left_alone():
    event = _event(status=Status.PROCESSED)

    assert jobs.claim(STARTED, pk=event.pk, claimable=WAITING) is None
    assert StripeEvent.objects.get(pk=event.pk).status == Status.PROCESSED


@pytest.mark.parametrize("kind", [STARTED, EXPIRING], ids=["lease-start", "lease-end"])
def test_an_expired_lease_is_taken_over_and_the_old_run_cannot_finish(kind):
    event = _event()
    first = jobs.claim(kind, pk=event.pk, claimable=WAITING)
    assert first is not None
    lease_field = kind.claimed_field or kind.expires_field
    StripeEvent.objects.filter(pk=event.pk).update(
        **{lease_field: timezone.now() - timedelta(seconds=LEASE_SECONDS + 1)}
    )
    assert kind.lease_passed(StripeEvent.objects.get(pk=event.pk))

    second = jobs.claim(kind, pk=event.pk, claimable=WAITING)
    assert second is not None

    assert second.attempts == 2
    assert second.lease_token != first.lease_token
    assert not jobs.finish(kind, first, status=Status.FAILED, note="late")
    assert jobs.finish(kind, second, status=Status.PROCESSED, note="done")
    event.refresh_from_db()
    assert (event.status, event.note, event.lease_token) == (Status.PROCESSED, "done", None)


def test_a_live_lease_is_held_and_not_expired():
    event = _event()
    claimed = jobs.claim(STARTED, pk=event.pk, claimable=WAITING)
    assert claimed is not None

    assert not STARTED.lease_passed(claimed)
    assert list(StripeEvent.objects.filter(STARTED.held()).values_list("pk", flat=True)) == [event.pk]
    assert not StripeEvent.objects.filter(STARTED.expired()).exists()
    assert jobs.holds(STARTED, claimed, current=StripeEvent.objects.get(pk=event.pk))


def test_a_running_row_without_a_lease_time_counts_as_expired():
    event = _event(status=Status.PROCESSING, attempts=1)

    assert STARTED.lease_passed(event)
    assert jobs.claim(STARTED, pk=event.pk, claimable=WAITING).attempts == 2


def test_the_sweep_requeues_dead_jobs_and_gives_up_after_max_attempts():
    long_ago = timezone.now() - timedelta(seconds=LEASE_SECONDS + 1)
    dead = _event(status=Status.PROCESSING, attempts=1, claimed_at=long_ago)
    worn_out = _event(status=Status.PROCESSING, attempts=3, claimed_at=long_ago)
    alive = _event(status=Status.PROCESSING, attempts=1, claimed_at=timezone.now())
    seen: dict[str, list[int]] = {"requeued": [], "given_up": []}

    def requeue(event):
        seen["requeued"].append(event.pk)
        return jobs.finish(STARTED, event, status=Status.RECEIVED)

    def give_up(event):
        seen["given_up"].append(event.pk)
        jobs.finish(STARTED, event, status=Status.FAILED)

    result = jobs.sweep_expired(STARTED, max_attempts=3, requeue=requeue, give_up=give_up)

    assert result == jobs.SweepResult(requeued=1, failed=1)
    assert seen == {"requeued": [dead.pk], "given_up": [worn_out.pk]}
    statuses = dict(StripeEvent.objects.values_list("pk", "status"))
    assert statuses == {dead.pk: Status.RECEIVED, worn_out.pk: Status.FAILED, alive.pk: Status.PROCESSING}


def test_backoff_doubles_up_to_the_cap():
    delays = [jobs.backoff_seconds(attempt, base=60, cap=3600) for attempt in range(1, 9)]

    assert delays == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert jobs.backoff_seconds(0, base=60, cap=3600) == 60
    assert jobs.backoff_seconds(10_000, base=60, cap=3600) == 3600


def test_backoff_with_jitter_stays_in_the_upper_half():
    values = [jobs.backoff_seconds(3, base=2, cap=300, jitter=True) for _ in range(100)]

    assert all(4 <= value <= 8 for value in values)
    assert len(set(values)) > 1


def test_a_kind_stores_its_lease_one_way():
    with pytest.raises(ValueError):
        jobs.JobKind(model=StripeEvent, running=Status.PROCESSING, lease_seconds=lambda: 1)
    with pytest.raises(ValueError):
        jobs.JobKind(
            model=StripeEvent,
            running=Status.PROCESSING,
            lease_seconds=lambda: 1,
            claimed_field="claimed_at",
            expires_field="next_attempt_at",
        )


def test_renewing_moves_the_lease_only_for_the_holder():
    event = _event()
    first = jobs.claim(EXPIRING, pk=event.pk, claimable=WAITING)
    assert first is not None
    StripeEvent.objects.filter(pk=event.pk).update(next_attempt_at=timezone.now() + timedelta(seconds=1))

    assert jobs.renew(EXPIRING, first)
    assert StripeEvent.objects.get(pk=event.pk).next_attempt_at > timezone.now() + timedelta(seconds=LEASE_SECONDS - 5)
    first.lease_token = None
    assert not jobs.renew(EXPIRING, first)


def test_lost_waiting_jobs_are_sent_again_once_per_period():
    lost = _event(received_at=timezone.now() - timedelta(minutes=10))
    _event(received_at=timezone.now())
    _event(status=Status.PROCESSED, received_at=timezone.now() - timedelta(minutes=10))
    sent: list[int] = []

    def resend():
        return jobs.resend_lost(
            STARTED, waiting=WAITING, after=timedelta(minutes=5), send=sent.append, enqueued_field="received_at"
        )

    assert resend() == 1
    assert resend() == 0
    assert sent == [lost.pk]


class _Retry(Exception):
    pass


def _fail_it(job: StripeEvent, exc: Exception) -> str:
    jobs.finish(STARTED, job, status=Status.FAILED, last_error=f"{type(exc).__name__}: {exc}")
    return "failed"


def test_an_error_escaping_the_work_finishes_the_job_through_crashed():
    event = _event()
    claimed = jobs.claim(STARTED, pk=event.pk, claimable=WAITING)
    assert isinstance(claimed, StripeEvent)

    def work(job: StripeEvent) -> str:
        raise ZeroDivisionError("a bug of ours")

    assert jobs.run_claimed(claimed, work, crashed=_fail_it) == "failed"

    event.refresh_from_db()
    assert (event.status, event.last_error) == (Status.FAILED, "ZeroDivisionError: a bug of ours")
    assert event.lease_token is None


def test_the_works_own_outcome_and_the_errors_it_passes_are_left_to_the_caller():
    event = _event()
    claimed = jobs.claim(STARTED, pk=event.pk, claimable=WAITING)
    assert isinstance(claimed, StripeEvent)

    assert jobs.run_claimed(claimed, lambda job: "done", crashed=_fail_it) == "done"

    def retry(job: StripeEvent) -> str:
        raise _Retry()

    with pytest.raises(_Retry):
        jobs.run_claimed(claimed, retry, crashed=_fail_it, passes=(_Retry,))
    assert StripeEvent.objects.get(pk=event.pk).status == Status.PROCESSING
