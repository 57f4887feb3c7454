from cv.models import AIResponse, CVQuestionnaire


def ai_response_for(*, user, improved_cv: str, status: str = "succeeded", position: str = "Senior Backend Engineer"):
    """An AI response of `user` in `status` with `improved_cv` (Markdown), on a fresh questionnaire."""
    questionnaire = CVQuestionnaire.objects.create(user=user, position=position)
    return AIResponse.objects.create(questionnaire=questionnaire, user=user, status=status, improved_cv=improved_cv)
