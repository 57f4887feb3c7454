"""The application with one hot-path piece switched off, to weigh what each piece buys (`bench/run.py --only hotpath`).

Not the product, and served only by the benchmark: this module's application is the real one, with the piece
named by `BENCH_HOTPATH_OFF` replaced by the plain Django or DRF behaviour it stands in for:
- `compiled_lookup`: `queryset.filter(pk=pk).first()`, compiled by the ORM on every call;
- `serializers`: DRF's own `get_fields()`, every field built (and deep-copied) for every serializer;
- `list_pages`: every list page built from the database and encoded for every request;
- `plan_catalogue`: the active plans read from the database and serialized for every read (no copy).
An empty value serves the application unchanged. Pieces that bought less than about 10% on their endpoints
were removed (BENCHMARKS.md, "The hot-path pieces").
"""

from __future__ import annotations

import os

from cvimprover.wsgi import application

__all__ = ["PIECES", "application"]

PIECES = ("compiled_lookup", "serializers", "list_pages", "plan_catalogue")
OFF = os.environ.get("BENCH_HOTPATH_OFF", "")


def _switch_off(piece: str) -> None:
    """Replace `piece` (imports here: Django is set up once the application is)."""
    if piece == "compiled_lookup":
        from core.hot_path import compiled_lookup

        compiled_lookup.CompiledLookup.get = lambda self, pk: self._queryset().filter(pk=pk).first()  # type: ignore[method-assign]
    elif piece == "serializers":
        from core.hot_path import serializers

        def drf_get_fields(self):
            return super(serializers._FieldsBuiltOnce, self).get_fields()

        serializers._FieldsBuiltOnce.get_fields = drf_get_fields  # type: ignore[method-assign]
    elif piece == "list_pages":
        from rest_framework.response import Response

        from core.hot_path import list_pages

        def built_every_time(request, *, name, build):
            return Response(build())

        list_pages.cached_page = built_every_time
        import cv.views

        cv.views.cached_page = built_every_time
    elif piece == "plan_catalogue":
        from core.hot_path import plan_catalogue

        plan_catalogue._entries = lambda token=None: plan_catalogue._build()
        plan_catalogue._kept_copy = lambda: None
    else:
        raise SystemExit(f"BENCH_HOTPATH_OFF: unknown piece {piece!r} (one of {', '.join(PIECES)})")


if OFF:
    _switch_off(OFF)
