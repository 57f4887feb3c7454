from allauth.socialaccount.models import SocialAccount
from dj_rest_auth.jwt_auth import CookieTokenRefreshSerializer
from dj_rest_auth.registration.serializers import RegisterSerializer as BaseRegisterSerializer
from dj_rest_auth.registration.serializers import SocialLoginSerializer
from dj_rest_auth.serializers import PasswordResetSerializer as BasePasswordResetSerializer
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.serializers import TokenVerifySerializer as BaseTokenVerifySerializer
from rest_framework_simplejwt.tokens import RefreshToken, UntypedToken

from core.billing import selectors as billing_selectors
from core.emails import clean_email
from core.hot_path.plan_catalogue import current_plan_entry
from core.hot_path.serializers import ModelSerializer, Serializer
from core.plan_serializers import PlanSerializer
from core.plans import plan_for
from core.sessions import token_user

User = get_user_model()


class SubscriptionSummarySerializer(Serializer):
    status = serializers.CharField()
    interval = serializers.CharField(allow_null=True)
    current_period_end = serializers.DateTimeField(allow_null=True)
    cancel_at_period_end = serializers.BooleanField()


class UserDetailsSerializer(ModelSerializer):
    """The profile the SPA shows on every page: no Stripe call, two queries. Changing the email needs the
    current password: the email is where password resets go, so it is the key to the account."""

    plan = serializers.SerializerMethodField()
    subscription = serializers.SerializerMethodField()
    current_password = serializers.CharField(
        write_only=True, required=False, trim_whitespace=False, help_text="Required to change the email."
    )

    class Meta:
        model = User
        fields = [
            "id", "username", "email", "first_name", "last_name", "date_of_birth", "plan", "subscription",
            "current_password",
        ]  # fmt: skip
        read_only_fields = ["id", "plan", "subscription"]

    @extend_schema_field(PlanSerializer)
    def get_plan(self, user) -> dict:
        entry = current_plan_entry(user)
        if entry is None:  # no Free plan seeded yet: plan_for creates it
            plan = plan_for(user)
            entry = PlanSerializer(plan, context={"current_plan": plan}).data
        return entry

    @extend_schema_field(SubscriptionSummarySerializer(allow_null=True))
    def get_subscription(self, user) -> dict | None:
        summary = billing_selectors.subscription_summary_for(user=user)
        return SubscriptionSummarySerializer(summary).data if summary else None

    def validate_email(self, value: str) -> str:
        # Only the address's own rules here: whether another account has it is told in validate(), after the
        # password, so a stolen session cannot be used to learn which addresses have accounts.
        try:
            return clean_email(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc

    def validate_date_of_birth(self, value):
        if value is None:
            return value
        today = timezone.localdate()
        if value >= today:
            raise serializers.ValidationError("Date of birth must be in the past.")
        if value.year < 1900:
            raise serializers.ValidationError("Date of birth must be after 1900.")
        if (today - value).days < 13 * 365:
            raise serializers.ValidationError("You must be at least 13 years old to use CVImprover.")
        return value

    def validate(self, attrs):
        current_password = attrs.pop("current_password", None)
        email = attrs.get("email")
        if self.instance is not None and email is not None and email != self.instance.email:
            if not current_password:
                raise serializers.ValidationError({"current_password": ["Required to change the email."]})
            if not self.instance.check_password(current_password):
                raise serializers.ValidationError({"current_password": ["The password is not correct."]})
            if User.objects.filter(email__iexact=email).exclude(pk=self.instance.pk).exists():
                raise serializers.ValidationError({"email": ["A user with this email address already exists."]})
        return attrs

    def update(self, instance, validated_data):
        from core.services import user_update

        return user_update(user=instance, data=validated_data)


class RegisterSerializer(BaseRegisterSerializer):
    """dj-rest-auth's sign-up with our email rules and a case-insensitive uniqueness check."""

    def validate_email(self, email: str) -> str:
        email = super().validate_email(email)  # runs the account adapter: normalise, typo, disposable
        if User.objects.filter(email__iexact=email).exists():
            raise serializers.ValidationError("A user with this email address already exists.")
        return email


class GoogleLoginSerializer(SocialLoginSerializer):
    """`{code}`, `{id_token}` or `{access_token}`; core.adapters.GoogleAdapter checks each against our client id.

    A Google sign-in for an email that already has a local account is refused, never linked: local emails
    are not verified, so linking would hand the account to whoever registered the address first."""

    def validate(self, attrs):
        if attrs.get("id_token") and not attrs.get("access_token") and not attrs.get("code"):
            # dj-rest-auth reads an id_token only beside an access token, but Google Identity Services gives a
            # SPA just the id_token. The adapter verifies that id_token and never uses this placeholder.
            attrs = {**attrs, "access_token": "id-token-only"}
        return super().validate(attrs)

    def get_social_login(self, adapter, app, token, response):
        login = super().get_social_login(adapter, app, token, response)
        # Not login.lookup(): allauth's flow does the lookup itself and refuses a login that already did.
        known = SocialAccount.objects.filter(provider=login.account.provider, uid=login.account.uid).exists()
        email = login.user.email or ""
        if not known and email and User.objects.filter(email__iexact=email).exists():
            raise serializers.ValidationError(
                "An account with this email address already exists. Sign in with your password instead."
            )
        return login


class PasswordResetSerializer(BasePasswordResetSerializer):
    """Queue a reset mail (core.services.password_reset_request): at most PASSWORD_RESET_MAILS_PER_HOUR per
    address. The answer, and the work done before it, are the same for every well-formed address, known or not:
    no account is looked up in the request."""

    def validate_email(self, value: str) -> str:
        try:
            return clean_email(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc

    def save(self):
        from core.services import password_reset_request

        password_reset_request(email=self.validated_data["email"])


class TokenRefreshSerializer(CookieTokenRefreshSerializer):
    """The refresh token from the body or the cookie; a token whose account is gone, or whose password
    changed since, is a 401 (simplejwt alone answers 500 for a deleted account)."""

    def validate(self, attrs):
        token_user(RefreshToken(self.extract_refresh_token()))
        try:
            return super().validate(attrs)
        except User.DoesNotExist:  # deleted between the check above and simplejwt's own lookup
            raise AuthenticationFailed("No active account found for the given token.", code="user_not_found") from None


class TokenVerifySerializer(BaseTokenVerifySerializer):
    """A token is valid only while its account exists and its password is unchanged."""

    def validate(self, attrs):
        data = super().validate(attrs)
        token_user(UntypedToken(attrs["token"]))
        return data


class CsrfTokenSerializer(Serializer):
    csrfToken = serializers.CharField()  # the SPA's existing field name


class HealthSerializer(Serializer):
    overall = serializers.ChoiceField(choices=["ok", "degraded", "down"])
    services = serializers.DictField(child=serializers.CharField())


class ScopeStatusSerializer(Serializer):
    limit = serializers.IntegerField()
    used = serializers.IntegerField()
    remaining = serializers.IntegerField()
    reset_at = serializers.DateTimeField()
    percentage_used = serializers.FloatField()
    status = serializers.ChoiceField(choices=["ok", "warning", "exceeded"])


class RateLimitStatusSerializer(Serializer):
    plan = serializers.DictField()
    scopes = serializers.DictField(child=ScopeStatusSerializer())
    upgrade = serializers.DictField(allow_null=True)
