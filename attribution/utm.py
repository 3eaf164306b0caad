"""Reading a touch's source, medium, campaign and content from an event.

UTM parameters come from the event's properties (`utm_source` … or, for ad and email
clicks, the contract's `campaign`) and from the query string of `properties.url`.
Real URLs are messy: keys and values arrive in any case, percent- or plus-encoded,
repeated, HTML-escaped (`&amp;`), or after a `#` (single-page apps put the query in the fragment). Keys are
matched case-insensitively, values decoded, trimmed and case-folded; the first
non-empty value of a repeated key wins.
"""

from urllib.parse import parse_qsl, urlsplit

UTM_FIELDS = ("source", "medium", "campaign", "content")
MAX_LENGTH = 200


def _clean(value) -> str:
    if value is None or isinstance(value, (dict, list, bool)):
        return ""
    return " ".join(str(value).split()).casefold()[:MAX_LENGTH]


def _query_pairs(query: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(query, keep_blank_values=False)
    except ValueError:
        return []


def parse_utm(url) -> dict[str, str]:
    """The utm_* values of a URL (blank ones left out)."""
    if not isinstance(url, str) or not url:
        return {}
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return {}
    pairs = _query_pairs(parts.query)
    if "?" in parts.fragment:
        pairs += _query_pairs(parts.fragment.split("?", 1)[1])
    elif "=" in parts.fragment:
        pairs += _query_pairs(parts.fragment)
    found: dict[str, str] = {}
    for key, value in pairs:
        key = key.strip().casefold()
        # Links copied out of HTML email templates keep their escaped `&amp;` separators.
        while key.startswith("amp;"):
            key = key[4:]
        if not key.startswith("utm_"):
            continue
        field = key[4:]
        cleaned = _clean(value)
        if field in UTM_FIELDS and cleaned and field not in found:
            found[field] = cleaned
    return found


def touch_fields(properties) -> dict[str, str]:
    """source, medium, campaign and content of an event: explicit properties first
    (`utm_source` or `source`, …), then the URL's query string."""
    properties = properties if isinstance(properties, dict) else {}
    lowered = {str(key).casefold(): value for key, value in properties.items()}
    from_url = parse_utm(lowered.get("url"))
    fields = {}
    for field in UTM_FIELDS:
        explicit = _clean(lowered.get(f"utm_{field}")) or _clean(lowered.get(field))
        fields[field] = explicit or from_url.get(field, "")
    return fields


def has_utm(fields: dict[str, str]) -> bool:
    return any(fields.get(field) for field in ("source", "medium", "campaign"))
