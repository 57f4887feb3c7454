from django.urls import path

from core import views
from core.billing import views as billing_views

urlpatterns = [
    path("plans/", views.PlanListView.as_view(), name="plan-list"),
    path("health/", views.HealthView.as_view(), name="health"),
    path("rate-limits/status/", views.RateLimitStatusView.as_view(), name="rate-limit-status"),
    path(
        "payments/create-checkout-session/",
        billing_views.CheckoutSessionCreateView.as_view(),
        name="checkout-session-create",
    ),
    path("payments/verify-session/", billing_views.CheckoutSessionVerifyView.as_view(), name="checkout-session-verify"),
    path("payments/webhook/stripe/", billing_views.StripeWebhookView.as_view(), name="stripe-webhook"),
    path("billing/portal/", billing_views.BillingPortalView.as_view(), name="billing-portal"),
    path("billing/invoices/", billing_views.InvoiceListView.as_view(), name="invoice-list"),
    path("subscription/", billing_views.SubscriptionDetailView.as_view(), name="subscription-detail"),
    path(
        "subscription/change-plan/",
        billing_views.SubscriptionChangePlanView.as_view(),
        name="subscription-change-plan",
    ),
    path("subscription/cancel/", billing_views.SubscriptionCancelView.as_view(), name="subscription-cancel"),
    path("subscription/resume/", billing_views.SubscriptionResumeView.as_view(), name="subscription-resume"),
]
