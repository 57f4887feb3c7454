"""The improved CV in other formats (exports.py: Markdown, text, Word; jsonresume.py and dates.py: JSON
Resume) and what the rewrite changed (diff.py), with their HTTP views and serializers.

May import: cv.models, cv.selectors, cv.text, cv.versions.
"""
