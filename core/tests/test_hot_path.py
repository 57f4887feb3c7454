"""The per-request shortcuts of signed-in requests keep what the ORM and DRF would give."""

import datetime as dt

import pytest
from django.db.models import Count

from core.authentication import signed_in_users
from core.billing.selectors import users_with_subscription_summary
from core.hot_path.compiled_lookup import CompiledLookup
from core.hot_path.plan_catalogue import current_limit
from core.models import Plan, Subscription, User
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

    from core.hot_path.serializers import ModelSerializer

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
    assert client.get("/auth/user/").status_code == 200
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


# What each piece of core/hot_path depends on in Django, DRF and simplejwt, and none of them promises. An
# upgrade that changes one of these fails here, before the piece gives a wrong answer or quietly stops paying.


def test_pin_django_compiler_internals_the_compiled_lookup_uses():
    import inspect

    from django.db.models.query import get_related_populators  # type: ignore[attr-defined]
    from django.db.models.sql.compiler import SQLCompiler

    assert list(inspect.signature(get_related_populators).parameters) == ["klass_info", "select", "db"]
    assert list(inspect.signature(SQLCompiler.get_converters).parameters) == ["self", "expressions"]
    assert list(inspect.signature(SQLCompiler.apply_converters).parameters) == ["self", "rows", "converters"]
    assert list(inspect.signature(SQLCompiler.has_composite_fields).parameters) == ["self", "expressions"]
    assert list(inspect.signature(User.from_db).parameters) == ["db", "field_names", "values"]
    # as_sql() fills what the lookup reads: the selected columns, the model's span in them, and where each
    # annotation is.
    queryset = users_with_subscription_summary(User.objects.all()).filter(pk=1)[:1]
    compiler = queryset.query.get_compiler(using="default")
    _sql, params = compiler.as_sql()
    assert 1 in params
    info = compiler.klass_info
    assert info["model"] is User
    assert info["select_fields"] == list(range(info["select_fields"][0], info["select_fields"][-1] + 1))
    assert [related["model"] for related in info["related_klass_infos"]] == [Plan]
    assert set(compiler.annotation_col_map) == {"subscription_summary_json"}
    assert compiler.col_count == len(compiler.select)


def test_pin_drf_builds_fields_per_instance_and_binding_only_sets_attributes():
    import copy

    from rest_framework import serializers

    calls = []

    class Plain(serializers.Serializer):
        name = serializers.CharField()

        def get_fields(self):
            calls.append(self)
            return super().get_fields()

    first = Plain()
    assert first.fields is first.fields and calls == [first]  # once per instance, when `fields` is first read
    assert "name" in Plain().fields
    assert len(calls) == 2
    # A plain field has no __copy__, so copy.copy() is a shallow copy of its attributes, and binding the copy
    # sets only these on it: nothing is shared with the kept field but what binding leaves alone.
    assert not hasattr(serializers.Field, "__copy__") and hasattr(serializers.Field, "__deepcopy__")
    kept = serializers.CharField(max_length=5)
    kept_before = dict(vars(kept))
    bound = copy.copy(kept)
    before = dict(vars(bound))
    bound.bind("name", first)
    changed = {key for key in vars(bound) if vars(bound)[key] is not before.get(key, object())}
    assert changed <= {"field_name", "parent", "label", "source", "source_attrs"}
    assert vars(kept) == kept_before
    assert bound.validators is kept.validators  # validators are built once and shared: they hold no binding
    # Fields with children bind them at construction: such a field must be deep-copied (ours does).
    listed = serializers.ListField(child=serializers.CharField())
    assert listed.child.parent is listed
    assert copy.deepcopy(listed).child is not listed.child


def test_pin_drf_pagination_links_come_from_the_whole_url():
    """A kept list page is keyed by the whole URL, because DRF builds its next/previous links from it."""
    from rest_framework.pagination import PageNumberPagination
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    request = Request(APIRequestFactory().get("/cv/questionnaire/?page=1"))
    paginator = PageNumberPagination()
    paginator.page_size = 1
    for _ in range(3):
        UserFactory.create()
    paginator.paginate_queryset(User.objects.order_by("pk"), request)
    assert paginator.get_next_link() == request.build_absolute_uri("/cv/questionnaire/?page=2")
    assert (paginator.get_next_link() or "").startswith("http://testserver/")


def test_pin_every_orm_change_to_a_plan_is_announced_to_the_catalogue():
    """The catalogue's copy is replaced on `post_save`, `post_delete` and `plans_updated` (PlanQuerySet.update).
    Django's bulk_update goes through QuerySet.update, so it is announced too; bulk_create sends nothing (no
    plan is made that way outside seed_plans, which saves each one)."""
    from django.db.models.signals import post_delete, post_save

    from core.models import plans_updated

    heard: list[str] = []

    def hear(signal, **kwargs):
        heard.append({post_save: "saved", post_delete: "deleted", plans_updated: "updated"}[signal])

    for signal in (post_save, post_delete, plans_updated):
        signal.connect(hear, sender=Plan, dispatch_uid="pin")
    try:
        basic = _basic()
        Plan.objects.filter(pk=basic.pk).update(order=2)
        basic.order = 3
        Plan.objects.bulk_update([basic], ["order"])
        basic.delete()
    finally:
        for signal in (post_save, post_delete, plans_updated):
            signal.disconnect(sender=Plan, dispatch_uid="pin")
    assert heard == ["saved", "updated", "updated", "deleted"]
