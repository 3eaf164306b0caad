"""The streamed CSV export of a filtered lead list."""

import csv

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection),
# also after leading blanks and line breaks, which spreadsheets skip before parsing.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")

EXPORT_COLUMNS = [
    ("id", "id"),
    ("email", "email"),
    ("first_name", "first_name"),
    ("last_name", "last_name"),
    ("company", "company"),
    ("job_title", "job_title"),
    ("phone", "phone"),
    ("country", "country"),
    ("stage", "stage"),
    ("score", "score"),
    ("owner__username", "owner"),
    ("source", "source"),
    ("utm_campaign", "campaign"),
    ("created_at", "created_at"),
]


def safe_cell(value) -> str:
    """The cell as text, with a leading apostrophe when a spreadsheet would run it."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) or text.lstrip().startswith(FORMULA_STARTS):
        return "'" + text
    return text


class _Line:
    """csv.writer wants a file; this one hands back the line it was given."""

    def write(self, value: str) -> str:
        return value


def lead_csv_lines(leads, *, chunk_size: int = 2000):
    """Yield the CSV one line at a time: one query with the owner joined, read with a
    server-side cursor on PostgreSQL, so memory stays flat whatever the list size."""
    writer = csv.writer(_Line())
    yield "\ufeff" + writer.writerow([title for _, title in EXPORT_COLUMNS])  # BOM: Excel then reads UTF-8
    rows = leads.order_by("-created_at", "-id").values_list(*[column for column, _ in EXPORT_COLUMNS])
    for row in rows.iterator(chunk_size=chunk_size):
        yield writer.writerow([safe_cell(cell) for cell in row])
