"""The command-line section of `make bench` finds the demo config and this checkout."""

from __future__ import annotations

from pathlib import Path

from benchmarks import cli


def test_the_cli_section_points_at_this_checkout() -> None:
    root = Path(__file__).resolve().parents[2]
    assert cli.DEMO_CONFIG.is_file() and cli.DEMO_CONFIG.resolve().is_relative_to(root)
    assert cli._env()["PYTHONPATH"].split(":")[0] == str(root)
