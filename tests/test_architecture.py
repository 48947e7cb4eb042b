"""The import layers of docs/architecture.md hold (the same check as `make lint`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def test_import_layers_hold() -> None:
    cli = pytest.importorskip("importlinter.cli", reason="import-linter is a dev dependency")
    cwd = Path.cwd()
    os.chdir(ROOT)  # the contracts live in pyproject.toml
    try:
        assert cli.lint_imports(no_cache=True) == cli.EXIT_STATUS_SUCCESS
    finally:
        os.chdir(cwd)


def test_config_imports_no_mitigation() -> None:
    """The description layer stays torch-free: loading a config pulls in no learning code."""
    import subprocess
    import sys

    code = "import sys, wsdiag.config, wsdiag.rundir; print(sorted(m for m in sys.modules " \
        "if m.startswith(('wsdiag.mitigations', 'wsdiag.agents', 'torch'))))"  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_a_config_checks_its_mitigation_without_the_mitigations() -> None:
    """A mitigation's table is read and checked by the config alone: no registry is installed
    into it by an import."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from wsdiag.config import from_dict\n"
        "from wsdiag.errors import WsdiagError\n"
        "p = from_dict({'mitigation': {'name': 'ccl_pqd', 'ccl_pqd': {'alpha_start': 0.5}}})"
        ".mitigation.params\n"
        "try:\n"
        "    from_dict({'mitigation': {'name': 'ccl_pqd', 'ccl_pqd': {'alpha_start': -1}}})\n"
        "except WsdiagError as exc:\n"
        "    print(type(p).__module__, p.alpha_start, exc)\n"
        "print(any(m.startswith('wsdiag.mitigations') for m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == [
        "wsdiag.config.mitigations.ccl_pqd 0.5 mitigation.ccl_pqd.alpha_start must be in (0, 1], "
        "got -1.0",
        "False",
    ]


def test_each_registry_of_the_learning_layer_matches_the_configs() -> None:
    """Names are written once: a mitigation takes its table's, an agent is its algorithm's."""
    from wsdiag.agents import AGENTS
    from wsdiag.config import ALGORITHMS, TABLES
    from wsdiag.mitigations import MITIGATIONS

    assert list(MITIGATIONS) == list(TABLES)
    assert all(m.table is TABLES[name] for name, m in MITIGATIONS.items())
    assert list(AGENTS) == list(ALGORITHMS)


def test_the_config_package_keeps_one_job_per_module() -> None:
    """wsdiag/config/: schema, parsing, overrides, validation, memory, one short module each."""
    folder = ROOT / "wsdiag" / "config"
    long = {p.name: n for p in folder.rglob("*.py") if (n := len(p.read_text().splitlines())) > 300}
    assert not long, long
