from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.response import Response


def single_page(items: list) -> Response:
    """A short, fixed list (plans, templates) in the same envelope as every paginated list, so the SPA reads
    all lists the same way."""
    return Response({"count": len(items), "next": None, "previous": None, "results": items})


def single_page_schema(name: str, item_serializer: type[serializers.Serializer]) -> serializers.Serializer:
    """The OpenAPI shape of `single_page`."""
    return inline_serializer(
        name,
        {
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item_serializer(many=True),
        },
    )
