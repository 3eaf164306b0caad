"""Forms of the rule editor. They only translate between fields a person fills in and
the rule dictionaries of `scoring.rules`, whose `validate_rule` is the one judge of a
rule, so the page, the API and the admin accept exactly the same rules."""

from django import forms

from .models import ConditionOp, RuleKind
from .rules import MAX_THRESHOLD, RuleInvalid, ThresholdsInvalid, validate_rule, validate_thresholds

CONDITION_ROWS = 3
LIST_OPS = {ConditionOp.IN, ConditionOp.CONTAINS}


def _number(text: str):
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() else number


class RuleForm(forms.Form):
    label = forms.CharField(max_length=120, label="Name")
    kind = forms.ChoiceField(choices=RuleKind.choices, label="Kind")
    event_type = forms.CharField(
        max_length=100, required=False, label="Event type", help_text="Behaviour rules: e.g. page_view, form_submitted."
    )
    points = forms.IntegerField(label="Points", help_text="Negative points lower the score.")
    daily_cap = forms.IntegerField(
        required=False, min_value=1, label="Daily cap", help_text="At most this many matching events a day count."
    )
    half_life_days = forms.FloatField(
        required=False, label="Half-life (days)", help_text="Empty: the default half-life."
    )
    active = forms.BooleanField(required=False, initial=True, label="Active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for row in range(1, CONDITION_ROWS + 1):
            self.fields[f"condition_{row}_field"] = forms.CharField(
                max_length=100, required=False, label=f"Condition {row}: property or lead field"
            )
            self.fields[f"condition_{row}_op"] = forms.ChoiceField(
                choices=[("", "—"), *ConditionOp.choices], required=False, label=f"Condition {row}: test"
            )
            self.fields[f"condition_{row}_value"] = forms.CharField(
                max_length=500,
                required=False,
                label=f"Condition {row}: value",
                help_text="Several values: separate them with commas.",
            )

    @classmethod
    def initial_for(cls, rule) -> dict:
        initial = {
            "label": rule.label,
            "kind": rule.kind,
            "event_type": rule.event_type,
            "points": rule.points,
            "daily_cap": rule.daily_cap,
            "half_life_days": rule.half_life_days,
            "active": rule.active,
        }
        for row, condition in enumerate(rule.conditions or [], start=1):
            value = condition.get("value")
            initial[f"condition_{row}_field"] = condition.get("field", "")
            initial[f"condition_{row}_op"] = condition.get("op", "")
            initial[f"condition_{row}_value"] = ", ".join(value) if isinstance(value, list) else value
        return initial

    def condition_rows(self):
        return [
            (self[f"condition_{row}_field"], self[f"condition_{row}_op"], self[f"condition_{row}_value"])
            for row in range(1, CONDITION_ROWS + 1)
        ]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        conditions, rows = [], []
        for row in range(1, CONDITION_ROWS + 1):
            name = (cleaned.get(f"condition_{row}_field") or "").strip()
            op = cleaned.get(f"condition_{row}_op") or ""
            text = (cleaned.get(f"condition_{row}_value") or "").strip()
            if not (name or op or text):
                continue
            if op in LIST_OPS:
                value = [item.strip() for item in text.split(",") if item.strip()]
            elif op == ConditionOp.GTE:
                value = _number(text)
            else:
                value = text
            conditions.append({"field": name, "op": op, "value": value})
            rows.append(row)
        data = {
            "label": cleaned.get("label"),
            "kind": cleaned.get("kind"),
            "event_type": cleaned.get("event_type") or "",
            "conditions": conditions,
            "points": cleaned.get("points"),
            "daily_cap": cleaned.get("daily_cap"),
            "half_life_days": cleaned.get("half_life_days"),
            "active": bool(cleaned.get("active")),
        }
        try:
            self.rule = validate_rule(data)
        except RuleInvalid as invalid:
            for name, problems in invalid.fields.items():
                self.add_error(self._form_field(name, rows), problems)
        return cleaned

    def _form_field(self, name: str, rows: list[int]) -> str | None:
        """`conditions.1.value` is the value box of the second filled-in condition row."""
        parts = name.split(".")
        if parts[0] == "conditions" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(rows):
            return f"condition_{rows[int(parts[1])]}_{parts[2]}"
        if parts[0] == "conditions":
            return "condition_1_field"
        return name if name in self.fields else None


class ThresholdForm(forms.Form):
    mql_threshold = forms.IntegerField(min_value=2, max_value=MAX_THRESHOLD, label="MQL threshold")
    recycle_threshold = forms.IntegerField(min_value=1, max_value=MAX_THRESHOLD, label="Recycle threshold")

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            validate_thresholds(mql_threshold=cleaned["mql_threshold"], recycle_threshold=cleaned["recycle_threshold"])
        except ThresholdsInvalid as invalid:
            for name, problems in invalid.fields.items():
                self.add_error(name if name in self.fields else None, problems)
        return cleaned


class MoveForm(forms.Form):
    direction = forms.ChoiceField(choices=[("up", "Up"), ("down", "Down")])

    @property
    def offset(self) -> int:
        return -1 if self.cleaned_data["direction"] == "up" else 1
