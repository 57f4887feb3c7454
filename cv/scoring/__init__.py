"""The job against the CV, offline and deterministic: the vocabulary, the job's keywords, the match report, the
claims and completeness checks.
"""
