"""CSV import of leads: decode the upload, map its columns, check every row, then
write the good rows set-based in ONE transaction (nothing half-imported).

Progress is kept in the cache because the rows' transaction is invisible to the
page that polls until it commits."""

import codecs
import csv
import io
import logging
import re
from collections import Counter
from dataclasses import dataclass

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from .actors import Actor
from .bulk import update_lead_columns
from .lifecycle import announcements, create_leads
from .locks import lock_leads
from .models import DuplicatePolicy, ImportJob, ImportStatus, Lead
from .pipeline_counts import bucket_change, pipeline_count_key, record_pipeline_count_changes
from .stages import MoveKind

logger = logging.getLogger(__name__)

IMPORTABLE_FIELDS = [
    ("email", "Email"),
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("company", "Company"),
    ("job_title", "Job title"),
    ("phone", "Phone"),
    ("country", "Country"),
    ("company_size", "Company size"),
    ("source", "Source"),
    ("utm_source", "UTM source"),
    ("utm_medium", "UTM medium"),
    ("utm_campaign", "Campaign"),
    ("utm_term", "UTM term"),
    ("utm_content", "UTM content"),
]
FIELD_LABELS = dict(IMPORTABLE_FIELDS)

# Header spellings seen in other CRMs' exports, normalised (lower case, letters and digits only).
HEADER_ALIASES = {
    "email": ["email", "emailaddress", "mail", "e-mail", "workemail", "businessemail"],
    "first_name": ["firstname", "first", "givenname", "forename"],
    "last_name": ["lastname", "last", "surname", "familyname"],
    "company": ["company", "companyname", "organization", "organisation", "account", "accountname"],
    "job_title": ["jobtitle", "title", "position", "role"],
    "phone": ["phone", "phonenumber", "telephone", "mobile", "mobilephone"],
    "country": ["country", "countryregion", "countryname"],
    "company_size": ["companysize", "employees", "numberofemployees", "headcount"],
    "source": ["source", "leadsource"],
    "utm_source": ["utmsource"],
    "utm_medium": ["utmmedium", "medium"],
    "utm_campaign": ["utmcampaign", "campaign", "campaignname"],
    "utm_term": ["utmterm"],
    "utm_content": ["utmcontent"],
}
_ALIAS_TO_FIELD = {re.sub(r"[^a-z0-9]", "", alias): f for f, aliases in HEADER_ALIASES.items() for alias in aliases}

MAX_ROWS = 100_000
PREVIEW_ROWS = 5
WRITE_CHUNK = 1000


class ImportRefused(Exception):
    """The upload cannot be imported at all (binary, undecodable, no header)."""


@dataclass(frozen=True)
class DecodedFile:
    text: str
    encoding: str
    warning: str = ""


_BINARY_SIGNATURES = {
    b"PK\x03\x04": "This looks like an Excel workbook or a zip file. Save it as CSV and upload that.",
    b"%PDF": "This is a PDF, not a CSV file.",
    b"\xd0\xcf\x11\xe0": "This looks like an old Excel (.xls) file. Save it as CSV and upload that.",
}


def decode_upload(raw: bytes) -> DecodedFile:
    """UTF-8 (with or without BOM), UTF-16 (with BOM, or without one when the NULs
    give it away), else Windows-1252 with a warning; binary files are refused."""
    for signature, message in _BINARY_SIGNATURES.items():
        if raw.startswith(signature):
            raise ImportRefused(message)
    try:
        if raw.startswith(codecs.BOM_UTF8):
            return _checked(DecodedFile(raw[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"))
        if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return _checked(DecodedFile(raw.decode("utf-16"), "utf-16"))
        sample = raw[:4096]
        if b"\x00" in sample:
            even_nuls, odd_nuls = sample[0::2].count(0), sample[1::2].count(0)
            if odd_nuls > len(sample) // 4 and even_nuls == 0:
                return _checked(DecodedFile(raw.decode("utf-16-le"), "utf-16-le"))
            if even_nuls > len(sample) // 4 and odd_nuls == 0:
                return _checked(DecodedFile(raw.decode("utf-16-be"), "utf-16-be"))
            raise ImportRefused("This file is binary, not a CSV text file.")
    except UnicodeDecodeError as error:
        raise ImportRefused(f"The file says it is Unicode but cannot be read as such ({error.reason}).") from error
    try:
        return _checked(DecodedFile(raw.decode("utf-8"), "utf-8"))
    except UnicodeDecodeError:
        pass
    try:
        return _checked(
            DecodedFile(
                raw.decode("cp1252"),
                "cp1252",
                "The file is not UTF-8; it was read as Windows-1252 (Western European). "
                "Check that accented letters look right in the preview.",
            )
        )
    except UnicodeDecodeError as error:
        raise ImportRefused("The file's text encoding could not be recognised. Save it as UTF-8 CSV.") from error


def _checked(decoded: DecodedFile) -> DecodedFile:
    sample = decoded.text[:20000]
    control = sum(1 for char in sample if ord(char) < 32 and char not in "\t\r\n")
    if "\x00" in sample or (sample and control / len(sample) > 0.01):
        raise ImportRefused("This file is binary, not a CSV text file.")
    return decoded


def _reader(text: str):
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    return csv.reader(io.StringIO(text, newline=""), dialect)


def read_header(text: str) -> list[str]:
    header = next(_reader(text), None)
    if not header or not any(cell.strip() for cell in header):
        raise ImportRefused("The file has no header row naming its columns.")
    return [cell.strip() for cell in header]


def guess_mapping(columns: list[str]) -> dict[str, str]:
    mapping, taken = {}, set()
    for column in columns:
        field = _ALIAS_TO_FIELD.get(re.sub(r"[^a-z0-9]", "", column.lower()))
        if field and field not in taken:
            mapping[column] = field
            taken.add(field)
    return mapping


def create_import_job(*, upload, user) -> ImportJob:
    """Decode and store an upload; raises ImportRefused for a file that is not a CSV."""
    decoded = decode_upload(upload.read())
    columns = read_header(decoded.text)
    return ImportJob.objects.create(
        created_by=user,
        filename=(upload.name or "upload.csv")[:255],
        encoding=decoded.encoding,
        encoding_warning=decoded.warning,
        text=decoded.text,
        columns=columns,
        mapping=guess_mapping(columns),
    )


def preview_rows(*, job: ImportJob, mapping: dict[str, str] | None = None) -> list[list[str]]:
    """The first rows as they will be imported: one cell per mapped field."""
    mapping = job.mapping if mapping is None else mapping
    fields = [field for field, _ in IMPORTABLE_FIELDS if field in mapping.values()]
    rows = []
    for _, values in _data_rows(job, mapping, limit=PREVIEW_ROWS):
        rows.append([values.get(field, "") for field in fields])
    return rows


def checked_preview_rows(*, job: ImportJob, mapping: dict[str, str] | None = None) -> list[dict]:
    """The preview's rows with what the import will say of each: {"line", "cells",
    "problems": [(field label, problem)]}, so a bad row is flagged before importing."""
    mapping = job.mapping if mapping is None else mapping
    fields = [field for field, _ in IMPORTABLE_FIELDS if field in mapping.values()]
    labels = dict(IMPORTABLE_FIELDS)
    rows = []
    for line, values in _data_rows(job, mapping, limit=PREVIEW_ROWS):
        _, problems = check_row(values)
        rows.append(
            {
                "line": line,
                "cells": [values.get(field, "") for field in fields],
                "problems": [(labels.get(field, field), message) for field, message in problems],
            }
        )
    return rows


def imported_leads(job: ImportJob, leads):
    """The leads an import created: made in its transaction's time window, with the
    import's first transition by the person who ran it."""
    if job.started_at is None or job.finished_at is None:
        return leads.none()
    return leads.filter(
        created_at__gte=job.started_at,
        created_at__lte=job.finished_at,
        transitions__kind=MoveKind.CREATED,
        transitions__reason=IMPORT_REASON,
        transitions__actor_user=job.created_by,
    )


def start_import(*, job: ImportJob, mapping: dict[str, str], on_duplicate: str) -> ImportJob:
    """Fix the mapping and queue the job; the task starts once this commits."""
    from .tasks import import_leads  # the task module imports this one (Celery's registration): lazy here

    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status != ImportStatus.MAPPING:
            return locked
        locked.mapping = mapping
        locked.on_duplicate = on_duplicate
        locked.status = ImportStatus.QUEUED
        locked.total_rows = sum(1 for _ in _data_rows(locked, mapping))
        locked.save(update_fields=["mapping", "on_duplicate", "status", "total_rows"])
        transaction.on_commit(lambda: import_leads.delay(locked.pk))
    return locked


# --- Progress --------------------------------------------------------------------


def _progress_key(job_id: int) -> str:
    return f"leads:import:{job_id}:progress"


def set_progress(job_id: int, *, done: int, total: int, phase: str) -> None:
    cache.set(_progress_key(job_id), {"done": done, "total": total, "phase": phase}, timeout=3600)


def import_progress(job: ImportJob) -> dict:
    """{"percent", "phase", "done", "total"} for the progress bar."""
    if job.is_finished:
        return {"percent": 100, "phase": job.get_status_display(), "done": job.total_rows, "total": job.total_rows}
    progress = cache.get(_progress_key(job.pk)) or {}
    total = progress.get("total") or job.total_rows or 1
    done = progress.get("done", 0)
    # Checking the rows is the first half of the work, writing them the second.
    share = done / total / 2 + (0.5 if progress.get("phase") == "Writing" else 0)
    return {
        "percent": min(99, int(share * 100)),
        "phase": progress.get("phase") or job.get_status_display(),
        "done": done,
        "total": total,
    }


# --- The import itself -------------------------------------------------------------


def _data_rows(job: ImportJob, mapping: dict[str, str], limit: int | None = None):
    """(line number, {field: value}) for each data row; line 1 is the header."""
    reader = _reader(job.text)
    header = next(reader, None) or []
    positions = [(index, mapping[column.strip()]) for index, column in enumerate(header) if column.strip() in mapping]
    for count, row in enumerate(reader):
        if limit is not None and count >= limit:
            return
        if not any(cell.strip() for cell in row):
            continue
        yield reader.line_num, {field: (row[index].strip() if index < len(row) else "") for index, field in positions}


_MAX_LENGTHS = {field: Lead._meta.get_field(field).max_length for field, _ in IMPORTABLE_FIELDS}


def check_row(values: dict[str, str]) -> tuple[dict, list[tuple[str, str]]]:
    """Clean one row: (the lead fields to write, [(field, problem)])."""
    cleaned, problems = {}, []
    for field, value in values.items():
        if value == "":
            continue
        if field == "company_size":
            digits = value.replace(",", "").replace(" ", "")
            if not digits.isdigit() or int(digits) > 2_000_000_000:
                problems.append((field, f"“{value}” is not a whole number of employees."))
                continue
            cleaned[field] = int(digits)
            continue
        limit = _MAX_LENGTHS.get(field)
        if limit and len(value) > limit:
            problems.append((field, f"Longer than {limit} characters."))
            continue
        cleaned[field] = value
    email = cleaned.get("email")
    if not email:
        if "email" not in dict(problems):
            problems.append(("email", "No email address: imported leads need one."))
    else:
        try:
            validate_email(email)
        except ValidationError:
            # No value in the message: the error report outlives the uploaded text.
            problems.append(("email", "Not a valid email address."))
    return cleaned, problems


@dataclass
class ImportOutcome:
    created: int = 0
    updated: int = 0
    skipped: int = 0


def run_import(*, job_id: int) -> ImportJob:
    """Import a queued job's rows. Safe to run twice: the job row is locked and only
    a queued job is imported; the rows and the job's result commit together."""
    try:
        with transaction.atomic():
            job = ImportJob.objects.select_for_update().get(pk=job_id)
            if job.status != ImportStatus.QUEUED:
                return job
            job.started_at = timezone.now()
            rows, errors = _check_rows(job)
            outcome = _write_rows(job, rows)
            job.errors = _with_report_columns(job, errors)
            job.text = ""  # the upload holds people's data: a finished job keeps counts and the report only
            job.created_count, job.updated_count, job.skipped_count = outcome.created, outcome.updated, outcome.skipped
            job.status = ImportStatus.SUCCEEDED
            job.finished_at = timezone.now()
            job.save()
    except Exception as error:
        logger.exception("Lead import %s failed; its transaction was rolled back.", job_id)
        ImportJob.objects.filter(pk=job_id, status=ImportStatus.QUEUED).update(
            status=ImportStatus.FAILED,
            failure=f"The import failed and nothing was imported: {type(error).__name__}",
            text="",
            finished_at=timezone.now(),
        )
        raise
    return job


def _check_rows(job: ImportJob) -> tuple[list[tuple[int, dict]], list[dict]]:
    total = job.total_rows or 1
    good, errors, first_seen = [], [], {}
    for count, (line, values) in enumerate(_data_rows(job, job.mapping), start=1):
        cleaned, problems = check_row(values)
        email_key = (cleaned.get("email") or "").lower()
        if not problems and email_key in first_seen:
            problems.append(("email", f"The same email address is on row {first_seen[email_key]}."))
        if problems:
            errors.extend({"row": line, "field": field, "message": message} for field, message in problems)
        else:
            first_seen[email_key] = line
            good.append((line, cleaned))
        if count % 500 == 0:
            set_progress(job.pk, done=count, total=total, phase="Checking rows")
        if count > MAX_ROWS:
            raise ImportRefused(f"The file has more than {MAX_ROWS:,} rows; split it.")
    return good, errors


def _write_rows(job: ImportJob, rows: list[tuple[int, dict]]) -> ImportOutcome:
    outcome = ImportOutcome()
    actor = Actor.for_user(job.created_by) if job.created_by else Actor.system("import")
    total = len(rows) or 1
    touched: list[int] = []
    for start in range(0, len(rows), WRITE_CHUNK):
        chunk = [cleaned for _, cleaned in rows[start : start + WRITE_CHUNK]]
        existing = _existing_leads([cleaned["email"] for cleaned in chunk])
        new = [cleaned for cleaned in chunk if cleaned["email"].lower() not in existing]
        matched = [cleaned for cleaned in chunk if cleaned["email"].lower() in existing]
        if job.on_duplicate == DuplicatePolicy.UPDATE and matched:
            touched += _update_existing(matched, existing)
            outcome.updated += len(matched)
        else:
            outcome.skipped += len(matched)
        created = _create_new(new, actor, source_default=f"import: {job.filename}"[:100])
        touched += [lead.pk for lead in created]
        outcome.created += len(created)
        set_progress(job.pk, done=min(start + WRITE_CHUNK, total), total=total, phase="Writing")
    if touched:
        # Fit rules (company size, country, ...) may score the imported profile: the
        # scoring app marks these leads for rescoring, in this transaction.
        announcements.evidence_changed(lead_ids=touched)
    return outcome


def _existing_leads(emails: list[str]) -> dict[str, Lead]:
    """Existing leads by lower-cased email (the unique index on lower(email)); a
    merged-away lead's email resolves to the lead it was merged into."""
    found = {
        lead.email.lower(): lead
        for lead in Lead.objects.annotate(email_lower=Lower("email")).filter(
            email_lower__in=[email.lower() for email in emails]
        )
    }
    survivors = {lead.merged_into_id for lead in found.values() if lead.merged_into_id}
    if survivors:
        by_id = Lead.objects.in_bulk(survivors)
        found = {
            email: by_id.get(lead.merged_into_id, lead) if lead.merged_into_id else lead
            for email, lead in found.items()
        }
    return found


def _update_existing(matched: list[dict], existing: dict[str, Lead]) -> list[int]:
    ids = {existing[cleaned["email"].lower()].pk for cleaned in matched}
    locked = lock_leads(lead_ids=ids)  # the writers' lock order: id order, through one helper
    changes, changed_fields = Counter(), set()
    for cleaned in matched:
        lead = locked[existing[cleaned["email"].lower()].pk]
        before = pipeline_count_key(lead)
        for field, value in cleaned.items():
            if field != "email":
                setattr(lead, field, value)
                changed_fields.add(field)
        if lead.merged_into_id is None and lead.erased_at is None:
            changes.update(bucket_change(before=before, after=pipeline_count_key(lead)))
    if changed_fields:
        now = timezone.now()
        for lead in locked.values():
            lead.updated_at = now
        update_lead_columns(list(locked.values()), [*sorted(changed_fields), "updated_at"])
    record_pipeline_count_changes(changes)
    return sorted(ids)


IMPORT_REASON = "Imported from a CSV file"


def _create_new(new: list[dict], actor: Actor, *, source_default: str) -> list[Lead]:
    """New people from the file, through the lifecycle's one path: at lead generation
    (an import has an email on every row), with their first transition and board count."""
    return create_leads([{"source": source_default, **cleaned} for cleaned in new], actor=actor, reason=IMPORT_REASON)


# Columns the error report keeps after the upload is dropped: none that names a person.
REPORT_FIELDS = [
    "company_size",
    "country",
    "source",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
]


def _with_report_columns(job: ImportJob, errors: list[dict]) -> list[dict]:
    """Each error with the failing row's non-personal columns, read while the text is there."""
    kept = {column: field for column, field in job.mapping.items() if field in REPORT_FIELDS}
    wanted = {error["row"] for error in errors}
    rows = {line: values for line, values in _data_rows(job, kept) if line in wanted} if kept and wanted else {}
    return [{**error, "columns": rows.get(error["row"], {})} for error in errors]


def error_rows(job: ImportJob):
    """The downloadable error report: each problem with the row's non-personal columns."""
    fields = [field for field in REPORT_FIELDS if any(field in error.get("columns", {}) for error in job.errors)]
    yield ["row", "field", "problem", *[FIELD_LABELS.get(field, field) for field in fields]]
    for error in job.errors:
        columns = error.get("columns", {})
        yield [
            error["row"],
            FIELD_LABELS.get(error["field"], error["field"]),
            error["message"],
            *[columns.get(field, "") for field in fields],
        ]
