"""Code and dependency hygiene in CI (ATTACKS.md K-06): bandit over labelhouse/, pip-audit over
the dependencies the installed project runs with.

pip-audit asks PyPI's vulnerability API (``/pypi/<name>/<version>/json``). When that service
cannot answer, pip-audit reports the packages as "not found" and exits 0, which would be a silent
pass; so the test first audits a release with published advisories and requires them to be seen.
If they are not, the audit did not happen: a skip with the reason outside CI, a failure in CI
(``CI=true``), like the PostgreSQL tests. ``LABELHOUSE_SKIP_PIP_AUDIT=1`` turns that failure into
a skip on purpose, for a CI machine with no route to pypi.org; the skip message says so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REQUIRE_PG

ROOT = Path(__file__).resolve().parents[2]
REQUIRE_AUDIT = REQUIRE_PG and os.environ.get("LABELHOUSE_SKIP_PIP_AUDIT") != "1"
# A release with published advisories: if the audit does not report it, the service is not there.
KNOWN_VULNERABLE = "requests==2.19.0"
# Advisories accepted on purpose, each with its reason (none today). Add an id here only for a
# vulnerability with no fixed release, or one that cannot reach labelhouse, and say which.
IGNORED_VULNS: dict[str, str] = {}


def test_K_06_bandit_finds_nothing_unreviewed() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bandit", "-c", "pyproject.toml", "-r", "labelhouse", "-f", "json", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(run.stdout)
    found = [
        f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text']}" for r in report["results"]
    ]
    assert not found, "bandit findings (fix them, or mark a checked one `# nosec <id>`):\n" + "\n".join(found)
    assert report["metrics"]["_totals"]["loc"] > 10_000  # it did scan the package
    assert run.returncode == 0, run.stderr


def runtime_requirements() -> list[str]:
    """``name==version`` of every installed distribution the project's runtime dependencies pull in
    (with their extras and markers): what a deployment runs, not the test tooling."""
    seen: dict[str, str] = {}

    def walk(req: Requirement) -> None:
        try:
            dist = distribution(req.name)
        except PackageNotFoundError:
            return  # a marker-excluded or optional dependency that is not installed
        key = canonicalize_name(req.name)
        first = key not in seen
        seen[key] = f"{dist.metadata['Name']}=={dist.version}"
        for raw in dist.requires or []:
            sub = Requirement(raw)
            extras = req.extras or {""}
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in extras):
                if first or sub.extras:
                    walk(sub)

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for raw in project["dependencies"]:
        walk(Requirement(raw))
    return sorted(seen.values())


def _audit(requirements: list[str], tmp_path: Path) -> dict[str, dict[str, object]]:
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("\n".join(requirements) + "\n")
    command = [sys.executable, "-m", "pip_audit", "-r", str(reqs), "--no-deps", "--disable-pip", "-f", "json"]
    command += ["--progress-spinner", "off", "--timeout", "20"]
    for vuln in IGNORED_VULNS:
        command += ["--ignore-vuln", vuln]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        return {}
    return {canonicalize_name(d["name"]): d for d in report["dependencies"]}


def _unreachable(reason: str) -> None:
    if REQUIRE_AUDIT:
        pytest.fail(
            f"pip-audit could not audit ({reason}). CI must reach https://pypi.org/pypi/<name>/<version>/json; "
            "on a machine that cannot, set LABELHOUSE_SKIP_PIP_AUDIT=1 to skip this on purpose"
        )
    pytest.skip(f"pip-audit could not audit ({reason}); the dependency audit did not run")


def test_K_06_pip_audit_finds_no_vulnerable_dependency(tmp_path: Path) -> None:
    probe = _audit([KNOWN_VULNERABLE], tmp_path)
    if not probe.get("requests", {}).get("vulns"):  # the "not found" silent pass
        _unreachable(f"the vulnerability service did not report the advisories of {KNOWN_VULNERABLE}")
    requirements = runtime_requirements()
    assert any(r.lower().startswith("fastapi==") for r in requirements), requirements
    found = _audit(requirements, tmp_path)
    unaudited = [name for name, d in found.items() if d.get("skip_reason")]
    if not found or unaudited:
        _unreachable(f"no answer for {', '.join(unaudited) or 'any package'}")
    vulnerable = [
        f"{d['name']} {d['version']}: "
        + ", ".join(
            f"{v['id']} (fixed in {', '.join(v.get('fix_versions') or ['no release'])})" for v in d["vulns"]
        )  # type: ignore[union-attr]
        for d in found.values()
        if d.get("vulns")
    ]
    assert not vulnerable, "raise these floors in pyproject.toml:\n" + "\n".join(vulnerable)


def test_K_06_runtime_requirements_cover_the_dependency_tree() -> None:
    """The audited list is the real closure: direct dependencies, extras and transitive ones."""
    names = {canonicalize_name(r.split("==")[0]) for r in runtime_requirements()}
    assert {"fastapi", "starlette", "pydantic", "sqlalchemy", "psycopg", "uvicorn"} <= names
    assert {"pydantic-core", "h11", "anyio"} <= names  # transitive
    assert {"uvloop", "httptools"} & names or sys.platform == "win32"  # uvicorn[standard]
    assert "pytest" not in names and "schemathesis" not in names  # test tooling is not shipped
