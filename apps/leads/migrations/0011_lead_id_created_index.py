"""The routing-health strip's index from a lead's id to its creation time (see Lead.Meta), built
without locking the leads against writes on PostgreSQL (a non-atomic migration)."""

from django.db import migrations, models

from apps.core.migration_operations import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("leads", "0010_conversion_grouping_indexes"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="lead",
            index=models.Index(
                fields=["id"], include=("created_at",), name="lead_id_created_idx"
            ),
        ),
    ]
