"""The dependency set is locked, and the vulnerability check never passes silently."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
AUDIT = ROOT / ".ci" / "audit.py"


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-dev.lock"])
def test_every_locked_package_is_pinned_with_hashes(lock):
    text = (ROOT / lock).read_text()
    packages = re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s\\]+) \\$", text, flags=re.MULTILINE)
    assert len(packages) > 20
    assert {name.lower() for name, _ in packages} >= {"django", "celery", "django-axes"}
    blocks = re.split(r"^(?=[A-Za-z0-9])", text, flags=re.MULTILINE)
    assert all("--hash=sha256:" in block for block in blocks if "==" in block)


def test_make_install_installs_the_lock_and_nothing_resolved_again():
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r $(LOCK)" in makefile
    assert "--no-deps -e ." in makefile


def run_audit(tmp_path, *, stdout: str, stderr: str = "", code: int = 0):
    fake = tmp_path / "pip-audit"
    script = f"import sys\nsys.stdout.write({stdout!r})\nsys.stderr.write({stderr!r})\nsys.exit({code})\n"
    fake.write_text(f"#!{sys.executable}\n{script}")
    fake.chmod(0o755)
    return subprocess.run(
        [sys.executable, str(AUDIT)], env={**os.environ, "PIP_AUDIT": str(fake)}, capture_output=True, text=True
    )


def test_a_known_vulnerability_fails_the_audit(tmp_path):
    report = {
        "dependencies": [{"name": "django", "version": "5.2", "vulns": [{"id": "PYSEC-1", "fix_versions": ["5.2.1"]}]}]
    }
    result = run_audit(tmp_path, stdout=json.dumps(report), code=1)
    assert result.returncode == 1
    assert "VULNERABLE django==5.2: PYSEC-1" in result.stdout


def test_an_unreachable_database_is_a_loud_warning_not_a_silent_pass(tmp_path):
    result = run_audit(tmp_path, stdout="", stderr="requests.exceptions.ConnectionError: api.osv.dev", code=1)
    assert result.returncode == 0
    assert "WARNING: pip-audit could not reach its vulnerability database" in result.stdout
    assert "NOT checked" in result.stdout


def test_packages_the_database_could_not_answer_for_are_named_in_a_warning(tmp_path):
    report = {"dependencies": [{"name": "django", "skip_reason": "Dependency not found on PyPI"}]}
    result = run_audit(tmp_path, stdout=json.dumps(report))
    assert result.returncode == 0
    assert "could not check 1 of 1 locked packages (django)" in result.stdout
    assert "NOTHING was checked" in result.stdout


def test_a_clean_audit_passes(tmp_path):
    report = {"dependencies": [{"name": "django", "version": "5.2.9", "vulns": []}]}
    result = run_audit(tmp_path, stdout=json.dumps(report))
    assert result.returncode == 0
    assert "1 locked packages checked, no known vulnerabilities" in result.stdout
