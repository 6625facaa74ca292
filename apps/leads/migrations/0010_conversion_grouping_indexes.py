"""The conversion dashboard's two covering indexes (see Lead.Meta), built without locking the
leads against writes on PostgreSQL (CREATE INDEX CONCURRENTLY, hence a non-atomic migration)."""

from django.db import migrations, models

from apps.core.migration_operations import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("leads", "0009_lead_import_files_removed_at"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="lead",
            index=models.Index(
                fields=["created_at"],
                include=("owner", "territory", "lead_source"),
                name="lead_created_grouping_idx",
            ),
        ),
        AddIndexConcurrently(
            model_name="lead",
            index=models.Index(
                condition=models.Q(status="converted"),
                fields=["created_at"],
                include=("owner", "territory", "lead_source"),
                name="lead_converted_grouping_idx",
            ),
        ),
    ]
