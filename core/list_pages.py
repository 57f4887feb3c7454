"""Pages of a person's own lists, kept in the shared cache until that list changes.

The key of a page holds the person's `lists_version`, which every change to one of their lists replaces
with a new random value in the change's own transaction (`lists_changed`). Authentication loads the
version with the user, so a request that starts after a change commits can only find pages built after
it: a page is never stale, and no cache entry has to be found and dropped. Pages of older versions expire
by themselves. With the cache unreachable, every page is built from the database, as on a miss.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from rest_framework.request import Request

from core.authentication import signed_in_user
from core.models import User

PAGE_SECONDS = 600


def lists_changed(*, user_id: int) -> None:
    """Call in the transaction that changes one of the person's lists (it also locks their user row)."""
    User.objects.filter(pk=user_id).update(lists_version=uuid.uuid4())


def cached_page(request: Request, *, name: str, build: Callable[[], Any]) -> Any:
    """The page of the list `name` that `request` asks for: from the cache, or `build()` and kept."""
    user = signed_in_user(request)
    # The whole URL: the page, its size and the host all shape the answer (its next and previous links).
    url = hashlib.sha256(request.build_absolute_uri().encode()).hexdigest()[:32]
    key = f"lists:{name}:{user.pk}:{user.lists_version}:{url}"
    page = cache.get(key)
    if page is None:
        page = build()
        cache.set(key, page, PAGE_SECONDS)
    return page
