"""Index kinds beyond Django's own, portable across the databases the project runs on."""

from __future__ import annotations

from typing import Any

from django.db import models

__all__ = ["PackedIndex"]


class PackedIndex(models.Index):
    """A B-tree index whose pages are filled completely on PostgreSQL (``fillfactor = 100``;
    elsewhere a plain index).

    For an index whose first key only grows (a creation time): rows arrive at its right end,
    where PostgreSQL's B-tree fills a page up to the fill factor before starting the next, so
    the 10% a page keeps free by default is never used, only read. Packed, the index is that
    much smaller, which is what lets the planner prefer a parallel index-only scan of it to
    reading the table (it costs each index page as a random read)."""

    def create_sql(self, model: Any, schema_editor: Any, using: str = "", **kwargs: Any) -> Any:
        statement = super().create_sql(model, schema_editor, using=using, **kwargs)
        if schema_editor.connection.vendor == "postgresql":  # as contrib.postgres's indexes
            statement.parts["extra"] = " WITH (fillfactor = 100)" + statement.parts["extra"]
        return statement
