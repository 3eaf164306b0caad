"""Writes of scoring rules and thresholds: every change is a new version, and a change
that can move a score starts a full rescore.

Validation lives here, not in the serializer, so the API, the admin and scripts accept
exactly the same rules; `RuleInvalid.fields` names each field that is wrong.
"""

import math

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from leads.actors import person_name

from .computation import FIT_FIELDS, as_text, is_number
from .defaults import DEFAULT_RULES
from .models import ConditionOp, RuleKind, RuleVersion, ScoringRule, ScoringSettings, ThresholdVersion
from .selectors import scoring_settings
from .services import start_full_rescore

EDITABLE_FIELDS = ["label", "kind", "event_type", "conditions", "points", "daily_cap", "half_life_days", "active"]
MAX_CONDITIONS = 10
MAX_POINTS = 1000
MAX_THRESHOLD = 10000


class RuleInvalid(Exception):
    def __init__(self, fields: dict[str, list[str]]):
        super().__init__("; ".join(f"{name}: {problems[0]}" for name, problems in fields.items()))
        self.fields = fields


def _scalar(value) -> bool:
    return isinstance(value, (str, int, float, bool)) and not (isinstance(value, float) and not math.isfinite(value))


def _normalize_condition(raw, *, kind: str, where: str, errors: dict) -> dict | None:
    if not isinstance(raw, dict):
        errors[where] = ["Each condition is an object with field, op and value."]
        return None
    name, op, value = raw.get("field"), raw.get("op"), raw.get("value")
    bad = len(errors)
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        errors[f"{where}.field"] = ["Name the property (or lead field) to test."]
    elif (
        kind == RuleKind.FIT
        and name not in FIT_FIELDS
        and not (name.startswith("attributes.") and len(name) > len("attributes."))
    ):
        errors[f"{where}.field"] = [f"A fit rule tests one of {', '.join(sorted(FIT_FIELDS))} or attributes.<key>."]
    if op not in ConditionOp.values:
        errors[f"{where}.op"] = [f"Use one of {', '.join(ConditionOp.values)}."]
    if len(errors) > bad:
        return None
    name = name.strip()
    if op == ConditionOp.GTE:
        if not is_number(value) or not math.isfinite(value):
            errors[f"{where}.value"] = ["“gte” compares with a number."]
            return None
        if kind == RuleKind.FIT and FIT_FIELDS.get(name) == "text":
            errors[f"{where}.op"] = [f"{name} is text; “gte” needs a number field."]
            return None
        return {"field": name, "op": op, "value": value}
    if op == ConditionOp.EQUALS:
        if not _scalar(value) or value == "":
            errors[f"{where}.value"] = ["“equals” compares with one non-empty value."]
            return None
        return {"field": name, "op": op, "value": as_text(value)}
    values = value if isinstance(value, list) else [value]
    if not values or len(values) > 100 or not all(_scalar(item) and item != "" for item in values):
        errors[f"{where}.value"] = [f"“{op}” takes a non-empty value or a list of non-empty values."]
        return None
    return {"field": name, "op": op, "value": [as_text(item) for item in values]}


def validate_rule(data: dict) -> dict:
    """The rule's fields, normalized (condition values as text, as they are compared),
    or RuleInvalid naming every field that is wrong."""
    errors: dict[str, list[str]] = {}
    clean: dict = {}
    label = data.get("label")
    if not isinstance(label, str) or not label.strip() or len(label) > 120:
        errors["label"] = ["Give the rule a name of 1–120 characters."]
    else:
        clean["label"] = label.strip()
    kind = data.get("kind")
    if kind not in RuleKind.values:
        errors["kind"] = [f"Use one of {', '.join(RuleKind.values)}."]
        kind = None
    clean["kind"] = kind
    event_type = data.get("event_type") or ""
    if kind == RuleKind.BEHAVIOUR:
        if not isinstance(event_type, str) or not event_type.strip() or len(event_type) > 100:
            errors["event_type"] = ["A behaviour rule names the event type it scores."]
        else:
            clean["event_type"] = event_type.strip()
    else:
        clean["event_type"] = ""
    conditions = data.get("conditions") or []
    if not isinstance(conditions, list) or len(conditions) > MAX_CONDITIONS:
        errors["conditions"] = [f"A list of at most {MAX_CONDITIONS} conditions."]
    elif kind:
        normalized = [
            _normalize_condition(raw, kind=kind, where=f"conditions.{index}", errors=errors)
            for index, raw in enumerate(conditions)
        ]
        clean["conditions"] = [item for item in normalized if item is not None]
    points = data.get("points")
    if not isinstance(points, int) or isinstance(points, bool) or abs(points) > MAX_POINTS:
        errors["points"] = [f"A whole number from −{MAX_POINTS} to {MAX_POINTS}."]
    else:
        clean["points"] = points
    cap = data.get("daily_cap")
    if cap is not None and (not isinstance(cap, int) or isinstance(cap, bool) or cap < 1 or cap > 10000):
        errors["daily_cap"] = ["Empty (no cap) or a whole number from 1 to 10000."]
    else:
        clean["daily_cap"] = cap if kind == RuleKind.BEHAVIOUR else None
    half_life = data.get("half_life_days")
    if half_life is not None and (not is_number(half_life) or not 0 < half_life <= 3650):
        errors["half_life_days"] = ["Empty (the default) or a number of days above 0, at most 3650."]
    else:
        clean["half_life_days"] = float(half_life) if half_life is not None and kind == RuleKind.BEHAVIOUR else None
    active = data.get("active", True)
    if not isinstance(active, bool):
        errors["active"] = ["true or false."]
    else:
        clean["active"] = active
    if errors:
        raise RuleInvalid(errors)
    return clean


def _snapshot(rule: ScoringRule, *, user=None, label: str = "") -> RuleVersion:
    return RuleVersion.objects.create(
        rule=rule,
        version=rule.version,
        position=rule.position,
        changed_by=user,
        changed_by_label=label or (person_name(user) if user else ""),
        **{name: getattr(rule, name) for name in EDITABLE_FIELDS},
    )


def _next_position() -> int:
    return (ScoringRule.objects.filter(archived_at__isnull=True).aggregate(last=Max("position"))["last"] or 0) + 1


def create_rule(*, data: dict, user=None, label: str = "") -> ScoringRule:
    """A new rule goes to the end of the list."""
    clean = validate_rule(data)
    with transaction.atomic():
        rule = ScoringRule.objects.create(version=1, position=_next_position(), **clean)
        _snapshot(rule, user=user, label=label)
        start_full_rescore(cause=f"rule “{rule.label}” created")
    return rule


def update_rule(*, rule: ScoringRule, changes: dict, user=None, label: str = "") -> ScoringRule:
    """Apply `changes` as the rule's next version; nothing changes, no version."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise RuleInvalid({name: ["This field cannot be changed."] for name in sorted(unknown)})
    with transaction.atomic():
        # The row lock numbers concurrent edits 2, 3, … instead of two version 2s.
        locked = ScoringRule.objects.select_for_update().get(pk=rule.pk)
        current = {name: getattr(locked, name) for name in EDITABLE_FIELDS}
        clean = validate_rule({**current, **changes})
        if clean == current:
            return locked
        for name, value in clean.items():
            setattr(locked, name, value)
        locked.version += 1
        locked.updated_at = timezone.now()
        locked.save()
        _snapshot(locked, user=user, label=label)
        start_full_rescore(cause=f"rule “{locked.label}” changed (v{locked.version})")
    return locked


def delete_rule(*, rule: ScoringRule, user=None, label: str = "") -> None:
    """Archive the rule: it stops scoring, its versions stay for old explanations."""
    with transaction.atomic():
        locked = ScoringRule.objects.select_for_update().get(pk=rule.pk)
        if locked.archived_at:
            return
        locked.archived_at = locked.updated_at = timezone.now()
        locked.active = False
        locked.version += 1
        locked.save()
        who = label or (person_name(user) if user else "system")
        _snapshot(locked, user=user, label=f"{who} (deleted)")
        start_full_rescore(cause=f"rule “{locked.label}” deleted")


def install_default_rules() -> int:
    """Load the default rule set if there are no rules (a flushed test database, a
    fresh install without migrations' data). Returns how many rules were created."""
    if ScoringRule.objects.exists():
        return 0
    with transaction.atomic():
        for position, (label, kind, event_type, conditions, points, cap, half_life) in enumerate(
            DEFAULT_RULES, start=1
        ):
            rule = ScoringRule.objects.create(
                position=position,
                label=label,
                kind=kind,
                event_type=event_type,
                conditions=conditions,
                points=points,
                daily_cap=cap,
                half_life_days=half_life,
            )
            _snapshot(rule, label="default rule set")
    return len(DEFAULT_RULES)


# --- Order ------------------------------------------------------------------------------


def reorder_rules(*, rule_ids: list[int], user=None, label: str = "") -> list[ScoringRule]:
    """Put the rules in the order of `rule_ids`, which must name every rule in the list
    (not archived) once, numbered 1, 2, …. Each rule whose place in the list changes
    gets a new version, so its history says who moved it; the others keep theirs.

    No rescore: the order changes how a score is explained, never the score (the
    contributions are summed exactly). Explanations written from now on follow it.
    """
    if (
        not isinstance(rule_ids, list)
        or not all(isinstance(pk, int) and not isinstance(pk, bool) for pk in rule_ids)
        or len(set(rule_ids)) != len(rule_ids)
    ):
        raise RuleInvalid({"rule_ids": ["A list of rule ids, each once."]})
    with transaction.atomic():
        # Every listed rule locked, in id order like every rule writer: a concurrent edit
        # waits, and two reorders cannot interleave their numbering.
        locked = list(ScoringRule.objects.select_for_update().filter(archived_at__isnull=True).order_by("id"))
        by_id = {rule.pk: rule for rule in locked}
        if set(rule_ids) != set(by_id):
            missing = sorted(set(by_id) - set(rule_ids))
            unknown = sorted(set(rule_ids) - set(by_id))
            problems = []
            if missing:
                problems.append(f"Missing rules {', '.join(map(str, missing))}: name every rule once.")
            if unknown:
                problems.append(f"No such rules (or deleted): {', '.join(map(str, unknown))}.")
            raise RuleInvalid({"rule_ids": problems})
        now = timezone.now()
        who = label or (person_name(user) if user else "system")
        before = [rule.pk for rule in sorted(locked, key=lambda rule: (rule.position, rule.pk))]
        for position, rule_id in enumerate(rule_ids, start=1):
            rule = by_id[rule_id]
            if rule.position == position:
                continue
            rule.position = position
            if before[position - 1] == rule_id:
                # Same place in the list, a new number: the gap of a deleted rule closing.
                # Nothing a person would call a change, so no version.
                rule.save(update_fields=["position"])
                continue
            rule.version += 1
            rule.updated_at = now
            rule.save(update_fields=["position", "version", "updated_at"])
            _snapshot(rule, user=user, label=f"{who} (moved to {position})")
        return [by_id[rule_id] for rule_id in rule_ids]


def move_rule(*, rule_id: int, offset: int, user=None, label: str = "") -> list[ScoringRule]:
    """Move one rule `offset` places (−1: up one) in the list as it is when the locks are
    taken, so two people clicking "up" at once move it two places, not one over the
    other's stale list. A move past either end stops there."""
    with transaction.atomic():
        order = list(
            ScoringRule.objects.select_for_update()
            .filter(archived_at__isnull=True)
            .order_by("id")
            .values_list("id", "position")
        )
        ids = [pk for pk, _ in sorted(order, key=lambda row: (row[1], row[0]))]
        if rule_id not in ids:
            raise RuleInvalid({"rule_id": ["No such rule (or it was deleted)."]})
        start = ids.index(rule_id)
        ids.insert(max(0, min(len(ids) - 1, start + offset)), ids.pop(start))
        return reorder_rules(rule_ids=ids, user=user, label=label)


# --- Thresholds -------------------------------------------------------------------------


class ThresholdsInvalid(RuleInvalid):
    """Bad thresholds, or a draft of thresholds that changed since it was made."""


def validate_thresholds(*, mql_threshold, recycle_threshold) -> tuple[int, int]:
    """CONTRACT "MQL crossing": a lead is re-armed below the recycle threshold, so it must
    sit strictly between 0 and the MQL threshold, or hysteresis means nothing."""
    errors: dict[str, list[str]] = {}

    def whole(value) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    if not whole(mql_threshold) or not 1 < mql_threshold <= MAX_THRESHOLD:
        errors["mql_threshold"] = [f"A whole number from 2 to {MAX_THRESHOLD}."]
    if not whole(recycle_threshold) or recycle_threshold < 1:
        errors["recycle_threshold"] = ["A whole number above 0."]
    elif "mql_threshold" not in errors and recycle_threshold >= mql_threshold:
        errors["recycle_threshold"] = ["The recycle threshold must be below the MQL threshold."]
    if errors:
        raise ThresholdsInvalid(errors)
    return mql_threshold, recycle_threshold


def _snapshot_thresholds(row: ScoringSettings, *, user=None, label: str = "") -> ThresholdVersion:
    return ThresholdVersion.objects.create(
        version=row.version,
        mql_threshold=row.mql_threshold,
        recycle_threshold=row.recycle_threshold,
        changed_by=user,
        changed_by_label=label or (person_name(user) if user else ""),
        created_at=row.updated_at,
    )


def update_thresholds(
    *, mql_threshold, recycle_threshold, user=None, label: str = "", base_version: int | None = None
) -> ScoringSettings:
    """Make (mql, recycle) the thresholds' next version and rescore everyone after commit.

    With `base_version` (a previewed draft), thresholds changed by someone else since are
    refused rather than overwritten. On the rescore, the leads whose score is at or above
    a lowered MQL threshold, armed and not yet with sales, cross it: one MQL move and one
    alert each (CONTRACT "MQL crossing"); leads that were rejected stay unarmed until
    they fall below the recycle threshold, as before. Nothing changes, no version.
    """
    mql, recycle = validate_thresholds(mql_threshold=mql_threshold, recycle_threshold=recycle_threshold)
    scoring_settings()  # the row exists (a flush may have removed it)
    with transaction.atomic():
        # The settings row lock numbers concurrent changes 2, 3, … and orders them.
        row = ScoringSettings.objects.select_for_update().get(pk=1)
        if base_version is not None and row.version != base_version:
            raise ThresholdsInvalid(
                {
                    "mql_threshold": [
                        f"The thresholds changed since this draft (now MQL {row.mql_threshold}, recycle "
                        f"{row.recycle_threshold}, version {row.version}); preview again."
                    ]
                }
            )
        before = (row.mql_threshold, row.recycle_threshold)
        if before == (mql, recycle):
            return row
        if not ThresholdVersion.objects.filter(version=row.version).exists():
            # The values being replaced had no snapshot yet (a fresh database's defaults).
            _snapshot_thresholds(row, label="thresholds before the first change")
        row.mql_threshold, row.recycle_threshold = mql, recycle
        row.version += 1
        row.updated_at = timezone.now()
        row.save(update_fields=["mql_threshold", "recycle_threshold", "version", "updated_at"])
        _snapshot_thresholds(row, user=user, label=label)
        start_full_rescore(
            cause=f"thresholds changed (v{row.version}): MQL {before[0]}→{mql}, recycle {before[1]}→{recycle}"
        )
    return row
