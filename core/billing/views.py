"""Billing endpoints (`/core/payments/`, `/core/billing/`, `/core/subscription/`). HTTP only: validate, call one
service or selector, serialize. Writes count against the plan's API calls (`throttle_scope = WORK`).

`POST /core/payments/webhook/stripe/` is Stripe's door: verify, store, answer; processing runs in a task."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.authentication import signed_in_user
from core.billing import events, gateway, selectors, services
from core.billing.serializers import (
    InvoiceOutput,
    PlanChoiceInput,
    SubscriptionOutput,
    UrlOutput,
    VerifySessionInput,
    VerifySessionOutput,
)
from core.exceptions import NotFound
from core.schema import ErrorSerializer
from core.throttles import WORK


class CheckoutSessionCreateView(APIView):
    throttle_scope = WORK

    @extend_schema(request=PlanChoiceInput, responses=UrlOutput)
    def post(self, request):
        data = PlanChoiceInput(data=request.data)
        data.is_valid(raise_exception=True)
        url = services.checkout_session_create(user=request.user, **data.validated_data)
        return Response({"url": url})


class CheckoutSessionVerifyView(APIView):
    @extend_schema(parameters=[OpenApiParameter("session_id", str, required=True)], responses=VerifySessionOutput)
    def get(self, request):
        data = VerifySessionInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        subscription = services.checkout_session_verify(user=request.user, session_id=data.validated_data["session_id"])
        return Response(
            {
                "success": subscription is not None,
                "subscription": SubscriptionOutput(subscription).data if subscription else None,
            }
        )


class BillingPortalView(APIView):
    throttle_scope = WORK

    @extend_schema(
        request=None,
        responses={
            200: UrlOutput,
            400: OpenApiResponse(ErrorSerializer, description="No billing account yet (`no_billing_account`)."),
        },
    )
    def post(self, request):
        return Response({"url": services.portal_session_create(user=request.user)})


class SubscriptionDetailView(APIView):
    @extend_schema(responses=SubscriptionOutput)
    def get(self, request):
        subscription = selectors.subscription_current_for(user=request.user)
        if subscription is None:
            raise NotFound("You have no subscription.", code="no_subscription")
        return Response(SubscriptionOutput(subscription).data)


class SubscriptionChangePlanView(APIView):
    throttle_scope = WORK

    @extend_schema(request=PlanChoiceInput, responses=SubscriptionOutput)
    def post(self, request):
        data = PlanChoiceInput(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = services.subscription_change_plan(user=request.user, **data.validated_data)
        return Response(SubscriptionOutput(subscription).data)


class SubscriptionCancelView(APIView):
    throttle_scope = WORK

    @extend_schema(request=None, responses=SubscriptionOutput)
    def post(self, request):
        return Response(SubscriptionOutput(services.subscription_cancel(user=request.user)).data)


class SubscriptionResumeView(APIView):
    throttle_scope = WORK

    @extend_schema(request=None, responses=SubscriptionOutput)
    def post(self, request):
        return Response(SubscriptionOutput(services.subscription_resume(user=request.user)).data)


class InvoiceListView(ListAPIView):
    serializer_class = InvoiceOutput

    def get_queryset(self):
        return selectors.invoices_for(user=signed_in_user(self.request))


class _RawBodyParser(BaseParser):
    """Accept any content type: the signature covers the raw bytes, which the view reads itself."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return {}


class StripeWebhookView(APIView):
    """Signed by Stripe, so no user authentication, no CSRF and never throttled (Stripe retries anyway)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []
    parser_classes = [_RawBodyParser]

    @extend_schema(
        request={"application/json": {"type": "object"}},
        responses=inline_serializer(
            "StripeWebhookReceived", {"received": serializers.BooleanField(), "duplicate": serializers.BooleanField()}
        ),
    )
    def post(self, request):
        signature = request.headers.get("Stripe-Signature")
        event = gateway.webhook_event_construct(payload=request.body, sig_header=signature)
        _pk, created = events.stripe_event_record(event=event)
        return Response({"received": True, "duplicate": not created})
