"""The one door to the LLM and what passes through it: the prompt, the request and its errors (client.py,
prompt.py, server.py, sdk_errors.py, errors.py), the answer read (answers.py), the offline writer
(offline.py), the part-by-part rewrite (outline.py, piecewise.py), the gates (gates.py), the output guard
(output_guard.py, contacts.py), the model's reading of the job (requirements.py) and the truthfulness round
(verification.py).

May import: cv.models, cv.jobs, cv.text, cv.intake, cv.scoring.
"""
