from django.urls import path
from rest_framework.routers import SimpleRouter

from cv.letters import views as letter_views
from cv.outputs import views as output_views
from cv.versions import views as version_views
from cv.views import AIResponseViewSet, QuestionnaireViewSet

# No app namespace: these routes are mounted twice (/cv/ and /api/ for the existing SPA).
router = SimpleRouter()
router.register("questionnaire", QuestionnaireViewSet, basename="questionnaire")
router.register("ai-responses", AIResponseViewSet, basename="ai-responses")
router.register("cover-letters", letter_views.CoverLetterViewSet, basename="cover-letters")

urlpatterns = [
    path("ai-responses/<int:pk>/export/", output_views.AIResponseExportView.as_view(), name="ai-response-export"),
    path("ai-responses/<int:pk>/diff/", output_views.AIResponseDiffView.as_view(), name="ai-response-diff"),
    path(
        "ai-responses/<int:pk>/cover-letter/",
        letter_views.AIResponseCoverLetterView.as_view(),
        name="ai-response-cover-letter",
    ),
    path(
        "ai-responses/<int:pk>/versions/",
        version_views.AIResponseVersionListView.as_view(),
        name="ai-response-versions",
    ),
    path(
        "ai-responses/<int:pk>/versions/<int:number>/",
        version_views.AIResponseVersionDetailView.as_view(),
        name="ai-response-version",
    ),
    path(
        "ai-responses/<int:pk>/versions/<int:number>/restore/",
        version_views.AIResponseVersionRestoreView.as_view(),
        name="ai-response-version-restore",
    ),
    *router.urls,
]
