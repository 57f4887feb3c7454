"""The truthfulness check after an answer: stored on the response, one repair round through the local OpenAI
fake, shown in the API, the OpenAPI schema and the admin. The real-worker version is in
test_worker_integration.py."""

import pytest

from cv import services
from cv.models import AIResponse
from cv.tests.factories import AIResponseFactory
from testing.fake_openai import DEFAULT_IMPROVED_CV, Answer, Status

# Jane's CV has neither Monzo, nor 2 million of anything, nor Kubernetes; the rest is a complete rewrite of it.
REPAIRED = DEFAULT_IMPROVED_CV
INVENTED = DEFAULT_IMPROVED_CV.replace(
    "- Mentored two junior developers.",
    "- Mentored two junior developers.\n- Integrated the Monzo payments API serving 2 million requests a day on "
    "Kubernetes.",
).replace("Git, Linux", "Git, Linux, Kubernetes")
# Each flagged claim says where it came from and the version it first appeared in (cv.versions.services).
INVENTED_CLAIMS = [
    {"kind": "number", "text": "2 million", "source": "model", "introduced_in": 1},
    {"kind": "keyword", "text": "Kubernetes", "source": "model", "introduced_in": 1},
    {"kind": "organisation", "text": "Monzo", "source": "model", "introduced_in": 1},
]


@pytest.fixture
def queued(questionnaire_with_cv, enqueued, django_capture_on_commit_callbacks) -> AIResponse:
    with django_capture_on_commit_callbacks(execute=True):
        return services.ai_response_create(
            user=questionnaire_with_cv.user, questionnaire=questionnaire_with_cv, prompt="Stress my API work"
        )


@pytest.mark.django_db
def test_a_faithful_answer_is_verified_without_a_second_call(queued, llm_settings, fake_openai):
    fake_openai.queue(Answer(improved_cv=REPAIRED))

    services.ai_response_run(response_id=queued.pk)

    queued.refresh_from_db()
    assert queued.status == "succeeded"
    assert queued.verification == {"status": "verified", "unsupported": [], "missing": []}
    assert len(fake_openai.requests) == 1


@pytest.mark.django_db
def test_invented_claims_are_repaired_in_one_round(queued, llm_settings, fake_openai):
    fake_openai.queue(Answer(improved_cv=INVENTED), Answer(improved_cv=REPAIRED, changes=["Removed claims."]))

    services.ai_response_run(response_id=queued.pk)

    queued.refresh_from_db()
    assert queued.status == "succeeded"
    assert queued.improved_cv == REPAIRED
    assert queued.changes == ["Removed claims."]
    assert queued.verification == {"status": "verified", "unsupported": [], "missing": []}
    # Both calls are what the analysis cost.
    assert (queued.prompt_tokens, queued.completion_tokens) == (240, 160)
    assert len(fake_openai.requests) == 2
    # The model is shown its own answer and asked to remove exactly the claims found in it.
    *conversation, answer, instruction = fake_openai.requests[1].body["messages"]
    assert conversation == fake_openai.requests[0].body["messages"]
    assert answer["role"] == "assistant" and "Monzo" in answer["content"]
    assert instruction["role"] == "user"
    for claim in ("organisation: Monzo", "number: 2 million", "keyword: Kubernetes"):
        assert claim in instruction["content"]
    assert "jane.doe@example.com" not in fake_openai.requests[1].prompt_text
    assert queued.match_report["keywords"]["unsupported"] == []


@pytest.mark.django_db
def test_claims_that_survive_the_repair_are_stored_as_flagged(queued, llm_settings, fake_openai):
    fake_openai.queue(Answer(improved_cv=INVENTED), Answer(improved_cv=INVENTED))

    services.ai_response_run(response_id=queued.pk)

    queued.refresh_from_db()
    assert queued.status == "succeeded"
    assert queued.improved_cv == INVENTED
    assert queued.verification == {"status": "flagged", "unsupported": INVENTED_CLAIMS, "missing": []}
    assert len(fake_openai.requests) == 2
    # The invented skill is not a keyword the CV gained, and it does not raise the score.
    keywords = queued.match_report["keywords"]
    assert "Kubernetes" in keywords["unsupported"] and "Kubernetes" not in keywords["added"]


@pytest.mark.django_db
def test_a_failed_repair_call_keeps_the_first_answer_and_its_flags(queued, llm_settings, fake_openai):
    fake_openai.queue(Answer(improved_cv=INVENTED), Status(500))

    outcome = services.ai_response_run(response_id=queued.pk)

    queued.refresh_from_db()
    assert outcome.state == "succeeded"
    assert (queued.status, queued.error) == ("succeeded", "")
    assert queued.improved_cv == INVENTED
    assert queued.verification == {"status": "flagged", "unsupported": INVENTED_CLAIMS, "missing": []}
    assert len(fake_openai.requests) == 2


@pytest.mark.django_db
def test_a_repair_that_claims_more_is_not_taken(queued, llm_settings, fake_openai):
    worse = INVENTED + ", Terraform\n\nCut costs by 30%."
    fake_openai.queue(Answer(improved_cv=INVENTED), Answer(improved_cv=worse))

    services.ai_response_run(response_id=queued.pk)

    queued.refresh_from_db()
    assert queued.improved_cv == INVENTED
    assert queued.verification == {"status": "flagged", "unsupported": INVENTED_CLAIMS, "missing": []}


@pytest.mark.django_db
def test_facts_from_the_persons_request_are_not_flagged(questionnaire_with_cv, enqueued, llm_settings, fake_openai):
    response = services.ai_response_create(
        user=questionnaire_with_cv.user,
        questionnaire=questionnaire_with_cv,
        prompt="Add that I ran our Kubernetes cluster at Ledgerly.",
    )
    improved = REPAIRED.replace("Git, Linux", "Git, Linux, Kubernetes")
    fake_openai.queue(Answer(improved_cv=improved))

    services.ai_response_run(response_id=response.pk)

    response.refresh_from_db()
    assert response.verification == {"status": "verified", "unsupported": [], "missing": []}
    assert response.match_report["keywords"]["added"] == ["Kubernetes"]
    assert len(fake_openai.requests) == 1


@pytest.mark.django_db
def test_offline_answer_is_verified_by_construction_and_says_so(queued):
    services.ai_response_run(response_id=queued.pk)

    queued.refresh_from_db()
    assert queued.model == "offline"
    assert queued.verification == {"status": "verified", "unsupported": [], "missing": []}
    assert "verified by construction" in queued.improved_cv


@pytest.mark.django_db
def test_the_api_shows_the_verification(api_client, user, questionnaire_with_cv):
    flagged = AIResponseFactory.create(
        user=user,
        questionnaire=questionnaire_with_cv,
        status="succeeded",
        verification={"status": "flagged", "unsupported": INVENTED_CLAIMS},
    )
    pending = AIResponseFactory.create(user=user, questionnaire=questionnaire_with_cv)

    assert api_client.get(f"/cv/ai-responses/{flagged.pk}/").json()["verification"] == {
        "status": "flagged",
        "unsupported": INVENTED_CLAIMS,
    }
    assert api_client.get(f"/api/ai-responses/{pending.pk}/").json()["verification"] is None


@pytest.mark.django_db
def test_the_openapi_schema_describes_the_verification(api_client):
    components = api_client.get("/schema/", HTTP_ACCEPT="application/json").json()["components"]["schemas"]

    def resolve(prop: dict) -> dict:
        ref = prop.get("$ref") or prop.get("items", {}).get("$ref") or prop["allOf"][0]["$ref"]
        return components[ref.rsplit("/", 1)[1]]

    field = components["AIResponse"]["properties"]["verification"]
    assert field["nullable"] is True
    verification = resolve(field)
    assert set(verification["required"]) >= {"status", "unsupported"}
    assert set(resolve(verification["properties"]["status"])["enum"]) == {"verified", "flagged"}
    claim = resolve(verification["properties"]["unsupported"])
    assert set(resolve(claim["properties"]["kind"])["enum"]) == {
        "organisation",
        "title",
        "date",
        "number",
        "credential",
        "keyword",
        "contact",
        "instructions",
    }
    assert claim["properties"]["text"]["type"] == "string"


@pytest.mark.django_db
def test_the_admin_lists_filters_and_shows_flagged_responses(admin_client, user, questionnaire_with_cv):
    flagged = AIResponseFactory.create(
        user=user,
        questionnaire=questionnaire_with_cv,
        status="succeeded",
        verification={"status": "flagged", "unsupported": INVENTED_CLAIMS},
    )
    verified = AIResponseFactory.create(
        user=user,
        questionnaire=questionnaire_with_cv,
        status="succeeded",
        verification={"status": "verified", "unsupported": [], "missing": []},
    )

    listing = admin_client.get("/admin/cv/airesponse/", {"verification": "flagged"})
    assert listing.status_code == 200
    shown = {row.pk for row in listing.context["cl"].result_list}
    assert shown == {flagged.pk}
    assert "flagged (3)" in listing.content.decode()

    page = admin_client.get(f"/admin/cv/airesponse/{flagged.pk}/change/").content.decode()
    assert "organisation: Monzo" in page and "keyword: Kubernetes" in page
    assert "Verified" in admin_client.get(f"/admin/cv/airesponse/{verified.pk}/change/").content.decode()
