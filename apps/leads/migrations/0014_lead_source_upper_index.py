"""Every filter on a lead's source is case-insensitive (``iexact``, ``UPPER(lead_source)`` on
PostgreSQL), which the plain (lead_source, created_at) index could never serve: a source's
quarter on the dashboards read the whole lead table. The index now holds the upper-cased
source. Built (and the old one dropped) without locking the leads against writes on
PostgreSQL (CONCURRENTLY, hence a non-atomic migration)."""

import django.db.models.functions.text
from django.db import migrations, models

from apps.core.migration_operations import AddIndexConcurrently, RemoveIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("leads", "0013_owner_created_index"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="lead",
            index=models.Index(
                django.db.models.functions.text.Upper("lead_source"),
                models.F("created_at"),
                name="lead_source_upper_created_idx",
            ),
        ),
        RemoveIndexConcurrently(model_name="lead", name="lead_source_created_idx"),
    ]
