from django.urls import path

from core import views

urlpatterns = [
    path("plans/", views.PlanListView.as_view(), name="plan-list"),
    path("health/", views.HealthView.as_view(), name="health"),
    path("rate-limits/status/", views.RateLimitStatusView.as_view(), name="rate-limit-status"),
]
