"""The set-up files agree: environment.yml, pyproject.toml and the lock; CITATION.cff and LICENSE."""

import re
import tomllib

import yaml
from packaging.requirements import Requirement

from conftest import ROOT


def canonical(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", Requirement(requirement).name).lower()


def pip_names_of_environment() -> set[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    return {canonical(r) for r in pip if not r.startswith("-")}


def project_names() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {canonical(r) for r in project["dependencies"]}


def test_environment_and_pyproject_name_the_same_packages():
    env, project = pip_names_of_environment(), project_names()
    assert env == project, f"only in environment.yml: {env - project}; only in pyproject.toml: {project - env}"


def test_every_dependency_is_pinned_in_the_lock():
    lines = (ROOT / "requirements" / "constraints.txt").read_text().splitlines()
    pins = {canonical(l) for l in lines if l.strip() and not l.startswith("#")}
    assert all("==" in l for l in lines if l.strip() and not l.startswith("#"))
    assert project_names() <= pins, f"not pinned: {project_names() - pins}"


def test_citation_names_the_replication_and_the_paper():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software" and cff["license"] == "MIT"
    assert cff["title"] and cff["authors"] and cff["message"]
    paper = cff["preferred-citation"]
    assert paper["title"] == "A unified framework for Hamiltonian deep neural networks"
    assert [a["family-names"] for a in paper["authors"]] == ["Galimberti", "Xu", "Ferrari Trecate"]
    assert (paper["year"], paper["volume"], paper["publisher"]["name"]) == (2021, 144, "PMLR")
    assert "Learning for Dynamics and Control" in paper["collection-title"]
    assert any(i["value"] == "arXiv:2104.13166" for i in paper["identifiers"])


def test_license_is_mit():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Copyright (c) 2026 the hdnn-replication authors" in text
