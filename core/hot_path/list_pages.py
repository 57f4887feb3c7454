"""Pages of a person's own lists, kept in the shared cache until that list changes.

The key of a page holds the person's `lists_version`, which every change to one of their lists replaces
with a new random value in the change's own transaction (`lists_changed`). Authentication loads the
version with the user, so a request that starts after a change commits can only find pages built after
it: a page is never stale, and no cache entry has to be found and dropped. Pages of older versions expire
by themselves. With the cache unreachable, every page is built from the database, as on a miss.

A page is kept as the JSON it is sent as, in the shared cache and, since its key names one version of it,
also in the process that served it (at most `LOCAL_BYTES` of them, the least recently used dropped first,
none for longer than in Redis): a repeated read costs neither a Redis round trip nor encoding. Answers in
another form (the browsable API, indented JSON) are built each time.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.http import HttpResponse
from rest_framework.request import Request
from rest_framework.response import Response

from core.authentication import signed_in_user
from core.models import User
from core.renderers import JSONRenderer

PAGE_SECONDS = 600
LOCAL_BYTES = 16 * 1024 * 1024


class _RecentPages:
    """The pages this process served last, by cache key (a key never names two different pages), at most
    `limit` bytes of them, each for `seconds` at most (a page written by an older release of the code is
    not kept longer than Redis keeps it)."""

    def __init__(self, limit: int, seconds: float = PAGE_SECONDS) -> None:
        self._limit = limit
        self._seconds = seconds
        self._bytes = 0
        self._pages: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            kept = self._pages.get(key)
            if kept is None:
                return None
            if time.monotonic() >= kept[0]:
                self._drop(key)
                return None
            self._pages.move_to_end(key)
            return kept[1]

    def keep(self, key: str, body: bytes) -> None:
        if len(body) > self._limit // 16:  # a very large page would push out many others
            return
        with self._lock:
            self._drop(key)
            self._pages[key] = (time.monotonic() + self._seconds, body)
            self._bytes += len(body)
            while self._bytes > self._limit:
                self._drop(next(iter(self._pages)))

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self._bytes = 0

    def _drop(self, key: str) -> None:
        kept = self._pages.pop(key, None)
        if kept is not None:
            self._bytes -= len(kept[1])


recent_pages = _RecentPages(LOCAL_BYTES)


def lists_changed(*, user_id: int) -> None:
    """Call in the transaction that changes one of the person's lists (it also locks their user row)."""
    User.objects.filter(pk=user_id).update(lists_version=uuid.uuid4())


def cached_page(request: Request, *, name: str, build: Callable[[], Any]) -> HttpResponse | Response:
    """The answer to `request` for a page of the list `name`: kept, or `build()` (the page's data) and kept."""
    renderer = request.accepted_renderer
    if type(renderer) is not JSONRenderer or request.accepted_media_type != renderer.media_type:
        return Response(build())
    user = signed_in_user(request)
    # The whole URL: the page, its size and the host all shape the answer (its next and previous links).
    url = hashlib.sha256(request.build_absolute_uri().encode()).hexdigest()[:32]
    key = f"lists:{name}:json:{user.pk}:{user.lists_version}:{url}"
    body = recent_pages.get(key)
    if body is None:
        body = cache.get(key)
        if body is None:
            body = renderer.render(build(), renderer.media_type)
            cache.set(key, body, PAGE_SECONDS)
        recent_pages.keep(key, body)
    return HttpResponse(body, content_type=renderer.media_type)
