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
