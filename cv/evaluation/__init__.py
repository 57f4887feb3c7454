"""Evaluation of the analysis on labelled CV/job pairs (`manage.py evaluate_model`).

`dataset` reads the pairs (`pairs/`, one folder each), `judge` decides from a pair's labels alone whether an
answer is usable (independently of the service's own checks), `runner` sends each pair through the same
service function the worker calls and adds up the results. It may import `cv` and `core`; nothing imports it.
"""
