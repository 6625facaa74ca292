"""Counts over one queryset grouped several ways at once, in one query, index-only where an index
covers the keys.

A dashboard that tallies the same leads per rep, per territory and per source would otherwise
read them three times. Here the rows are read once, grouped by every combination of the keys
(far fewer than the rows: reps x their territories x sources, hundreds to thousands for a
million leads), and those combinations are rolled up per key afterwards.

Each conditional count is a grouping of its own over the rows its condition keeps, joined to the
combinations of all the rows (NULL keys matched as equal), rather than a ``FILTER`` inside the
one pass: the pass over every row then reads only the keys, so on PostgreSQL it runs as a
parallel index-only scan of a narrow covering index (lead_created_grouping_idx), and a count
such as "converted" reads its few rows from a partial index (lead_converted_grouping_idx). A key
that is a one-argument function of a column (``Lower("lead_source")``) is grouped by the column
and the function applied to the combinations only: lowering a million values cost more than the
grouping itself (measured on PostgreSQL 15, bench/dashboards.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Count, F, Func, Q, QuerySet

__all__ = ["count_by", "count_combinations"]


def _column_and_fold(key: str | Func) -> tuple[str, str | None]:
    """The field a key groups by and the SQL function applied afterwards (None: the value)."""
    if isinstance(key, str):
        return key, None
    sources = key.get_source_expressions()
    if len(sources) != 1 or not isinstance(sources[0], F) or not getattr(key, "function", None):
        raise TypeError("a key is a field name or a one-argument function of a field")
    return sources[0].name, key.function


def _same(vendor: str, model: Any, column: str, left: str, right: str) -> str:
    """SQL for "left and right hold the same key value, NULL matching NULL". On PostgreSQL as
    equalities, so that the join can hash or merge (``IS NOT DISTINCT FROM`` cannot: a nested
    loop, every combination against every other): equal nullness and equal values once NULL
    is replaced by any constant of the column's type."""
    if vendor != "postgresql":
        return f"{left} IS {right}"  # SQLite's NULL-safe equality
    internal = model._meta.get_field(column).get_internal_type()
    constant = (
        "0"
        if internal.endswith(("IntegerField", "AutoField", "ForeignKey"))
        else "''"
        if internal in {"CharField", "TextField", "EmailField", "SlugField"}
        else None
    )
    if constant is None:
        return f"{left} IS NOT DISTINCT FROM {right}"
    return (
        f"({left} IS NULL) = ({right} IS NULL) "
        f"AND COALESCE({left}, {constant}) = COALESCE({right}, {constant})"
    )


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

    def grouped(rows: QuerySet[Any]) -> tuple[str, tuple[Any, ...]]:
        inner = rows.order_by().values(**columns).annotate(c=Count("*"))
        sql, params = inner.query.sql_with_params()
        return sql, tuple(params)

    try:
        base, params = grouped(queryset)
    except EmptyResultSet:  # .none(), pk__in=[]: nothing to count, nothing to ask
        return []
    model = queryset.model
    selected = [
        f"{fold}(b.{quote(a)})" if fold else f"b.{quote(a)}"
        for a, (_, fold) in zip(aliases, specs, strict=True)
    ]
    joins = []
    for n, condition in enumerate(counts.values()):
        if not condition:
            selected.append(f"b.{quote('c')}")
            continue
        try:
            sql, branch_params = grouped(queryset.filter(condition))
        except EmptyResultSet:  # a condition nothing can match
            selected.append("0")
            continue
        on = " AND ".join(
            _same(connection.vendor, model, column, f"b.{quote(a)}", f"f{n}.{quote(a)}")
            for a, (column, _) in zip(aliases, specs, strict=True)
        )
        joins.append(f"LEFT JOIN ({sql}) f{n} ON {on}")
        selected.append(f"COALESCE(f{n}.{quote('c')}, 0)")
        params += branch_params
    statement = f"SELECT {', '.join(selected)} FROM ({base}) b {' '.join(joins)}"
    with connection.cursor() as cursor:
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
