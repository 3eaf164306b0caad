import pytest

from analytics.exports import neutralise
from leads.exports import safe_cell


@pytest.mark.parametrize("cell", [" =1+1", "\n=1+1", "\r\n+SUM(A1)", "  @cmd", "\t-2+3"])
def test_a_formula_after_leading_whitespace_or_line_breaks_is_neutralised(cell):
    assert safe_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", [" =1+1", "\n=1+1"])
def test_the_report_csv_neutralises_a_formula_after_leading_whitespace(cell):
    assert neutralise(cell) == "'" + cell


def test_plain_text_and_numbers_are_left_alone():
    assert safe_cell(" Ada Lovelace") == " Ada Lovelace"
    assert neutralise(-3) == -3
