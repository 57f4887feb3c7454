import pytest
from rest_framework.test import APIClient

from core.models import QuotaUsage, User
from core.plans import free_plan
from core.quotas import quota_consume

pytestmark = pytest.mark.django_db


def test_account_deletion_removes_the_user_and_their_rows(user, api_client):
    quota_consume(user=user, scope="uploads")
    response = api_client.delete("/auth/user/")
    assert response.status_code == 204
    assert not User.objects.filter(pk=user.pk).exists()
    assert not QuotaUsage.objects.filter(user_id=user.pk).exists()
    assert api_client.get("/auth/user/").status_code == 401


def test_account_deletion_needs_csrf_with_cookie_auth(user):
    client = APIClient(enforce_csrf_checks=True)
    client.get("/auth/csrf-token/")
    client.post("/auth/login/", {"username": user.username, "password": "correct-Horse-battery-9"}, format="json")
    assert client.delete("/auth/user/").status_code == 403
    assert User.objects.filter(pk=user.pk).exists()


def test_profile_is_two_queries_and_no_network(user, api_client, django_assert_max_num_queries):
    free_plan()  # seeded, as on a real installation
    with django_assert_max_num_queries(3):
        assert api_client.get("/auth/user/").status_code == 200


def test_anonymous_profile_is_401(anon_client):
    response = anon_client.get("/auth/user/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
