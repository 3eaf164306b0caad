from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser lets the RecursionError of a deeply nested body (`[[[[…`, a
    few kilobytes) through as a 500; it is a 400 like any other unreadable JSON.

    It is the API's default parser (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]), so every
    view gets it without asking."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise exceptions.ParseError("JSON parse error - the body is nested too deeply.") from error
