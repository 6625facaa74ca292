"""Restore `assignment_one_current_per_lead` where 0002 dropped it.

0002's AlterField(lead, db_index=False) dropped every index on `lead_id` that PostgreSQL held,
this partial unique index among them (Django finds an FK's index by column). The model state
still has the constraint, so: drop it if present, then create it again, on every backend.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("routing", "0002_leaner_indexes"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="assignment",
            name="assignment_one_current_per_lead",
        ),
        migrations.AddConstraint(
            model_name="assignment",
            constraint=models.UniqueConstraint(
                condition=models.Q(("ended_at__isnull", True)),
                fields=("lead",),
                name="assignment_one_current_per_lead",
                violation_error_message="This lead already has a current assignment.",
            ),
        ),
    ]
