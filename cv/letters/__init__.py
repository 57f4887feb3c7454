"""Cover letters: written by the model or offline from facts the CV states (services.py, offline.py), with
their HTTP views and serializers.

May import: cv.models, cv.jobs, cv.selectors, cv.serializers and every room below: cv.text, cv.intake,
cv.scoring, cv.llm, cv.versions, cv.outputs.
"""
