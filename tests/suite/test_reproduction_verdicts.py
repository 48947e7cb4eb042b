"""The verdict rule of docs/reproduction.md (examples/reproduction/verdict.py), checked through
the script that applies it: hand-computed cases of every kind of part and of the claim's
combination, and the page's summary verdicts against the rule applied to the committed record."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RECORD = ROOT / "examples" / "results" / "reproduction" / "claims.json"
PAGE = ROOT / "docs" / "reproduction.md"


def _tables(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "examples.reproduction.tables", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True)


def _iv(estimate: float, low: float, high: float, label: str = "x") -> dict:
    return {"label": label, "estimate": estimate, "low": low, "high": high}


def _effect(estimate: float, low: float, high: float, null: float, **paper: float) -> dict:
    return {"kind": "effect", "measure": "m", "estimate": estimate, "low": low, "high": high,
            "null": null, **paper}  # fmt: skip


def _counts(k1: int, n1: int, k2: int, n2: int) -> dict:
    return {"kind": "counts", "x": {"label": "a", "k": k1, "n": n1},
            "y": {"label": "b", "k": k2, "n": n2}}  # fmt: skip


def _range(estimate: float, low: float, high: float, a: float, b: float) -> dict:
    return {"kind": "range", "measure": "m", "estimate": estimate, "low": low, "high": high,
            "paper_range": [a, b]}  # fmt: skip


# (part name, numbers, the verdict worked out by hand)
CASES = [
    # R3's deeper dip on the page: P = 0.80 [0.44, 1.00] contains 0.5
    ("R3 dip P", _effect(0.80, 0.44, 1.00, 0.5), "inconclusive"),
    ("P all seeds", _effect(1.0, 1.0, 1.0, 0.5), "holds"),
    ("P the other way", _effect(0.1, 0.0, 0.4, 0.5), "does not hold"),
    ("P touching", _effect(0.8, 0.5, 1.0, 0.5), "inconclusive"),
    # a paired difference against 0 with the paper's size 14: short of it while 0 is inside
    ("short of the paper", _effect(2, -3, 8, 0.0, paper=14), "does not hold"),
    ("reaching the paper", _effect(2, -3, 20, 0.0, paper=14), "inconclusive"),
    ("smaller than the paper", _effect(10, 1, 12, 0.0, paper=14), "holds"),
    ("ratio", _effect(7.0, 5.7, 12.1, 1.0), "holds"),
    # R3's pretrained critics on the page: 0.92 [0.64, 1.54] against 1.05 [0.89, 1.59]
    (
        "R3 gradients",
        {"kind": "intervals", "x": _iv(0.92, 0.644, 1.544), "y": _iv(1.053, 0.887, 1.594)},
        "inconclusive",
    ),
    (
        "apart",
        {"kind": "intervals", "x": _iv(6.25, 5.78, 6.43), "y": _iv(4.3, 3.61, 4.74)},
        "holds",
    ),
    (
        "apart the other way",
        {"kind": "intervals", "x": _iv(-619, -763, -388), "y": _iv(-254, -322, -192)},
        "does not hold",
    ),
    (
        "ends touch",
        {"kind": "intervals", "x": _iv(102, 101, 103), "y": _iv(93, 70, 101)},
        "inconclusive",
    ),
    (
        "no interval",
        {"kind": "intervals", "x": _iv(1, None, None), "y": _iv(0, -1, 0)},
        "inconclusive",
    ),
    ("inside the range", _range(83, 78, 94, 66, 95), "holds"),
    ("outside the range", _range(75, 62, 83, 46, 52), "does not hold"),
    ("across the range", _range(51, 27, 68, 46, 52), "inconclusive"),
    # R8 on the page: 2 of 5 against 0 of 5, p = C(5,2) C(5,0) / C(10,2) = 10/45
    ("R8 seeds", _counts(2, 5, 0, 5), "inconclusive"),
    ("all against one", _counts(5, 5, 1, 5), "holds"),  # p = C(6,5) / C(10,5) = 6/252
    ("none against four", _counts(0, 5, 4, 5), "does not hold"),  # 5/210 the other way
    ("four against three", _counts(4, 5, 3, 5), "inconclusive"),  # p = 126/252
    (
        "point",
        {
            "kind": "point",
            "x": {"label": "a", "estimate": -657},
            "y": {"label": "b", "estimate": -1495},
        },
        "inconclusive",
    ),
]
P_VALUES = {"R8 seeds": "0.222", "all against one": "0.024", "four against three": "0.500"}


def _record(tmp_path: Path, parts: list[tuple[str, str, dict]]) -> Path:
    entries = [
        {"claim": claim, "part": name, "says": "s", "source": "hand", **numbers}
        for claim, name, numbers in parts
    ]
    path = tmp_path / "claims.json"
    path.write_text(json.dumps({"entries": entries}))
    return path


def _rows(out: str, columns: int) -> list[list[str]]:
    rows = []
    for line in out.splitlines():
        cells = [c.strip() for c in line.split("|")[1:-1]]
        if len(cells) == columns and not set(cells[0]) <= {"-"} and cells[0] != "claim":
            rows.append(cells)
    return rows


def test_the_rule_gives_the_hand_computed_verdicts(tmp_path: Path) -> None:
    path = _record(tmp_path, [("R1", name, numbers) for name, numbers, _ in CASES])
    done = _tables("--verdicts", str(path))
    assert done.returncode == 0, done.stderr
    got = {row[1]: row for row in _rows(done.stdout, 5)}
    for name, _, verdict in CASES:
        assert got[name][3] == verdict, name
    for name, p in P_VALUES.items():
        assert got[name][2].endswith(f"one-sided Fisher exact p = {p}")


COMBINED = {
    "R1": (["holds", "holds"], "**holds** (holds: R1 0, R1 1)"),
    "R2": (["holds", "does not hold"], "**holds in part** (holds: R2 0; does not hold: R2 1)"),
    "R3": (
        ["inconclusive", "does not hold"],
        "**does not hold** (does not hold: R3 1; inconclusive: R3 0)",
    ),
    "R4": (["inconclusive", "inconclusive"], "**inconclusive** (inconclusive: R4 0, R4 1)"),
    "R5": (
        ["inconclusive", "holds", "does not hold"],
        "**holds in part** (holds: R5 1; does not hold: R5 2; inconclusive: R5 0)",
    ),
}
BY_VERDICT = {
    "holds": _effect(1, 1, 1, 0.5),
    "does not hold": _effect(0, 0, 0, 0.5),
    "inconclusive": _effect(0.5, 0, 1, 0.5),
}


def test_a_claims_verdict_combines_its_parts(tmp_path: Path) -> None:
    parts = [
        (claim, f"{claim} {i}", BY_VERDICT[v])
        for claim, (verdicts, _) in COMBINED.items()
        for i, v in enumerate(verdicts)
    ]
    done = _tables("--verdicts", str(_record(tmp_path, parts)))
    assert done.returncode == 0, done.stderr
    cells = dict(_rows(done.stdout, 2))
    assert cells == {claim: cell for claim, (_, cell) in COMBINED.items()}


@pytest.mark.parametrize(
    "entry",
    [
        {"part": "a: b", **_effect(1, 1, 1, 0.5)},  # a colon would split the summary cell
        {"part": "a", "kind": "vote"},
        {"part": "a", **_effect(1, 1, 1, 0.5), "source": None, "claim": None},
    ],
    ids=["part name", "kind", "missing"],
)
def test_a_record_the_rule_cannot_read_is_refused(tmp_path: Path, entry: dict) -> None:
    base = {"claim": "R1", "says": "s", "source": "hand"}
    entry = {k: v for k, v in {**base, **entry}.items() if v is not None}
    path = tmp_path / "claims.json"
    path.write_text(json.dumps({"entries": [entry]}))
    done = _tables("--verdicts", str(path))
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {path}: ")


def _summary_cells(page: str) -> dict[str, str]:
    """{claim: verdict cell} of the page's summary table."""
    out = {}
    for line in page.splitlines():
        found = re.match(r"\| \*\*(R\d+)\*\* ", line)
        if found:
            out[found.group(1)] = line.rstrip().rstrip("|").rsplit("|", 1)[1].strip()
    return out


def test_the_pages_verdicts_are_the_rule_applied_to_the_record() -> None:
    done = _tables("--verdicts", str(RECORD))
    assert done.returncode == 0, done.stderr
    want = dict(_rows(done.stdout, 2))
    page = PAGE.read_text()
    assert _summary_cells(page) == want
    assert set(want) == {f"R{i}" for i in range(1, 9)}


def test_the_page_declares_the_rule_before_any_verdict() -> None:
    rule = _tables("--rule")
    assert rule.returncode == 0, rule.stderr
    page = PAGE.read_text()
    assert rule.stdout.strip() in page
    assert page.index(rule.stdout.strip()) < page.index("## Summary")


def test_every_recorded_part_says_where_its_numbers_come_from() -> None:
    entries = json.loads(RECORD.read_text())["entries"]
    for entry in entries:
        assert entry["source"].strip(), entry["part"]
        assert "not rerun" in entry["source"] or "computed from its runs" in entry["source"]
