"""The project's URLs plus one view that crashes while holding a CV's text, for the Sentry test."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from cvimprover.urls import urlpatterns as project_urlpatterns


@csrf_exempt
def crash(request: HttpRequest) -> HttpResponse:
    resume_text = request.body.decode()
    raise ValueError(f"crashed on a CV of {len(resume_text)} characters")


urlpatterns = [path("crash/", crash), *project_urlpatterns]
