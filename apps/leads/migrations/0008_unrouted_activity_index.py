"""The routing flow page reads a window's unrouted decisions by time: a partial index on the
activities' time for that kind alone, built without locking the activities against writes on
PostgreSQL (CONCURRENTLY, hence a non-atomic migration)."""

from django.db import migrations, models

from apps.core.migration_operations import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("leads", "0007_response_time_buckets"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="leadactivity",
            index=models.Index(
                fields=["at"],
                condition=models.Q(kind="unrouted"),
                name="lead_activity_unrouted_at_idx",
            ),
        ),
    ]
