"""Reads of the CV app. Every query is scoped to its owner: another person's rows simply do not exist."""

from django.db.models import QuerySet

from core.models import User
from cv.models import AIResponse, CVQuestionnaire


def questionnaires_for(*, user: User) -> QuerySet[CVQuestionnaire]:
    return CVQuestionnaire.objects.filter(user=user)


def ai_responses_for(*, user: User, questionnaire_id: int | None = None) -> QuerySet[AIResponse]:
    responses = AIResponse.objects.filter(user=user)
    if questionnaire_id is not None:
        responses = responses.filter(questionnaire_id=questionnaire_id)
    return responses
