"""The rescore statement names its chunk's id range only when the ids are a run (a full
rescore's batch, read by primary key through it). Leads an ingest claim marked are
scattered over the table: a range around them made the planner scan the table, and the
event → alert latency at 500 events/s went from 0.7 s to 7 s (bench/latency.py)."""

from datetime import UTC, datetime

from scoring.sql import rescore_statement

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)


def statement_for(lead_ids):
    sql, _params = rescore_statement(rules=[], lead_ids=lead_ids, as_of=NOW, cause="events", mql=50, recycle=25)
    return sql


def test_a_run_of_ids_is_read_through_its_range():
    assert "BETWEEN" in statement_for(list(range(1001, 21001)))


def test_scattered_ids_are_read_by_id_alone():
    assert "BETWEEN" not in statement_for([7, 48_113, 99_870])
