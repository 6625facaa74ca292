"""Start web (gunicorn), two Celery workers (routing; notifications, sweeps and imports) and Celery
beat together; stop them together."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from apps.demo.logins import DEMO_LOGINS

SEED_HINT = "To add the demo: `make run SEED=1`, or `python manage.py seed_demo`."


class Command(BaseCommand):
    help = "Run the whole portal: web, workers and beat (Ctrl-C stops them all)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument(
            "--seed",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="Seed the demo (and its admin login) into an empty database first. Default: "
            "only on the embedded SQLite default, never on a configured DATABASE_URL.",
        )

    def demo_prepare(self, *, seed: bool | None) -> list[str]:
        """Seed the demo when asked or on the embedded default; the lines that say so."""
        if seed is None:
            seed = settings.DATABASE_IS_EMBEDDED_DEFAULT
        if seed:
            call_command("seed_demo", if_empty=True, stdout=self.stdout, stderr=self.stderr)
        usernames = [username for _, username, _ in DEMO_LOGINS]
        if get_user_model().objects.filter(username__in=usernames).count() == len(usernames):
            return [
                "  Demo logins (username / password):",
                *(
                    f"    {role:<8} {username} / {password}"
                    for role, username, password in DEMO_LOGINS
                ),
            ]
        if seed:
            return [
                "  No demo logins: the database already holds reps or leads, so the demo was "
                "not added (`python manage.py seed_demo --force` adds it)."
            ]
        if settings.DATABASE_IS_EMBEDDED_DEFAULT:
            return [f"  No demo data (--no-seed). {SEED_HINT}"]
        return [f"  No demo data: DATABASE_URL is set, so the demo is not seeded. {SEED_HINT}"]

    def handle(
        self,
        *args: Any,
        host: str,
        port: int,
        web_workers: int,
        seed: bool | None,
        **options: Any,
    ) -> None:
        demo_lines = self.demo_prepare(seed=seed)
        python = sys.executable
        embedded = settings.CELERY_BROKER_URL.startswith("filesystem://")

        def worker(name: str, queues: str) -> list[str]:
            command = [
                python,
                "-m",
                "celery",
                "-A",
                "routing_portal",
                "worker",
                "--loglevel=INFO",
                "-Q",
                queues,
                "--concurrency=2",
                "-n",
                f"{name}@%h",
            ]
            if embedded:
                # The filesystem transport has no fanout: no mingle, gossip or remote control.
                command += ["--without-mingle", "--without-gossip", "--without-heartbeat"]
            return command

        processes = {
            "web": [
                python,
                "-m",
                "gunicorn",
                "routing_portal.wsgi:application",
                "--bind",
                f"{host}:{port}",
                "--workers",
                str(web_workers),
                "--access-logfile",
                "-",
                "--log-level",
                "info",
            ],
            # Routing has a worker of its own: with one pool for every queue, a long outbox
            # dispatch (mail) held both processes and new leads waited seconds (bench/load.py:
            # intake -> assigned p50 6 s shared, 23 ms with routing apart, at 50 leads/s).
            "worker": worker("routing", "routing"),
            "background": worker("background", "notify,sweeps,imports"),
            "beat": [python, "-m", "celery", "-A", "routing_portal", "beat", "--loglevel=INFO"],
        }
        running: dict[str, subprocess.Popen[bytes]] = {}
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for name, command in processes.items():
            running[name] = subprocess.Popen(command, env=env)
        database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        broker = settings.CELERY_BROKER_URL.split(":", 1)[0]
        lines = [
            "",
            f"Routing Portal is starting on http://{host}:{port}/  (database: {database}, broker: {broker})",
            f"  Sign in:     http://{host}:{port}/accounts/login/  (reps land on their queue)",
            f"  Admin:       http://{host}:{port}/admin/",
            f"  API docs:    http://{host}:{port}/api/docs/",
            f"  Health:      http://{host}:{port}/healthz",
            *demo_lines,
            "  Processes: " + ", ".join(f"{n} (pid {p.pid})" for n, p in running.items()),
            "  Press Ctrl-C to stop.",
            "",
        ]
        self.stdout.write("\n".join(lines))
        stopping = False

        def stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, process in running.items():
                    if process.poll() is not None:
                        self.stderr.write(
                            f"{name} exited with code {process.returncode}; stopping."
                        )
                        stopping = True
                time.sleep(0.5)
        finally:
            for process in running.values():
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 15
            for process in running.values():
                try:
                    process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    process.kill()
