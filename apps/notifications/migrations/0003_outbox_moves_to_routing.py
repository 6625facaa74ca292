"""The outbox now belongs to the routing app (state only: routing's 0006 renamed the table)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0002_outbox_and_delivery_schedule"),
        ("routing", "0006_outbox_moves_from_notifications"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="OutboxMessage")],
            database_operations=[],
        ),
    ]
