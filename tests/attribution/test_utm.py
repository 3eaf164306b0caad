"""UTM parameters as real links carry them."""

import importlib

import pytest

from attribution.channels import DEFAULT_RULES
from attribution.touches import touch_from_event
from attribution.utm import parse_utm, touch_fields


def test_google_ads_link_with_mixed_case_values_is_case_folded():
    url = "https://www.example.com/pricing?utm_source=Google&utm_medium=CPC&utm_campaign=Spring_Launch&gclid=EAIaIQ"
    assert parse_utm(url) == {"source": "google", "medium": "cpc", "campaign": "spring_launch"}


def test_percent_and_plus_encoded_values_are_decoded():
    url = "https://example.com/?utm_campaign=Spring%20Sale%202026&utm_source=news+letter&utm_content=%C3%A9t%C3%A9"
    assert parse_utm(url) == {"campaign": "spring sale 2026", "source": "news letter", "content": "été"}


def test_upper_case_parameter_names_are_recognised():
    assert parse_utm("https://example.com/?UTM_Source=LinkedIn&Utm_Medium=Social") == {
        "source": "linkedin",
        "medium": "social",
    }


def test_the_first_non_empty_value_of_a_repeated_parameter_wins():
    url = "https://example.com/?utm_source=&utm_source=Facebook&utm_source=twitter"
    assert parse_utm(url) == {"source": "facebook"}


def test_a_fragment_after_the_query_is_not_part_of_the_last_value():
    assert parse_utm("https://example.com/?utm_campaign=spring#pricing") == {"campaign": "spring"}


def test_a_single_page_app_query_inside_the_fragment_is_read():
    assert parse_utm("https://app.example.com/#/signup?utm_source=Bing&utm_medium=cpc") == {
        "source": "bing",
        "medium": "cpc",
    }


def test_html_escaped_ampersands_from_email_templates_are_read():
    url = "https://example.com/webinar?utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=Q3%2DWebinar"
    assert parse_utm(url) == {"source": "newsletter", "medium": "email", "campaign": "q3-webinar"}


def test_whitespace_inside_values_collapses_and_blank_values_are_dropped():
    assert parse_utm("https://example.com/?utm_campaign=%20Brand%20%20Search%20&utm_medium=%20") == {
        "campaign": "brand search"
    }


@pytest.mark.parametrize("url", ["", None, 42, "not a url", "https://example.com/", "http://[::1/?utm_source=x"])
def test_urls_without_utm_or_broken_ones_give_nothing(url):
    assert parse_utm(url) == {}


def test_explicit_properties_win_over_the_url():
    fields = touch_fields({"campaign": "Retarget", "url": "https://example.com/?utm_campaign=spring&utm_source=x"})
    assert fields == {"source": "x", "medium": "", "campaign": "retarget", "content": ""}


def test_a_page_view_without_utm_is_no_touch():
    assert touch_from_event(event_type="page_view", properties={"url": "https://example.com/blog"}) is None


def test_a_bare_form_submission_is_a_direct_touch():
    assert touch_from_event(event_type="form_submitted", properties={"form": "demo"}) == {
        "source": "",
        "medium": "",
        "campaign": "",
        "content": "",
    }


def test_a_webinar_without_a_campaign_is_credited_to_the_webinar():
    touch = touch_from_event(event_type="webinar_attended", properties={"webinar": "Scoring  Masterclass"})
    assert touch["campaign"] == "scoring masterclass"


def test_the_default_channel_rules_are_the_ones_the_migration_wrote():
    migration = importlib.import_module("attribution.migrations.0002_default_channel_rules")
    assert migration.DEFAULT_RULES == DEFAULT_RULES
