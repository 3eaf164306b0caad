"""What the model may know about a lead at a moment T, as readable one-hot features.

The raw facts at T come from two places only:
- events with `occurred_at <= T` (counted per group in the last 7/30/90 days, and the
  days since the last of them) — `load_events` reads no later event, and
  `count_events` drops any that a caller passes in;
- the lead's fields (title, company size, country, source), its stage and cycle at T
  (from its transitions up to T), and the rule score at T.

Funnel keeps no history of a lead's profile fields, so they are read as they are now;
a lead created after T is never in a snapshot at T. Each raw fact is binned and
one-hot encoded, so the model's logit is its intercept plus one coefficient per active
feature: that sum is the explanation.
"""

from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
from scipy import sparse

from ..computation import as_text

DAY = 86400.0
WINDOWS = (7, 30, 90)
HORIZON_DAYS = 90

# Event groups the model counts: (key, label, SQL condition on `e`). The first match wins.
# `event_group` below is the same list in Python (the reference, and the portable path);
# a test holds the two to the same rows.
EVENT_GROUPS = [
    ("pricing", "Pricing page", "e.type = 'page_view' AND e.properties ->> 'url' ILIKE '%%pricing%%'"),
    ("demo", "Demo request", "e.type = 'form_submitted' AND e.properties ->> 'form' ILIKE '%%demo%%'"),
    ("page", "Page view", "e.type = 'page_view'"),
    ("form", "Form submitted", "e.type = 'form_submitted'"),
    ("email_open", "Email opened", "e.type = 'email_opened'"),
    ("email_click", "Email clicked", "e.type = 'email_clicked'"),
    ("content", "Content downloaded", "e.type = 'content_downloaded'"),
    ("webinar_reg", "Webinar registration", "e.type = 'webinar_registered'"),
    ("webinar", "Webinar attended", "e.type = 'webinar_attended'"),
    ("ad", "Ad clicked", "e.type = 'ad_clicked'"),
    ("unsubscribed", "Unsubscribed", "e.type = 'unsubscribed'"),
]
GROUP_KEYS = [key for key, _label, _sql in EVENT_GROUPS]
GROUP_TYPES = ["page_view", "form_submitted", "email_opened", "email_clicked", "content_downloaded"]
GROUP_TYPES += ["webinar_registered", "webinar_attended", "ad_clicked", "unsubscribed"]
GROUP_CASE = (
    "CASE "
    + " ".join(f"WHEN {condition} THEN {index}" for index, (_key, _label, condition) in enumerate(EVENT_GROUPS))
    + " END"
)
# The reference of GROUP_CASE: (type, the property that must contain the needle, needle).
_GROUP_RULES = [
    ("page_view", "url", "pricing"),
    ("form_submitted", "form", "demo"),
    ("page_view", None, None),
    ("form_submitted", None, None),
    ("email_opened", None, None),
    ("email_clicked", None, None),
    ("content_downloaded", None, None),
    ("webinar_registered", None, None),
    ("webinar_attended", None, None),
    ("ad_clicked", None, None),
    ("unsubscribed", None, None),
]


def event_group(event_type: str, properties) -> int | None:
    """The index in EVENT_GROUPS of an event (None: not counted), as GROUP_CASE decides it:
    a property is read as PostgreSQL's `->>` renders it, and ILIKE is a case-blind
    substring test."""
    for index, (group_type, field, needle) in enumerate(_GROUP_RULES):
        if event_type != group_type:
            continue
        if field is None:
            return index
        value = as_text((properties or {}).get(field)) if isinstance(properties, dict) else None
        if value is not None and needle in value.lower():
            return index
    return None


# Count bins: (lowest, highest or None, how it reads). Zero is the baseline (no feature).
COUNT_BINS = [(1, 1, "once"), (2, 3, "2–3×"), (4, None, "4× or more")]
RECENCY_BINS = [(0, 7, "Engaged in the last 7 days"), (7, 30, "Last engaged 8–30 days ago")]
RECENCY_BINS += [(30, 90, "Last engaged 31–90 days ago"), (90, None, "No activity for over 90 days")]
SIZE_BANDS = [(1, 49, "1–49"), (50, 199, "50–199"), (200, 999, "200–999"), (1000, None, "1,000+")]
SENIORITY = {
    "executive": ("chief", "ceo", "cto", "cfo", "cmo", "coo", "founder", "owner", "president", "vp", "vice president"),
    "director": ("director", "head of", "head"),
    "manager": ("manager", "lead", "principal"),
}
SENIORITY_LABELS = {
    "executive": "Executive title",
    "director": "Director or head title",
    "manager": "Manager title",
    "individual": "Individual contributor title",
    "unknown": "No job title",
}
STAGE_LABELS = {
    "demand_gen": "Anonymous visitor",
    "lead_gen": "In lead generation",
    "nurture": "In nurture",
    "mql": "Marketing qualified",
    "sal": "Accepted by sales",
    "sql": "Sales qualified (open deal)",
}
# A category needs this many training snapshots to get its own feature; rarer
# values share "other", so a coefficient is never learned from a handful of rows.
MIN_CATEGORY_ROWS = 30


@lru_cache(maxsize=4096)
def seniority(title: str | None) -> str:
    if not title:
        return "unknown"
    lowered = title.lower()
    words = set(lowered.replace(",", " ").replace("/", " ").split())
    for level, needles in SENIORITY.items():
        for needle in needles:
            if (" " in needle and needle in lowered) or needle in words:
                return level
    return "individual"


def size_band(size) -> str:
    if size is None:
        return "unknown"
    for low, high, label in SIZE_BANDS:
        if size >= low and (high is None or size <= high):
            return label
    return "unknown"


@dataclass
class RawFacts:
    """The raw facts of n leads at their moments T, row-aligned."""

    lead_ids: np.ndarray
    counts: dict  # window -> (n, groups) int array
    days_since_last: np.ndarray  # float, nan: nothing in 90 days
    seniority: list
    size_band: list
    country: list
    source: list
    stage: list
    cycle: np.ndarray
    rule_score: np.ndarray

    def __len__(self) -> int:
        return len(self.lead_ids)


def count_events(
    *, row_of_event: np.ndarray, group: np.ndarray, seconds: np.ndarray, as_of: np.ndarray, n: int
) -> tuple[dict, np.ndarray]:
    """Counts per (row, group) in each window before each row's moment, and days since
    the row's last event. `row_of_event` maps each event to its snapshot row (-1: not
    in any); `as_of` is each row's moment T in epoch seconds. An event after its row's
    T is dropped here, whatever the caller loaded."""
    keep = row_of_event >= 0
    row, grp, when = row_of_event[keep], group[keep], seconds[keep]
    age = as_of[row] - when
    seen = (age >= 0) & (age < HORIZON_DAYS * DAY)
    row, grp, age = row[seen], grp[seen], age[seen]
    groups = len(EVENT_GROUPS)
    counts = {}
    for window in WINDOWS:
        inside = age < window * DAY
        keys = row[inside] * groups + grp[inside]
        counts[window] = np.bincount(keys, minlength=n * groups).reshape(n, groups).astype(np.int32)
    youngest = np.full(n, np.inf)
    np.minimum.at(youngest, row, age)
    days = np.where(np.isfinite(youngest), youngest / DAY, np.nan)
    return counts, days


@dataclass
class FeatureSpec:
    """The feature columns of one model version: names, labels, and the categories
    learned from its training data. Stored with the model (as JSON)."""

    names: list
    labels: list
    categories: dict  # "country" / "source" -> [values with their own feature]
    score_edges: list  # rule score bins' lower edges

    @classmethod
    def from_training(cls, facts: RawFacts, *, score_edges: list) -> "FeatureSpec":
        categories = {}
        for field in ("country", "source"):
            values, counts = np.unique(np.array(getattr(facts, field), dtype=object), return_counts=True)
            categories[field] = sorted(
                str(v) for v, c in zip(values, counts, strict=True) if v and c >= MIN_CATEGORY_ROWS
            )
        return cls.build(categories=categories, score_edges=score_edges)

    @classmethod
    def build(cls, *, categories: dict, score_edges: list) -> "FeatureSpec":
        names, labels = [], []

        def add(name, label):
            names.append(name)
            labels.append(label)

        for key, label, _sql in EVENT_GROUPS:
            for window in WINDOWS:
                for low, high, how in COUNT_BINS:
                    add(f"{key}_{window}d_{low}{'+' if high is None else ''}", f"{label} {how} in {window} days")
        for low, _high, how in RECENCY_BINS:
            add(f"recency_{low}", how)
        for level, label in SENIORITY_LABELS.items():
            add(f"seniority_{level}", label)
        for _low, _high, label in SIZE_BANDS:
            add(f"size_{label}", f"Company size {label}")
        add("size_unknown", "Company size unknown")
        for field, what in (("country", "Country"), ("source", "Source")):
            for value in categories.get(field, []):
                add(f"{field}={value}", f"{what}: {value}")
            add(f"{field}_other", f"{what}: other")
            add(f"{field}_unknown", f"{what} unknown")
        for stage, label in STAGE_LABELS.items():
            add(f"stage_{stage}", label)
        add("returning_customer", "Returning customer (cycle 2 or later)")
        edges = list(score_edges)
        for index, low in enumerate(edges):
            high = edges[index + 1] - 1 if index + 1 < len(edges) else None
            add(f"rule_score_{low}", f"Rule score {low}–{high}" if high is not None else f"Rule score {low}+")
        return cls(names=names, labels=labels, categories=categories, score_edges=edges)

    @cached_property
    def _count_columns(self) -> dict:
        """window -> (groups, count bins) array of column indices (-1: no such column)."""
        column = {name: index for index, name in enumerate(self.names)}
        table = {}
        for window in WINDOWS:
            grid = np.full((len(GROUP_KEYS), len(COUNT_BINS)), -1, dtype=np.int64)
            for g, key in enumerate(GROUP_KEYS):
                for b, (low, high, _how) in enumerate(COUNT_BINS):
                    grid[g, b] = column.get(f"{key}_{window}d_{low}{'+' if high is None else ''}", -1)
            table[window] = grid
        return table

    def as_json(self) -> dict:
        return {"categories": self.categories, "score_edges": self.score_edges}

    def encode(self, facts: RawFacts) -> sparse.csr_matrix:
        """One row per lead, 1.0 in each active feature's column."""
        column = {name: index for index, name in enumerate(self.names)}
        rows, cols = [], []

        def put(row_index: np.ndarray, name: str):
            if name in column and len(row_index):
                rows.append(row_index)
                cols.append(np.full(len(row_index), column[name]))

        n = len(facts)
        everyone = np.arange(n)
        lowest = np.array([low for low, _high, _how in COUNT_BINS])
        for window in WINDOWS:
            # Which count bin each (lead, group) falls in: 0 is none (the baseline).
            which = np.searchsorted(lowest, facts.counts[window], side="right")
            row_index, group_index = np.nonzero(which)
            columns = self._count_columns[window][group_index, which[row_index, group_index] - 1]
            known = columns >= 0
            rows.append(row_index[known])
            cols.append(columns[known])
        days = np.nan_to_num(facts.days_since_last, nan=np.inf)
        for low, high, _how in RECENCY_BINS:
            hit = (days >= low) & (days < (high if high is not None else np.inf))
            if high is None:
                hit = days >= low
            put(everyone[hit], f"recency_{low}")
        for field, prefix in (("seniority", "seniority_"), ("size_band", "size_"), ("stage", "stage_")):
            values = np.array(getattr(facts, field), dtype=object)
            for value in set(values.tolist()):
                put(everyone[values == value], f"{prefix}{value}")
        for field in ("country", "source"):
            known = set(self.categories.get(field, []))
            values = np.array(getattr(facts, field), dtype=object)
            for value in set(values.tolist()):
                if not value:
                    name = f"{field}_unknown"
                elif value in known:
                    name = f"{field}={value}"
                else:
                    name = f"{field}_other"
                put(everyone[values == value], name)
        put(everyone[facts.cycle > 1], "returning_customer")
        edges = self.score_edges
        for index, low in enumerate(edges):
            high = edges[index + 1] if index + 1 < len(edges) else np.inf
            put(everyone[(facts.rule_score >= low) & (facts.rule_score < high)], f"rule_score_{low}")
        if rows:
            row_index = np.concatenate(rows)
            col_index = np.concatenate(cols)
        else:
            row_index = col_index = np.array([], dtype=np.int64)
        data = np.ones(len(row_index))
        return sparse.csr_matrix(
            (data, (row_index.astype(np.int32), col_index.astype(np.int32))), shape=(n, len(self.names))
        )


def score_edges_for(*, recycle: int, mql: int) -> list:
    """Rule score bins around the thresholds people know: none, below recycle, up to
    MQL, MQL and well above it."""
    return sorted({0, 1, max(2, recycle), max(3, mql), max(4, mql + mql // 2)})
