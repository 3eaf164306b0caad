"""Error pages people can leave: the site's navigation, the reason, a way on; under
DEBUG (`make run`) as in production, while API paths keep their JSON errors."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.fixture(params=[False, True], ids=["production", "make-run-debug"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


def test_a_forbidden_page_is_styled_with_the_navigation_and_the_reason(debug, rep1):
    response = signed_in(rep1).get("/analytics/funnel/")
    html = response.content.decode()
    assert response.status_code == 403
    assert '<nav aria-label="Main">' in html and 'href="/queue/"' in html
    assert "The funnel report is for marketers, sales managers and admins." in html


def test_an_unknown_address_is_a_styled_404_not_the_debug_listing(debug, marketer):
    response = signed_in(marketer).get("/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert '<nav aria-label="Main">' in html
    assert "There is no page at /no-such-page/." in html
    assert "URLconf" not in html


def test_a_missing_lead_says_why(debug, marketer):
    response = signed_in(marketer).get("/leads/999999/")
    assert response.status_code == 404
    assert "No such lead." in response.content.decode()


def test_the_slash_redirect_still_works_under_debug(debug, marketer):
    response = signed_in(marketer).get("/leads")
    assert response.status_code == 301 and response["Location"] == "/leads/"


def test_api_paths_keep_their_json_404(debug, marketer):
    response = signed_in(marketer).get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


def test_a_server_error_under_debug_is_the_styled_500_page(settings, marketer, monkeypatch):
    settings.DEBUG = True
    from leads import views

    def broken(request):
        raise RuntimeError("boom")

    monkeypatch.setattr(views.selectors, "board_filter_choices", broken)
    response = signed_in(marketer).get("/pipeline/")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


def test_an_anonymous_visitor_on_a_404_is_offered_the_log_in(debug):
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert "Log in" in response.content.decode()
