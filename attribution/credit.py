"""The seven attribution models, in plain Python: the reference the set-based SQL
(`attribution.sql`) must agree with, and what a lead's touch path is computed with.

A conversion is a milestone of one cycle of a lead, at a time `at`:

    lead       the cycle's first entry into lead generation or a later stage
    mql        the cycle's first entry into MQL or a later stage
    sql        the cycle's deal opened (its created_at)
    customer   the cycle's deal won (its closed_at), carrying the deal's value

Its path is the lead's touches with at − window ≤ occurred_at ≤ at, ordered by
(occurred_at, touch id), positions 1…n. A model gives shares to anchor positions and
spreads a rest share over the other touches:

    model        anchors (share)                                                rest
    first_touch  first (1)                                                      0
    last_touch   last (1)                                                       0
    linear       —                                                              1
    time_decay   each touch weighs 0.5 ^ ((at − occurred_at) / half-life); credit = weight / Σ weights
    u_shaped     first (.4), lead creation (.4)                                 .2
    w_shaped     first (.3), lead creation (.3), MQL (.3)                       .1
    full_path    first (.225), lead creation (.225), opportunity (.225),        .1
                 close (.225)

The anchor of milestone m (lead creation = lead, MQL = mql, opportunity = sql,
close = customer) is the last touch of the path at or before m's time in the same
cycle. It is missing when m was not reached by the conversion's time or no touch of
the path precedes it. Then:

1. A missing anchor's share is divided equally among the anchors present (the first
   touch is always present, so there is one). Two anchors on one touch both pay it.
2. The rest share is divided equally among the touches that are no anchor; when every
   touch is an anchor, equally among the anchor touches.
3. A conversion with no touch in its window gives its whole credit (and value) to
   "Direct" (no campaign, no source).

So every conversion's credits sum to 1 and its revenue credits to the deal's value.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .models import DIRECT, MODELS

MILESTONES = ["lead", "mql", "sql", "customer"]

# model → ([(anchor, share)], rest); "first"/"last" are positions, the others milestones.
POSITIONAL: dict[str, tuple[list[tuple[str, float]], float]] = {
    "first_touch": ([("first", 1.0)], 0.0),
    "last_touch": ([("last", 1.0)], 0.0),
    "linear": ([], 1.0),
    "u_shaped": ([("first", 0.4), ("lead", 0.4)], 0.2),
    "w_shaped": ([("first", 0.3), ("lead", 0.3), ("mql", 0.3)], 0.1),
    "full_path": ([("first", 0.225), ("lead", 0.225), ("sql", 0.225), ("customer", 0.225)], 0.1),
}


@dataclass(frozen=True)
class Touch:
    id: int
    occurred_at: datetime
    campaign: str = ""
    channel: str = DIRECT
    source: str = ""
    kind: str = ""
    medium: str = ""


@dataclass(frozen=True)
class Conversion:
    lead_id: int
    cycle: int
    milestone: str
    at: datetime
    value: float = 0.0
    # When the cycle reached each milestone (None: not reached).
    times: dict = field(default_factory=dict, hash=False, compare=False)


def path_of(conversion: Conversion, touches: list[Touch], *, window_days: float) -> list[Touch]:
    start = conversion.at - timedelta(days=window_days)
    return sorted(
        (touch for touch in touches if start <= touch.occurred_at <= conversion.at),
        key=lambda touch: (touch.occurred_at, touch.id),
    )


def anchor_position(anchor: str, conversion: Conversion, path: list[Touch]) -> int:
    """1-based position of the anchor touch in `path`; 0 when missing."""
    if anchor == "first":
        return 1
    if anchor == "last":
        return len(path)
    reached = conversion.times.get(anchor)
    if reached is None or reached > conversion.at:
        return 0
    return sum(1 for touch in path if touch.occurred_at <= reached)


def credits(model: str, conversion: Conversion, path: list[Touch], *, half_life_days: float) -> list[float]:
    """Credit of each touch of `path` (non-empty) under `model`."""
    n = len(path)
    if model == "time_decay":
        weights = [
            0.5 ** ((conversion.at - touch.occurred_at).total_seconds() / 86400.0 / half_life_days) for touch in path
        ]
        total = sum(weights)
        return [weight / total for weight in weights]
    anchors, rest = POSITIONAL[model]
    positions = [(anchor_position(name, conversion, path), share) for name, share in anchors]
    present = [(position, share) for position, share in positions if position > 0]
    missing = sum(share for position, share in positions if position == 0)
    result = [0.0] * n
    for position, share in present:
        result[position - 1] += share + missing / len(present)
    anchor_touches = {position for position, _ in present}
    others = [index for index in range(1, n + 1) if index not in anchor_touches]
    receivers = others or sorted(anchor_touches)
    for index in receivers:
        result[index - 1] += rest / len(receivers)
    return result


Key = tuple[str, object, str, str, str]  # milestone, day, campaign, channel, source


def attribute(
    conversions: list[Conversion], touches_by_lead: dict[int, list[Touch]], *, window_days: float, half_life_days: float
) -> dict[Key, dict[str, list[float]]]:
    """Every conversion's credits summed per (milestone, day, campaign, channel, source):
    {key: {model: [credit, revenue]}}: what the summary table holds, computed plainly."""
    totals: dict[Key, dict[str, list[float]]] = defaultdict(lambda: {model: [0.0, 0.0] for model in MODELS})
    for conversion in conversions:
        path = path_of(conversion, touches_by_lead.get(conversion.lead_id, []), window_days=window_days)
        day = conversion.at.date()
        if not path:
            for model in MODELS:
                cell = totals[(conversion.milestone, day, "", DIRECT, "")][model]
                cell[0] += 1.0
                cell[1] += conversion.value
            continue
        for model in MODELS:
            for touch, credit in zip(
                path, credits(model, conversion, path, half_life_days=half_life_days), strict=True
            ):
                cell = totals[(conversion.milestone, day, touch.campaign, touch.channel, touch.source)][model]
                cell[0] += credit
                cell[1] += credit * conversion.value
    return dict(totals)
