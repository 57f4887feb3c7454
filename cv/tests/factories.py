from pathlib import Path

import factory

from core.tests.factories import UserFactory
from cv.models import AIResponse, CVQuestionnaire

FIXTURES = Path(__file__).parent / "fixtures"


class QuestionnaireFactory(factory.django.DjangoModelFactory[CVQuestionnaire]):
    class Meta:
        model = CVQuestionnaire

    user = factory.SubFactory(UserFactory)
    position = "Senior Backend Engineer"
    industry = "FinTech"
    experience_level = "6+"
    company_size = "medium"
    location = "London"
    application_timeline = "immediate"
    job_description = factory.LazyFunction(lambda: (FIXTURES / "senior_backend_engineer.txt").read_text())
    resume_text = "Jane Doe\njane@example.com\nSUMMARY\nBackend engineer.\nSKILLS\nPython, Django"
    resume_pages = 1


class AIResponseFactory(factory.django.DjangoModelFactory[AIResponse]):
    class Meta:
        model = AIResponse

    questionnaire = factory.SubFactory(QuestionnaireFactory)
    user = factory.LazyAttribute(lambda r: r.questionnaire.user)
    prompt = "Make it stronger for this job."
