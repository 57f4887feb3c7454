"""What comes in: an uploaded PDF or Word CV checked and read under the rules for hostile files (pdf_text.py,
docx_text.py), the bounds on a CV's text (limits.py), the questionnaire written with its CV file
(questionnaires.py).

May import: cv.models, cv.text.
"""
