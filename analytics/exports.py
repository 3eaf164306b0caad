"""CSV downloads of the report's tables."""

import csv
import io

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value) -> object:
    """Text that a spreadsheet would run as a formula is prefixed with a quote; numbers
    (negative ones included) stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value


def chart_csv(chart) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralise(column.name) for column in chart.columns])
    for row in chart.rows:
        writer.writerow([neutralise(value) for value in row])
    return buffer.getvalue()
