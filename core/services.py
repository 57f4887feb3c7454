import logging

from allauth.account.models import EmailAddress
from django.db import transaction

from core.billing.services import subscription_cancel_for_user_deletion
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


def user_delete(*, user: User) -> None:
    """Delete an account: cancel its subscription at Stripe first (so nobody is billed for a deleted account),
    then the rows. Each app removes its stored files when its rows are deleted, after the commit."""
    subscription_cancel_for_user_deletion(user=user)
    user_id = user.pk
    with transaction.atomic():
        User.objects.filter(pk=user_id).delete()
    logger.info("user deleted user_id=%s", user_id)
