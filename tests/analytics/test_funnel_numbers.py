"""The report's numbers against the story in conftest.py, worked out by hand."""

from datetime import date

import pytest

from analytics.selectors import ReportFilters, funnel_report, weighted_percentile
from tests.analytics.conftest import MARCH

pytestmark = pytest.mark.django_db


def by_stage(rows):
    return {row["stage"]: row for row in rows}


@pytest.mark.smoke
def test_stage_conversion_counts_first_entries_per_cycle_and_who_went_further(story):
    conversion = by_stage(funnel_report(MARCH)["conversion"])
    # lead_gen: A (twice: cycles 1 and 2), B, C, D, E; went on: A, B, C (nurture), E (sql).
    assert conversion["lead_gen"]["entered"] == 6
    assert conversion["lead_gen"]["reached_next"] == 4
    assert conversion["lead_gen"]["next_rate"] == pytest.approx(4 / 6, abs=1e-4)
    assert conversion["lead_gen"]["customer_rate"] == pytest.approx(1 / 6, abs=1e-4)


def test_a_lead_sent_back_to_nurture_has_not_reached_the_next_stage(story):
    conversion = by_stage(funnel_report(MARCH)["conversion"])
    # MQL: A and C were accepted (SAL), B was rejected back to nurture.
    assert (conversion["mql"]["entered"], conversion["mql"]["reached_next"]) == (3, 2)
    # SQL: A won, E was lost back to nurture.
    assert (conversion["sql"]["entered"], conversion["sql"]["reached_next"]) == (2, 1)
    assert conversion["sql"]["customer_rate"] == 0.5


def test_customer_stage_has_no_next_stage(story):
    customer = by_stage(funnel_report(MARCH)["conversion"])["customer"]
    assert customer["entered"] == 1
    assert customer["next_rate"] is None


def test_time_in_stage_gives_median_and_90th_percentile_of_finished_stays(story):
    stages = by_stage(funnel_report(MARCH)["time_in_stage"]["stages"])
    # Lead generation stays: A 24 h, C 24 h, B 48 h, E 72 h (A's second cycle is still running).
    assert stages["lead_gen"]["count"] == 4
    assert stages["lead_gen"]["median_hours"] == 36.0
    assert stages["lead_gen"]["p90_hours"] == 64.8
    # SQL: E 72 h (lost), A 120 h (won).
    assert (stages["sql"]["median_hours"], stages["sql"]["p90_hours"]) == (96.0, 115.2)


def test_sales_cycle_runs_from_the_cycles_start_to_customer(story):
    sales_cycle = funnel_report(MARCH)["time_in_stage"]["sales_cycle"]
    assert sales_cycle == {"count": 1, "median_hours": 240.0, "p90_hours": 240.0}


def test_weekly_cohorts_show_how_far_each_capture_week_has_come(story):
    cohorts = funnel_report(MARCH)["cohorts"]
    assert [row["week"] for row in cohorts] == ["2026-03-02", "2026-03-09"]
    first = cohorts[0]
    assert first["leads"] == 4  # A, B, C, E; F was captured in January
    assert first["reached"] == {"lead_gen": 4, "mql": 4, "sal": 3, "sql": 2, "customer": 1}
    assert cohorts[1]["reached"]["mql"] == 0


@pytest.mark.smoke
def test_handoff_shows_acceptance_sla_and_rejection_reasons(story):
    handoff = funnel_report(MARCH)["handoff"]
    assert (handoff["raised"], handoff["accepted"], handoff["rejected"]) == (3, 2, 1)
    assert handoff["acceptance_rate"] == pytest.approx(2 / 3, abs=1e-4)
    # A (2 h) and C (1 h) were handled within the 8 h SLA, B (10 h) was not.
    assert (handoff["sla_met"], handoff["sla_due"]) == (2, 3)
    assert handoff["rejection_reasons"] == [{"reason": "no_budget", "count": 1}]


def test_time_to_first_touch_ignores_activities_before_the_alert(story):
    first_touch = funnel_report(MARCH)["handoff"]["first_touch"]
    # A: the call a day before the alert does not count; the one 3 h after does. C: 5 h.
    assert first_touch == {"count": 2, "median_hours": 4.0, "p90_hours": 4.8}


def test_close_shows_proposals_deals_and_values(story):
    close = funnel_report(MARCH)["close"]
    assert (close["proposals_sent"], close["proposals_accepted"]) == (2, 1)
    assert (close["won"], close["lost"], close["closure_rate"]) == (1, 1, 0.5)
    assert (close["opened_value"], close["won_value"], close["open_value"]) == (15000.0, 10000.0, 0)


def test_calls_and_meetings_are_counted_per_rep_and_per_won_deal(story):
    close = funnel_report(MARCH)["close"]
    reps = {rep["name"]: rep for rep in close["reps"]}
    assert (reps["rep1"]["calls"], reps["rep1"]["meetings"], reps["rep1"]["touches_per_won"]) == (2, 1, 3.0)
    assert (reps["rep2"]["calls"], reps["rep2"]["meetings"], reps["rep2"]["touches_per_won"]) == (1, 1, None)
    assert close["calls_and_meetings_per_won"] == 5.0  # the email is not a call or meeting


def test_engagement_rates_come_from_the_event_log(story):
    rates = funnel_report(MARCH)["engagement"]["rates"]
    assert rates["email_open_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert rates["email_click_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert rates["landing_page_conversion"] == pytest.approx(1 / 6, abs=1e-4)
    assert rates["webinar_attendance_rate"] == 0.5
    # No ad platform sent impressions, so there is no click-through rate to show.
    assert rates["ad_click_through_rate"] is None


def test_an_events_own_campaign_wins_over_the_leads_campaign(story):
    campaigns = {row["campaign"]: row for row in funnel_report(MARCH)["engagement"]["by_campaign"]}
    assert campaigns["spring-mail"]["email_clicked"] == 1
    assert campaigns["li-ads"]["ad_clicked"] == 1
    assert campaigns["spring"]["page_view"] == 6


def test_nps_counts_valid_scores_only(story):
    delight = funnel_report(MARCH)["delight"]
    # 10 promoter, 7 passive, "3" detractor; 11 and "abc" are not scores.
    assert delight["nps"] == {"responses": 3, "promoters": 1, "passives": 1, "detractors": 1, "score": 0.0}
    assert delight["new_cycles"] == 1


def test_scoring_accuracy_by_score_band(story):
    bands = {row["band_start"]: row for row in funnel_report(MARCH)["scoring_accuracy"]["by_score_band"]}
    assert (bands[50]["raised"], bands[50]["accepted"]) == (1, 0)
    assert (bands[60]["accepted"], bands[60]["qualified"], bands[60]["won"]) == (1, 1, 1)
    assert (bands[70]["accepted"], bands[70]["qualified"], bands[70]["won"]) == (1, 0, 0)


def test_scoring_accuracy_by_rule_uses_each_alerts_contributions(story):
    rules = {row["rule"]: row for row in funnel_report(MARCH)["scoring_accuracy"]["by_rule"]}
    pricing = rules["1"]
    assert pricing["label"] == "Visited pricing"
    assert (pricing["raised"], pricing["accepted"], pricing["qualified"], pricing["won"]) == (3, 2, 1, 1)
    assert (rules["3"]["raised"], rules["3"]["accepted"], rules["3"]["won"]) == (2, 1, 0)


def test_filtering_by_source_keeps_only_that_sources_leads(story):
    report = funnel_report(ReportFilters(start=MARCH.start, end=MARCH.end, source="linkedin"))
    assert by_stage(report["conversion"])["lead_gen"]["entered"] == 2  # C and E
    assert report["handoff"]["raised"] == 1  # C


def test_filtering_by_owner_follows_the_deal_and_activity_owner(story):
    report = funnel_report(ReportFilters(start=MARCH.start, end=MARCH.end, owner_id=story.rep2.pk))
    assert (report["close"]["won"], report["close"]["lost"]) == (0, 1)
    assert [rep["name"] for rep in report["close"]["reps"]] == ["rep2"]


def test_the_date_range_leaves_out_what_happened_outside_it(story):
    january = funnel_report(ReportFilters(start=date(2026, 1, 1), end=date(2026, 1, 31)))
    assert by_stage(january["conversion"])["mql"]["entered"] == 1  # F
    assert january["handoff"]["raised"] == 1
    assert january["handoff"]["still_open"] == 1


def test_weighted_percentile_interpolates_like_percentile_cont():
    assert weighted_percentile([(10, 1), (20, 1), (30, 2)], 0.5) == 25
    assert weighted_percentile([(5, 3)], 0.9) == 5
    assert weighted_percentile([], 0.5) is None


@pytest.mark.postgres
def test_medians_equal_postgres_percentile_cont_over_every_stay(story):
    from django.db import connection

    from tests.services import need_postgres

    need_postgres()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT stage, percentile_cont(0.5) WITHIN GROUP (ORDER BY hours),
                   percentile_cont(0.9) WITHIN GROUP (ORDER BY hours)
            FROM (SELECT t.to_stage AS stage,
                         ROUND(EXTRACT(EPOCH FROM (LEAD(t.occurred_at) OVER w - t.occurred_at)) / 3600.0) AS hours,
                         LEAD(t.occurred_at) OVER w AS ended_at
                  FROM leads_stagetransition t
                  WINDOW w AS (PARTITION BY t.lead_id ORDER BY t.occurred_at, t.id)) s
            WHERE ended_at >= '2026-03-01' AND ended_at < '2026-04-01'
            GROUP BY stage
            """
        )
        reference = {stage: (median, p90) for stage, median, p90 in cursor.fetchall()}
    stages = by_stage(funnel_report(MARCH)["time_in_stage"]["stages"])
    for stage, (median, p90) in reference.items():
        assert stages[stage]["median_hours"] == pytest.approx(median)
        assert stages[stage]["p90_hours"] == pytest.approx(p90)


def test_refreshing_twice_gives_the_same_numbers(story):
    from analytics.services import refresh_analytics

    before = funnel_report(MARCH)
    refresh_analytics()
    after = funnel_report(MARCH)
    before.pop("refreshed_at"), after.pop("refreshed_at")
    assert before == after


def test_the_refresh_command_rebuilds_the_summaries(db):
    from django.core.management import call_command

    from analytics.models import AnalyticsRefresh, StageEntryDaily
    from tests.analytics.conftest import build_story

    build_story()
    call_command("refresh_analytics")
    assert AnalyticsRefresh.objects.get().refreshed_at is not None
    assert StageEntryDaily.objects.exists()


def _plain_sums(filters, key):
    from django.db.models import Sum

    from analytics.models import EngagementDaily

    rows = filters.apply(EngagementDaily.objects).values(key, "type").annotate(n=Sum("events")).order_by()
    return sorted((row[key], row["type"], row["n"]) for row in rows)


@pytest.mark.postgres
@pytest.mark.parametrize("source", ["", "website"])
def test_the_one_grouping_sets_query_sums_engagement_as_three_group_bys_would(story, source):
    from analytics.selectors import _engagement_sums
    from tests.services import need_postgres

    need_postgres()
    filters = ReportFilters(start=MARCH.start, end=MARCH.end, source=source)
    by_day, by_source, by_campaign = _engagement_sums(filters)
    assert by_day, "the story has engagement in March"
    assert sorted(by_day) == _plain_sums(filters, "day")
    assert sorted(by_source) == _plain_sums(filters, "source")
    assert sorted(by_campaign) == _plain_sums(filters, "campaign")


@pytest.mark.postgres
def test_a_refresh_leaves_the_planner_counting_the_new_summary_rows(story):
    from django.db import connection

    from analytics.models import EngagementDaily
    from tests.services import need_postgres

    need_postgres()
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [EngagementDaily._meta.db_table])
        assert cursor.fetchone()[0] == EngagementDaily.objects.count() > 0
