"""The questionnaire list is served from the cache between changes, and every change shows at once."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from core.plans import free_plan
from core.services import user_delete
from core.tests.factories import UserFactory
from cv.models import CVQuestionnaire
from cv.tests.factories import QuestionnaireFactory
from testing.helpers import bearer_client

pytestmark = pytest.mark.django_db

URL = "/cv/questionnaire/"


def positions(client, url: str = URL) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] >= len(body["results"])
    return [row["position"] for row in body["results"]]


# Committed rows, as a request sees them: a catalogue read inside a transaction is not kept (it could roll back).
@pytest.mark.django_db(transaction=True)
def test_a_repeated_read_is_the_user_lookup_alone(api_client, user, django_assert_num_queries):
    QuestionnaireFactory.create_batch(3, user=user)
    free_plan()  # seeded, as on a real installation
    api_client.get("/auth/user/")  # the plan catalogue is in the cache, as on a running site
    with django_assert_num_queries(3):  # the user, the count, the page
        first = api_client.get(URL).json()
    with django_assert_num_queries(1):  # the user (with their lists' version)
        again = api_client.get(URL).json()
    assert again == first and again["count"] == 3


def test_changes_through_the_api_show_on_the_next_read(api_client, user):
    assert positions(api_client) == []
    created = api_client.post(URL, {"position": "Data Engineer"}, format="json").json()
    assert positions(api_client) == ["Data Engineer"]
    changed = api_client.patch(f"{URL}{created['id']}/", {"position": "Staff Data Engineer"}, format="json")
    assert changed.status_code == 200
    assert positions(api_client) == ["Staff Data Engineer"]
    assert api_client.delete(f"{URL}{created['id']}/").status_code == 204
    assert positions(api_client) == []


def test_changes_outside_the_api_show_on_the_next_read(api_client, user):
    questionnaire = QuestionnaireFactory.create(user=user, position="Nurse")
    assert positions(api_client) == ["Nurse"]
    questionnaire.position = "Charge Nurse"  # as the admin saves it
    questionnaire.save()
    assert positions(api_client) == ["Charge Nurse"]
    CVQuestionnaire.objects.filter(pk=questionnaire.pk).update(updated_at=timezone.now() - timedelta(days=400))
    call_command("cleanup_old_data", "--days", "30", stdout=open("/dev/null", "w"))
    assert not CVQuestionnaire.objects.filter(pk=questionnaire.pk).exists()
    assert positions(api_client) == []


def test_each_page_and_each_person_has_its_own_entry(api_client, other_client, user, other_user):
    for n in range(25):
        QuestionnaireFactory.create(user=user, position=f"Role {n:02d}")
    QuestionnaireFactory.create(user=other_user, position="Someone else's")
    first, second = positions(api_client), positions(api_client, f"{URL}?page=2")
    assert len(first) == 20 and len(second) == 5 and not set(first) & set(second)
    assert positions(other_client) == ["Someone else's"]
    assert positions(api_client, f"{URL}?page=2") == second


def test_a_recycled_user_id_never_meets_the_old_owners_pages(api_client, user):
    """As after restoring a backup, or recreating the database while the cache keeps its entries."""
    QuestionnaireFactory.create(user=user, position="The first owner's")
    assert positions(api_client) == ["The first owner's"]
    pk = user.pk
    user_delete(user=user)
    newcomer = UserFactory.create(pk=pk)
    assert positions(bearer_client(newcomer)) == []


def test_deleting_an_account_with_questionnaires(api_client, user):
    QuestionnaireFactory.create_batch(3, user=user)
    positions(api_client)
    user_delete(user=user)
    assert not CVQuestionnaire.objects.filter(user_id=user.pk).exists()
    assert api_client.get(URL).status_code == 401


def test_a_kept_page_is_the_answer_a_fresh_build_gives(api_client, user, settings):
    from django.core.cache import cache

    from core.hot_path.list_pages import recent_pages

    QuestionnaireFactory.create_batch(3, user=user, position="Engineer \u2028 of \u00e9l\u00e8ves")
    built = api_client.get(URL)
    from_this_process = api_client.get(URL)
    recent_pages.clear()  # as another web process would find it: in the shared cache only
    from_shared_cache = api_client.get(URL)
    cache.clear()
    recent_pages.clear()
    rebuilt = api_client.get(URL)
    for response in (from_this_process, from_shared_cache, rebuilt):
        assert response.status_code == 200
        assert response.content == built.content
        assert response["Content-Type"] == built["Content-Type"] == "application/json"
        assert response["Vary"] == built["Vary"]
    assert b"\\u2028" in built.content


def test_an_indented_answer_is_built_for_the_asker(api_client, user):
    QuestionnaireFactory.create_batch(2, user=user)
    compact = api_client.get(URL)
    indented = api_client.get(URL, HTTP_ACCEPT="application/json; indent=2")
    assert indented.status_code == 200
    assert indented.content.startswith(b'{\n  "count": 2')
    assert indented.json() == compact.json()


def test_the_pages_kept_in_a_process_stay_within_their_byte_limit():
    from core.hot_path.list_pages import _RecentPages

    pages = _RecentPages(limit=1600)
    for n in range(20):
        pages.keep(f"page-{n}", bytes(100))
    assert pages._bytes == 1600 and len(pages._pages) == 16
    assert pages.get("page-3") is None and pages.get("page-19") == bytes(100)
    pages.keep("too-big", bytes(101))  # over a sixteenth of the limit: not kept
    assert pages.get("too-big") is None


def test_a_page_kept_in_the_process_is_not_kept_longer_than_in_redis():
    import time

    from core.hot_path.list_pages import _RecentPages

    pages = _RecentPages(limit=1600, seconds=0.05)
    pages.keep("page", b"{}")
    assert pages.get("page") == b"{}"
    time.sleep(0.06)
    assert pages.get("page") is None and pages._bytes == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_a_change_through_one_web_process_shows_in_every_other_at_once(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    import requests
    from rest_framework_simplejwt.tokens import RefreshToken

    from testing.servers import gunicorn_server

    free_plan()
    user = UserFactory.create()
    questionnaire = QuestionnaireFactory.create(user=user, position="Before")
    headers = {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"}
    with gunicorn_server(workers=2, log_path=tmp_path / "gunicorn.log") as web:

        def listed() -> set[str]:
            # Enough reads at once that both workers answer (and keep the page).
            def read(_):
                return requests.get(f"{web.url}{URL}", headers=headers, timeout=10).json()["results"][0]["position"]

            with ThreadPoolExecutor(max_workers=6) as pool:
                return set(pool.map(read, range(30)))

        assert listed() == {"Before"}
        patched = requests.patch(
            f"{web.url}{URL}{questionnaire.pk}/", json={"position": "After"}, headers=headers, timeout=10
        )
        assert patched.status_code == 200
        assert listed() == {"After"}
