"""The test suite's settings: the development defaults, asked for explicitly (as `make
run` does), then the settings every deployment reads. Set in the environment, so the
worker and server processes the tests start get the same."""

import os

os.environ.setdefault("FUNNEL_DEV", "1")
# A filesystem broker of the suite's own (inherited by the workers it starts): a `make run`
# in the same checkout consumes var/broker and would take the real-worker tests' tasks.
_checkout = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_var = os.environ.get("FUNNEL_VAR_DIR") or os.path.join(_checkout, "var")
os.environ.setdefault("FUNNEL_BROKER_DIR", os.path.join(_var, "test-broker"))

from funnel.settings import *  # noqa: E402,F403
