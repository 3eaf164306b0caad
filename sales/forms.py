"""Forms of the sales pages: they turn a POST into typed values for the services."""

from django import forms

from leads.models import ActivityKind


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(choices=ActivityKind.choices)
    occurred_at = forms.DateTimeField(
        required=False, error_messages={"invalid": "Use a date and time like 2026-11-26T14:30."}
    )
    outcome = forms.CharField(required=False, strip=True)
    note = forms.CharField(required=False, strip=True)
    next_step = forms.CharField(required=False, strip=True)
    next_step_due = forms.DateField(required=False, error_messages={"invalid": "Use a date like 2026-12-01."})

    def problems(self) -> dict[str, list[str]]:
        """The form's errors by field, as the services name them."""
        return {field: [str(error) for error in errors] for field, errors in self.errors.items()}
