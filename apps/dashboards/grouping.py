"""Counts over one queryset grouped several ways at once: one query and, on PostgreSQL, one scan.

A dashboard that tallies the same leads per rep, per territory and per source would otherwise
read them three times. PostgreSQL groups them every way in a single pass with ``GROUP BY
GROUPING SETS``; the other databases (SQLite in development and tests) have no grouping sets and
get the same rows from a ``UNION ALL`` of one GROUP BY per key, still one query. The choice is
made here and nowhere else; the filtering, the keys and the conditions are the ORM's, compiled
into the inner query, so only the outer GROUP BY is written by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import connections
from django.db.models import Case, Expression, F, IntegerField, Q, QuerySet, Value, When

__all__ = ["count_by"]


def _one_if(q: Q) -> Expression:
    """1 for a row matching ``q`` (an empty Q matches every row), else 0."""
    if not q:
        return Value(1, output_field=IntegerField())
    return Case(When(q, then=Value(1)), default=Value(0), output_field=IntegerField())


def count_by(
    queryset: QuerySet[Any],
    *,
    keys: Mapping[str, str | Expression],
    counts: Mapping[str, Q],
) -> dict[str, list[dict[str, Any]]]:
    """For each of ``keys`` (a name -> a field name or an expression), one row per distinct
    value of it among ``queryset``'s rows: ``{name: value, **{count: rows matching its Q}}``
    (``Q()`` counts every row), in no particular order. A NULL key value is a group of its own
    (``None``)."""
    key_names, count_names = list(keys), list(counts)
    key_aliases = [f"k{n}" for n in range(len(key_names))]
    count_aliases = [f"c{n}" for n in range(len(count_names))]
    inner = (
        queryset.order_by()
        .annotate(
            **{
                alias: F(key) if isinstance(key, str) else key
                for alias, key in zip(key_aliases, keys.values(), strict=True)
            },
            **{alias: _one_if(q) for alias, q in zip(count_aliases, counts.values(), strict=True)},
        )
        .values(*key_aliases, *count_aliases)
    )
    connection = connections[inner.db]
    quote = connection.ops.quote_name
    sql, params = inner.query.sql_with_params()
    sums = ", ".join(f"SUM({quote(c)})" for c in count_aliases)
    if connection.vendor == "postgresql":
        flags = ", ".join(f"GROUPING({quote(k)})" for k in key_aliases)
        sets = ", ".join(f"({quote(k)})" for k in key_aliases)
        statement = (
            f"SELECT {flags}, {', '.join(map(quote, key_aliases))}, {sums} "
            f"FROM ({sql}) AS grouped GROUP BY GROUPING SETS ({sets})"
        )
        statement_params = tuple(params)
    else:
        statement = " UNION ALL ".join(
            f"SELECT {n} AS grouping_set, {quote(k)} AS grouping_key, {sums} "
            f"FROM ({sql}) AS grouped GROUP BY {quote(k)}"
            for n, k in enumerate(key_aliases)
        )
        statement_params = tuple(params) * len(key_aliases)
    with connection.cursor() as cursor:
        cursor.execute(statement, statement_params)
        rows = cursor.fetchall()

    result: dict[str, list[dict[str, Any]]] = {name: [] for name in key_names}
    width = len(key_aliases)
    for row in rows:
        if connection.vendor == "postgresql":
            index = list(row[:width]).index(0)  # GROUPING(k) is 0 for the key grouped on
            value, tallies = row[width + index], row[2 * width :]
        else:
            index, value, tallies = row[0], row[1], row[2:]
        result[key_names[index]].append(
            {key_names[index]: value, **dict(zip(count_names, map(int, tallies), strict=True))}
        )
    return result
