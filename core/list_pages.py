"""Moved to core.hot_path.list_pages. Kept only while cv/ (and its tests) still import it from here."""

from core.hot_path.list_pages import _RecentPages, cached_page, lists_changed, recent_pages

__all__ = ["_RecentPages", "cached_page", "lists_changed", "recent_pages"]
