"""Who may do what is decided in one module, leads/access.py (STYLE.md: "A role set written
a second time somewhere else will disagree with the first one day"). These tests read the
source: no other module writes a role set or asks for a role by name."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ["analytics", "attribution", "events", "funnel", "leads", "sales", "scoring"]
RULEBOOK = ROOT / "leads" / "access.py"

# A role set (`EDITOR_ROLES = …`), a role named in a check, or a role asked for directly.
# Asking the rulebook who holds a role (`access.active_with_role(Role.SALES_REP)`) or which
# role to show (`access.role_of(user)` for the header's badge) is fine.
ROLE_RULE = re.compile(
    r"^\s*[A-Z_]*ROLES\s*="
    r"|(?<!active_with_role\()Role\.(MARKETER|SALES_REP|SALES_MANAGER|ADMIN)\b"
    r"|\bhas_role\("
    r"|(?<![.\w])role_of\("
)


def _sources():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts and path != RULEBOOK:
                yield path


@pytest.mark.smoke
@pytest.mark.parametrize("path", list(_sources()), ids=lambda path: str(path.relative_to(ROOT)))
def test_no_module_but_the_rulebook_writes_a_role_rule(path):
    offending = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if ROLE_RULE.search(line)
    ]
    assert offending == [], "ask leads.access instead:\n" + "\n".join(offending)


@pytest.mark.smoke
def test_the_old_roles_module_is_gone():
    assert not (ROOT / "funnel" / "roles.py").exists()
