"""The project's tables carry no index that another index of the same table already provides: each one costs
every insert and update of the table, and the AI response insert is on the enqueue's hot path."""

import pytest
from django.apps import apps
from django.db import connection

pytestmark = pytest.mark.django_db

OWN_APPS = ("core", "cv", "pdf")

# Every index of the project's tables: its name, its table, and its access method and key columns with their
# operator classes (a hash index, or one with a pattern operator class, answers other queries than a plain
# btree on the same column).
_INDEXES = """
SELECT i.relname, t.relname, x.indisunique, x.indpred IS NOT NULL, i.relam,
       array(
         SELECT pg_get_indexdef(x.indexrelid, k, true) || ' ' || c.opcname
         FROM generate_series(1, x.indnkeyatts) AS k JOIN pg_opclass c ON c.oid = x.indclass[k - 1]
         ORDER BY k
       )
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
WHERE t.relname = ANY(%s)
"""


def _indexes():
    tables = [model._meta.db_table for app in OWN_APPS for model in apps.get_app_config(app).get_models()]
    with connection.cursor() as cursor:
        cursor.execute(_INDEXES, [tables])
        return cursor.fetchall()


def test_no_index_is_the_leading_part_of_another():
    indexes = _indexes()
    redundant = []
    for name, table, unique, partial, method, columns in indexes:
        if unique or partial:  # a constraint, or an index for some rows only: not replaceable by another
            continue
        for other, other_table, _, other_partial, other_method, other_columns in indexes:
            leads = other_method == method and other_columns[: len(columns)] == columns
            if other != name and other_table == table and not other_partial and leads:
                redundant.append(f"{name} {columns} is served by {other} {other_columns}")
    assert redundant == []


def test_lookups_by_owner_still_use_an_index():
    """What the dropped single-column indexes served (lists, ownership checks, an account's deletion) is
    served by the composite ones: no sequential scan of the table for one user's rows."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # an empty table would otherwise be scanned
        for table in ("cv_airesponse", "cv_cvquestionnaire", "cv_coverletter", "pdf_document", "core_quotausage"):
            cursor.execute(f"EXPLAIN SELECT id FROM {table} WHERE user_id = 1")
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "Index Cond: (user_id = 1)" in plan, (table, plan)
        cursor.execute("EXPLAIN SELECT id FROM pdf_document WHERE ai_response_id = 1")
        plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "Index Cond: (ai_response_id = 1)" in plan, plan
