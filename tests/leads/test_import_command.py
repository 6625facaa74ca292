"""`manage.py import_leads`: real exports' mess, mapping, idempotent re-runs, batches, routing.

Every file here is a small fixture written by the test, reproducing one kind of mess.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.leads.models import Lead, LeadImport, LeadImportMapping, LeadStatus
from apps.routing import lead_import
from apps.routing.intake import lead_create
from apps.routing.lead_import import IMPORT_ACCOUNT, KEY_PREFIX
from apps.routing.models import Assignment
from apps.routing.route import lead_route

pytestmark = pytest.mark.django_db

HEADER = "Email Address,First Name,Company Name,Country,City"
ROWS = [
    "Dana@Acme.com,Dana,Acme,United States,Boston",
    "lee@globex.ru,Lee,Globex,Russia,Moscow",
]


def _run(tmp_path: Path, content: bytes, *args: str, name: str = "leads.csv") -> str:
    path = tmp_path / name
    path.write_bytes(content)
    out = io.StringIO()
    call_command("import_leads", str(path), *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):  # the default rejects file is written here
    monkeypatch.chdir(tmp_path)


def _imported() -> list[tuple[str, str, str, str]]:
    return list(
        Lead.objects.order_by("pk").values_list("email", "first_name", "company", "country")
    )


EXPECTED = [("dana@acme.com", "Dana", "Acme", "US"), ("lee@globex.ru", "Lee", "Globex", "RU")]


@pytest.mark.parametrize(
    ("content", "read_as"),
    [
        pytest.param(("\n".join([HEADER, *ROWS]) + "\n").encode(), "UTF-8, comma", id="plain"),
        pytest.param(
            b"\xef\xbb\xbf" + ("\n".join([HEADER, *ROWS]) + "\n").encode(),
            "UTF-8 with a byte-order mark, comma",
            id="bom",
        ),
        pytest.param(("\r\n".join([HEADER, *ROWS]) + "\r\n").encode(), "UTF-8, comma", id="crlf"),
        pytest.param(
            ("\r\n".join(line.replace(",", ";") for line in [HEADER, *ROWS]) + "\r\n").encode(),
            "UTF-8, semicolon",
            id="semicolons",
        ),
        pytest.param(
            ("\n".join(line + "," for line in [HEADER, *ROWS]) + "\n").encode(),
            "UTF-8, comma",
            id="trailing-empty-column",
        ),
        pytest.param(
            ("\n".join([HEADER, "", ROWS[0], ",,,,", "  ", ROWS[1], ""]) + "\n\n").encode(),
            "UTF-8, comma",
            id="blank-rows",
        ),
    ],
)
def test_each_kind_of_mess_imports_the_same_two_leads(tmp_path, west_org, content, read_as):
    out = _run(tmp_path, content)
    assert f"Read as {read_as}-separated." in out
    assert "2 rows" in out and "2 imported, 0 duplicates (already imported), 0 rejected" in out
    assert _imported() == EXPECTED
    assert not (tmp_path / "leads.rejects.csv").exists()


def test_a_windows_1252_file_is_read_as_such_and_said(tmp_path, west_org):
    content = "Email,First Name,Last Name\r\nzoe@acme.com,Zoë,Müller–Café\r\n".encode("cp1252")
    out = _run(tmp_path, content)
    assert "Read as Windows-1252 (not UTF-8), comma-separated." in out
    lead = Lead.objects.get()
    assert (lead.first_name, lead.last_name) == ("Zoë", "Müller–Café")


def test_a_latin_1_file_with_a_byte_cp1252_lacks_is_read_as_latin_1(tmp_path, west_org):
    content = b"Email,First Name\nzoe@acme.com,Zo\xeb\x81\n"
    out = _run(tmp_path, content)
    assert "Read as Latin-1 (not UTF-8)" in out
    assert Lead.objects.get().first_name == "Zo\xeb\x81"


@pytest.mark.parametrize(
    "placeholder", ["Select", "SELECT", "N/A", "n/a", "-", "null", "None", "unknown", " "]
)
def test_placeholders_are_blank(tmp_path, west_org, placeholder):
    content = (
        f"Email,City,Country,Industry\nkim@acme.com,{placeholder},{placeholder},{placeholder}\n"
    )
    out = _run(tmp_path, content.encode())
    assert "1 imported" in out
    lead = Lead.objects.get()
    assert (lead.city, lead.country, lead.industry) == ("", "", "")


def test_values_are_normalised_as_the_api_does(tmp_path, west_org):
    content = (
        b"email,country,region,postal_code,first_name,lead_score\n"
        b"  MIXED@Case.COM ,United States,CA,sw1a 1aa,  Ann   Marie ,42\n"
        b"a@b.vn,Vietnam,,,,\n"
        b"c@d.uk,UK,,,,\n"
    )
    _run(tmp_path, content)
    rows = list(
        Lead.objects.order_by("pk").values_list(
            "email", "email_domain", "country", "region", "postal_code", "first_name", "lead_score"
        )
    )
    assert rows == [
        ("mixed@case.com", "case.com", "US", "US-CA", "SW1A 1AA", "Ann Marie", 42),
        ("a@b.vn", "b.vn", "VN", "", "", "", None),
        ("c@d.uk", "d.uk", "GB", "", "", "", None),
    ]


BAD = (
    "Email,Country,Notes\n"
    "good@acme.com,France,ok\n"
    "\n"  # a blank line: line numbers stay the file's own
    "not-an-email,France,bad email\n"
    'bad@acme.com,Narnia,"a note\nover two lines"\n'
    "also-good@acme.com,,fine\n"
    "worse,Atlantis,both wrong\n"
)


def test_bad_rows_are_reported_with_line_field_and_message_and_nothing_valid_is_lost(
    tmp_path, west_org
):
    out = _run(tmp_path, BAD.encode())
    assert "5 rows" in out and "2 imported, 0 duplicates (already imported), 3 rejected" in out
    assert "line 4: email: Enter a valid email address." in out
    assert "line 5: country: Unknown country 'Narnia'." in out
    assert (
        "line 8: email: Enter a valid email address.; country: Unknown country 'Atlantis'." in out
    )
    assert "Top rejection reasons:" in out
    assert "2  email: Enter a valid email address." in out
    assert sorted(Lead.objects.values_list("email", flat=True)) == [
        "also-good@acme.com",
        "good@acme.com",
    ]
    with (tmp_path / "leads.rejects.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows == [
        ["Email", "Country", "Notes", "line", "errors"],
        ["not-an-email", "France", "bad email", "4", "email: Enter a valid email address."],
        [
            "bad@acme.com",
            "Narnia",
            "a note\nover two lines",
            "5",
            "country: Unknown country 'Narnia'.",
        ],
        [
            "worse",
            "Atlantis",
            "both wrong",
            "8",
            "email: Enter a valid email address.; country: Unknown country 'Atlantis'.",
        ],
    ]
    run = LeadImport.objects.get()
    assert (run.rows, run.imported, run.duplicates, run.rejected, run.status) == (
        5,
        2,
        0,
        3,
        "done",
    )
    assert run.report["top_reasons"][0] == {
        "field": "email",
        "code": "invalid",
        "count": 2,
        "example": "Enter a valid email address.",
    }


def test_rejects_go_where_asked_and_a_row_longer_than_the_header_is_rejected(tmp_path, west_org):
    content = b"Email,City\nok@acme.com,Paris,\nlong@acme.com,Paris,surprise\n"
    out = _run(tmp_path, content, "--rejects", str(tmp_path / "out" / "bad.csv"))
    assert "line 3: row: The row has 3 cells; the header has 2." in out
    assert Lead.objects.get().email == "ok@acme.com"
    assert (tmp_path / "out" / "bad.csv").read_text().splitlines()[1] == (
        "long@acme.com,Paris,3,row: The row has 3 cells; the header has 2."
    )


def test_a_second_run_of_a_file_without_ids_imports_nothing_twice(tmp_path, west_org):
    content = ("\n".join([HEADER, *ROWS, ROWS[0]]) + "\n").encode()  # a row twice in the file
    first = _run(tmp_path, content)
    assert "2 imported, 1 duplicates" in first
    assert "Routed: 1 assigned, 1 unrouted" in first  # Russia is in no territory
    assigned = list(Assignment.objects.values_list("pk", flat=True))
    keys = list(Lead.objects.values_list("external_id", "submitted_by__username"))
    assert all(key.startswith(KEY_PREFIX) and user == IMPORT_ACCOUNT for key, user in keys)
    # Spelled differently, normalised the same: the same rows.
    again = content.replace(b"Dana@Acme.com", b"dana@acme.com ").replace(b"Russia", b"RU")
    second = _run(tmp_path, again)
    assert "0 imported, 3 duplicates" in second
    assert Lead.objects.count() == 2
    assert list(Assignment.objects.values_list("pk", flat=True)) == assigned


def test_a_file_with_ids_keys_on_them(tmp_path, west_org):
    content = b"id,email\nCRM-1,a@acme.com\nCRM-2,b@acme.com\n"
    _run(tmp_path, content)
    assert sorted(Lead.objects.values_list("external_id", flat=True)) == ["CRM-1", "CRM-2"]
    # The same id with a changed row is still that lead: not imported again.
    out = _run(tmp_path, b"id,email\nCRM-1,changed@acme.com\nCRM-3,c@acme.com\n")
    assert "1 imported, 1 duplicates" in out
    assert Lead.objects.count() == 3


def test_a_crash_mid_file_keeps_the_batches_before_it_and_a_rerun_finishes(
    tmp_path, west_org, monkeypatch
):
    content = ("email,country\n" + "".join(f"l{i}@acme.com,US\n" for i in range(7))).encode()
    real_rows = lead_import.lead_rows

    def rows(*, datas, submitted_by):
        if any(data["email"] == "l5@acme.com" for data in datas):
            raise RuntimeError("the database went away")
        return real_rows(datas=datas, submitted_by=submitted_by)

    monkeypatch.setattr(lead_import, "lead_rows", rows)
    with pytest.raises(RuntimeError):
        _run(tmp_path, content, "--batch", "2")
    assert Lead.objects.count() == 4  # batches 1-2 and 3-4 committed, 5-6 lost with the crash
    assert LeadImport.objects.get().status == "failed"
    monkeypatch.setattr(lead_import, "lead_rows", real_rows)
    out = _run(tmp_path, content, "--batch", "2")
    assert "3 imported, 4 duplicates" in out
    assert sorted(Lead.objects.values_list("email", flat=True)) == [
        f"l{i}@acme.com" for i in range(7)
    ]
    assert set(Lead.objects.values_list("status", flat=True)) == {LeadStatus.ASSIGNED}


def test_a_rerun_routes_leads_a_crash_left_new(tmp_path, west_org):
    content = b"email,country\na@acme.com,US\nb@acme.com,US\n"
    _run(tmp_path, content, "--no-route")  # as if the crash came between save and routing
    out = _run(tmp_path, content)
    assert "0 imported, 2 duplicates" in out
    assert "Routed: 2 assigned" in out
    assert set(Lead.objects.values_list("status", flat=True)) == {LeadStatus.ASSIGNED}


def test_dry_run_writes_nothing(tmp_path, west_org):
    out = _run(tmp_path, BAD.encode(), "--dry-run", "--save-mapping", "x")
    assert "2 would be imported, 0 duplicates (already imported), 3 rejected" in out
    assert "Mapping 'x' not saved: a dry run writes nothing." in out
    assert Lead.objects.count() == 0
    assert LeadImport.objects.count() == 0
    assert LeadImportMapping.objects.count() == 0
    assert (tmp_path / "leads.rejects.csv").exists()  # the report, not the database


def test_no_route_leaves_the_leads_new_for_route_pending(tmp_path, west_org):
    out = _run(tmp_path, ("\n".join([HEADER, *ROWS]) + "\n").encode(), "--no-route")
    assert "Not routed: the leads wait as new for route_pending." in out
    assert set(Lead.objects.values_list("status", flat=True)) == {LeadStatus.NEW}
    assert Assignment.objects.count() == 0


def test_routing_follows_the_rotation_as_single_leads_do(tmp_path, west_org, settings):
    # Nine enterprise leads in US-WEST: the round-robin rule over alice, bob and carol, routed
    # two per transaction (a turn of the rotation spans transactions).
    settings.ROUTING_BATCH_SIZE = 2
    content = "email,company_size,country,region\n" + "".join(
        f"e{i}@big{i}.com,5000,United States,CA\n" for i in range(9)
    )
    out = _run(tmp_path, content.encode(), "--batch", "4")  # batches of 4, 4 and 1
    assert "Routed: 9 assigned" in out
    owners = list(Lead.objects.order_by("pk").values_list("owner__user__username", flat=True))
    assert Counter(owners) == {"alice": 3, "bob": 3, "carol": 3}
    assert owners == ["alice", "bob", "carol"] * 3
    # A live lead after the import takes the next turn of the same rotation.
    lead, _ = lead_create(
        data={"email": "live@big.com", "company_size": 5000, "country": "US", "region": "US-CA"}
    )
    assert lead_route(lead_id=lead.pk).lead.owner.username == "alice"


def test_mapping_by_hand_saved_and_reused(tmp_path, west_org):
    content = b"Work Mail,Org,Quality,Ignored\nann@acme.com,Acme,High,x\n"
    out = _run(
        tmp_path,
        content,
        "--mapping",
        "Work Mail=email",
        "--mapping",
        "Org=company",
        "--mapping",
        "Quality=extra.quality",
        "--save-mapping",
        "crm-export",
    )
    assert "Columns: Work Mail -> email, Org -> company, Quality -> extra.quality" in out
    assert "Skipped columns: Ignored" in out
    lead = Lead.objects.get()
    assert (lead.email, lead.company, lead.extra) == ("ann@acme.com", "Acme", {"quality": "High"})
    assert LeadImportMapping.objects.get(name="crm-export").columns == {
        "Work Mail": "email",
        "Org": "company",
        "Quality": "extra.quality",
        "Ignored": "",
    }
    out = _run(
        tmp_path,
        b"work mail,ORG,Quality,Ignored\nbo@globex.com,Globex,Low,y\n",
        "--use-mapping",
        "crm-export",
        name="next.csv",
    )
    assert "1 imported" in out
    assert Lead.objects.get(email="bo@globex.com").extra == {"quality": "Low"}


def test_unknown_columns_become_custom_attributes_when_asked(tmp_path, west_org):
    _run(tmp_path, b"email,Lead Quality,Tags\nann@acme.com,High,-\n", "--extra-unknown")
    assert Lead.objects.get().extra == {"lead_quality": "High"}  # the placeholder is left out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mapping", "Email=mail"], "'mail' is not a lead field"),
        (["--mapping", "Nope=email"], "The mapping names column 'Nope', which the file does not"),
        (["--mapping", "Email"], "write COLUMN=FIELD"),
        (["--mapping", "City=email"], "Columns 'Email' and 'City' both map to email"),
        (["--use-mapping", "missing"], "There is no saved mapping 'missing'"),
    ],
)
def test_a_bad_mapping_is_refused_before_anything_is_saved(tmp_path, west_org, args, message):
    with pytest.raises(CommandError, match=message):
        _run(tmp_path, b"Email,City\na@acme.com,Paris\n", *args)
    assert Lead.objects.count() == 0


def test_a_file_that_is_not_a_csv_is_refused(tmp_path, west_org):
    with pytest.raises(CommandError, match="no header row"):
        _run(tmp_path, b"\n\n  \n")
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_leads", str(tmp_path / "absent.csv"))


def test_the_progress_bar_shows_rows_per_second_and_an_eta_on_a_terminal():
    from apps.routing.lead_import import ImportReport
    from apps.routing.management.commands.import_leads import _Progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    bar = _Progress(stream, total_bytes=1000)
    bar(ImportReport(rows=500, imported=490, rejected=10), 500)
    bar.close()
    text = stream.getvalue()
    assert text.startswith("\r[###############...............] 500 rows, ")
    assert "rows/s, ETA " in text and "(490 imported, 10 rejected)" in text
    plain = io.StringIO()
    quiet = _Progress(plain, total_bytes=1000, every=0.0)
    quiet(ImportReport(rows=500, imported=490, rejected=10), 500)
    assert plain.getvalue().startswith("500 rows read (50%), ")
    assert "\r" not in plain.getvalue()


def test_the_intake_serializer_states_the_validators_drf_would_derive():
    from apps.routing.intake_serializer import INTAKE_FIELDS, LeadIntakeSerializer

    class Derived(LeadIntakeSerializer):
        class Meta:  # no `validators`: DRF derives them from the model's constraints
            model = Lead
            fields = INTAKE_FIELDS

    assert Derived().get_validators() == LeadIntakeSerializer().get_validators() == []


def test_a_big_file_is_read_in_bounded_chunks_never_whole(tmp_path, west_org):
    from apps.core.csvfiles import CHUNK_BYTES
    from apps.routing.lead_import import leads_import

    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as f:
        f.write("email,notes\n")
        for i in range(30_000):
            f.write(f"p{i}@acme.com,{'x' * 100}\n")
    sizes: list[int] = []

    class Guarded(io.FileIO):
        def read(self, size: int = -1) -> bytes:
            assert size is not None and 0 < size <= CHUNK_BYTES, size
            sizes.append(size)
            return super().read(size)

        def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
            assert 0 < len(buffer) <= CHUNK_BYTES
            sizes.append(len(buffer))
            return super().readinto(buffer)

    report = leads_import(open_binary=lambda: Guarded(path, "r"), dry_run=True)
    assert (report.rows, report.imported, report.rejected) == (30_000, 30_000, 0)
    assert path.stat().st_size > 3 * CHUNK_BYTES  # read in several chunks, twice
    assert len(sizes) >= 6
