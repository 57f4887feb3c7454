"""`POST /core/payments/webhook/stripe/`: Stripe's door. Verify, store, answer; processing runs in a task."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core import billing_events, stripe_gateway


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
        event = stripe_gateway.webhook_event_construct(
            payload=request.body, sig_header=request.headers.get("Stripe-Signature")
        )
        _pk, created = billing_events.stripe_event_record(event=event)
        return Response({"received": True, "duplicate": not created})
