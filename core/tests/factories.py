import factory

from core.models import Plan, User
from testing.helpers import TEST_PASSWORD


# Call factories as `UserFactory.create(...)`: it returns the model instance, typed, where the bare call
# `UserFactory(...)` does the same but mypy sees a factory.
class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def _save(obj: User, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            obj.save()


class PlanFactory(factory.django.DjangoModelFactory[Plan]):
    class Meta:
        model = Plan
        django_get_or_create = ("slug",)

    slug = "basic"
    name = factory.LazyAttribute(lambda p: p.slug.title())
    order = 1
    ai_responses_per_day = 20
    questionnaires_per_day = 50
    uploads_per_day = 20
    api_calls_per_hour = 300
