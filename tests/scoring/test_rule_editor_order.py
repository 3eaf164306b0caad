"""The rule editor's order: rules have a position a marketer sets with up/down buttons;
the editor, the API list and new score explanations follow it; moves are versions."""

import re

import pytest
from django.utils import timezone

from scoring.models import RescoreJob, RuleVersion, ScoreChange, ScoringRule
from scoring.rule_preview import NEW_RULE_ID, build_draft
from scoring.rules import RuleInvalid, create_rule, delete_rule, move_rule, reorder_rules
from scoring.selectors import active_rule_specs, rules_for_listing
from scoring.services import compute_score, rescore_leads
from tests.factories import LeadFactory

from .conftest import demo_request, pricing_view

pytestmark = pytest.mark.django_db


def labels() -> list[str]:
    return [rule.label for rule in rules_for_listing()]


def rule(label: str) -> ScoringRule:
    return ScoringRule.objects.get(label=label, archived_at__isnull=True)


def ids_with_first(*first: str) -> list[int]:
    """Every listed rule's id, the named ones first in that order, then the rest as they are."""
    leading = [rule(label).pk for label in first]
    return leading + [item.pk for item in rules_for_listing() if item.pk not in leading]


# --- The services -----------------------------------------------------------------------


@pytest.mark.smoke
def test_reordering_puts_the_rules_in_the_given_order(default_rules):
    reorder_rules(rule_ids=ids_with_first("Pricing page view", "Demo request"))
    assert labels()[:3] == ["Pricing page view", "Demo request", "Contact form"]
    assert [item.position for item in rules_for_listing()] == list(range(1, 13))


def test_each_moved_rule_gets_a_version_carrying_its_new_position_and_the_others_none(default_rules, marketer):
    reorder_rules(rule_ids=ids_with_first("Contact form"), user=marketer)
    # Contact form (2 → 1) and Demo request (1 → 2) moved; Pricing page view and after did not.
    moved = RuleVersion.objects.filter(version=2).order_by("position")
    assert [(v.rule.label, v.position, v.changed_by) for v in moved] == [
        ("Contact form", 1, marketer),
        ("Demo request", 2, marketer),
    ]
    assert rule("Pricing page view").version == 1


def test_closing_the_gap_of_a_deleted_rule_renumbers_the_rules_below_without_versions(default_rules):
    delete_rule(rule=rule("Contact form"))  # position 2 of 12
    move_rule(rule_id=rule("Demo request").pk, offset=1)
    assert labels()[:3] == ["Pricing page view", "Demo request", "Blog view"]
    assert [item.position for item in rules_for_listing()] == list(range(1, 12))
    moved = RuleVersion.objects.filter(version=2, rule__archived_at__isnull=True)
    assert sorted(moved.values_list("rule__label", flat=True)) == ["Demo request", "Pricing page view"]


def test_reordering_changes_no_score_so_starts_no_rescore(default_rules):
    reorder_rules(rule_ids=ids_with_first("Senior title"))
    assert not RescoreJob.objects.exists()


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param(lambda ids: ids[:-1], id="a rule left out"),
        pytest.param(lambda ids: [*ids, ids[0]], id="a rule twice"),
        pytest.param(lambda ids: [*ids, 999_999], id="an unknown rule"),
        pytest.param(lambda ids: [*ids[:-1], str(ids[-1])], id="an id as text"),
        pytest.param(lambda ids: "1,2,3", id="not a list"),
    ],
)
def test_a_reorder_must_name_every_rule_once(default_rules, broken):
    before = labels()
    with pytest.raises(RuleInvalid) as refused:
        reorder_rules(rule_ids=broken([item.pk for item in rules_for_listing()]))
    assert "rule_ids" in refused.value.fields
    assert labels() == before


def test_a_deleted_rule_is_no_longer_part_of_the_order(default_rules):
    gone = rule("Blog view")
    delete_rule(rule=gone)
    with pytest.raises(RuleInvalid):
        reorder_rules(rule_ids=[*ids_with_first("Contact form"), gone.pk])
    reorder_rules(rule_ids=ids_with_first("Contact form"))
    assert "Blog view" not in labels()


def test_a_new_rule_goes_to_the_end_of_the_list(default_rules):
    reorder_rules(rule_ids=ids_with_first("Competitor's domain"))
    create_rule(
        data={"label": "Webinar registration", "kind": "behaviour", "event_type": "webinar_registered", "points": 5}
    )
    assert labels()[0] == "Competitor's domain"
    assert labels()[-1] == "Webinar registration"


def test_moving_a_rule_up_swaps_it_with_the_one_above(default_rules):
    move_rule(rule_id=rule("Pricing page view").pk, offset=-1)
    assert labels()[:3] == ["Demo request", "Pricing page view", "Contact form"]


def test_moving_the_first_rule_up_changes_nothing(default_rules):
    move_rule(rule_id=rule("Demo request").pk, offset=-1)
    assert labels()[0] == "Demo request"
    assert not RuleVersion.objects.filter(version=2).exists()


def test_two_moves_made_one_after_the_other_both_count(default_rules):
    # Each move reads the order under the lock, so the second starts from the first's result.
    pricing = rule("Pricing page view").pk
    move_rule(rule_id=pricing, offset=-1)
    move_rule(rule_id=pricing, offset=-1)
    assert labels()[0] == "Pricing page view"


# --- Scores and explanations ----------------------------------------------------------


def test_the_score_does_not_depend_on_the_order_but_its_explanation_follows_it(default_rules):
    lead = LeadFactory(job_title="VP Sales")
    demo_request(lead)
    pricing_view(lead)
    before = compute_score(lead=lead, as_of=timezone.now())
    reorder_rules(rule_ids=ids_with_first("Senior title", "Pricing page view"))
    rescore_leads(lead_ids=[lead.pk], cause="events")
    change = ScoreChange.objects.get(lead=lead)
    assert change.new_score == before.score == 61
    # The stored explanation (set-based path on PostgreSQL, the reference elsewhere).
    assert [item["label"] for item in change.contributions] == ["Senior title", "Pricing page view", "Demo request"]


@pytest.mark.postgres
def test_the_set_based_explanation_lists_rules_in_the_order_the_reference_does(default_rules):
    from scoring.sql import read_scores
    from tests.services import need_postgres

    need_postgres()
    lead = LeadFactory(job_title="VP Sales", company_size=120)
    demo_request(lead)
    pricing_view(lead)
    reorder_rules(rule_ids=ids_with_first("Company of 50+", "Pricing page view", "Senior title"))
    specs = active_rule_specs()
    now = timezone.now()
    _, contributions = read_scores(rules=specs, lead_ids=[lead.pk], as_of=now)[lead.pk]
    reference = compute_score(lead=lead, as_of=now, rules=specs)
    assert [item["rule_id"] for item in contributions] == [item.rule_id for item in reference.contributions]
    assert [item["label"] for item in contributions] == [
        "Company of 50+",
        "Pricing page view",
        "Senior title",
        "Demo request",
    ]


def test_a_preview_scores_the_rules_in_their_order_with_a_new_rule_last(default_rules):
    reorder_rules(rule_ids=ids_with_first("Blog view"))
    draft = build_draft(
        {"action": "create", "rule": {"label": "New", "kind": "behaviour", "event_type": "x", "points": 1}}
    )
    assert draft.rules[0].label == "Blog view"
    assert draft.rules[-1].id == NEW_RULE_ID


# --- The API ------------------------------------------------------------------------------


def test_the_api_lists_the_rules_in_order_with_their_position(client, marketer, default_rules):
    reorder_rules(rule_ids=ids_with_first("Email click"))
    client.force_login(marketer)
    results = client.get("/api/v1/scoring-rules").json()["results"]
    assert [(item["label"], item["position"]) for item in results[:2]] == [("Email click", 1), ("Demo request", 2)]


# --- The page -----------------------------------------------------------------------------


def test_the_page_lists_the_rules_in_order_with_numbered_rows(client, marketer, default_rules):
    reorder_rules(rule_ids=ids_with_first("Webinar attended"))
    client.force_login(marketer)
    page = client.get("/scoring/rules/").content.decode()
    rows = re.findall(r'<span class="order-number">(\d+)</span>.*?<th scope="row">([^<]+)</th>', page, re.S)
    assert rows[:2] == [("1", "Webinar attended"), ("2", "Demo request")]


@pytest.mark.smoke
def test_a_marketer_moves_a_rule_up_with_its_button_and_keeps_the_focus_on_it(client, marketer, default_rules):
    pricing = rule("Pricing page view")
    client.force_login(marketer)
    response = client.post(f"/scoring/rules/{pricing.pk}/move/", {"direction": "up"})
    assert response.status_code == 302
    assert response["Location"] == f"/scoring/rules/?moved={pricing.pk}&went=up"
    page = client.get(response["Location"]).content.decode()
    assert labels()[:2] == ["Demo request", "Pricing page view"]
    assert "“Pricing page view” is now number 2 of 12." in page
    assert f'id="move-up-{pricing.pk}" aria-label="Move Pricing page view up" autofocus' in page


def test_a_rule_moved_to_the_top_keeps_the_focus_on_its_down_button(client, marketer, default_rules):
    contact = rule("Contact form")
    client.force_login(marketer)
    response = client.post(f"/scoring/rules/{contact.pk}/move/", {"direction": "up"}, follow=True)
    page = response.content.decode()
    assert f'id="move-up-{contact.pk}"' not in page
    assert f'id="move-down-{contact.pk}" aria-label="Move Contact form down" autofocus' in page


def test_the_move_buttons_are_labelled_forms_with_a_csrf_token(client, marketer, default_rules):
    client.force_login(marketer)
    page = client.get("/scoring/rules/").content.decode()
    demo, pricing = rule("Demo request"), rule("Pricing page view")
    assert f'action="/scoring/rules/{pricing.pk}/move/"' in page
    form = page[page.index(f'action="/scoring/rules/{pricing.pk}/move/"') :]
    assert form.index("csrfmiddlewaretoken") < form.index("</form>")
    assert 'aria-label="Move Pricing page view up"' in page
    assert 'aria-label="Move Pricing page view down"' in page
    # The first rule cannot go up, the last cannot go down.
    assert f'id="move-up-{demo.pk}"' not in page
    last = rule("Competitor's domain")
    assert f'id="move-down-{last.pk}"' not in page


def test_a_move_without_a_direction_is_a_400_and_moves_nothing(client, marketer, default_rules):
    client.force_login(marketer)
    response = client.post(f"/scoring/rules/{rule('Blog view').pk}/move/", {"direction": "sideways"})
    assert response.status_code == 400
    assert "Move a rule up or down." in response.content.decode()
    assert labels()[3] == "Blog view"


def test_moving_a_deleted_rule_is_a_404(client, marketer, default_rules):
    gone = rule("Blog view")
    delete_rule(rule=gone)
    client.force_login(marketer)
    assert client.post(f"/scoring/rules/{gone.pk}/move/", {"direction": "up"}).status_code == 404


def test_a_sales_manager_sees_the_order_but_no_move_buttons_and_may_not_move(client, manager, default_rules):
    pricing = rule("Pricing page view")
    client.force_login(manager)
    page = client.get("/scoring/rules/").content.decode()
    assert '<span class="order-number">3</span>' in page
    assert "Move Pricing page view up" not in page
    assert client.post(f"/scoring/rules/{pricing.pk}/move/", {"direction": "up"}).status_code == 403
    assert labels()[2] == "Pricing page view"


def test_moving_needs_a_post(client, marketer, default_rules):
    client.force_login(marketer)
    assert client.get(f"/scoring/rules/{rule('Blog view').pk}/move/?direction=up").status_code == 405


def test_a_move_posted_without_its_csrf_token_is_refused(marketer, default_rules):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(marketer)
    response = browser.post(f"/scoring/rules/{rule('Blog view').pk}/move/", {"direction": "up"})
    assert response.status_code == 403
    assert labels()[3] == "Blog view"
