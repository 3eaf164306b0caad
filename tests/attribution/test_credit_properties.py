"""Every model splits each conversion's one unit of credit (and a won deal's value)
completely, whatever the path: anchors missing, anchors on one touch, ties in time."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from attribution.credit import MILESTONES, Conversion, Touch, attribute, credits, path_of
from attribution.models import MODELS

AT = datetime(2026, 6, 1, 12, tzinfo=UTC)

offsets = st.lists(st.integers(min_value=0, max_value=120 * 24), min_size=1, max_size=12)  # hours before AT
milestone_hours = st.lists(st.one_of(st.none(), st.integers(min_value=0, max_value=120 * 24)), min_size=4, max_size=4)


def build(offsets_in_hours, milestone_at_hours, milestone) -> tuple[Conversion, list[Touch]]:
    touches = [
        Touch(id=index, occurred_at=AT - timedelta(hours=hours), campaign=f"c{index % 3}")
        for index, hours in enumerate(offsets_in_hours)
    ]
    times = {
        name: None if hours is None else AT - timedelta(hours=hours)
        for name, hours in zip(MILESTONES, milestone_at_hours, strict=True)
    }
    times[milestone] = AT
    return Conversion(1, 1, milestone, AT, 1234.5 if milestone == "customer" else 0.0, times), touches


@settings(max_examples=300, deadline=None)
@given(offsets, milestone_hours, st.sampled_from(MILESTONES), st.sampled_from(MODELS))
def test_every_model_splits_exactly_one_unit_of_credit(offsets_in_hours, milestone_at_hours, milestone, model):
    conversion, touches = build(offsets_in_hours, milestone_at_hours, milestone)
    path = path_of(conversion, touches, window_days=90)
    if not path:
        return
    shares = credits(model, conversion, path, half_life_days=7)
    assert len(shares) == len(path)
    assert all(share >= 0 for share in shares)
    assert abs(sum(shares) - 1.0) < 1e-9


@settings(max_examples=200, deadline=None)
@given(offsets, milestone_hours, st.sampled_from(MILESTONES))
def test_credits_and_revenue_sum_to_conversions_and_deal_value_with_direct_included(
    offsets_in_hours, milestone_at_hours, milestone
):
    conversion, touches = build(offsets_in_hours, milestone_at_hours, milestone)
    totals = attribute([conversion], {1: touches}, window_days=90, half_life_days=7)
    for model in MODELS:
        assert abs(sum(cell[model][0] for cell in totals.values()) - 1.0) < 1e-9
        assert abs(sum(cell[model][1] for cell in totals.values()) - conversion.value) < 1e-6


def test_a_conversion_with_no_touch_in_its_window_goes_to_direct():
    conversion = Conversion(1, 1, "mql", AT, 0.0, {"mql": AT})
    old_touch = Touch(id=1, occurred_at=AT - timedelta(days=91), campaign="spring", channel="Paid search")
    totals = attribute([conversion], {1: [old_touch]}, window_days=90, half_life_days=7)
    assert list(totals) == [("mql", AT.date(), "", "Direct", "")]
