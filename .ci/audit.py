"""Check the locked dependency set against known vulnerabilities with pip-audit.

Fails on a known vulnerability. When pip-audit cannot reach its vulnerability database
(no network to it, or a package index that does not serve PyPI's JSON API, as on the
build machines here) it says so in a loud warning and does not fail: an unchecked run
is never reported as a clean one.

    .venv/bin/python .ci/audit.py [requirements-dev.lock]
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BANNER = "!" * 78


def warn(message: str) -> None:
    print(f"{BANNER}\nWARNING: {message}\n{BANNER}", flush=True)


def main() -> int:
    lock = ROOT / (sys.argv[1] if len(sys.argv) > 1 else "requirements-dev.lock")
    command = [
        os.environ.get("PIP_AUDIT", str(Path(sys.executable).parent / "pip-audit")),
        "--requirement",
        str(lock),
        "--require-hashes",
        "--disable-pip",
        "--progress-spinner",
        "off",
        "--format",
        "json",
    ]
    print("$", " ".join(command), flush=True)
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as error:
        warn(f"pip-audit did not run ({error}); the locked dependencies were NOT checked for vulnerabilities.")
        return 0
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        warn(
            "pip-audit could not reach its vulnerability database; the locked dependencies were NOT checked "
            f"for vulnerabilities.\n         Its last words: {last[:300]}"
        )
        return 0
    dependencies = report.get("dependencies", [])
    skipped = [dep for dep in dependencies if dep.get("skip_reason")]
    vulnerable = [dep for dep in dependencies if dep.get("vulns")]
    audited = len(dependencies) - len(skipped)
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions", [])) or "no fixed release yet"
            print(f"VULNERABLE {dep['name']}=={dep['version']}: {vuln['id']} (fixed in: {fixes})")
    if skipped:
        names = ", ".join(dep["name"] for dep in skipped[:8])
        more = f" and {len(skipped) - 8} more" if len(skipped) > 8 else ""
        reason = skipped[0]["skip_reason"]
        warn(
            f"pip-audit could not check {len(skipped)} of {len(dependencies)} locked packages ({names}{more}).\n"
            f"         First reason: {reason}\n"
            "         The vulnerability database (PyPI's JSON API or OSV) is probably unreachable from here."
        )
    if vulnerable:
        print(f"pip-audit: {len(vulnerable)} locked packages have known vulnerabilities: update them (make lock).")
        return 1
    if audited == 0:
        print("pip-audit: NOTHING was checked (see the warning above); not failing the build for it.")
    else:
        print(f"pip-audit: {audited} locked packages checked, no known vulnerabilities.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
