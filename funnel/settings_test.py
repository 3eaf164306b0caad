"""The test suite's settings: the development defaults, asked for explicitly (as `make
run` does), then the settings every deployment reads. Set in the environment, so the
worker and server processes the tests start get the same."""

import os

os.environ.setdefault("FUNNEL_DEV", "1")

from funnel.settings import *  # noqa: E402,F403
