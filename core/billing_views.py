"""Billing endpoints (`/core/payments/`, `/core/billing/`, `/core/subscription/`). HTTP only: validate, call one
service or selector, serialize. Writes count against the plan's API calls (core.throttles, by path)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from core import billing_selectors, billing_services
from core.billing_serializers import (
    InvoiceOutput,
    PlanChoiceInput,
    SubscriptionOutput,
    UrlOutput,
    VerifySessionInput,
    VerifySessionOutput,
)
from core.exceptions import NotFound


class CheckoutSessionCreateView(APIView):
    @extend_schema(request=PlanChoiceInput, responses=UrlOutput)
    def post(self, request):
        data = PlanChoiceInput(data=request.data)
        data.is_valid(raise_exception=True)
        url = billing_services.checkout_session_create(user=request.user, **data.validated_data)
        return Response({"url": url})


class CheckoutSessionVerifyView(APIView):
    @extend_schema(parameters=[OpenApiParameter("session_id", str, required=True)], responses=VerifySessionOutput)
    def get(self, request):
        data = VerifySessionInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        subscription = billing_services.checkout_session_verify(
            user=request.user, session_id=data.validated_data["session_id"]
        )
        return Response(
            {
                "success": subscription is not None,
                "subscription": SubscriptionOutput(subscription).data if subscription else None,
            }
        )


class BillingPortalView(APIView):
    @extend_schema(request=None, responses=UrlOutput)
    def post(self, request):
        return Response({"url": billing_services.portal_session_create(user=request.user)})


class SubscriptionDetailView(APIView):
    @extend_schema(responses=SubscriptionOutput)
    def get(self, request):
        subscription = billing_selectors.subscription_current_for(user=request.user)
        if subscription is None:
            raise NotFound("You have no subscription.", code="no_subscription")
        return Response(SubscriptionOutput(subscription).data)


class SubscriptionChangePlanView(APIView):
    @extend_schema(request=PlanChoiceInput, responses=SubscriptionOutput)
    def post(self, request):
        data = PlanChoiceInput(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = billing_services.subscription_change_plan(user=request.user, **data.validated_data)
        return Response(SubscriptionOutput(subscription).data)


class SubscriptionCancelView(APIView):
    @extend_schema(request=None, responses=SubscriptionOutput)
    def post(self, request):
        return Response(SubscriptionOutput(billing_services.subscription_cancel(user=request.user)).data)


class SubscriptionResumeView(APIView):
    @extend_schema(request=None, responses=SubscriptionOutput)
    def post(self, request):
        return Response(SubscriptionOutput(billing_services.subscription_resume(user=request.user)).data)


class InvoiceListView(ListAPIView):
    serializer_class = InvoiceOutput

    def get_queryset(self):
        return billing_selectors.invoices_for(user=self.request.user)
