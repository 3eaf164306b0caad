from datetime import date, timedelta

from django import forms

from .selectors import ReportFilters

DEFAULT_DAYS = 90
LONGEST_RANGE_DAYS = 2 * 366
# Weeks and days are counted from the range's ends; these keep that arithmetic in range.
EARLIEST, LATEST = date(1970, 1, 1), date(2999, 12, 31)


class ReportFilterForm(forms.Form):
    """The report's filters, shared by the page and the API (`?from=&to=&source=&campaign=&owner=`)."""

    def __init__(self, *args, today: date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today or date.today()
        # "from" is a Python keyword, so the fields are added by name.
        self.fields["from"] = forms.DateField(
            required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
        )
        self.fields["to"] = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
        self.fields["source"] = forms.CharField(required=False, max_length=100, label="Source")
        self.fields["campaign"] = forms.CharField(required=False, max_length=200, label="Campaign")
        # User ids are 32-bit: a larger number would be a database error, not "nobody".
        self.fields["owner"] = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1, label="Owner")

    def clean(self):
        cleaned = super().clean()
        end = cleaned.get("to") or self.today
        start = cleaned.get("from") or end - timedelta(days=DEFAULT_DAYS - 1)
        if "from" in self.errors or "to" in self.errors:
            return cleaned
        if not (EARLIEST <= start <= LATEST and EARLIEST <= end <= LATEST):
            self.add_error("from" if not EARLIEST <= start <= LATEST else "to", "Pick a date between 1970 and 2999.")
        elif start > end:
            self.add_error("from", "The start date is after the end date.")
        elif (end - start).days >= LONGEST_RANGE_DAYS:
            self.add_error("from", "Pick a range of at most two years.")
        cleaned["from"], cleaned["to"] = start, end
        return cleaned

    def filters(self) -> ReportFilters:
        data = self.cleaned_data
        return ReportFilters(
            start=data["from"],
            end=data["to"],
            source=data.get("source") or "",
            campaign=data.get("campaign") or "",
            owner_id=data.get("owner"),
        )

    def field_errors(self) -> dict[str, list[str]]:
        return {name: [str(message) for message in messages] for name, messages in self.errors.items()}
