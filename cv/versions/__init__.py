"""The improved CV's versions: the model's answers and the person's edits, each checked (services.py,
authorship.py), with their HTTP views and serializers.

May import: cv.models, cv.selectors, cv.serializers, cv.text, cv.intake, cv.scoring, cv.llm.
"""
