"""The lead list says how many match and sorts by its headers; an import's preview
flags bad rows with the reason, its result lists them, and "See the leads" shows the
leads it created."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads import imports
from tests.factories import LeadFactory
from tests.leads.test_imports import CSV, mapping_post, upload

pytestmark = pytest.mark.django_db


def test_the_list_says_how_many_leads_match(client, marketer):
    LeadFactory.create_batch(3, company="Acme")
    LeadFactory(company="Globex")
    client.force_login(marketer)
    assert "3 leads match" in client.get("/leads/", {"q": "acme"}).content.decode()
    assert "4 leads" in client.get("/leads/").content.decode()


def test_a_search_matching_more_than_a_page_gives_an_estimate_without_counting_every_match(client, marketer):
    LeadFactory.create_batch(55, company="Acme")
    client.force_login(marketer)
    with CaptureQueriesContext(connection) as queries:
        html = client.get("/leads/", {"q": "acme"}).content.decode()
    if connection.vendor == "postgresql":
        assert not [query for query in queries.captured_queries if "COUNT(" in query["sql"]]
        assert "About " in html and " leads match" in html
    else:
        # The embedded database (a demo's few thousand leads) counts exactly.
        assert "55 leads match" in html


def test_the_score_header_sorts_by_score_and_again_the_other_way(client, marketer):
    low, high = LeadFactory(score=5), LeadFactory(score=90)
    client.force_login(marketer)
    first = client.get("/leads/", {"sort": "-score"})
    assert [lead.pk for lead in first.context["page"].leads] == [high.pk, low.pk]
    html = first.content.decode()
    assert 'aria-sort="descending"><a href="?sort=score"' in html
    second = client.get("/leads/", {"sort": "score"})
    assert [lead.pk for lead in second.context["page"].leads] == [low.pk, high.pk]


def test_the_filter_and_bulk_forms_do_not_share_element_ids(client, marketer):
    client.force_login(marketer)
    html = client.get("/leads/").content.decode()
    assert html.count('id="id_owner"') == 1
    assert 'id="id_bulk_owner"' in html


def test_the_import_preview_flags_bad_rows_with_the_reason(client, marketer):
    client.force_login(marketer)
    upload(client, CSV)
    job = marketer.lead_imports.get()
    html = client.get(f"/leads/import/{job.pk}/").content.decode()
    bad = html.split('data-line="3"')[1].split("</tr>")[0]
    # The reason names the field, not the value (an import's errors are kept, its personal data is not).
    assert "Not imported:" in bad and "Email: Not a valid email address" in bad
    good = html.split('data-line="2"')[1].split("</tr>")[0]
    assert "Not imported" not in good


def test_the_result_lists_the_reasons_and_see_the_leads_shows_only_the_imported_ones(client, marketer):
    LeadFactory(email="older@example.com")
    client.force_login(marketer)
    job = imports.create_import_job(upload=SimpleUploadedFile("leads.csv", CSV.encode()), user=marketer)
    client.post(f"/leads/import/{job.pk}/", mapping_post(job, start="1"))
    imports.run_import(job_id=job.pk)
    html = client.get(f"/leads/import/{job.pk}/status/").content.decode()
    assert "is not a whole number of employees" in html
    assert f'href="/leads/?import={job.pk}"' in html
    listed = client.get("/leads/", {"import": job.pk}).context["page"].leads
    assert sorted(lead.email for lead in listed) == ["ada@example.com", "linus@example.com"]
