"""Without SMTP, each mail is one .eml file under var/mail/ and one log line (not a page of
console output per mail); every environment variable the settings read is documented."""

from __future__ import annotations

import email
import logging
import re
from pathlib import Path

from django.conf import settings
from django.core import mail
from django.test import override_settings

from apps.core.mail import FileAndLogBackend


def test_each_mail_is_one_eml_file_and_one_log_line(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, logger="apps.mail")
    with override_settings(
        EMAIL_BACKEND="apps.core.mail.FileAndLogBackend", EMAIL_FILE_PATH=tmp_path
    ):
        sent = mail.send_mass_mail(
            [
                ("Lead assigned: Acme", "Body one\nwith two lines", "from@x.test", ["ann@x.test"]),
                ("Lead escalated: Beta", "Body two", "from@x.test", ["bob@x.test", "cid@x.test"]),
                ("Nobody", "dropped", "from@x.test", []),
            ]
        )
    assert sent == 2
    files = sorted(tmp_path.glob("*.eml"))
    assert len(files) == 2
    first = email.message_from_bytes(files[0].read_bytes())
    assert first["Subject"] == "Lead assigned: Acme"
    assert first["To"] == "ann@x.test"
    assert first.get_payload() == "Body one\nwith two lines"
    lines = [r.getMessage() for r in caplog.records if r.name == "apps.mail"]
    assert lines == [
        f"mail to ann@x.test: Lead assigned: Acme ({files[0]})",
        f"mail to bob@x.test, cid@x.test: Lead escalated: Beta ({files[1]})",
    ]
    assert not any("Body" in line for line in lines)


def test_the_default_backend_without_smtp_writes_files() -> None:
    # test_settings keeps Django's locmem backend for the suite; the production default is ours.
    source = (Path(settings.BASE_DIR) / "routing_portal" / "settings.py").read_text()
    assert '"apps.core.mail.FileAndLogBackend"' in source
    assert FileAndLogBackend().directory == Path(settings.EMAIL_FILE_PATH)


def test_every_environment_variable_the_settings_read_is_documented() -> None:
    base = Path(settings.BASE_DIR)
    source = (base / "routing_portal" / "settings.py").read_text()
    names = set(re.findall(r'(?:env_\w+|environ\.get)\(\s*"([A-Z][A-Z0-9_]+)"', source))
    assert len(names) > 40
    readme = (base / "README.md").read_text()
    assert sorted(n for n in names if f"`{n}`" not in readme) == []
