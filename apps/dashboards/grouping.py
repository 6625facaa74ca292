"""Counts over one queryset grouped several ways at once, in one query, index-only where an index
covers the keys.

A dashboard that tallies the same leads per rep, per territory and per source would otherwise
read them three times. Here the rows are read once, grouped by every combination of the keys
(far fewer than the rows: reps x their territories x sources, hundreds to thousands for a
million leads), and those combinations are rolled up per key afterwards.

Each conditional count is a ``FILTER`` inside that one pass: on PostgreSQL a parallel index-only
scan of a covering index holding the keys and the columns the conditions test
(lead_created_groups_idx: creation time; owner, territory, source and status). (It used to be
a grouping of its own over a partial index, joined to the combinations, to keep the pass's
index narrow enough for the planner at the default ``random_page_cost``; with the read side's
planner settings, apps.core.db.READ_SIDE_PLANNING, the one pass is chosen and costs one read.)
A key that is a one-argument function of a column (``Lower("lead_source")``) is grouped by the
column and the function applied to the combinations only: lowering a million values cost more
than the grouping itself (measured on PostgreSQL 15, bench/dashboards.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Count, F, Func, Q, QuerySet, Value

from apps.core.db import read_side_cursor

__all__ = ["count_by", "count_combinations"]


def _column_and_fold(key: str | Func) -> tuple[str, str | None]:
    """The field a key groups by and the SQL function applied afterwards (None: the value)."""
    if isinstance(key, str):
        return key, None
    sources = key.get_source_expressions()
    if len(sources) != 1 or not isinstance(sources[0], F) or not getattr(key, "function", None):
        raise TypeError("a key is a field name or a one-argument function of a field")
    return sources[0].name, key.function


def count_combinations(
    queryset: QuerySet[Any],
    *,
    keys: Mapping[str, str | Func],
    counts: Mapping[str, Q],
) -> list[dict[str, Any]]:
    """One row per distinct combination of ``keys`` (a name -> a field name, or a one-argument
    function of one such as ``Lower("lead_source")``) among ``queryset``'s rows:
    ``{**{key: value}, **{count: rows of the combination matching its Q}}`` (``Q()`` counts
    every row), in no particular order. NULL is a value like any other (``None``)."""
    key_names, count_names = list(keys), list(counts)
    specs = [_column_and_fold(key) for key in keys.values()]
    aliases = [f"k{n}" for n in range(len(key_names))]
    connection = connections[queryset.db]
    quote = connection.ops.quote_name

    columns = {alias: F(column) for alias, (column, _) in zip(aliases, specs, strict=True)}
    counted = {
        # (COUNT(*) takes no FILTER in Django; a constant is counted the same way)
        f"c{n}": Count(Value(1), filter=condition) if condition else Count("*")
        for n, condition in enumerate(counts.values())
    }
    try:
        sql, params = (
            queryset.order_by().values(**columns).annotate(**counted).query.sql_with_params()
        )
    except EmptyResultSet:  # .none(), pk__in=[]: nothing to count, nothing to ask
        return []
    selected = [
        f"{fold}(b.{quote(a)})" if fold else f"b.{quote(a)}"
        for a, (_, fold) in zip(aliases, specs, strict=True)
    ]
    selected += [f"b.{quote(name)}" for name in counted]
    statement = f"SELECT {', '.join(selected)} FROM ({sql}) b"
    with read_side_cursor(queryset.db) as cursor:
        cursor.execute(statement, params)
        fetched = cursor.fetchall()

    # A fold can merge combinations ("Web" and "web" both lower to "web").
    merged: dict[tuple[Any, ...], list[int]] = {}
    width = len(key_names)
    for row in fetched:
        sums = merged.setdefault(tuple(row[:width]), [0] * len(count_names))
        for n, value in enumerate(row[width:]):
            sums[n] += int(value)
    return [
        {
            **dict(zip(key_names, values, strict=True)),
            **dict(zip(count_names, sums, strict=True)),
        }
        for values, sums in merged.items()
    ]


def count_by(
    queryset: QuerySet[Any],
    *,
    keys: Mapping[str, str | Func],
    counts: Mapping[str, Q],
) -> dict[str, list[dict[str, Any]]]:
    """For each of ``keys`` (as in count_combinations), one row per distinct value of it among
    ``queryset``'s rows: ``{name: value, **{count: rows matching its Q}}``, in no particular
    order; a NULL key value is a group of its own (``None``). The combinations, few, are
    rolled up here."""
    result: dict[str, list[dict[str, Any]]] = {}
    combinations = count_combinations(queryset, keys=keys, counts=counts)
    for name in keys:
        groups: dict[Any, dict[str, Any]] = {}
        for combination in combinations:
            group = groups.setdefault(
                combination[name], {name: combination[name], **dict.fromkeys(counts, 0)}
            )
            for count in counts:
                group[count] += combination[count]
        result[name] = list(groups.values())
    return result
