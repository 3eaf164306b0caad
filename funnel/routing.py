from django.urls import re_path


def api_path(route: str, view, name: str):
    """Route `route` with and without a trailing slash to one view, with no redirect
    (CONTRACT.md). `route` uses Django's `<int:name>` converters for integer ids."""
    import re

    pattern = re.sub(r"<int:(\w+)>", r"(?P<\1>[0-9]+)", route.strip("/"))
    pattern = re.sub(r"<str:(\w+)>", r"(?P<\1>[^/]+)", pattern)
    return re_path(rf"^{pattern}/?$", view, name=name)


def schema_paths_without_trailing_slash(endpoints, **kwargs):
    """drf-spectacular hook: `api_path` routes both spellings, and the schema documents the
    contract's spelling, without the trailing slash."""
    return [(path.rstrip("/") or "/", regex, method, callback) for path, regex, method, callback in endpoints]
