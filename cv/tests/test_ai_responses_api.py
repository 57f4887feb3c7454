import pytest

from core.models import QuotaUsage
from core.tests.factories import PlanFactory
from cv.models import AIResponse
from cv.tests.factories import AIResponseFactory, QuestionnaireFactory

URL = "/cv/ai-responses/"
RESPONSE_KEYS = {
    "id", "questionnaire", "prompt", "status", "improved_cv", "changes", "match_report", "verification", "version",
    "model", "error", "error_code", "stage", "progress", "created_at", "started_at", "finished_at",
}  # fmt: skip


@pytest.mark.django_db
def test_request_is_accepted_at_once_and_queued_after_commit(
    api_client, questionnaire_with_cv, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            URL, {"questionnaire": questionnaire_with_cv.pk, "prompt": "Stress <b>APIs</b>"}, format="json"
        )

    assert response.status_code == 202, response.content
    body = response.json()
    assert set(body) == RESPONSE_KEYS
    assert body["status"] == "pending"
    assert body["prompt"] == "Stress APIs"
    assert body["improved_cv"] == "" and body["match_report"] is None
    assert enqueued == [body["id"]]
    assert AIResponse.objects.get(pk=body["id"]).user == questionnaire_with_cv.user


@pytest.mark.django_db
def test_nothing_is_queued_when_the_request_fails(api_client, user, enqueued, django_capture_on_commit_callbacks):
    without_cv = QuestionnaireFactory.create(user=user, resume_text="")

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(URL, {"questionnaire": without_cv.pk}, format="json")

    assert response.status_code == 400
    assert "upload your CV" in response.json()["questionnaire"][0]
    assert enqueued == []
    assert not AIResponse.objects.exists()


@pytest.mark.django_db
def test_another_users_questionnaire_cannot_be_analysed(api_client, other_user, enqueued):
    theirs = QuestionnaireFactory.create(user=other_user)

    response = api_client.post(URL, {"questionnaire": theirs.pk}, format="json")

    assert response.status_code == 400
    assert response.json() == {"questionnaire": [f'Invalid pk "{theirs.pk}" - object does not exist.']}
    assert not AIResponse.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "Incorrect type. Expected pk value, received str."),
        (True, "Incorrect type. Expected pk value, received bool."),
        (1.5, "Incorrect type. Expected pk value, received float."),
        ([1], "Incorrect type. Expected pk value, received list."),
        (0, 'Invalid pk "0" - object does not exist.'),
        (-3, 'Invalid pk "-3" - object does not exist.'),
        (2**70, f'Invalid pk "{2**70}" - object does not exist.'),
        ("99999999", 'Invalid pk "99999999" - object does not exist.'),
    ],
)
def test_a_questionnaire_id_that_is_not_one_is_refused_with_what_was_wrong(api_client, enqueued, value, message):
    response = api_client.post(URL, {"questionnaire": value}, format="json")
    assert response.status_code == 400
    assert response.json() == {"questionnaire": [message]}
    assert not AIResponse.objects.exists()


@pytest.mark.django_db
def test_the_questionnaire_id_may_come_as_a_string(api_client, questionnaire_with_cv, enqueued):
    response = api_client.post(URL, {"questionnaire": str(questionnaire_with_cv.pk)}, format="json")
    assert response.status_code == 202, response.content


@pytest.mark.django_db
def test_ai_quota_is_enforced_with_limit_reset_and_upgrade(api_client, questionnaire_with_cv, enqueued):
    PlanFactory.create(slug="basic", order=1, ai_responses_per_day=20)
    statuses = [
        api_client.post(URL, {"questionnaire": questionnaire_with_cv.pk}, format="json").status_code for _ in range(3)
    ]
    refused = api_client.post(URL, {"questionnaire": questionnaire_with_cv.pk}, format="json")

    assert statuses == [202, 202, 202]
    assert refused.status_code == 429
    body = refused.json()
    assert body["code"] == "quota_exceeded"
    assert body["limit"] == 3
    assert body["reset_at"].endswith("Z")
    assert body["upgrade_plan"]["slug"] == "basic"
    assert body["upgrade_plan"]["limit"] == 20
    assert AIResponse.objects.count() == 3


@pytest.mark.django_db
def test_list_and_detail_show_only_ones_own_responses(api_client, user, other_user):
    mine = AIResponseFactory.create(questionnaire=QuestionnaireFactory.create(user=user))
    theirs = AIResponseFactory.create(questionnaire=QuestionnaireFactory.create(user=other_user))

    listed = api_client.get(URL).json()
    detail = api_client.get(f"{URL}{theirs.pk}/")

    assert [r["id"] for r in listed["results"]] == [mine.pk]
    assert set(listed["results"][0]) == RESPONSE_KEYS
    assert detail.status_code == 404
    assert api_client.get(f"{URL}{mine.pk}/").status_code == 200


@pytest.mark.django_db
def test_list_is_filtered_by_questionnaire(api_client, user):
    first, second = QuestionnaireFactory.create(user=user), QuestionnaireFactory.create(user=user)
    wanted = AIResponseFactory.create(questionnaire=first)
    AIResponseFactory.create(questionnaire=second)

    response = api_client.get(URL, {"questionnaire": first.pk})

    assert [r["id"] for r in response.json()["results"]] == [wanted.pk]
    assert api_client.get(URL, {"questionnaire": "x"}).status_code == 400


@pytest.mark.django_db
def test_responses_are_also_served_under_api(api_client, user):
    AIResponseFactory.create(questionnaire=QuestionnaireFactory.create(user=user))

    assert api_client.get("/api/ai-responses/").json()["count"] == 1


@pytest.mark.django_db
def test_only_the_improved_cv_of_a_response_can_be_edited_by_its_owner(api_client, user):
    mine = AIResponseFactory.create(questionnaire=QuestionnaireFactory.create(user=user))

    # PATCH takes the person's edit of the improved CV (cv.versions.services); nothing else of the row is writable.
    patched = api_client.patch(f"{URL}{mine.pk}/", {"status": "succeeded"}, format="json")
    assert patched.status_code == 400
    assert set(patched.json()) == {"improved_cv"}
    assert api_client.put(f"{URL}{mine.pk}/", {"status": "succeeded"}, format="json").status_code == 405
    assert api_client.delete(f"{URL}{mine.pk}/").status_code == 405
    mine.refresh_from_db()
    assert mine.status == "pending"


@pytest.mark.django_db
def test_response_list_query_count_does_not_grow_with_rows(api_client, user, django_assert_max_num_queries):
    questionnaire = QuestionnaireFactory.create(user=user)
    AIResponseFactory.create_batch(2, questionnaire=questionnaire)
    api_client.get(URL)
    with django_assert_max_num_queries(10) as few:
        api_client.get(URL)
    AIResponseFactory.create_batch(10, questionnaire=questionnaire)

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = api_client.get(URL)

    assert response.json()["count"] == 12


@pytest.mark.django_db
def test_quota_unit_taken_by_a_request_is_counted_for_today(api_client, user, questionnaire_with_cv, enqueued):
    api_client.post(URL, {"questionnaire": questionnaire_with_cv.pk}, format="json")

    usage = QuotaUsage.objects.get(user=user, scope="ai_responses")
    assert usage.used == 1
    assert AIResponse.objects.get().quota_day == usage.day


@pytest.mark.django_db
def test_request_text_over_2000_characters_is_refused(api_client, questionnaire_with_cv, enqueued):
    response = api_client.post(URL, {"questionnaire": questionnaire_with_cv.pk, "prompt": "x" * 2001}, format="json")

    assert response.status_code == 400
    assert "prompt" in response.json()
    assert not AIResponse.objects.exists()
