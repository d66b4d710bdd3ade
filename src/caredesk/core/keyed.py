"""Reading many rows by their keys in one query that stays an index lookup per key.

`filter(a=x, b__in=[...])` is what one would write, but while a table has no statistics (a new deployment,
a table that grew since the last ANALYZE, a server without autovacuum) PostgreSQL's planner may use only
the leading columns of the unique index and filter the `IN` list row by row: reading 16 rows becomes a
scan of every row of the organization (and a join to a VALUES list may become a hash join over that scan).
On PostgreSQL each key is looked up by a LATERAL subquery, an equality on the whole unique index whatever
the statistics say; on SQLite (whose planner has no such trap) a join to a VALUES list.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)


def rows_by_keys(
    model: type[M],
    columns: Sequence[str],
    keys: Collection[tuple[Any, ...]],
    *,
    where: Mapping[str, Any] | None = None,
    not_empty: Sequence[str] = (),
    lock: bool = False,
) -> list[M]:
    """The rows of `model` whose `columns` (field names) equal one of `keys` (tuples in the same order; a
    key names at most one row: `columns` and `where` are a unique constraint), and whose `where` fields
    equal their values, in primary-key order. `not_empty`: fields that are never '' among the keys (so
    that a unique index that leaves out '' can be used). `lock`: the rows are locked for the rest of the
    transaction (PostgreSQL: FOR UPDATE, taken in key order)."""
    if not keys:
        return []
    meta = model._meta
    quote = connection.ops.quote_name

    def column(name: str, table: str) -> str:
        field = meta.get_field(name)
        if not isinstance(field, models.Field) or not field.column:
            raise ValueError(f"{name!r} is not a column of {meta.label}")
        return f"{table}.{quote(field.column)}"

    width = len(columns)
    rows = ", ".join(["(" + ", ".join(["%s"] * width) + ")"] * len(keys))
    params: list[Any] = [value for key in sorted(keys) for value in key]
    params += list((where or {}).values())
    pk = f"t.{quote(str(meta.pk.column))}"
    # Only quoted names of the model's own table and columns go into the text; every value is a parameter.
    if connection.vendor == "postgresql":
        # One index lookup per key (a LATERAL subquery with LIMIT is run per row of the VALUES list): the
        # planner cannot turn it into a scan of the table, whatever its statistics.
        conditions = [f"{column(name, 'r')} = v.column{n}" for n, name in enumerate(columns, start=1)]
        conditions += [f"{column(name, 'r')} = %s" for name in (where or {})]
        conditions += [f"NOT {column(name, 'r')} = ''" for name in not_empty]
        sql = (
            f"SELECT t.* FROM (VALUES {rows}) v CROSS JOIN LATERAL "  # noqa: S608
            f"(SELECT * FROM {quote(meta.db_table)} r WHERE {' AND '.join(conditions)} LIMIT 1"
            + (" FOR UPDATE" if lock else "")
            + f") t ORDER BY {pk}"
        )
    else:
        joined = " AND ".join(f"{column(name, 't')} = v.column{n}" for n, name in enumerate(columns, start=1))
        conditions = [f"{column(name, 't')} = %s" for name in (where or {})]
        conditions += [f"NOT {column(name, 't')} = ''" for name in not_empty]
        sql = (
            f"SELECT t.* FROM {quote(meta.db_table)} t JOIN (VALUES {rows}) v ON {joined}"  # noqa: S608
            + (f" WHERE {' AND '.join(conditions)}" if conditions else "")
            + f" ORDER BY {pk}"
        )
    return list(model._default_manager.raw(sql, params))
