import logging

from allauth.account.adapter import get_adapter
from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress
from allauth.account.utils import user_pk_to_url_str
from allauth.core import ratelimit
from django.conf import settings
from django.contrib.sites.models import Site
from django.db import OperationalError, transaction
from django.http import HttpRequest

from core import redis_safety
from core.billing.services import customer_delete_for_user_deletion
from core.login_limits import password_reset_mail_allowed
from core.models import User

logger = logging.getLogger(__name__)

# The mails are queued by the names of their tasks (core.tasks), which run the `*_send` functions below.
EMAIL_CONFIRMATION_TASK = "core.tasks.send_email_confirmation"
PASSWORD_RESET_MAIL_TASK = "core.tasks.send_password_reset_mail"

# Confirmation mails sent for one address at most (several accounts may be waiting to change to it).
_CONFIRMATIONS_PER_ADDRESS = 3


@transaction.atomic
def user_update(*, user: User, data: dict) -> User:
    """Apply validated profile changes.

    A new email under ACCOUNT_EMAIL_VERIFICATION=mandatory is only requested: it is added unverified and a
    confirmation is mailed to it, while the current address stays primary, so the person can still sign in;
    confirming the mailed key switches the account to it (core.adapters.AccountAdapter). Otherwise the new
    address replaces the old one at once (unverified; under "optional" its confirmation is mailed too)."""
    data = dict(data)
    new_email = data.pop("email", None)
    if new_email is not None and new_email != user.email:
        if settings.ACCOUNT_EMAIL_VERIFICATION == "mandatory":
            _email_change_request(user=user, email=new_email)
        else:
            EmailAddress.objects.filter(user=user).delete()
            EmailAddress.objects.create(user=user, email=new_email, primary=True, verified=False)
            data["email"] = new_email
            if settings.ACCOUNT_EMAIL_VERIFICATION == "optional":
                _email_confirmation_send_on_commit(email=new_email)
    for field, value in data.items():
        setattr(user, field, value)
    if data:
        user.save(update_fields=list(data))
    return user


def _email_change_request(*, user: User, email: str) -> None:
    # One change at a time: an earlier request's address (and the key mailed to it) is dropped.
    EmailAddress.objects.filter(user=user, verified=False, primary=False).exclude(email__iexact=user.email).delete()
    EmailAddress.objects.create(user=user, email=email, primary=False, verified=False)
    _email_confirmation_send_on_commit(email=email)
    logger.info("email change requested user_id=%s", user.pk)


def _email_confirmation_send_on_commit(*, email: str) -> None:
    # After the commit, so the worker sees the address. Should the broker be down, the change is kept and
    # POST /auth/registration/resend-email/ sends the mail later.
    transaction.on_commit(
        lambda: redis_safety.send_task(
            EMAIL_CONFIRMATION_TASK, (), kwargs={"email": email}, queue=settings.ACCOUNT_MAIL_QUEUE
        ),
        robust=True,
    )


def email_confirmation_send(*, email: str) -> int:
    """Mail a confirmation key to each account waiting to confirm this address (a worker runs this). Returns
    how many were sent."""
    addresses = EmailAddress.objects.filter(email__iexact=email, verified=False).select_related("user")
    sent = 0
    for address in addresses.order_by("-pk")[:_CONFIRMATIONS_PER_ADDRESS]:
        address.send_confirmation(None)
        sent += 1
    return sent


def email_confirmation_resend(*, request: HttpRequest, email: str) -> None:
    """At most one mail per address per ACCOUNT_EMAIL_CONFIRMATION_COOLDOWN (allauth's limit). The request does
    the same work whether or not an account waits for this address (count, queue); the worker looks it up, so
    neither the answer nor its time tells."""
    if ratelimit.consume(request, action="confirm_email", key=email.lower()):
        redis_safety.send_task(EMAIL_CONFIRMATION_TASK, (), kwargs={"email": email}, queue=settings.ACCOUNT_MAIL_QUEUE)


def password_reset_request(*, email: str) -> None:
    """Count the request against the address's hourly bound and, within it, queue the mail. The same work for
    a known and an unknown address: the account is looked up by the worker (password_reset_mail_send)."""
    if password_reset_mail_allowed(email=email):
        redis_safety.send_task(PASSWORD_RESET_MAIL_TASK, (), kwargs={"email": email}, queue=settings.ACCOUNT_MAIL_QUEUE)


def password_reset_url(*, user: User, token: str) -> str:
    return f"{settings.FRONTEND_URL}/reset-password/{user_pk_to_url_str(user)}/{token}"


def password_reset_mail_send(*, email: str) -> int:
    """Mail a reset link (to the SPA, which posts uid, token and the new password to /auth/password/reset/confirm/)
    to each active account whose email this is. Returns how many were sent."""
    sent = 0
    for user in User.objects.filter(email__iexact=email, is_active=True):
        token = default_token_generator.make_token(user)
        context = {
            "user": user,
            "password_reset_url": password_reset_url(user=user, token=token),
            "token": token,
            "uid": user_pk_to_url_str(user),
        }
        get_adapter().send_mail("account/email/password_reset_key", user.email, context)
        sent += 1
    return sent


def site_sync(*, using: str = "default") -> None:
    """Give the Site row (SITE_ID) the product's name and domain from settings: allauth's mails show them in the
    subject and the greeting. Run at every migrate (cvimprover.apps), so a fresh database has them too."""
    Site.objects.using(using).update_or_create(
        pk=settings.SITE_ID, defaults={"name": settings.SITE_NAME, "domain": settings.SITE_DOMAIN}
    )
    Site.objects.clear_cache()


# PostgreSQL's deadlock_detected: another app's transaction took its locks in another order.
_DEADLOCK = "40P01"
DELETE_ATTEMPTS = 3


def _is_deadlock(exc: OperationalError) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) == _DEADLOCK


def user_delete(*, user: User) -> None:
    """Delete an account: its Stripe customer first (so nobody is billed and no open Checkout link can be
    paid for a deleted account), then the rows. Each app removes its stored files after the commit.

    The user row is locked before anything else, the order every billing write uses (core.billing.sync), so
    a webhook being applied for this user finishes first or finds the user gone, instead of deadlocking with
    the cascade. Should a deadlock still happen, the whole deletion is tried again."""
    user_id = user.pk
    for attempt in range(1, DELETE_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                locked = User.objects.select_for_update().filter(pk=user_id).first()
                if locked is None:
                    return
                customer_delete_for_user_deletion(user=locked)
                User.objects.filter(pk=user_id).delete()
            break
        except OperationalError as exc:
            if not _is_deadlock(exc) or attempt == DELETE_ATTEMPTS:
                raise
            logger.warning("user deletion deadlocked, trying again user_id=%s attempt=%s", user_id, attempt)
    logger.info("user deleted user_id=%s", user_id)
