import codecs
import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads import imports
from leads.bulk import update_lead_columns
from leads.lifecycle import creation
from leads.models import ImportJob, ImportStatus, Lead, StageTransition
from leads.selectors import pipeline_counts
from leads.services import rebuild_pipeline_counts
from leads.stages import Stage
from tests.factories import LeadFactory
from tests.services import need_postgres

pytestmark = pytest.mark.django_db

CSV = (
    "E-mail,First Name,Last Name,Company,Employees\n"
    "ada@example.com,Ada,Lovelace,Analytical Engines,12\n"
    "not-an-email,Bad,Row,Nowhere,3\n"
    "grace@example.com,Grace,Hopper,Navy,many\n"
    "linus@example.com,Linus,T,Kernel,5\n"
)


def upload(client, text: str | bytes, name="leads.csv"):
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return client.post("/leads/import/", {"file": SimpleUploadedFile(name, raw, content_type="text/csv")})


def mapping_post(job, on_duplicate="skip", **extra):
    mapping = imports.guess_mapping(job.columns)
    data = {f"column_{i}": mapping.get(column, "") for i, column in enumerate(job.columns)}
    return {**data, "on_duplicate": on_duplicate, **extra}


def run(job):
    return imports.run_import(job_id=job.pk)


def queued_job(text: str, marketer, on_duplicate="skip") -> ImportJob:
    job = imports.create_import_job(upload=SimpleUploadedFile("leads.csv", text.encode()), user=marketer)
    return imports.start_import(job=job, mapping=imports.guess_mapping(job.columns), on_duplicate=on_duplicate)


# --- Encodings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, encoding",
    [
        ("email\nzoë@example.com\n".encode(), "utf-8"),
        (codecs.BOM_UTF8 + "email\nzoë@example.com\n".encode(), "utf-8-sig"),
        ("email\nzoë@example.com\n".encode("utf-16"), "utf-16"),
        ("email\nzoë@example.com\n".encode("utf-16-le"), "utf-16-le"),
    ],
)
def test_unicode_files_are_read_in_their_encoding(raw, encoding):
    decoded = imports.decode_upload(raw)
    assert (decoded.encoding, decoded.text.splitlines()[1], decoded.warning) == (encoding, "zoë@example.com", "")


def test_a_windows_1252_file_is_read_with_a_warning():
    decoded = imports.decode_upload("email,company\nzoe@example.com,Café Müller\n".encode("cp1252"))
    assert decoded.encoding == "cp1252" and "Café Müller" in decoded.text
    assert "not UTF-8" in decoded.warning


@pytest.mark.parametrize("raw", [b"PK\x03\x04\x14\x00\x06\x00", bytes(range(256)) * 4, b"%PDF-1.7\n"])
def test_binary_files_are_refused(raw):
    with pytest.raises(imports.ImportRefused):
        imports.decode_upload(raw)


def test_uploading_a_binary_file_shows_the_problem_next_to_the_field(client, marketer):
    client.force_login(marketer)
    response = upload(client, b"PK\x03\x04 workbook", name="leads.xlsx")
    assert response.status_code == 400
    assert "Excel" in response.context["form"].errors["file"][0]
    assert not ImportJob.objects.exists()


# --- Mapping and preview -------------------------------------------------------------


@pytest.mark.smoke
def test_upload_guesses_the_mapping_and_previews_the_first_rows(client, marketer):
    client.force_login(marketer)
    response = upload(client, CSV)
    job = ImportJob.objects.get()
    assert response["Location"] == f"/leads/import/{job.pk}/"
    assert job.mapping == {
        "E-mail": "email",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Company": "company",
        "Employees": "company_size",
    }
    page = client.get(response["Location"])
    assert page.context["preview"][0]["cells"] == ["ada@example.com", "Ada", "Lovelace", "Analytical Engines", "12"]


def test_a_mapping_without_an_email_column_is_refused(client, marketer):
    client.force_login(marketer)
    upload(client, CSV)
    job = ImportJob.objects.get()
    data = mapping_post(job, start="1")
    data["column_0"] = ""
    response = client.post(f"/leads/import/{job.pk}/", data)
    assert response.status_code == 400
    assert "Map one column to Email" in response.content.decode()
    job.refresh_from_db()
    assert job.status == ImportStatus.MAPPING


def test_another_marketers_import_is_not_found(client, marketer):
    job = imports.create_import_job(upload=SimpleUploadedFile("x.csv", CSV.encode()), user=marketer)
    from tests.factories import marketer as make_marketer

    client.force_login(make_marketer(username="other"))
    assert client.get(f"/leads/import/{job.pk}/").status_code == 404
    assert client.get(f"/leads/import/{job.pk}/errors.csv").status_code == 404


# --- Running the import ----------------------------------------------------------------


@pytest.mark.smoke
def test_good_rows_are_imported_and_bad_rows_reported(marketer):
    job = run(queued_job(CSV, marketer))
    assert job.status == ImportStatus.SUCCEEDED
    assert sorted(Lead.objects.values_list("email", flat=True)) == ["ada@example.com", "linus@example.com"]
    assert {(error["row"], error["field"]) for error in job.errors} == {(3, "email"), (4, "company_size")}
    assert StageTransition.objects.filter(to_stage=Stage.LEAD_GEN, reason="Imported from a CSV file").count() == 2
    assert pipeline_counts()[Stage.LEAD_GEN] == 2


def test_the_error_report_downloads_as_csv_with_the_rows_non_personal_columns(client, marketer):
    job = run(queued_job(CSV, marketer))
    client.force_login(marketer)
    report = client.get(f"/leads/import/{job.pk}/errors.csv").content.decode()
    rows = list(csv.reader(io.StringIO(report)))
    assert rows[0] == ["row", "field", "problem", "Company size"]
    assert rows[1] == ["3", "Email", "Not a valid email address.", "3"]
    assert "not-an-email" not in report and "Grace" not in report


def test_a_finished_import_drops_the_uploaded_text_and_keeps_its_counts(marketer):
    job = run(queued_job(CSV, marketer))
    job.refresh_from_db()
    assert job.text == ""
    assert (job.total_rows, job.created_count, job.error_count) == (4, 2, 2)


def test_an_existing_email_is_skipped_when_asked(marketer):
    LeadFactory(email="ADA@example.com", company="Old name")
    job = run(queued_job(CSV, marketer, on_duplicate="skip"))
    assert (job.created_count, job.skipped_count, job.updated_count) == (1, 1, 0)
    assert Lead.objects.get(email="ADA@example.com").company == "Old name"


def test_an_existing_email_is_updated_when_asked(marketer):
    existing = LeadFactory(email="ADA@example.com", company="Old name", source="ads")
    job = run(queued_job(CSV, marketer, on_duplicate="update"))
    assert (job.created_count, job.updated_count) == (1, 1)
    existing.refresh_from_db()
    assert (existing.company, existing.company_size, existing.email) == ("Analytical Engines", 12, "ADA@example.com")


def test_the_same_email_twice_in_a_file_imports_the_first_and_reports_the_second(marketer):
    job = run(queued_job("email\nada@example.com\nAda@Example.com\n", marketer))
    assert job.created_count == 1
    assert job.errors == [{"row": 3, "field": "email", "message": "The same email address is on row 2.", "columns": {}}]


def test_a_failed_import_leaves_nothing_half_imported(marketer, monkeypatch):
    job = queued_job(CSV, marketer)

    def broken(**kwargs):
        raise RuntimeError("disk full")

    # Fails after the leads and their transitions were inserted (the lifecycle's create_leads).
    monkeypatch.setattr(creation, "record_leads_created", broken)
    with pytest.raises(RuntimeError):
        run(job)
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED and "nothing was imported" in job.failure
    assert not Lead.objects.exists() and not StageTransition.objects.exists()


def test_running_a_finished_job_again_imports_nothing_twice(marketer):
    job = run(queued_job(CSV, marketer))
    run(job)
    assert Lead.objects.count() == 2


def test_progress_page_shows_the_outcome_once_finished(client, marketer):
    job = run(queued_job(CSV, marketer))
    client.force_login(marketer)
    page = client.get(f"/leads/import/{job.pk}/status/").content.decode()
    assert "2 leads created" in page and "2 rows with errors" in page
    assert 'aria-valuenow="100"' in page


def test_ten_thousand_rows_import_set_based(marketer):
    need_postgres()
    lines = ["email,first_name,company,utm_campaign"] + [
        f"person{n}@example.com,P{n},Company {n % 50},c{n % 7}" for n in range(10_000)
    ]
    job = queued_job("\n".join(lines) + "\n", marketer)
    with CaptureQueriesContext(connection) as queries:
        job = run(job)
    assert job.created_count == 10_000
    # A loop of saves would be 20,000+ statements; the set-based path is a few per 1,000 rows.
    assert len(queries) < 150
    counts = pipeline_counts()[Stage.LEAD_GEN]
    rebuild_pipeline_counts()
    assert counts == pipeline_counts()[Stage.LEAD_GEN] == 10_000


@pytest.mark.postgres
def test_the_fast_update_writes_what_djangos_bulk_update_writes():
    need_postgres()
    fast, plain = LeadFactory.create_batch(2)
    for lead in (fast, plain):
        lead.company, lead.company_size, lead.utm_campaign = "Zoë & Co 'quoted'", 250, "spring"
    update_lead_columns([fast], ["company", "company_size", "utm_campaign"])
    Lead.objects.bulk_update([plain], ["company", "company_size", "utm_campaign"])
    fields = ("company", "company_size", "utm_campaign")
    assert (
        Lead.objects.filter(pk=fast.pk).values(*fields).get() == Lead.objects.filter(pk=plain.pk).values(*fields).get()
    )
