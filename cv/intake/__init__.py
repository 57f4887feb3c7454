"""What comes in: an uploaded PDF or Word CV read under the rules for hostile files, the bounds on a CV's text, the
questionnaire written.
"""
