"""Moved to core.hot_path.serializers. Kept only while cv/ still imports it from here."""

from core.hot_path.serializers import ModelSerializer, Serializer

__all__ = ["ModelSerializer", "Serializer"]
