"""The per-request shortcuts of signed-in requests keep what the ORM and DRF would give."""

import datetime as dt

import pytest
from django.db.models import Count

from core.authentication import signed_in_users
from core.billing.selectors import users_with_subscription_summary
from core.compiled_lookup import CompiledLookup
from core.models import Plan, Subscription, User
from core.plan_catalogue import current_limit
from core.plans import free_plan
from core.serializers import UserDetailsSerializer
from core.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _basic() -> Plan:
    return Plan.objects.create(
        slug="basic", name="Basic", order=1, ai_responses_per_day=20, questionnaires_per_day=50,
        uploads_per_day=20, api_calls_per_hour=300,
    )  # fmt: skip


def test_compiled_lookup_loads_what_the_queryset_loads(django_assert_num_queries):
    basic = _basic()
    user = UserFactory.create(plan=basic, first_name="Ada")
    end = dt.datetime(2027, 3, 1, 9, 0, tzinfo=dt.UTC)
    Subscription.objects.create(
        user=user, plan=basic, stripe_subscription_id="sub_1", status="active", interval="yearly",
        current_period_end=end,
    )  # fmt: skip
    expected = users_with_subscription_summary(User.objects.all()).get(pk=user.pk)

    signed_in_users.get(user.pk)  # compiled on first use
    with django_assert_num_queries(1):
        found = signed_in_users.get(user.pk)
        assert found is not None
        assert found.plan.slug == "basic"  # select_related: no second query
    assert [getattr(found, f.attname) for f in User._meta.concrete_fields] == [
        getattr(expected, f.attname) for f in User._meta.concrete_fields
    ]
    summary = getattr(found, "subscription_summary_json")  # noqa: B009 (an annotation, unknown to the type)
    assert summary == getattr(expected, "subscription_summary_json")  # noqa: B009
    assert summary["status"] == "active"
    assert found._state.adding is False and found._state.db == "default"


def test_compiled_lookup_runs_fresh_each_time():
    user = UserFactory.create()
    assert signed_in_users.get(user.pk).first_name == user.first_name
    User.objects.filter(pk=user.pk).update(first_name="Changed", is_active=False)
    found = signed_in_users.get(user.pk)
    assert found.first_name == "Changed" and found.is_active is False
    User.objects.filter(pk=user.pk).delete()
    assert signed_in_users.get(user.pk) is None


def test_compiled_lookup_refuses_a_queryset_that_uses_the_key_twice():
    lookup = CompiledLookup(lambda: User.objects.filter(pk__in=[-7_919_371_523_401]))
    with pytest.raises(ValueError, match="2 times"):
        lookup.get(1)


def test_compiled_lookup_keeps_other_annotations():
    user = UserFactory.create()
    lookup = CompiledLookup(lambda: User.objects.annotate(subscription_count=Count("subscriptions")))
    Subscription.objects.create(user=user, plan=free_plan(), stripe_subscription_id="sub_a", status="canceled")
    assert lookup.get(user.pk).subscription_count == 1


def test_a_plan_change_in_this_process_reaches_a_user_that_already_read_the_catalogue():
    basic = _basic()
    user = User.objects.get(pk=UserFactory.create(plan=basic).pk)  # the plan not loaded with the user
    assert current_limit(user, "ai_responses") == 20
    basic.ai_responses_per_day = 25
    basic.save()
    assert current_limit(user, "ai_responses") == 25
    Plan.objects.filter(pk=basic.pk).update(ai_responses_per_day=30)
    assert current_limit(user, "ai_responses") == 30


def test_the_plan_loaded_with_the_user_gives_the_limits_and_an_inactive_plan_gives_free():
    basic = _basic()
    free = free_plan()
    user = UserFactory.create(plan=basic)
    signed_in = signed_in_users.get(user.pk)
    assert signed_in is not None
    assert current_limit(signed_in, "ai_responses") == 20
    Plan.objects.filter(pk=basic.pk).update(is_active=False)
    assert current_limit(signed_in_users.get(user.pk), "ai_responses") == free.ai_responses_per_day


def test_each_serializer_gets_its_own_fields():
    free_plan()
    ada, bob = UserFactory.create(first_name="Ada"), UserFactory.create(first_name="Bob")
    first, second = UserDetailsSerializer(ada), UserDetailsSerializer(bob)
    assert first.fields["first_name"] is not second.fields["first_name"]
    assert first.fields["first_name"].parent is first and second.fields["first_name"].parent is second
    assert (first.data["first_name"], second.data["first_name"]) == ("Ada", "Bob")
    assert list(first.data) == ["id", "username", "email", "first_name", "last_name", "date_of_birth", "plan",
                                "subscription"]  # fmt: skip


def test_fields_with_children_get_children_of_their_own():
    from rest_framework import serializers

    from core.model_serializer import ModelSerializer

    class WithChildren(ModelSerializer):
        tags = serializers.ListField(child=serializers.CharField(), required=False)

        class Meta:
            model = User
            fields = ["id", "username", "tags"]

    first, second = WithChildren(), WithChildren()
    tags, other_tags = first.fields["tags"], second.fields["tags"]
    assert isinstance(tags, serializers.ListField) and isinstance(other_tags, serializers.ListField)
    assert tags.child is not other_tags.child
    assert tags.child.parent is tags
    assert first.fields["username"].validators == second.fields["username"].validators  # the unique check
    assert WithChildren(data={"username": "ok-name", "tags": ["a"]}).is_valid()


def test_a_statement_run_again_and_again_is_prepared_once():
    from django.db import connection

    user = UserFactory.create()
    for _ in range(6):
        signed_in_users.get(user.pk)
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any('FROM "core_user"' in statement and "core_subscription" in statement for statement in prepared)


def test_a_verified_access_token_is_refused_once_it_expires():
    import time

    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import AccessToken

    user = UserFactory.create()
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=dt.timedelta(seconds=2))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/auth/user/").status_code == 200
    assert client.get("/auth/user/").status_code == 200  # the kept verification
    time.sleep(max(0.0, token["exp"] - time.time()) + 0.1)
    refused = client.get("/auth/user/")
    assert refused.status_code == 401
    assert refused.json()["code"] == "token_not_valid"


def test_a_verified_access_token_still_meets_a_password_change_and_a_deleted_account():
    from testing.helpers import bearer_client

    user = UserFactory.create()
    client = bearer_client(user)
    assert client.get("/auth/user/").status_code == 200
    user.set_password("An-entirely-new-password-7")
    user.save()
    assert client.get("/auth/user/").status_code == 401
    other = UserFactory.create()
    client = bearer_client(other)
    assert client.get("/auth/user/").status_code == 200
    other.delete()
    assert client.get("/auth/user/").status_code == 401


def test_a_token_with_a_forged_signature_is_refused_even_when_its_claims_were_seen():
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import AccessToken

    token = str(AccessToken.for_user(UserFactory.create()))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/auth/user/").status_code == 200
    header, payload, signature = token.split(".")
    forged = signature[:-2] + ("AA" if not signature.endswith("AA") else "BB")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {header}.{payload}.{forged}")
    assert client.get("/auth/user/").status_code == 401


def test_plain_serializers_give_each_instance_fields_of_its_own():
    from cv.serializers import AIResponseCreateSerializer
    from cv.tests.factories import QuestionnaireFactory

    owner, stranger = UserFactory.create(), UserFactory.create()
    questionnaire = QuestionnaireFactory.create(user=owner, resume_text="Jane Doe")
    mine = AIResponseCreateSerializer(data={"questionnaire": questionnaire.pk}, user=owner)
    theirs = AIResponseCreateSerializer(data={"questionnaire": questionnaire.pk}, user=stranger)
    assert mine.fields["questionnaire"] is not theirs.fields["questionnaire"]
    assert mine.is_valid(), mine.errors
    assert not theirs.is_valid()
    assert theirs.errors["questionnaire"][0].code == "does_not_exist"
    assert mine.fields["questionnaire"].parent is mine and theirs.fields["questionnaire"].parent is theirs
