"""Small multiples: one bar chart per model of how the chosen milestone's credit splits
over the top keys. Only numbers and coordinates here; the SVG is in a template."""

from dataclasses import dataclass

from .models import MODELS, AttributionModel

WIDTH, BAR_HEIGHT, GAP, LABEL_WIDTH, TOP = 300, 16, 6, 120, 4
MAX_KEYS = 8


@dataclass(frozen=True)
class Bar:
    key: str
    value: float
    y: int
    width: float
    label_y: int


@dataclass(frozen=True)
class SmallMultiple:
    model: str
    label: str
    bars: list
    height: int
    selected: bool


def small_multiples(
    by_model: dict[str, dict[str, float]], *, selected_model: str
) -> tuple[list[str], list[SmallMultiple]]:
    """Keys in the table's order (top MAX_KEYS), one chart per model on a shared scale,
    so a bar growing from one chart to the next is credit moving between models."""
    keys = list(by_model)[:MAX_KEYS]
    largest = max((by_model[key][model] for key in keys for model in MODELS), default=0.0) or 1.0
    span = WIDTH - LABEL_WIDTH - 50
    charts = []
    for model in MODELS:
        bars = []
        for index, key in enumerate(keys):
            y = TOP + index * (BAR_HEIGHT + GAP)
            value = by_model[key][model]
            bars.append(
                Bar(key=key, value=value, y=y, width=round(span * value / largest, 2), label_y=y + BAR_HEIGHT - 4)
            )
        height = TOP * 2 + len(keys) * (BAR_HEIGHT + GAP)
        charts.append(
            SmallMultiple(
                model=model,
                label=AttributionModel(model).label,
                bars=bars,
                height=height,
                selected=model == selected_model,
            )
        )
    return keys, charts


GEOMETRY = {"width": WIDTH, "bar_height": BAR_HEIGHT, "label_width": LABEL_WIDTH}
