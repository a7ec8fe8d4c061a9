"""The dependency lock and the SBOM (ASVS 15.1; review §10: lower bounds only, no hashes, no inventory):
every dependency of pyproject.toml is pinned in requirements.lock with hashes, scripts/setup installs
with --require-hashes, and sbom.cdx.json (CycloneDX) lists exactly the locked packages.
Regenerate both with scripts/lock after changing a dependency."""

from __future__ import annotations

import json
import re
import tomllib

from app import PROJECT_ROOT

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked() -> dict[str, dict]:
    packages: dict[str, dict] = {}
    current = None
    for line in (PROJECT_ROOT / "requirements.lock").read_text().splitlines():
        match = PIN.match(line)
        if match:
            current = packages.setdefault(_normal(match.group(1)), {"version": match.group(2), "hashes": []})
        elif current is not None and "--hash=sha256:" in line:
            current["hashes"].append(line.split("--hash=sha256:")[1].split()[0])
    return packages


def test_every_dependency_is_locked_with_hashes():
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    locked = _locked()
    for requirement in wanted:
        name = _normal(re.split(r"[<>=!~\[;\s]", requirement, maxsplit=1)[0])
        assert name in locked, f"{name} is not in requirements.lock: run scripts/lock"
    assert all(len(entry["hashes"]) >= 1 and all(len(h) == 64 for h in entry["hashes"])
               for entry in locked.values())
    setup = (PROJECT_ROOT / "scripts" / "setup").read_text()
    assert "--require-hashes" in setup and "-r requirements.lock" in setup


def test_the_sbom_lists_exactly_the_locked_packages():
    sbom = json.loads((PROJECT_ROOT / "sbom.cdx.json").read_text())
    assert sbom["bomFormat"] == "CycloneDX"
    components = {_normal(c["name"]): c for c in sbom["components"]}
    locked = _locked()
    assert set(components) == set(locked)
    for name, entry in locked.items():
        component = components[name]
        assert component["version"] == entry["version"], name
        purl_name, _at, purl_version = component["purl"].removeprefix("pkg:pypi/").partition("@")
        assert (_normal(purl_name), purl_version) == (name, entry["version"]), name


def test_bandit_runs_before_the_tests():
    script = (PROJECT_ROOT / "scripts" / "test").read_text()
    lint = script[script.index("--- 0. lint"):script.index("--- 1.")]
    assert "bandit" in lint and " -r app" in lint
