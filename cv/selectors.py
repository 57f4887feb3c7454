"""Reads of the CV app. Every query is scoped to its owner: another person's rows simply do not exist."""

from django.db.models import QuerySet

from cv import offline
from cv.models import AIResponse, CVQuestionnaire


def questionnaires_for(*, user) -> QuerySet[CVQuestionnaire]:
    return CVQuestionnaire.objects.filter(user=user)


def ai_responses_for(*, user, questionnaire_id: int | None = None) -> QuerySet[AIResponse]:
    responses = AIResponse.objects.filter(user=user)
    if questionnaire_id is not None:
        responses = responses.filter(questionnaire_id=questionnaire_id)
    return responses


def cv_markdown_of(response: AIResponse) -> str:
    """The improved CV alone (what a PDF shows), without any review addressed to the applicant."""
    return offline.cv_part(model=response.model, improved_cv=response.improved_cv)
