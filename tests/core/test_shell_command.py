"""``manage.py shell`` starts clean: every automatic import succeeds (the historical models of
django-simple-history, which no module holds, are left out instead of failing)."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command


def test_shell_auto_imports_all_succeed(capsys) -> None:  # type: ignore[no-untyped-def]
    out = StringIO()
    call_command("shell", command="print(Lead.__name__, Rep.__name__)", verbosity=2, stdout=out)
    text = out.getvalue()
    assert "could not be automatically imported" not in text
    assert "Historical" not in text
    assert "from apps.leads.models import" in text
    assert capsys.readouterr().out.strip().endswith("Lead Rep")
