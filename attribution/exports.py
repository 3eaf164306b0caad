"""CSV downloads behind the attribution page's table and charts."""

import csv
import io

from .credit import MILESTONES
from .models import MODELS

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    if isinstance(value, float):
        return round(value, 4)
    return "" if value is None else value


def _write(header: list[str], rows: list[list]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return buffer.getvalue()


def table_csv(table: dict, *, by: str, model: str) -> str:
    header = [
        by,
        *(f"credited_{m}" for m in MILESTONES),
        "revenue",
        "spend",
        *(f"cost_per_{m}" for m in MILESTONES),
        "roi",
    ]
    rows = [
        [
            row["key"],
            *(row["credit"][m] for m in MILESTONES),
            row["revenue"],
            row["spend"],
            *(row["cost"][m] for m in MILESTONES),
            row["roi"],
        ]
        for row in table["rows"]
    ]
    return _write([*header, "model"], [[*row, model] for row in rows])


def models_csv(table: dict, *, by: str, milestone: str) -> str:
    rows = [[key, *(values[model] for model in MODELS), milestone] for key, values in table["by_model"].items()]
    return _write([by, *MODELS, "milestone"], rows)
