"""The default rule set (loaded by migration 0003, and by `install_default_rules`).

A demo request (+40) and a few pricing-page views (+6 each, 3 a day) within days cross
the MQL threshold of 50; a single blog view (+1) does not.
"""

# label, kind, event type, conditions, points, daily cap, half-life (days; None: default)
DEFAULT_RULES = [
    # label, kind, event type, conditions, points, daily cap, half-life (days; None: default)
    (
        "Demo request",
        "behaviour",
        "form_submitted",
        [{"field": "form", "op": "equals", "value": "demo-request"}],
        40,
        1,
        None,
    ),
    (
        "Contact form",
        "behaviour",
        "form_submitted",
        [{"field": "form", "op": "equals", "value": "contact"}],
        20,
        1,
        None,
    ),
    (
        "Pricing page view",
        "behaviour",
        "page_view",
        [{"field": "url", "op": "contains", "value": ["/pricing"]}],
        6,
        3,
        None,
    ),
    ("Blog view", "behaviour", "page_view", [{"field": "url", "op": "contains", "value": ["/blog"]}], 1, 5, None),
    ("Content download", "behaviour", "content_downloaded", [], 10, 2, None),
    ("Webinar attended", "behaviour", "webinar_attended", [], 15, 1, None),
    ("Email click", "behaviour", "email_clicked", [], 3, 3, None),
    (
        "Careers page view",
        "behaviour",
        "page_view",
        [{"field": "url", "op": "contains", "value": ["/careers", "/jobs"]}],
        -10,
        1,
        None,
    ),
    ("Unsubscribed", "behaviour", "unsubscribed", [], -20, 1, 90.0),
    (
        "Senior title",
        "fit",
        "",
        [{"field": "job_title", "op": "contains", "value": ["VP", "Vice President", "Head", "Chief", "Director"]}],
        15,
        None,
        None,
    ),
    ("Company of 50+", "fit", "", [{"field": "company_size", "op": "gte", "value": 50}], 10, None, None),
    (
        "Competitor's domain",
        "fit",
        "",
        [{"field": "email", "op": "contains", "value": ["@competitor.example"]}],
        -50,
        None,
        None,
    ),
]
