from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from events.models import Scope
from events.services import InvalidScopes, create_api_key


class Command(BaseCommand):
    help = "Create an API key and print it (once: only its hash is stored). The key is alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--scopes", required=True, help=f"Comma-separated: {','.join(Scope.values)}")
        parser.add_argument("--user", help="Bind the key to this user: it may then do only what their role allows.")
        parser.add_argument(
            "--public",
            action="store_true",
            help="A key for a web page (events:write only): its identify never rewrites a known lead.",
        )

    def handle(self, *args, name, scopes, user=None, public=False, **options):
        bound_user = None
        if user:
            try:
                bound_user = get_user_model().objects.get(username=user)
            except get_user_model().DoesNotExist as error:
                raise CommandError(f"No user named “{user}”.") from error
        try:
            api_key, raw = create_api_key(name=name, scopes=scopes.split(","), user=bound_user, public=public)
        except InvalidScopes as error:
            raise CommandError(str(error)) from error
        kind = "public" if api_key.public else "server"
        self.stderr.write(
            f"Created {kind} API key “{api_key.name}” with scopes {', '.join(api_key.scopes)}. Shown once:"
        )
        self.stdout.write(raw)
