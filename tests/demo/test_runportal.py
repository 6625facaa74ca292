"""`make run` seeds the demo on its embedded default or when asked, never on a configured database."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from unittest import mock

import pytest
from django.contrib.auth import get_user_model

from apps.demo.logins import DEMO_LOGINS
from apps.demo.management.commands import runportal
from apps.leads.models import Lead
from apps.reps.models import Rep

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


def _prepare(*, seed: bool | None) -> tuple[str, mock.MagicMock]:
    command = runportal.Command(stdout=StringIO())
    with mock.patch.object(runportal, "call_command") as call:
        lines = command.demo_prepare(seed=seed)
    return "\n".join(lines), call


def test_configured_database_is_not_seeded_and_says_how(settings):
    settings.DATABASE_IS_EMBEDDED_DEFAULT = False  # DATABASE_URL is set
    command = runportal.Command(stdout=StringIO())
    lines = "\n".join(command.demo_prepare(seed=None))
    # Nothing was written: no demo organisation, no admin/routing-demo superuser.
    assert not get_user_model().objects.exists()
    assert not Rep.objects.exists() and not Lead.objects.exists()
    assert "DATABASE_URL is set, so the demo is not seeded" in lines
    assert "make run SEED=1" in lines and "python manage.py seed_demo" in lines
    assert "routing-demo" not in lines  # no logins printed that do not exist


def test_configured_database_is_seeded_on_request(settings):
    settings.DATABASE_IS_EMBEDDED_DEFAULT = False
    _, call = _prepare(seed=True)
    call.assert_called_once_with("seed_demo", if_empty=True, stdout=mock.ANY, stderr=mock.ANY)


def test_embedded_default_is_seeded_unless_told_not_to(settings):
    settings.DATABASE_IS_EMBEDDED_DEFAULT = True
    _, call = _prepare(seed=None)
    call.assert_called_once_with("seed_demo", if_empty=True, stdout=mock.ANY, stderr=mock.ANY)

    lines, call = _prepare(seed=False)
    call.assert_not_called()
    assert "No demo data (--no-seed)" in lines


def test_a_database_holding_data_is_left_alone_and_says_so(settings, west_org):
    settings.DATABASE_IS_EMBEDDED_DEFAULT = True
    command = runportal.Command(stdout=StringIO())
    lines = "\n".join(command.demo_prepare(seed=None))  # the real seed_demo --if-empty
    assert Rep.objects.count() == 3 and not Lead.objects.exists()
    assert "already holds reps or leads" in lines and "seed_demo --force" in lines
    assert "routing-demo" not in lines


def test_demo_logins_are_printed_when_the_demo_is_there(settings):
    settings.DATABASE_IS_EMBEDDED_DEFAULT = False
    for _, username, password in DEMO_LOGINS:
        get_user_model().objects.create_user(username=username, password=password)
    lines, call = _prepare(seed=None)
    call.assert_not_called()
    for role, username, password in DEMO_LOGINS:
        assert f"{role:<8} {username} / {password}" in lines


def test_embedded_default_follows_database_url(tmp_path):
    probe = (
        "from django.conf import settings; print('EMBEDDED', settings.DATABASE_IS_EMBEDDED_DEFAULT)"
    )
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment["DJANGO_DEBUG"] = "1"
    configured = {**environment, "DATABASE_URL": f"sqlite:///{tmp_path / 'configured.sqlite3'}"}
    for env, expected in ((environment, "True"), (configured, "False")):
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", probe],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert f"EMBEDDED {expected}" in result.stdout, result.stderr


@pytest.mark.parametrize(
    ("seed", "flag"), [(None, ""), ("1", " --seed"), ("0", " --no-seed")], ids=str
)
def test_make_run_leaves_seeding_to_runportal(seed, flag):
    # `make run` no longer seeds by itself (it did even with DATABASE_URL set): runportal
    # decides, seeding only its embedded default unless SEED=1 asks.
    args = ["make", "-n", "-C", str(ROOT), "run", "DATABASE_URL=postgres://prod/db"]
    result = subprocess.run(
        args + ([f"SEED={seed}"] if seed else []), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "seed_demo" not in result.stdout
    runs = [line for line in result.stdout.splitlines() if "manage.py runportal" in line]
    assert runs and runs[-1].rstrip().endswith(f"--port 8000{flag}")
