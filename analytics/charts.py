"""Server-side SVG charts: a funnel, horizontal bars and lines.

This module works out the geometry (where each bar, tick and label goes, and what the
labels say); the markup lives in templates/analytics/charts/, where Django escapes
every label. Every chart is an `<svg role="img">` named by its `<title>` and explained
by its `<desc>`; the page puts the same numbers in a table next to it.
"""

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils.safestring import SafeString

PALETTE = ["#2a5bd7", "#1a7f37", "#b35c00", "#b42318", "#6f42c1", "#0b7285"]
MUTED = "#aab3bf"
WIDTH = 680


def count_text(value) -> str:
    """Counts are whole numbers: 435, never 435.00."""
    if value is None:
        return "–"
    return f"{round(value):,}"


def percent_text(value) -> str:
    """A share given in percent (0–100)."""
    if value is None:
        return "–"
    return f"{value:.0f}%" if float(value).is_integer() else f"{value:.1f}%"


def hours_text(hours) -> str:
    """A duration as a person says it: “45 min”, “5 h 20 min”, “14 d 3 h”."""
    if hours is None:
        return "–"
    minutes = round(hours * 60)
    days, minutes = divmod(minutes, 24 * 60)
    whole_hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {whole_hours} h" if whole_hours else f"{days} d"
    if whole_hours:
        return f"{whole_hours} h {minutes} min" if minutes else f"{whole_hours} h"
    return f"{minutes} min"


def nice_ticks(peak: float, *, count: int = 4, integer: bool = True) -> list[float]:
    """Round tick values from 0 past `peak`: 0, 25, 50, 75, 100 or 0, 2, 4, 6, never
    12.5 on an axis of whole numbers. Integer axes (counts, percent) never get fractional steps."""
    if not peak or peak <= 0:
        return [0, 1, 2, 3, 4] if integer else [0, 0.25, 0.5, 0.75, 1]
    raw = peak / count
    magnitude = 10 ** math.floor(math.log10(raw))
    steps = [factor * magnitude for factor in (1, 2, 2.5, 5, 10)]
    if integer:
        steps = [step for step in steps if step >= 1 and float(step).is_integer()] or [1]
    step = next((step for step in steps if step >= raw), steps[-1] * 2)
    step = int(step) if integer else step
    top = math.ceil(peak / step) * step
    return [step * index for index in range(int(round(top / step)) + 1)]


# What a label says about its numbers: “ (n=225)” or “ · 392,400 EUR” at its end.
_LABEL_NUMBERS = re.compile(r"( \(n=[\d,]+\)| · [^·]+)$")


def chart_label(label: str, length: int = 30) -> str:
    """A category label that fits its column: a long one is shortened in its name (at a
    word where it can), never in the count or money it ends with (“… (n=225)”)."""
    if len(label) <= length:
        return label
    match = _LABEL_NUMBERS.search(label)
    numbers = match.group(0) if match else ""
    name = label[: len(label) - len(numbers)]
    room = max(length - len(numbers) - 1, 1)
    head = name[:room]
    if len(name) > room and name[room] != " " and " " in head[room // 2 :]:
        head = head[: head.rindex(" ")]
    if head.count("(") > head.count(")"):  # never “Sales cycle (to…”: drop the open bracket
        head = head[: head.rindex("(")]
    return head.rstrip(" (·") + "…" + numbers


@dataclass(frozen=True)
class FunnelStep:
    label: str
    value: float | None
    went_on: float | None = None  # how many of them reached the next step
    rate: float | None = None  # went_on / value, 0–1


def funnel_chart(*, key: str, title: str, description: str, steps: Sequence[FunnelStep]) -> SafeString:
    """Centred bars, widest first, and between two bars the share that went on from
    one stage to the next (with the counts it is made of)."""
    row, gap, top, label_width = 30, 22, 10, 190
    area = WIDTH - label_width - 80
    peak = max((step.value or 0 for step in steps), default=0) or 1
    bars = []
    for index, step in enumerate(steps):
        y = top + index * (row + gap)
        width = max(area * (step.value or 0) / peak, 1)
        conversion = None
        if index < len(steps) - 1 and step.rate is not None:
            conversion = {
                "y": y + row + gap / 2 + 5,
                "text": f"↓ {percent_text(100 * step.rate)} went on ({count_text(step.went_on)} of "
                f"{count_text(step.value)})",
            }
        bars.append(
            {
                "label": chart_label(step.label),
                "label_y": y + 20,
                "x": round(label_width + (area - width) / 2, 1),
                "y": y,
                "width": round(width, 1),
                "height": row,
                "value": count_text(step.value),
                "conversion": conversion,
            }
        )
    height = top + (row + gap) * max(len(steps), 1)
    return render_to_string(
        "analytics/charts/funnel.svg",
        {
            "key": key,
            "title": title,
            "description": description,
            "width": WIDTH,
            "height": height,
            "bars": bars,
            "color": PALETTE[0],
            "value_x": label_width + area + 8,
            "center_x": label_width + area / 2,
        },
    )


def bar_chart(
    *,
    key: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    value_format: Callable[[float | None], str] = count_text,
    muted: Sequence[bool] = (),
    note: str = "",
) -> SafeString:
    """Horizontal bars, one group per category and one bar per series; a category
    marked in `muted` is drawn grey (too few to mean much)."""
    bar, gap, label_width = 14, 10, 235  # room for 30 characters: a name and its n or money
    legend = 24 if len(series) > 1 else 4
    group = bar * len(series) + gap
    area = WIDTH - label_width - 110
    peak = max((value or 0 for _, values in series for value in values), default=0) or 1
    groups = []
    for c_index, category in enumerate(categories):
        y0 = legend + c_index * group
        grey = c_index < len(muted) and muted[c_index]
        rects = []
        for s_index, (_, values) in enumerate(series):
            value = values[c_index] if c_index < len(values) else None
            width = area * (value or 0) / peak
            rects.append(
                {
                    "y": y0 + s_index * bar,
                    "width": round(width, 1),
                    "height": bar - 2,
                    "color": MUTED if grey else PALETTE[s_index % len(PALETTE)],
                    "text_x": round(label_width + width + 6, 1),
                    "text_y": y0 + s_index * bar + bar - 3,
                    "text": value_format(value),
                }
            )
        groups.append(
            {
                "label": chart_label(category),
                "label_y": round(y0 + bar * len(series) / 2 + 4, 1),
                "bars": rects,
                "grey": grey,
            }
        )
    height = legend + group * max(len(categories), 1) + (24 if note else 6)
    return render_to_string(
        "analytics/charts/bars.svg",
        {
            "key": key,
            "title": title,
            "description": description,
            "width": WIDTH,
            "height": height,
            "legend": _legend([name for name, _ in series]) if len(series) > 1 else [],
            "groups": groups,
            "label_width": label_width,
            "empty_y": legend + 14,
            "note": note,
            "note_y": height - 8,
        },
    )


def _legend(names: Sequence[str]) -> list[dict]:
    items, x = [], 10
    for index, name in enumerate(names):
        items.append({"x": x, "text_x": x + 16, "name": name, "color": PALETTE[index % len(PALETTE)]})
        x += 28 + 7 * len(name)
    return items


def line_chart(
    *,
    key: str,
    title: str,
    description: str,
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    unit: str = "",
    tick_format: Callable[[float], str] = count_text,
) -> SafeString:
    """One line per series over `x_labels` (days or weeks), y from zero, the axis
    named by its `unit` and ticked at round values."""
    height, left, right, top, bottom = 270, 56, WIDTH - 30, 34, 222
    peak = max((value or 0 for _, values in series for value in values), default=0)
    ticks = nice_ticks(peak)
    ceiling = ticks[-1] or 1
    count = max(len(x_labels), 1)

    def x_at(index: int) -> float:
        return left + (right - left) * (index / (count - 1) if count > 1 else 0.5)

    def y_at(value: float) -> float:
        return bottom - (bottom - top) * (value / ceiling)

    y_ticks = [
        {"y": round(y_at(value), 1), "text_y": round(y_at(value) + 4, 1), "text": tick_format(value)} for value in ticks
    ]
    step = max(1, math.ceil(count / 6))
    shown = list(range(0, count, step))
    if count > 1 and shown[-1] != count - 1:
        # The last period is the one people look for; it replaces a neighbour too close.
        if count - 1 - shown[-1] < step / 2:
            shown.pop()
        shown.append(count - 1)
    x_ticks = []
    for index in shown:
        anchor = "middle"
        if index == 0 and count > 1:
            anchor = "start"
        elif index == count - 1 and count > 1:
            anchor = "end"
        x_ticks.append(
            {"x": round(x_at(index), 1), "anchor": anchor, "text": x_labels[index] if index < len(x_labels) else ""}
        )
    lines = []
    for s_index, (_, values) in enumerate(series):
        points = " ".join(f"{x_at(i):.1f},{y_at(v or 0):.1f}" for i, v in enumerate(values))
        if points:
            lines.append({"points": points, "color": PALETTE[s_index % len(PALETTE)]})
    return render_to_string(
        "analytics/charts/lines.svg",
        {
            "key": key,
            "title": title,
            "description": description,
            "width": WIDTH,
            "height": height,
            "legend": _legend([name for name, _ in series]),
            "left": left,
            "right": right,
            "tick_text_x": left - 6,
            "x_label_y": bottom + 18,
            "y_ticks": y_ticks,
            "x_ticks": x_ticks,
            "lines": lines,
            "unit": unit,
            "unit_y": (top + bottom) / 2,
        },
    )
