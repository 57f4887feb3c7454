"""Moved to core.hot_path.compiled_lookup. Kept only while cv/ still imports it from here."""

from core.hot_path.compiled_lookup import CompiledLookup

__all__ = ["CompiledLookup"]
