"""Audit the installed dependencies with pip-audit and print one clear result.

Fails (exit 1) only when a known vulnerability is found. When the vulnerability service
cannot be reached, or cannot audit the packages (a mirror that lacks them), it prints why the
audit was skipped and exits 0: an unreachable service must not break the build.
"""

from __future__ import annotations

import json
import subprocess
import sys

TIMEOUT_S = 300


def main() -> int:
    command = [
        sys.executable,
        "-m",
        "pip_audit",
        "--progress-spinner",
        "off",
        "--skip-editable",
        "--format",
        "json",
        "--timeout",
        "30",
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S)
    except FileNotFoundError:
        print("audit: skipped: pip-audit is not installed (pip install -e '.[dev]')")
        return 0
    except subprocess.TimeoutExpired:
        print(f"audit: skipped: the vulnerability service did not answer in {TIMEOUT_S}s")
        return 0
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"audit: skipped: the vulnerability service could not be reached ({reason[:200]})")
        return 0
    deps = report.get("dependencies", [])
    skipped = [d for d in deps if "skip_reason" in d]
    vulnerable = [d for d in deps if d.get("vulns")]
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
            print(f"audit: {dep['name']} {dep.get('version', '')}: {vuln['id']} (fixed in {fixed})")
    audited = len(deps) - len(skipped)
    if vulnerable:
        print(
            f"audit: FAILED: {len(vulnerable)} of {audited} audited packages have "
            "known vulnerabilities"
        )
        return 1
    if deps and not audited:
        print(
            f"audit: skipped: the vulnerability service (PyPI's JSON API) could not audit any of "
            f"the {len(deps)} packages ({skipped[0]['skip_reason'].split(':')[0].lower()})"
        )
        return 0
    note = f"; {len(skipped)} could not be audited" if skipped else ""
    print(f"audit: ok: {audited} packages audited, no known vulnerabilities{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
