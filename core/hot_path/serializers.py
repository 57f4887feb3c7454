"""DRF's ModelSerializer and Serializer, with their fields built once per class instead of once per instance.

ModelSerializer introspects the model and builds every field each time a serializer is created, which cost
about 1 ms of the 2 ms a profile took to serialize. The fields only depend on the class (none of ours
builds fields from the request or the instance), so the first build is kept and each instance gets copies
to bind. DRF deep-copies a field by constructing it again from its arguments; a plain field's copy need not
be more than a shallow one, since binding only sets attributes on the copy (its name, parent and source).
Fields that hold bound children of their own (nested serializers, many-related, list and dict fields) are
still deep-copied, so each child's parent is its own copy. A plain Serializer deep-copies its declared
fields for every instance in the same way (four times for the rate-limit status), so it gets the same.
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar

from django.db.models import Model
from rest_framework import serializers

M = TypeVar("M", bound=Model)

_WITH_CHILDREN = (
    serializers.BaseSerializer,
    serializers.ManyRelatedField,
    serializers.ListField,
    serializers.DictField,
)


class _FieldsBuiltOnce:
    def get_fields(self) -> dict[str, Any]:
        cls = type(self)
        built = cls.__dict__.get("_fields_built_once")
        if built is None:
            built = super().get_fields()  # type: ignore[misc]  # DRF's, next in the serializer's MRO
            cls._fields_built_once = built  # type: ignore[attr-defined]
        return {
            name: copy.deepcopy(field) if isinstance(field, _WITH_CHILDREN) else copy.copy(field)
            for name, field in built.items()
        }


class ModelSerializer(_FieldsBuiltOnce, serializers.ModelSerializer[M]):
    pass


class Serializer(_FieldsBuiltOnce, serializers.Serializer):
    pass
