"""benchmarks.heap_padding: the summary's ratios per pair and its best of each side. Nothing is
timed here."""

from __future__ import annotations

from benchmarks.heap_padding import summary


def _row(algo: str, padded: bool, cpu: float, faults: int) -> dict:
    return {"algo": algo, "padded": padded, "cpu_s": cpu, "wall_s": cpu + 1.0,
            "sys_s": 0.1 if padded else 5.0, "minor_faults": faults}  # fmt: skip


def test_each_algorithm_gets_its_pairs_ratios_and_best_sides() -> None:
    rows = [_row("cql", False, 60.0, 1_000_000), _row("cql", True, 50.0, 1_000),
            _row("cql", True, 40.0, 2_000), _row("cql", False, 48.0, 900_000),
            _row("td3", False, 10.0, 100), _row("td3", True, 10.0, 90)]  # fmt: skip
    lines = summary(rows)
    assert lines[2] == ("| cql | 48.0 / 40.0 | 1.20, 1.20 | 49.0 / 41.0 | 5.0 / 0.1 | "
                        "1,000,000 / 2,000 |")  # fmt: skip
    assert lines[3].startswith("| td3 | 10.0 / 10.0 | 1.00 |")
