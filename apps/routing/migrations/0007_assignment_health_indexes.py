"""The routing-health strip's assignment indexes (see Assignment.Meta): the moves by lead, and the
(lead, rep) index widened with the kind and time, built and dropped without locking the
assignments against writes on PostgreSQL (a non-atomic migration)."""

from django.db import migrations, models

from apps.core.migration_operations import AddIndexConcurrently, RemoveIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("routing", "0006_outbox_moves_from_notifications"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="assignment",
            index=models.Index(
                fields=["lead", "rep"],
                include=("kind", "assigned_at"),
                name="assignment_lead_rep_cover_idx",
            ),
        ),
        RemoveIndexConcurrently(model_name="assignment", name="assignment_lead_rep_idx"),
        AddIndexConcurrently(
            model_name="assignment",
            index=models.Index(
                condition=models.Q(
                    ("kind__in", ["reassign_inactivity", "reassign_unavailable", "manual"])
                ),
                fields=["lead"],
                include=("id", "kind", "assigned_at"),
                name="assignment_moves_idx",
            ),
        ),
    ]
