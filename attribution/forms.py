from datetime import date, timedelta

from django import forms

from .models import AttributionModel, ChannelRule, Dimension, Milestone
from .selectors import AttributionFilters, default_window
from .services import window_choices

DEFAULT_DAYS = 90
LONGEST_RANGE_DAYS = 2 * 366
EARLIEST, LATEST = date(1970, 1, 1), date(2999, 12, 31)


class AttributionFilterForm(forms.Form):
    """`?model=&milestone=&by=&from=&to=&window=`, shared by the page, its CSVs and the API."""

    model = forms.ChoiceField(choices=AttributionModel.choices, required=False)
    milestone = forms.ChoiceField(choices=Milestone.choices, required=False)
    by = forms.ChoiceField(choices=Dimension.choices, required=False)
    window = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)

    def __init__(self, *args, today: date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today or date.today()
        self.fields["window"].choices = [(str(days), f"{days} days") for days in window_choices()]
        self.fields["from"] = forms.DateField(required=False, label="From")
        self.fields["to"] = forms.DateField(required=False, label="To")

    def clean(self):
        cleaned = super().clean()
        if "from" in self.errors or "to" in self.errors:
            return cleaned
        end = cleaned.get("to") or self.today
        start = cleaned.get("from") or end - timedelta(days=DEFAULT_DAYS - 1)
        if not (EARLIEST <= start <= LATEST and EARLIEST <= end <= LATEST):
            self.add_error("from", "Pick a date between 1970 and 2999.")
        elif start > end:
            self.add_error("from", "The start date is after the end date.")
        elif (end - start).days >= LONGEST_RANGE_DAYS:
            self.add_error("from", "Pick a range of at most two years.")
        cleaned["from"], cleaned["to"] = start, end
        return cleaned

    def filters(self) -> AttributionFilters:
        data = self.cleaned_data
        return AttributionFilters(
            model=data.get("model") or AttributionModel.LINEAR,
            milestone=data.get("milestone") or Milestone.MQL,
            by=data.get("by") or Dimension.CAMPAIGN,
            start=data["from"],
            end=data["to"],
            window=data.get("window") or default_window(),
        )

    def field_errors(self) -> dict[str, list[str]]:
        return {name: [str(message) for message in messages] for name, messages in self.errors.items()}


class SpendForm(forms.Form):
    campaign = forms.CharField(max_length=200, help_text="As in utm_campaign; compared case-insensitively")
    month = forms.CharField(max_length=10, help_text="YYYY-MM", widget=forms.TextInput(attrs={"type": "month"}))
    amount = forms.DecimalField(min_value=0, max_digits=14, decimal_places=2)
    currency = forms.CharField(max_length=3, initial="EUR")
    channel = forms.CharField(
        max_length=100, required=False, help_text="Counts under this channel when grouped by channel"
    )


class SpendImportForm(forms.Form):
    file = forms.FileField(help_text="CSV with a header row: campaign, month, amount (currency, channel optional)")


class ChannelRuleForm(forms.ModelForm):
    class Meta:
        model = ChannelRule
        fields = ["position", "field", "match", "values", "channel", "active"]
