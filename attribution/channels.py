"""Naming a touch's channel by the marketer's rules, in Python and as one SQL CASE.

Both read the same active `ChannelRule` rows in the same order, so the report (SQL)
and a lead's touch path (Python) always agree."""

from .models import DIRECT, OTHER, ChannelRule, MatchKind

# The rules the migration 0002_default_channel_rules writes (a test checks the two agree).
DEFAULT_RULES = [
    ("medium", "equals", "cpc, ppc, paidsearch, paid_search, paid-search, sem", "Paid search"),
    ("medium", "equals", "paid_social, paidsocial, paid-social", "Paid social"),
    ("medium", "equals", "display, banner, cpm", "Display"),
    ("medium", "equals", "email, e-mail, newsletter", "Email"),
    ("source", "equals", "linkedin, facebook, twitter, x, instagram, youtube, reddit", "Social"),
    ("medium", "equals", "social, social-network, social_media, sm", "Social"),
    ("medium", "equals", "organic", "Organic search"),
    ("medium", "equals", "referral, partner", "Referral"),
    ("kind", "equals", "email_clicked", "Email"),
    ("kind", "equals", "ad_clicked", "Paid ads"),
    ("kind", "equals", "webinar_registered, webinar_attended", "Events and webinars"),
    ("source", "equals", "google, bing, duckduckgo, ecosia", "Organic search"),
]


def active_rules() -> list[ChannelRule]:
    return list(ChannelRule.objects.filter(active=True).order_by("position", "id"))


def channel_of(touch: dict, rules: list[ChannelRule]) -> str:
    """`touch` has kind, source, medium and campaign (case-folded)."""
    for rule in rules:
        value = (touch.get(rule.field) or "").casefold()
        wanted = rule.value_list
        if rule.match == MatchKind.CONTAINS:
            if value and any(item in value for item in wanted):
                return rule.channel
        elif value in wanted:
            return rule.channel
    if touch.get("source") or touch.get("medium") or touch.get("campaign"):
        return OTHER
    return DIRECT


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def channel_case_sql(rules: list[ChannelRule], alias: str, *, postgres: bool) -> str:
    """The same decision as `channel_of`, over columns of the touchpoint table `alias`.
    Values are quoted literals (rules are data a marketer typed), never interpolated raw."""
    whens = []
    for rule in rules:
        column = f"{alias}.{rule.field}"
        wanted = rule.value_list
        if not wanted:
            continue
        if rule.match == MatchKind.CONTAINS:
            # A substring test without LIKE, whose % and _ a marketer's value could contain.
            find = "strpos" if postgres else "instr"
            test = " OR ".join(f"{find}({column}, {_literal(item)}) > 0" for item in wanted)
        else:
            test = f"{column} IN ({', '.join(_literal(item) for item in wanted)})"
        whens.append(f"WHEN {test} THEN {_literal(rule.channel)}")
    fallback = (
        f"WHEN {alias}.source <> '' OR {alias}.medium <> '' OR {alias}.campaign <> '' THEN {_literal(OTHER)} "
        f"ELSE {_literal(DIRECT)}"
    )
    return f"(CASE {' '.join(whens)} {fallback} END)"
