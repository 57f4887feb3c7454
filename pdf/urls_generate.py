"""The generate route sits beside the AI responses; the root urlconf mounts it under /cv/ and /api/."""

from django.urls import path

from pdf import views

urlpatterns = [
    path("ai-responses/<int:pk>/generate-pdf/", views.GeneratePdfView.as_view(), name="ai-response-generate-pdf"),
]
