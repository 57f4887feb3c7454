"""The hot path: the shortcuts a read path takes past plain Django and DRF, each kept because the bench shows
it buys at least about 10% on its endpoint (BENCHMARKS.md, "The hot-path pieces"; `bench/run.py --only
hotpath` weighs them again). Each depends on something Django or DRF do not promise; the test
named beside it pins that, so an upgrade that changes it fails in CI.

- `compiled_lookup`: a one-row lookup whose SQL is compiled once (the signed-in user, an analysis'
  questionnaire). Depends on ORM internals (`get_related_populators`, the compiler's converters).
- `serializers`: ModelSerializer and Serializer whose fields are built once per class and copied per
  instance. Depends on DRF building fields per instance and binding only setting attributes.
- `list_pages`: a person's list pages kept as the JSON they are sent as, under their `lists_version`.
- `plan_catalogue`: each process's copy of the active plans, valid while a token in Redis is unchanged.

Pins: core/tests/test_hot_path.py (and the behaviour tests of the endpoints in core/tests/test_plan_catalogue.py
and cv/tests/test_questionnaire_list_pages.py). Why each is worth its keep: docs/decisions.md, "The hot path".
"""
