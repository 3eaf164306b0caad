"""A small server-side SVG renderer: a funnel, horizontal bars and lines.

Every chart is an `<svg role="img">` named by its `<title>` and explained by its
`<desc>`, so a screen reader announces what it shows; the page puts the same numbers
in a table next to it. All text is escaped here, the only place that builds markup.
"""

from collections.abc import Callable, Sequence
from html import escape

from django.utils.safestring import SafeString, mark_safe

PALETTE = ["#2a5bd7", "#1a7f37", "#b35c00", "#b42318", "#6f42c1", "#0b7285"]
WIDTH = 680
FONT = 'font-family="system-ui, sans-serif" font-size="13"'


def _number(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def _open(key: str, title: str, description: str, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="report-chart" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" aria-labelledby="{key}-title {key}-desc" {FONT}>',
        f'<title id="{key}-title">{escape(title)}</title>',
        f'<desc id="{key}-desc">{escape(description)}</desc>',
    ]


def _legend(series_names: Sequence[str], y: int) -> list[str]:
    parts, x = [], 10
    for index, name in enumerate(series_names):
        color = PALETTE[index % len(PALETTE)]
        parts.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{color}"/>')
        parts.append(f'<text x="{x + 16}" y="{y}" fill="#1b2330">{escape(name)}</text>')
        x += 28 + 7 * len(name)
    return parts


def _clip(label: str, length: int = 26) -> str:
    return label if len(label) <= length else label[: length - 1] + "…"


def funnel_chart(*, key: str, title: str, description: str, steps: Sequence[tuple[str, float]]) -> SafeString:
    """Centred bars, widest first: how many reached each step."""
    row, top, label_width = 34, 10, 190
    height = top + row * max(len(steps), 1) + 10
    area = WIDTH - label_width - 70
    peak = max((value or 0 for _, value in steps), default=0) or 1
    parts = _open(key, title, description, height)
    for index, (label, value) in enumerate(steps):
        y = top + index * row
        width = max(area * (value or 0) / peak, 1)
        x = label_width + (area - width) / 2
        color = PALETTE[0]
        parts.append(f'<text x="10" y="{y + 20}" fill="#1b2330">{escape(_clip(label))}</text>')
        parts.append(f'<rect x="{x:.1f}" y="{y + 4}" width="{width:.1f}" height="{row - 8}" rx="3" fill="{color}"/>')
        parts.append(
            f'<text x="{label_width + area + 8}" y="{y + 20}" fill="#1b2330" font-weight="600">'
            f"{escape(_number(value))}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def bar_chart(
    *,
    key: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    value_format: Callable[[float | None], str] = _number,
) -> SafeString:
    """Horizontal bars, one group per category and one bar per series."""
    bar, gap, label_width = 14, 10, 190
    legend = 24 if len(series) > 1 else 4
    group = bar * len(series) + gap
    height = legend + group * max(len(categories), 1) + 6
    area = WIDTH - label_width - 90
    peak = max((value or 0 for _, values in series for value in values), default=0) or 1
    parts = _open(key, title, description, height)
    if len(series) > 1:
        parts += _legend([name for name, _ in series], 16)
    if not categories:
        parts.append(f'<text x="10" y="{legend + 14}" fill="#5b6472">No data for this selection.</text>')
    for c_index, category in enumerate(categories):
        y0 = legend + c_index * group
        parts.append(f'<text x="10" y="{y0 + bar * len(series) / 2 + 4:.1f}" fill="#1b2330">')
        parts.append(f"{escape(_clip(category))}</text>")
        for s_index, (_, values) in enumerate(series):
            value = values[c_index] if c_index < len(values) else None
            y = y0 + s_index * bar
            width = area * (value or 0) / peak
            color = PALETTE[s_index % len(PALETTE)]
            parts.append(f'<rect x="{label_width}" y="{y}" width="{width:.1f}" height="{bar - 2}" fill="{color}"/>')
            parts.append(
                f'<text x="{label_width + width + 6:.1f}" y="{y + bar - 3}" fill="#1b2330" font-size="11">'
                f"{escape(value_format(value))}</text>"
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def line_chart(
    *,
    key: str,
    title: str,
    description: str,
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
) -> SafeString:
    """One line per series over `x_labels` (days or weeks), y from zero."""
    height, left, right, top, bottom = 260, 52, WIDTH - 16, 34, 222
    peak = max((value or 0 for _, values in series for value in values), default=0)
    peak = _nice_ceiling(peak)
    count = max(len(x_labels), 1)
    parts = _open(key, title, description, height)
    parts += _legend([name for name, _ in series], 16)

    def x_at(index: int) -> float:
        return left + (right - left) * (index / (count - 1) if count > 1 else 0.5)

    def y_at(value: float) -> float:
        return bottom - (bottom - top) * (value / peak if peak else 0)

    for tick in range(5):
        value = peak * tick / 4
        y = y_at(value)
        parts.append(f'<line x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d9dee5"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#5b6472">{_number(value)}</text>')
    step = max(1, round(count / 6))
    for index in range(0, count, step):
        parts.append(
            f'<text x="{x_at(index):.1f}" y="{bottom + 18}" text-anchor="middle" fill="#5b6472" font-size="11">'
            f"{escape(x_labels[index] if index < len(x_labels) else '')}</text>"
        )
    for s_index, (_, values) in enumerate(series):
        color = PALETTE[s_index % len(PALETTE)]
        points = " ".join(f"{x_at(i):.1f},{y_at(v or 0):.1f}" for i, v in enumerate(values))
        if points:
            parts.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"/>')
    parts.append("</svg>")
    return mark_safe("".join(parts))


def _nice_ceiling(value: float) -> float:
    """The next round number above `value`, so the axis reads 0, 25, 50, 75, 100."""
    if value <= 0:
        return 4
    magnitude = 10 ** (len(str(int(value))) - 1)
    for factor in (1, 2, 4, 5, 8, 10):
        if value <= factor * magnitude:
            return max(factor * magnitude, 4)
    return 10 * magnitude
