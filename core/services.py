import logging

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.sites.models import Site
from django.db import OperationalError, transaction

from core.billing.services import customer_delete_for_user_deletion
from core.models import User

logger = logging.getLogger(__name__)


@transaction.atomic
def user_update(*, user: User, data: dict) -> User:
    """Apply validated profile changes. A new email replaces the old allauth addresses (unverified)."""
    new_email = data.get("email")
    if new_email is not None and new_email != user.email:
        EmailAddress.objects.filter(user=user).delete()
        EmailAddress.objects.create(user=user, email=new_email, primary=True, verified=False)
    for field, value in data.items():
        setattr(user, field, value)
    user.save(update_fields=list(data) or None)
    return user


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
