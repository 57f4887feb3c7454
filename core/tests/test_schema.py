import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_openapi_schema_lists_the_endpoints():
    response = APIClient().get("/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("/auth/login/", "/auth/user/", "/auth/csrf-token/", "/core/plans/", "/core/health/"):
        assert path in paths


def test_root_redirects_to_swagger_ui():
    response = APIClient().get("/")
    assert response.status_code == 302
    assert response["Location"] == "/api/docs/"
    assert APIClient().get("/api/docs/").status_code == 200


def test_schema_documents_bearer_and_cookie_authentication():
    schema = APIClient().get("/schema/", HTTP_ACCEPT="application/json").json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["jwtHeaderAuth"]["scheme"] == "bearer"
    assert schemes["jwtCookieAuth"] == {"type": "apiKey", "in": "cookie", "name": "access-token"}


def test_every_operation_documents_the_errors_it_can_give():
    schema = APIClient().get("/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    create = paths["/cv/questionnaire/"]["post"]["responses"]
    assert {"201", "401", "429", "503"} <= set(create)
    assert create["429"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    error = schema["components"]["schemas"]["Error"]
    assert sorted(error["required"]) == ["code", "detail"]
    detail = paths["/cv/questionnaire/{id}/"]["get"]["responses"]
    assert detail["404"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert "404" not in paths["/cv/questionnaire/"]["get"]["responses"]
    plans = paths["/core/plans/"]["get"]["responses"]
    assert "401" not in plans and {"429", "503"} <= set(plans)  # anyone may read the plans
    webhook = paths["/core/payments/webhook/stripe/"]["post"]["responses"]
    assert "429" not in webhook and "401" not in webhook  # Stripe is neither signed in nor rate-limited
    login_locked = paths["/auth/login/"]["post"]["responses"]["429"]["content"]["application/json"]["schema"]
    assert login_locked != {"$ref": "#/components/schemas/Error"}  # its own answer is kept
    health = paths["/core/health/"]["get"]["responses"]["503"]["content"]["application/json"]["schema"]
    assert health == {"$ref": "#/components/schemas/Health"}


def test_operations_that_read_input_document_the_validation_error():
    schema = APIClient().get("/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    invalid = {"$ref": "#/components/schemas/ValidationError"}
    for path, method in [
        ("/cv/ai-responses/", "post"),
        ("/cv/questionnaire/", "post"),
        ("/cv/questionnaire/{id}/", "patch"),
        ("/cv/ai-responses/", "get"),  # ?questionnaire= must be a whole number
    ]:
        assert paths[path][method]["responses"]["400"]["content"]["application/json"]["schema"] == invalid, path
    assert "400" not in paths["/cv/questionnaire/{id}/"]["get"]["responses"]  # it reads nothing to refuse
    for path in ("/core/subscription/cancel/", "/core/subscription/resume/"):
        assert "400" not in paths[path]["post"]["responses"], path  # a POST without a body
    portal = paths["/core/billing/portal/"]["post"]["responses"]["400"]  # no body, but no billing account yet
    assert portal["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    component = schema["components"]["schemas"]["ValidationError"]
    assert component["type"] == "object" and "additionalProperties" in component


def test_a_validation_error_answer_has_the_documented_shape(api_client):
    """The body of a real 400 fits the ValidationError schema: field names to lists of messages."""
    import jsonschema

    schema = APIClient().get("/schema/", HTTP_ACCEPT="application/json").json()["components"]["schemas"]
    response = api_client.post("/cv/ai-responses/", {"questionnaire": "nope", "prompt": "Tailor it."}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"questionnaire"} and all(isinstance(m, str) for m in body["questionnaire"])
    jsonschema.validate(body, schema["ValidationError"])
