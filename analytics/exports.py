"""CSV downloads of the report's tables."""

import csv
import io

from leads.exports import safe_cell


def neutralise(value) -> object:
    """Text that a spreadsheet would run as a formula is prefixed with a quote (one rule
    for every CSV: leads.exports.safe_cell); numbers (negative ones included) stay numbers."""
    if isinstance(value, str):
        return safe_cell(value)
    return "" if value is None else value


def chart_csv(chart) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralise(column.name) for column in chart.columns])
    for row in chart.rows:
        writer.writerow([neutralise(value) for value in row])
    return buffer.getvalue()
