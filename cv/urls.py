from rest_framework.routers import SimpleRouter

from cv.views import AIResponseViewSet, QuestionnaireViewSet

# No app namespace: these routes are mounted twice (/cv/ and /api/ for the existing SPA).
router = SimpleRouter()
router.register("questionnaire", QuestionnaireViewSet, basename="questionnaire")
router.register("ai-responses", AIResponseViewSet, basename="ai-responses")

urlpatterns = router.urls
