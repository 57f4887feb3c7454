"""The job against the CV, offline and deterministic: the job (job.py), the vocabulary, the job's keywords
(keywords.py and the readers beside it), the match report (matching.py), the truthfulness checks (claims.py
and its claim_* readers, completeness.py, their verdict.py).

May import: cv.models, cv.text.
"""
