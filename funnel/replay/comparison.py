"""The replay compared with its source, lead by lead.

Per lead: its score, whether and into whom it was merged, its moves after creation
(cycle, from, to, kind, who, in the order they were written: the scorer's crossings and new cycles are recomputed, the
others replayed), its alerts (cycle, crossing, score, state, reject reason) and its
deals (cycle, state, value, currency). An erased lead's events are gone from the log, so
it is compared as erased. Timestamps are not compared: recomputed rows record when the
replay ran.
"""

from collections import Counter
from dataclasses import dataclass, field

from django.db import connection

SHOWN = 20

_QUERIES = {
    "score": "SELECT id, score FROM leads_lead WHERE erased_at IS NULL",
    "merged_into": "SELECT id, merged_into_id FROM leads_lead WHERE erased_at IS NULL",
    "transitions": (
        "SELECT lead_id, cycle, from_stage, to_stage, kind, actor_kind FROM leads_stagetransition "
        "WHERE from_stage <> '' ORDER BY lead_id, id"
    ),
    "alerts": (
        "SELECT lead_id, cycle, crossing, score, status, reject_reason FROM sales_salesalert "
        "ORDER BY lead_id, cycle, crossing"
    ),
    "deals": "SELECT lead_id, cycle, status, value, currency FROM leads_deal ORDER BY lead_id, cycle",
}
_ERASED = "SELECT id FROM leads_lead WHERE erased_at IS NOT NULL"


@dataclass
class Comparison:
    leads: int = 0
    identical: int = 0
    differences: list[str] = field(default_factory=list)
    differing_parts: Counter = field(default_factory=Counter)

    @property
    def ratio(self) -> float:
        return self.identical / self.leads if self.leads else 1.0


def outcomes(cursor) -> dict[int, dict]:
    """Every lead's outcome, read in one pass per table."""
    cursor.execute(_ERASED)
    by_lead: dict[int, dict] = {lead_id: {"erased": True} for (lead_id,) in cursor.fetchall()}
    for part in ("score", "merged_into"):
        cursor.execute(_QUERIES[part])
        for lead_id, value in cursor.fetchall():
            by_lead.setdefault(lead_id, {"transitions": [], "alerts": [], "deals": []})[part] = value
    for part in ("transitions", "alerts", "deals"):
        cursor.execute(_QUERIES[part])
        for lead_id, *values in cursor.fetchall():
            outcome = by_lead.get(lead_id)
            if outcome is not None and "erased" not in outcome:
                outcome[part].append(tuple(values))
    return by_lead


def compare(source) -> Comparison:
    with source.cursor() as cursor:
        original = outcomes(cursor)
    with connection.cursor() as cursor:
        replayed = outcomes(cursor)
    result = Comparison(leads=len(original))
    for lead_id in sorted(original):
        expected, got = original[lead_id], replayed.get(lead_id, {"missing": True})
        if got == expected:
            result.identical += 1
            continue
        parts = sorted(name for name in expected.keys() | got.keys() if expected.get(name) != got.get(name))
        result.differing_parts.update(parts)
        if len(result.differences) < SHOWN:
            why = "; ".join(f"{name}: source {expected.get(name)} · replay {got.get(name)}" for name in parts)
            result.differences.append(f"lead {lead_id} differs in {why}")
    return result
