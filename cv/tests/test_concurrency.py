import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from core.models import QuotaUsage
from cv.models import AIResponse
from cv.tests.factories import QuestionnaireFactory

REQUESTS = 20


@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_requests_at_a_quota_of_three_accept_exactly_three(user, jane_cv_text, enqueued):
    questionnaire = QuestionnaireFactory.create(user=user, resume_text=jane_cv_text)
    start = threading.Barrier(REQUESTS)
    statuses: list[int] = []
    lock = threading.Lock()

    def post() -> None:
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
            start.wait(timeout=30)
            response = client.post("/cv/ai-responses/", {"questionnaire": questionnaire.pk}, format="json")
            with lock:
                statuses.append(response.status_code)
        finally:
            # Each thread has its own database connection; leaving it open would block the test teardown.
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses) == [202] * 3 + [429] * (REQUESTS - 3)
    assert AIResponse.objects.count() == 3
    assert len(enqueued) == 3
    assert QuotaUsage.objects.get(user=user, scope="ai_responses").used == 3
