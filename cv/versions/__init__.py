"""The improved CV's versions: the model's answers and the person's edits, each checked, with their HTTP views."""
