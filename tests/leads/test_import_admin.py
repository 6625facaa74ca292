"""The admin's "Import leads" pages: upload, mapping preview, the task on the `imports` queue,
progress, report and the rejects CSV; managers only."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from apps.leads.models import Lead, LeadImport, LeadImportMapping, LeadStatus
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

UPLOAD_URL = "/admin/leads/lead/import/"
# A semicolon-separated export with a byte-order mark, Windows line endings, placeholders,
# a trailing empty column, a blank row and two bad rows.
MESSY = (
    "\ufeffE-mail;Company Name;Country;Region;Employees;Lead Quality;\r\n"
    "ann@big.com;Big;United States;CA;5000;High;\r\n"
    "\r\n"
    "bo@big.com;Big;USA;WA;5000;Select;\r\n"
    "not-an-email;Bad;France;-;10;Low;\r\n"
    "cy@big.com;Big;Narnia;N/A;5000;Low;\r\n"
).encode()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def manager(manager_user):
    client = Client()
    client.force_login(manager_user)
    return client


def _client_for(role: str, west_org) -> Client:
    client = Client()
    if role == "rep":
        user = west_org["reps"][0].user
        user.is_staff = True  # a staff flag left on a rep opens nothing
        user.save()
        client.force_login(user)
    elif role == "integration":
        user = UserFactory(username="webform", is_staff=True)
        user.user_permissions.add(
            Permission.objects.get(codename="add_lead", content_type__app_label="leads")
        )
        client.force_login(user)
    return client


def _upload(client: Client, content: bytes = MESSY, **data) -> LeadImport:
    response = client.post(
        UPLOAD_URL, {"file": SimpleUploadedFile("crm export.csv", content, "text/csv"), **data}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    run = LeadImport.objects.latest("pk")
    assert response["Location"] == f"/admin/leads/lead/import/{run.pk}/"
    return run


def _pickers(page: str) -> dict[str, str]:
    """The field each column's picker has selected, from the rendered form."""
    import re

    chosen = {}
    for name, select in re.findall(r'<select name="(col_\d+)"[^>]*>(.*?)</select>', page, re.S):
        match = re.search(r'<option value="([^"]*)" selected>', select)
        chosen[name] = match.group(1) if match else ""
    return chosen


def test_the_leads_list_links_to_the_import(manager, west_org):
    page = manager.get(reverse("admin:leads_lead_changelist")).content.decode()
    assert f'<a href="{UPLOAD_URL}">Import leads</a>' in page


@pytest.mark.parametrize("role", ["rep", "integration", "anonymous"])
def test_only_managers_reach_the_import_pages(role, west_org, manager):
    run = _upload(manager)
    client = _client_for(role, west_org)
    urls = [
        UPLOAD_URL,
        f"{UPLOAD_URL}{run.pk}/",
        f"{UPLOAD_URL}{run.pk}/status/",
        f"{UPLOAD_URL}{run.pk}/rejects.csv",
        "/admin/leads/leadimport/",
        f"/admin/leads/leadimport/{run.pk}/change/",
        "/admin/leads/leadimportmapping/add/",
    ]
    for url in urls:
        for response in (client.get(url), client.post(url, {"col_0": "email"})):
            assert response.status_code == 302, url
            assert response["Location"].startswith(reverse("admin:login"))
    page = client.get(reverse("admin:leads_lead_changelist"))
    assert page.status_code == 302
    assert LeadImport.objects.get().status == "uploaded"


def test_the_preview_reads_the_mess_and_picks_fields_by_name(manager, west_org):
    run = _upload(manager)
    page = manager.get(f"{UPLOAD_URL}{run.pk}/").content.decode()
    assert (
        "Read as <strong>UTF-8 with a byte-order mark</strong>, separated by <code>;</code>" in page
    )
    # E-mail, Company Name, Country, Region, Employees: known; Lead Quality: skipped.
    assert _pickers(page) == {
        "col_0": "email",
        "col_1": "company",
        "col_2": "country",
        "col_3": "region",
        "col_4": "company_size",
        "col_5": "",
    }
    assert page.count("<tr>\n            <td>") == 4  # four rows previewed, the blank one skipped
    assert "email: Enter a valid email address." in page
    assert "country: Unknown country &#x27;Narnia&#x27;." in page
    assert Lead.objects.count() == 0


def test_checking_the_rows_again_uses_the_fields_picked(manager, west_org):
    run = _upload(manager)
    form = {f"col_{i}": "" for i in range(6)} | {"col_0": "email", "route": "on"}
    page = manager.post(f"{UPLOAD_URL}{run.pk}/", {**form, "preview": "1"}).content.decode()
    assert "Unknown country" not in page  # Country is skipped now
    assert _pickers(page)["col_2"] == ""
    run.refresh_from_db()
    assert run.status == "uploaded"


def test_an_import_without_an_email_column_is_refused(manager, west_org):
    run = _upload(manager)
    form = {f"col_{i}": "" for i in range(6)} | {"col_1": "company"}
    response = manager.post(f"{UPLOAD_URL}{run.pk}/", form, follow=True)
    assert "Pick the column holding the email" in response.content.decode()
    run.refresh_from_db()
    assert run.status == "uploaded"


def test_upload_map_run_follow_and_download_end_to_end(
    manager,
    west_org,
    eager_tasks,
    django_capture_on_commit_callbacks,
    django_assert_max_num_queries,
):
    run = _upload(manager)
    form = {
        "col_0": "email",
        "col_1": "company",
        "col_2": "country",
        "col_3": "region",
        "col_4": "company_size",
        "col_5": "__extra__",
        "source": "CRM migration",
        "route": "on",
        "save_as": "crm-export",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = manager.post(f"{UPLOAD_URL}{run.pk}/", form)
    assert response.status_code == 302
    run.refresh_from_db()
    assert (run.status, run.rows, run.imported, run.duplicates, run.rejected) == (
        "done",
        4,
        2,
        0,
        2,
    )
    assert run.routed == {"assigned": 2}
    leads = list(
        Lead.objects.order_by("pk").values_list(
            "email", "country", "region", "lead_source", "extra", "status", "owner__user__username"
        )
    )
    assert leads == [
        (
            "ann@big.com",
            "US",
            "US-CA",
            "CRM migration",
            {"lead_quality": "High"},
            "assigned",
            "alice",
        ),
        ("bo@big.com", "US", "US-WA", "CRM migration", {}, "assigned", "bob"),
    ]
    assert LeadImportMapping.objects.get(name="crm-export").columns["Lead Quality"] == (
        "extra.lead_quality"
    )

    # session, user, manager role, add_lead permission, the viewer's rep (the admin shows times
    # in the viewer's zone), the run: not one per row or batch
    with django_assert_max_num_queries(6):
        status = manager.get(f"{UPLOAD_URL}{run.pk}/status/").json()
    assert status == {
        "status": "done",
        "rows": 4,
        "imported": 2,
        "duplicates": 0,
        "rejected": 2,
        "routed": {"assigned": 2},
        "progress": 1.0,
        "error": "",
    }
    page = manager.get(f"{UPLOAD_URL}{run.pk}/").content.decode()
    assert (
        "<strong>2 imported</strong>, 0 duplicates (already imported), <strong>2 rejected</strong>"
        in page
    )
    assert "Routed: 2 assigned." in page
    assert "<td>5</td><td>email: Enter a valid email address.</td>" in page
    assert "<td>6</td><td>country: Unknown country &#x27;Narnia&#x27;.</td>" in page

    download = manager.get(f"{UPLOAD_URL}{run.pk}/rejects.csv")
    assert download["Content-Disposition"] == 'attachment; filename="crm export.rejects.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert rows == [
        [
            "E-mail",
            "Company Name",
            "Country",
            "Region",
            "Employees",
            "Lead Quality",
            "",
            "line",
            "errors",
        ],
        [
            "not-an-email",
            "Bad",
            "France",
            "-",
            "10",
            "Low",
            "",
            "5",
            "email: Enter a valid email address.",
        ],
        [
            "cy@big.com",
            "Big",
            "Narnia",
            "N/A",
            "5000",
            "Low",
            "",
            "6",
            "country: Unknown country 'Narnia'.",
        ],
    ]

    # The same file again, from the saved mapping: nothing imported twice.
    again = _upload(manager, mapping="crm-export")
    assert (
        _pickers(manager.get(f"{UPLOAD_URL}{again.pk}/").content.decode())["col_5"] == "__extra__"
    )
    with django_capture_on_commit_callbacks(execute=True):
        manager.post(f"{UPLOAD_URL}{again.pk}/", form | {"save_as": ""})
    again.refresh_from_db()
    assert (again.imported, again.duplicates, again.rejected) == (0, 2, 2)
    assert Lead.objects.count() == 2


def test_a_queued_run_shows_progress_polled_from_its_status(manager, west_org):
    run = _upload(manager)
    run.status, run.rows, run.bytes_read = "running", 40, run.bytes_total // 2
    run.save()
    page = manager.get(f"{UPLOAD_URL}{run.pk}/").content.decode()
    assert f'data-status-url="{UPLOAD_URL}{run.pk}/status/"' in page
    assert "backoffice/lead_import" in page
    status = manager.get(f"{UPLOAD_URL}{run.pk}/status/").json()
    assert (status["status"], status["rows"]) == ("running", 40)
    assert 0.45 < status["progress"] < 0.55
    assert manager.get(f"{UPLOAD_URL}{run.pk}/rejects.csv").status_code == 404


def test_bad_files_are_form_errors_not_500s(manager, west_org):
    page = manager.post(UPLOAD_URL, {"file": SimpleUploadedFile("e.csv", b"")})
    assert page.status_code == 200
    assert "The submitted file is empty." in page.content.decode()
    run = _upload(manager, b"\x00\x01binary\x00")
    page = manager.get(f"{UPLOAD_URL}{run.pk}/")
    assert page.status_code == 200
    assert "not a CSV text file" in page.content.decode()
    assert manager.get(f"{UPLOAD_URL}999999/").status_code == 404


def test_the_task_is_safe_to_run_twice(manager, west_org, eager_tasks):
    from apps.routing.import_tasks import import_leads_run

    run = _upload(manager)
    run.columns = {"E-mail": "email", "Country": "country", "Region": "region"}
    run.status = "pending"
    run.save()
    assert import_leads_run(run.pk) == {"imported": 2, "duplicates": 0, "rejected": 2}
    assert import_leads_run(run.pk) is None  # finished: a no-op
    assert Lead.objects.filter(status=LeadStatus.ASSIGNED).count() == 2


def test_runs_are_listed_read_only_and_mappings_are_edited_with_checked_fields(manager, west_org):
    run = _upload(manager)
    listing = manager.get("/admin/leads/leadimport/").content.decode()
    assert "crm export.csv" in listing
    assert f'href="{UPLOAD_URL}{run.pk}/"' in listing
    page = manager.get(f"/admin/leads/leadimport/{run.pk}/change/")
    assert page.status_code == 200
    assert manager.get("/admin/leads/leadimport/add/").status_code == 403
    bad = manager.post(
        "/admin/leads/leadimportmapping/add/",
        {"name": "crm", "columns": '{"Work Mail": "mail"}'},
    )
    assert bad.status_code == 200
    assert "&#x27;mail&#x27; is not a lead field" in bad.content.decode()
    good = manager.post(
        "/admin/leads/leadimportmapping/add/",
        {"name": "crm", "columns": '{"Work Mail": "email", "Notes": "extra.notes", "X": ""}'},
    )
    assert good.status_code == 302
    mapping = LeadImportMapping.objects.get(name="crm")
    assert mapping.created_by.username == "manager"
    assert mapping.columns == {"Work Mail": "email", "Notes": "extra.notes", "X": ""}


def test_files_are_deleted_after_the_retention_but_the_report_stays(
    manager, west_org, eager_tasks, settings
):
    from datetime import timedelta

    from django.core.files.storage import default_storage
    from django.utils import timezone

    from apps.routing.import_tasks import import_files_expire_daily, import_leads_run

    settings.LEAD_IMPORT_RETENTION_DAYS = 30

    def imported() -> LeadImport:
        run = _upload(manager)
        run.columns = {"E-mail": "email", "Country": "country", "Region": "region"}
        run.status = "pending"
        run.save()
        import_leads_run(run.pk)
        return run

    old = imported()
    old.refresh_from_db()
    upload_name, rejects_name = old.file.name, old.rejects_file.name
    assert old.status == "done" and default_storage.exists(rejects_name)
    abandoned = _upload(manager)  # its mapping never confirmed
    recent = imported()
    long_ago = timezone.now() - timedelta(days=31)
    LeadImport.objects.filter(pk=old.pk).update(finished_at=long_ago)
    LeadImport.objects.filter(pk=abandoned.pk).update(created_at=long_ago)

    assert import_files_expire_daily() == 2
    assert import_files_expire_daily() == 0  # each run once
    old.refresh_from_db()
    assert not old.file and not old.rejects_file and old.files_removed_at is not None
    assert not default_storage.exists(upload_name) and not default_storage.exists(rejects_name)
    assert old.imported == 2 and old.rejected == 2  # the counts and report stay
    recent.refresh_from_db()
    assert recent.file and recent.rejects_file and recent.files_removed_at is None
    page = manager.get(f"{UPLOAD_URL}{old.pk}/").content.decode()
    assert 'id="rp-import-files-removed"' in page and "30 days after the import" in page
    assert "Download the rejected rows" not in page
    assert manager.get(f"/admin/leads/lead/import/{old.pk}/rejects.csv").status_code == 404
    page = manager.get(f"{UPLOAD_URL}{abandoned.pk}/")
    assert page.status_code == 200
    assert "its file was deleted after 30 days: upload the file again" in page.content.decode()
    from django_celery_beat.models import PeriodicTask

    beat = PeriodicTask.objects.get(name="lead-import-files-expire")  # created on migrate
    assert beat.task == "apps.routing.import_tasks.import_files_expire_daily"
    assert (beat.crontab.minute, beat.crontab.hour) == ("15", "3")  # daily
    assert settings.CELERY_TASK_ROUTES["apps.routing.import_tasks.*"] == {"queue": "imports"}
