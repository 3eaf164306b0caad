"""The score-over-time chart, drawn on the server as inline SVG (no JavaScript)."""

from dataclasses import dataclass

WIDTH, HEIGHT, PAD = 600, 160, 24


@dataclass(frozen=True)
class Chart:
    points: str  # the polyline's "x,y x,y ..."
    dots: list[tuple[float, float, int, object]]
    max_score: int
    first: object
    last: object
    width: int = WIDTH
    height: int = HEIGHT
    pad: int = PAD

    @property
    def summary(self) -> str:
        scores = [dot[2] for dot in self.dots]
        return f"Score went from {scores[0]} to {scores[-1]} over {len(scores)} changes, peaking at {max(scores)}."


def _read(entry, *names):
    for name in names:
        value = entry.get(name) if isinstance(entry, dict) else getattr(entry, name, None)
        if value is not None:
            return value
    return None


def score_chart(history) -> Chart | None:
    """`history`: score changes (ScoreChange rows or dicts with `at` and `new_score`
    or `score`), in any order. None when there is nothing to draw."""
    samples = sorted(
        ((_read(entry, "at", "occurred_at"), _read(entry, "new_score", "score")) for entry in history or []),
        key=lambda sample: sample[0],
    )
    samples = [(at, int(score)) for at, score in samples if at is not None and score is not None]
    if not samples:
        return None
    first, last = samples[0][0], samples[-1][0]
    span = (last - first).total_seconds() or 1.0
    top = max(10, -(-max(score for _, score in samples) // 10) * 10)  # the highest score, rounded up to tens
    dots = []
    for at, score in samples:
        x = PAD + (WIDTH - 2 * PAD) * ((at - first).total_seconds() / span if len(samples) > 1 else 0.5)
        y = HEIGHT - PAD - (HEIGHT - 2 * PAD) * score / top
        dots.append((round(x, 1), round(y, 1), score, at))
    points = " ".join(f"{x},{y}" for x, y, _, _ in dots)
    return Chart(points=points, dots=dots, max_score=top, first=first, last=last)
