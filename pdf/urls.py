from django.urls import path

from pdf import views

app_name = "pdf"

urlpatterns = [
    path("templates/", views.TemplateListView.as_view(), name="template-list"),
    path("documents/", views.DocumentListView.as_view(), name="document-list"),
    path("documents/<int:pk>/", views.DocumentDetailView.as_view(), name="document-detail"),
    path("documents/<int:pk>/download/", views.DocumentDownloadView.as_view(), name="document-download"),
]
