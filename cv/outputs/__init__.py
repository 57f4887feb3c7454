"""The improved CV in other formats (Markdown, text, Word, JSON Resume) and the diff against the upload, with their
HTTP views.
"""
