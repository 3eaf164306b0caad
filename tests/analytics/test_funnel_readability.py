"""The funnel report answers its questions at a glance: conversion between stages on
the chart, campaigns by customers and won value, counts next to rates, low-n bands
greyed out, and axes with units, round ticks, whole counts, days/hours and currency."""

import pytest

from analytics.charts import chart_label, hours_text, nice_ticks

pytestmark = pytest.mark.django_db

MARCH = "?from=2026-03-01&to=2026-03-31"


def report_page(client, marketer) -> str:
    client.force_login(marketer)
    return client.get("/analytics/funnel/" + MARCH).content.decode()


def chart_svg(page: str, key: str) -> str:
    return page.split(f'aria-labelledby="{key}-title')[1].split("</svg>")[0]


def test_the_funnel_chart_shows_the_stage_to_stage_conversion_with_its_counts(client, marketer, story):
    svg = chart_svg(report_page(client, marketer), "conversion")
    assert "↓ 66.7% went on (4 of 6)" in svg


def test_campaigns_are_ranked_by_customers_with_their_won_value(client, marketer, story):
    page = report_page(client, marketer)
    table = page.split('data-chart="campaigns"')[1].split("</table>")[0]
    rows = table.split("<tbody>")[1]
    assert rows.index("spring") < rows.index("autumn")
    spring = rows.split('<th scope="row">spring</th>')[1].split("</tr>")[0]
    assert "<td>1</td>" in spring and "<td>10,000 EUR</td>" in spring
    assert "spring · 10,000 EUR" in chart_svg(page, "campaigns")


def test_score_bands_say_their_n_and_small_ones_are_greyed_out(client, marketer, story):
    page = report_page(client, marketer)
    svg = chart_svg(page, "accuracy-bands")
    assert "(n=" in svg
    assert "#aab3bf" in svg  # every band in the story has fewer than 10 MQLs
    assert 'class="muted" title="Too few to mean much yet"' in page.split('data-chart="accuracy-bands"')[1]


def test_the_cohort_axis_is_in_percent_with_round_ticks(client, marketer, story):
    svg = chart_svg(report_page(client, marketer), "cohorts")
    assert "% of the week" in svg
    assert "12.5" not in svg and "37.5" not in svg


def test_hand_off_counts_are_whole_and_times_read_as_hours(client, marketer, story):
    page = report_page(client, marketer)
    table = page.split('data-chart="handoff"')[1].split("</table>")[0]
    assert ".00<" not in table
    assert "First touch, median</th><td>" in table
    median = table.split("First touch, median</th><td>")[1].split("</td>")[0]
    assert median == "–" or median.endswith(("h", "min", "d")) or " h " in median


@pytest.mark.parametrize(
    ("peak", "ticks"),
    [(50, [0, 20, 40, 60]), (3, [0, 1, 2, 3]), (435, [0, 200, 400, 600]), (100, [0, 25, 50, 75, 100])],
)
def test_axis_ticks_are_round_numbers(peak, ticks):
    assert nice_ticks(peak) == ticks


@pytest.mark.parametrize(("hours", "text"), [(0.75, "45 min"), (5.5, "5 h 30 min"), (336.4, "14 d"), (50, "2 d 2 h")])
def test_durations_read_as_days_hours_and_minutes(hours, text):
    assert hours_text(hours) == text


@pytest.mark.parametrize(
    ("label", "shown"),
    [
        ("Sales accepted (SAL) (n=225)", "Sales accepted (SAL) (n=225)"),
        ("Marketing qualified (MQL) (n=1,234)", "Marketing qualified… (n=1,234)"),
        ("webinar-series · 392,400 EUR", "webinar-series · 392,400 EUR"),
        ("a-very-long-campaign-name-indeed · 1,392,400 EUR", "a-very-long-c… · 1,392,400 EUR"),
        ("Customer (n=49)", "Customer (n=49)"),
        ("Sales cycle (to customer) (n=104)", "Sales cycle… (n=104)"),
    ],
)
def test_a_long_chart_label_is_shortened_in_its_name_never_in_its_count_or_money(label, shown):
    assert chart_label(label) == shown
    assert len(shown) <= 30


def test_the_report_charts_keep_every_n_and_currency_of_long_labels(client, marketer, story):
    from leads.stages import Stage

    page = report_page(client, marketer)
    time_in_stage = chart_svg(page, "time-in-stage")
    assert f"{Stage.SAL.label}"[:5] in time_in_stage
    for text in time_in_stage.split("<text")[1:]:
        label = text.split(">", 1)[1].split("<", 1)[0]
        if label.startswith(("Sales", "Marketing")):
            assert "(n=" in label and label.endswith(")"), label


def test_week_axes_write_dates_as_the_pages_do(client, marketer, story):
    import re

    svg = chart_svg(report_page(client, marketer), "cohorts")
    assert not re.search(r"\d{4}-\d{2}-\d{2}", svg)
    assert re.search(r">\d{1,2} (Feb|Mar) 2026<", svg)
