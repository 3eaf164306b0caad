"""Page forms: they validate input and show problems next to each field; the
writes themselves happen in leads.services."""

from django import forms
from django.contrib.auth import get_user_model

from .actors import person_name
from .models import PROFILE_FIELDS, DuplicatePolicy, Lead
from .selectors import UNASSIGNED, BoardFilters, lead_owner_choices, live_leads
from .stages import Stage, allowed_targets, label, needs_reason


class StageSelect(forms.Select):
    """A stage picker whose options may carry a hint (“… (needs a reason)”); each option
    also names its stage alone in data-label, for a confirmation to quote."""

    def create_option(self, name, value, label_text, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label_text, selected, index, subindex=subindex, attrs=attrs)
        if value in Stage.values:
            option["attrs"]["data-label"] = label(value)
        return option


def _owner_field(*, required: bool = False, users=None, label_text: str = "Owner") -> forms.ChoiceField:
    users = lead_owner_choices() if users is None else users
    choices = [("", "Anyone"), (UNASSIGNED, "Unassigned")] + [(str(u.pk), person_name(u)) for u in users]
    return forms.ChoiceField(choices=choices, required=required, label=label_text)


class BoardFilterForm(forms.Form):
    owner = forms.ChoiceField(required=False)
    source = forms.ChoiceField(required=False)
    campaign = forms.ChoiceField(required=False)
    created_from = forms.DateField(required=False, label="Created from", widget=forms.DateInput(attrs={"type": "date"}))
    created_to = forms.DateField(required=False, label="Created to", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"] = _owner_field(users=choices.owners)
        self.fields["source"].choices = [("", "Any source")] + [(s, s) for s in choices.sources]
        self.fields["campaign"].choices = [("", "Any campaign")] + [(c, c) for c in choices.campaigns]

    def clean(self):
        data = super().clean()
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and start > end:
            self.add_error("created_to", "The end date is before the start date.")
        return data

    def filters(self) -> BoardFilters:
        if not self.is_valid():
            return BoardFilters()
        data = self.cleaned_data
        return BoardFilters(
            owner=data["owner"] or None,
            source=data["source"] or None,
            campaign=data["campaign"] or None,
            created_from=data["created_from"],
            created_to=data["created_to"],
        )


SORTS = {
    "-created": "Newest first",
    "created": "Oldest first",
    "-score": "Highest score",
    "score": "Lowest score",
    "-likelihood": "Most likely to buy",
    "likelihood": "Least likely to buy",
}
LIKELIHOOD_FILTERS = [("", "Any likelihood"), ("0.3", "High (30% or more)"), ("0.1", "Medium or high (10% or more)")]


class LeadFilterForm(BoardFilterForm):
    q = forms.CharField(required=False, label="Search", max_length=200)
    stage = forms.ChoiceField(required=False, choices=[("", "Any stage"), *Stage.choices])
    score_min = forms.IntegerField(required=False, min_value=0, label="Score from")
    score_max = forms.IntegerField(required=False, min_value=0, label="Score to")
    sort = forms.ChoiceField(required=False, choices=list(SORTS.items()), label="Sort")
    likelihood = forms.TypedChoiceField(
        required=False, choices=LIKELIHOOD_FILTERS, coerce=float, empty_value=None, label="Likelihood to buy"
    )

    field_order = ["q", "stage", "owner", "source", "campaign", "score_min", "score_max", "created_from", "created_to"]

    def clean(self):
        data = super().clean()
        low, high = data.get("score_min"), data.get("score_max")
        if low is not None and high is not None and low > high:
            self.add_error("score_max", "The highest score is below the lowest.")
        return data

    def list_filters(self) -> dict:
        if not self.is_valid():
            return {"board": BoardFilters()}
        data = self.cleaned_data
        return {
            "board": self.filters(),
            "q": data["q"].strip(),
            "stage": data["stage"] or None,
            "score_min": data["score_min"],
            "score_max": data["score_max"],
            "likelihood_min": data.get("likelihood"),
        }

    def sort_key(self) -> str:
        return (self.is_valid() and self.cleaned_data.get("sort")) or "-created"


class LeadForm(forms.ModelForm):
    owner = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False, empty_label="Unassigned")

    class Meta:
        model = Lead
        # The identifiers integrations set and the rarer UTM fields stay off the form.
        fields = [*(f for f in PROFILE_FIELDS if f not in {"external_id", "utm_term", "utm_content"}), "owner"]
        labels = {"utm_source": "UTM source", "utm_medium": "UTM medium", "utm_campaign": "Campaign"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = lead_owner_choices()
        self.fields["email"].required = False

    def clean_email(self):
        email = (self.cleaned_data.get("email") or "").strip() or None
        if email:
            others = live_leads().filter(email__iexact=email)
            if self.instance.pk:
                others = others.exclude(pk=self.instance.pk)
            if others.exists():
                raise forms.ValidationError("Another lead already has this email address.")
        return email

    def clean(self):
        data = super().clean()
        if not self.instance.pk and not data.get("email") and not (data.get("first_name") or data.get("last_name")):
            raise forms.ValidationError("A new lead needs at least an email address or a name.")
        return data

    def changed_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.changed_data}


class MoveForm(forms.Form):
    to = forms.ChoiceField(label="Move to", widget=StageSelect)
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)

    def __init__(self, *args, lead: Lead, **kwargs):
        super().__init__(*args, **kwargs)
        self.lead = lead
        targets = allowed_targets(lead.stage) if lead.stage != Stage.CUSTOMER else []
        self.fields["to"].choices = [
            (
                slug,
                f"{label(slug)} (needs a reason)"
                if needs_reason(from_stage=lead.stage, to_stage=slug)
                else label(slug),
            )
            for slug in targets
        ]

    def clean(self):
        data = super().clean()
        to = data.get("to")
        if to and needs_reason(from_stage=self.lead.stage, to_stage=to) and not (data.get("reason") or "").strip():
            self.add_error("reason", f"Moving from {self.lead.stage_label} to {label(to)} needs a reason.")
        return data


class BulkActionForm(forms.Form):
    ACTIONS = [("move", "Move to stage"), ("assign", "Assign owner")]

    action = forms.ChoiceField(choices=ACTIONS)
    leads = forms.TypedMultipleChoiceField(
        coerce=int, choices=[], error_messages={"required": "Pick at least one lead."}
    )
    to = forms.ChoiceField(required=False, choices=[("", "—"), *Stage.choices], label="Stage")
    reason = forms.CharField(required=False, max_length=2000)
    owner = forms.ChoiceField(required=False, label="Owner")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"] = _owner_field(label_text="Owner")
        self.fields["owner"].choices = [("", "—"), (UNASSIGNED, "Unassigned"), *self.fields["owner"].choices[2:]]
        raw = self.data.getlist("leads") if hasattr(self.data, "getlist") else []
        self.fields["leads"].choices = [(value, value) for value in raw]

    def clean(self):
        data = super().clean()
        if data.get("action") == "move" and not data.get("to"):
            self.add_error("to", "Pick the stage to move the leads to.")
        if data.get("action") == "assign" and not data.get("owner"):
            self.add_error("owner", "Pick the owner, or Unassigned.")
        if len(data.get("leads") or []) > 500:
            self.add_error("leads", "At most 500 leads at a time.")
        return data


class MergeForm(forms.Form):
    other = forms.CharField(label="The other lead (id or email address)", max_length=254)
    keep = forms.ChoiceField(
        choices=[("this", "Keep this lead"), ("other", "Keep the other lead")],
        widget=forms.RadioSelect,
        initial="this",
        label="Which lead survives",
    )

    def __init__(self, *args, lead: Lead, **kwargs):
        super().__init__(*args, **kwargs)
        self.lead = lead

    def clean_other(self):
        value = self.cleaned_data["other"].strip()
        leads = live_leads()
        other = leads.filter(pk=int(value)).first() if value.isdigit() else leads.filter(email__iexact=value).first()
        if other is None:
            raise forms.ValidationError("No lead with this id or email address.")
        if other.pk == self.lead.pk:
            raise forms.ValidationError("Pick another lead than this one.")
        return other


class EraseForm(forms.Form):
    confirm = forms.CharField(label="Type ERASE to confirm", max_length=10)

    def clean_confirm(self):
        if self.cleaned_data["confirm"].strip() != "ERASE":
            raise forms.ValidationError("Type ERASE in capitals to confirm.")
        return "ERASE"


class ImportUploadForm(forms.Form):
    file = forms.FileField(label="CSV file")

    MAX_BYTES = 20 * 1024 * 1024

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise forms.ValidationError("The file is larger than 20 MB; split it into smaller files.")
        if upload.size == 0:
            raise forms.ValidationError("The file is empty.")
        return upload


class ImportMappingForm(forms.Form):
    on_duplicate = forms.ChoiceField(
        choices=DuplicatePolicy.choices,
        widget=forms.RadioSelect,
        initial=DuplicatePolicy.SKIP,
        label="When a row's email address belongs to an existing lead",
    )

    def __init__(self, *args, columns: list[str], initial_mapping: dict, field_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.columns = columns
        for index, column in enumerate(columns):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                choices=[("", "Do not import"), *field_choices],
                required=False,
                label=column or f"Column {index + 1}",
                initial=initial_mapping.get(column, ""),
            )

    def column_fields(self):
        return [self[f"column_{index}"] for index in range(len(self.columns))]

    def clean(self):
        data = super().clean()
        chosen = [data.get(f"column_{index}") for index in range(len(self.columns))]
        picked = [value for value in chosen if value]
        if "email" not in picked:
            raise forms.ValidationError("Map one column to Email: imported leads are matched by email address.")
        for value in {v for v in picked if picked.count(v) > 1}:
            raise forms.ValidationError(f"Two columns are mapped to the same field ({value}).")
        return data

    def mapping(self) -> dict[str, str]:
        return {
            column: self.cleaned_data[f"column_{index}"]
            for index, column in enumerate(self.columns)
            if self.cleaned_data.get(f"column_{index}")
        }
