"""The default mail backend when no SMTP server is configured: each message is written to its own
``.eml`` file under ``var/mail/`` (open it with any mail client) and announced with one log line,
so ``make run``'s log stays readable instead of printing every mail body in full."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

__all__ = ["FileAndLogBackend"]

logger = logging.getLogger("apps.mail")
_sequence = count(1)
_lock = threading.Lock()


class FileAndLogBackend(BaseEmailBackend):
    def __init__(self, file_path: str | Path | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.directory = Path(
            file_path or getattr(settings, "EMAIL_FILE_PATH", None) or settings.VAR_DIR / "mail"
        )

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        if not email_messages:
            return 0
        self.directory.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            recipients = message.recipients()
            if not recipients:
                continue
            with _lock:
                number = next(_sequence)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")
            path = self.directory / f"{stamp}-{number:05d}.eml"
            try:
                path.write_bytes(message.message().as_bytes(linesep="\n"))
            except OSError:
                if not self.fail_silently:
                    raise
                continue
            logger.info("mail to %s: %s (%s)", ", ".join(recipients), message.subject, path)
            sent += 1
        return sent
