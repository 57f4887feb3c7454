"""How a CV's text is read wherever it comes from: contact patterns (patterns.py) and the Markdown of a CV read
into blocks (cv_document.py).

May import: nothing of cv.
"""
