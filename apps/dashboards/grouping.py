"""Counts over one queryset grouped several ways at once: one query and, on PostgreSQL, one scan.

A dashboard that tallies the same leads per rep, per territory and per source would otherwise
read them three times. Here the rows are read once, grouped by every combination of the keys (an
ORM GROUP BY, with the filters and conditions the ORM compiles), and those combinations, far
fewer than the rows, are rolled up per key in the same statement: ``GROUP BY GROUPING SETS`` on
PostgreSQL, a ``UNION ALL`` of one GROUP BY per key elsewhere (SQLite in development and tests;
it has no grouping sets). The choice is made here and nowhere else; only the outer roll-up is
written by hand. (Grouping sets straight over the rows measured ~3x slower than this on
PostgreSQL 15: one hash table per key, each probed for every row.) The combinations are at most
the rows, in practice far fewer (reps x their territories x sources: thousands for a million
leads), and the roll-up runs in the database too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Count, Expression, F, Q, QuerySet

__all__ = ["count_by"]


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
    # First every combination of the keys, counted in the one pass over the rows (the cheapest
    # grouping there is: one hash lookup a row); then each key rolls those few combinations up.
    inner = (
        queryset.order_by()
        .values(
            **{
                alias: F(key) if isinstance(key, str) else key
                for alias, key in zip(key_aliases, keys.values(), strict=True)
            }
        )
        .annotate(
            **{
                alias: Count("pk", filter=q) if q else Count("pk")
                for alias, q in zip(count_aliases, counts.values(), strict=True)
            }
        )
    )
    connection = connections[inner.db]
    quote = connection.ops.quote_name
    result: dict[str, list[dict[str, Any]]] = {name: [] for name in key_names}
    try:
        sql, params = inner.query.sql_with_params()
    except EmptyResultSet:  # .none(), pk__in=[]: nothing to count, nothing to ask
        return result
    sums = ", ".join(f"SUM({quote(c)})" for c in count_aliases)
    if connection.vendor == "postgresql":
        flags = ", ".join(f"GROUPING({quote(k)})" for k in key_aliases)
        sets = ", ".join(f"({quote(k)})" for k in key_aliases)
        statement = (
            f"SELECT {flags}, {', '.join(map(quote, key_aliases))}, {sums} "
            f"FROM ({sql}) AS combinations GROUP BY GROUPING SETS ({sets})"
        )
    else:
        statement = f"WITH combinations AS ({sql}) " + " UNION ALL ".join(
            f"SELECT {n} AS grouping_set, {quote(k)} AS grouping_key, {sums} "
            f"FROM combinations GROUP BY {quote(k)}"
            for n, k in enumerate(key_aliases)
        )
    with connection.cursor() as cursor:
        cursor.execute(statement, tuple(params))
        rows = cursor.fetchall()

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
