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
