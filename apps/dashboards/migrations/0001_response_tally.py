"""The response-time counts maintained as leads are written (apps/dashboards/tally.py), on
PostgreSQL; nothing on SQLite. The tables and the triggers on leads_lead are made in one short
transaction (creating a trigger locks the leads against writes only for that moment); then the
existing leads are counted in a snapshot while writers go on (tally_rebuild), hence a
non-atomic migration."""

from typing import Any

from django.db import migrations

from apps.dashboards.tally import TALLY_INSTALL_SQL, TALLY_REMOVE_SQL, tally_rebuild


def _on_postgresql(sql: str) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(sql)

    return run


def _count_the_leads(apps: Any, schema_editor: Any) -> None:
    tally_rebuild(schema_editor.connection.alias)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("leads", "0013_owner_created_index"),
    ]

    operations = [
        migrations.RunPython(
            _on_postgresql(TALLY_INSTALL_SQL), _on_postgresql(TALLY_REMOVE_SQL), atomic=True
        ),
        migrations.RunPython(_count_the_leads, migrations.RunPython.noop),
    ]
