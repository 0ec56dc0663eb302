"""Deliberate dependency bounds: PuLP stays below 4 because the CBC fallback uses the CBC binary
that PuLP 2-3 bundle (``PULP_CBC_CMD``); PuLP 4 removes it."""

from __future__ import annotations

import tomllib
from importlib.metadata import version

import pulp
from packaging.requirements import Requirement
from packaging.version import Version

from tests.conftest import ROOT


def _requirement(name: str) -> Requirement:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    found = [Requirement(r) for r in config["project"]["dependencies"]]
    return next(r for r in found if r.name.lower() == name)


def test_pulp_is_bounded_below_4() -> None:
    spec = _requirement("pulp").specifier
    assert not spec.contains("4.0") and not spec.contains("4.1.0")
    assert spec.contains("3.3.0")


def test_the_installed_pulp_carries_the_cbc_the_fallback_runs() -> None:
    assert Version(version("pulp")) < Version("4")
    assert pulp.PULP_CBC_CMD(msg=False).available()


def test_versions_agree() -> None:
    import optimizer

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert optimizer.__version__ == config["project"]["version"]


def test_the_notebooks_extra_brings_jupyter_and_the_readme_says_so() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extra = [Requirement(r).name for r in config["project"]["optional-dependencies"]["notebooks"]]
    assert "jupyterlab" in extra and "ipykernel" in extra
    assert "pip install -e '.[notebooks]'" in (ROOT / "README.md").read_text(encoding="utf-8")
