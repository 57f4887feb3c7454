"""Reads of the CV app. Every query is scoped to its owner: another person's rows simply do not exist."""

from django.db.models import QuerySet

from core.exceptions import NotFound
from core.models import User
from cv.models import AIResponse, CoverLetter, CVQuestionnaire


def questionnaires_for(*, user: User, with_cv_text: bool = True) -> QuerySet[CVQuestionnaire]:
    """The user's questionnaires; without the extracted CV text and the job's read requirements (often
    kilobytes a row) for listings."""
    questionnaires = CVQuestionnaire.objects.filter(user=user)
    return questionnaires if with_cv_text else questionnaires.defer("resume_text", "job_requirements")


def ai_responses_for(*, user: User, questionnaire_id: int | None = None) -> QuerySet[AIResponse]:
    responses = AIResponse.objects.filter(user=user)
    if questionnaire_id is not None:
        responses = responses.filter(questionnaire_id=questionnaire_id)
    return responses


def ai_response_get_for(*, user: User, response_id: int) -> AIResponse:
    """The user's AI response; another user's is indistinguishable from a missing one (404)."""
    response = ai_responses_for(user=user).select_related("questionnaire").filter(pk=response_id).first()
    if response is None:
        raise NotFound("AI response not found.")
    return response


def cover_letters_for(*, user: User) -> QuerySet[CoverLetter]:
    return CoverLetter.objects.filter(user=user)


def cover_letter_get_for(*, user: User, letter_id: int) -> CoverLetter:
    """The user's cover letter; another user's is indistinguishable from a missing one (404)."""
    letter = cover_letters_for(user=user).select_related("ai_response__questionnaire").filter(pk=letter_id).first()
    if letter is None:
        raise NotFound("Cover letter not found.")
    return letter
