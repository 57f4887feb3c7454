"""The generate routes sit beside the AI responses and cover letters; the root urlconf mounts them under /cv/
and /api/."""

from django.urls import path

from pdf import views

urlpatterns = [
    path("ai-responses/<int:pk>/generate-pdf/", views.GeneratePdfView.as_view(), name="ai-response-generate-pdf"),
    path(
        "cover-letters/<int:pk>/generate-pdf/", views.GenerateLetterPdfView.as_view(), name="cover-letter-generate-pdf"
    ),
]
