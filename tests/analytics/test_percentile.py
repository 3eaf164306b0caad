"""The histogram percentile (fast: one row per distinct hour) against the plain one
over every value."""

from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.selectors import weighted_percentile


def plain_percentile(values: list[int], fraction: float) -> float:
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


@settings(max_examples=60, deadline=None)
@given(
    histogram=st.lists(st.tuples(st.integers(0, 5000), st.integers(1, 20)), min_size=1, max_size=30),
    fraction=st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]),
)
def test_histogram_percentile_equals_the_percentile_of_every_value(histogram, fraction):
    values = [value for value, count in histogram for _ in range(count)]
    assert abs(weighted_percentile(histogram, fraction) - plain_percentile(values, fraction)) < 1e-9
