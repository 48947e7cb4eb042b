"""The verdict rule of docs/reproduction.md, applied to the record of each claim's effects.

A claim is split into parts, each one effect the paper reports. The record
(examples/results/reproduction/claims.json) holds, per part, the numbers the rule needs, always
oriented so that the paper's effect is "x above y" or "above no effect":

    kind "effect"     estimate, low, high (a 95% interval), null (no effect: 0.5 for P(X > Y),
                      0 for a difference, 1 for a ratio), optionally paper (the paper's own
                      effect size, on the same side of null as its direction)
    kind "intervals"  x and y, each {label, estimate, low, high}: two groups with only their own
                      95% intervals; the paper says x > y
    kind "range"      estimate, low, high and paper_range [a, b]: the paper reports a value in
                      [a, b]
    kind "counts"     x and y, each {label, k, n}: k of n seeds with a binary outcome; the paper
                      says x's rate is the higher
    kind "point"      x and y, each {label, estimate}: no interval, no test

Every entry also has claim ("R1"), part (a short name: no comma, colon, semicolon, bracket or
bar), says (the part in words), source (where its numbers come from) and optionally
differences (the config values in which the compared runs differ, the tested factor among them)
and caveats (what else a reader must know to weigh the part).

The rule (RULE, declared at the top of docs/reproduction.md):

    effect     holds          low > null
               does not hold  high < null, or low <= null <= high < paper (short of the
                              paper's size while no effect is in the interval)
    intervals  holds          x.low > y.high;  does not hold  x.high < y.low
    range      holds          a <= low and high <= b;  does not hold  high < a or low > b
    counts     holds          one-sided Fisher exact p < ALPHA for x's rate > y's;
               does not hold  p < ALPHA for x's rate < y's
    point      never decided
    otherwise  inconclusive (touching endpoints count as overlapping)

    claim      holds when every part holds; inconclusive when every part is; does not hold
               when no part holds and some part does not; holds in part otherwise.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scipy.stats import fisher_exact

ALPHA = 0.05  # one-sided level of the exact test on binary outcomes
HOLDS, FAILS, OPEN = "holds", "does not hold", "inconclusive"
IN_PART = "holds in part"
ORDER = (HOLDS, FAILS, OPEN)  # the order of the groups in a claim's cell
KINDS = ("effect", "intervals", "range", "counts", "point")
PART_NAME = re.compile(r"[^,;:()\[\]|]+")

RULE = """\
**The verdict rule.** Each claim is split into parts, each one effect the paper reports,
recorded with the paper's direction in `examples/results/reproduction/claims.json`; every
verdict on this page is this rule applied to that record by
`python -m examples.reproduction.tables --verdicts examples/results/reproduction/claims.json`.

- An effect with a 95% interval (P(X > Y) against 0.5, a paired difference against 0, a ratio
  against 1): **holds** when the whole interval lies on the paper's side of no effect; **does
  not hold** when it lies wholly on the other side, or when it contains no effect and lies
  wholly short of the paper's own effect size (where the paper gives one); **inconclusive**
  otherwise.
- Two groups known only by their own 95% intervals: **holds** when the intervals do not overlap
  and are in the paper's order, **does not hold** when they do not overlap in the other order,
  **inconclusive** when they overlap (touching ends count as overlapping).
- A value the paper reports as a range: **holds** when the 95% interval lies inside it, **does
  not hold** when it lies wholly outside, **inconclusive** otherwise.
- A binary outcome (k of n seeds against k' of n'): one-sided Fisher exact test at 5%: **holds**
  when p < 0.05 in the paper's direction, **does not hold** when p < 0.05 in the other,
  **inconclusive** otherwise.
- A comparison without an interval or a test is **inconclusive**.
- A claim **holds** when every part holds, is **inconclusive** when every part is, **does not
  hold** when no part holds and some part does not, and **holds in part** otherwise, its parts
  named by verdict."""


def effect_verdict(low: float, high: float, null: float, paper: float | None = None) -> str:
    """An effect whose paper direction is above `null`, with its 95% interval [low, high]:
    holds when low > null; does not hold when high < null, or when the interval contains null
    and lies wholly below the paper's effect size `paper`; inconclusive otherwise."""
    if low > null:
        return HOLDS
    if high < null or (paper is not None and high < paper):
        return FAILS
    return OPEN


def intervals_verdict(x: tuple[float, float], y: tuple[float, float]) -> str:
    """Two groups' 95% intervals (low, high), the paper saying x > y: holds when x lies wholly
    above y, does not hold when wholly below, inconclusive when they overlap or touch."""
    if x[0] > y[1]:
        return HOLDS
    if x[1] < y[0]:
        return FAILS
    return OPEN


def range_verdict(low: float, high: float, paper: tuple[float, float]) -> str:
    """A 95% interval against the paper's range [a, b]: holds inside it, does not hold wholly
    outside it, inconclusive when the two overlap only in part."""
    a, b = paper
    if a <= low and high <= b:
        return HOLDS
    if high < a or low > b:
        return FAILS
    return OPEN


def fisher_p(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    """One-sided Fisher exact p-values of k1/n1 against k2/n2: (x's rate higher, x's lower)."""
    table = [[k1, n1 - k1], [k2, n2 - k2]]
    greater = float(fisher_exact(table, alternative="greater").pvalue)
    less = float(fisher_exact(table, alternative="less").pvalue)
    return greater, less


def counts_verdict(k1: int, n1: int, k2: int, n2: int, alpha: float = ALPHA) -> str:
    """k1 of n1 against k2 of n2, the paper saying the first rate is higher: holds when the
    one-sided exact p < alpha that way, does not hold when p < alpha the other way."""
    greater, less = fisher_p(k1, n1, k2, n2)
    if greater < alpha:
        return HOLDS
    if less < alpha:
        return FAILS
    return OPEN


def _unknown(*groups: dict[str, Any]) -> bool:
    """Whether an interval is missing (None: one seed, or an interval not recorded)."""
    return any(g.get(k) is None for g in groups for k in ("low", "high"))


def part_verdict(entry: dict[str, Any]) -> str:
    """The rule applied to one record entry (module docstring); an interval the record lacks
    (None) leaves the part inconclusive, as a point comparison."""
    kind = entry["kind"]
    if kind in ("effect", "range") and _unknown(entry):
        return OPEN
    if kind == "intervals" and _unknown(entry["x"], entry["y"]):
        return OPEN
    if kind == "effect":
        return effect_verdict(entry["low"], entry["high"], entry["null"], entry.get("paper"))
    if kind == "intervals":
        x, y = entry["x"], entry["y"]
        return intervals_verdict((x["low"], x["high"]), (y["low"], y["high"]))
    if kind == "range":
        return range_verdict(entry["low"], entry["high"], tuple(entry["paper_range"]))
    if kind == "counts":
        x, y = entry["x"], entry["y"]
        return counts_verdict(x["k"], x["n"], y["k"], y["n"])
    if kind == "point":
        return OPEN
    raise ValueError(f"{entry.get('claim')} {entry.get('part')}: unknown kind '{kind}'")


def claim_verdict(verdicts: Sequence[str]) -> str:
    """A claim's verdict from its parts' (module docstring)."""
    if not verdicts:
        raise ValueError("a claim needs at least one part")
    if all(v == HOLDS for v in verdicts):
        return HOLDS
    if all(v == OPEN for v in verdicts):
        return OPEN
    if HOLDS not in verdicts:
        return FAILS
    return IN_PART


def cell(parts: Sequence[tuple[str, str]]) -> str:
    """A claim's verdict cell of the page's summary table from its (part, verdict) pairs:
    '**holds in part** (holds: a, b; inconclusive: c)'."""
    verdict = claim_verdict([v for _, v in parts])
    groups = [
        f"{v}: {', '.join(name for name, w in parts if w == v)}"
        for v in ORDER
        if any(w == v for _, w in parts)
    ]
    return f"**{verdict}** ({'; '.join(groups)})"


def _num(value: float) -> str:
    return f"{value:g}"


def _interval(x: dict[str, Any]) -> str:
    if _unknown(x):
        return f"{_num(x['estimate'])} (no interval)"
    return f"{_num(x['estimate'])} [{_num(x['low'])}, {_num(x['high'])}]"


def measured(entry: dict[str, Any]) -> str:
    """The numbers the rule read, in words."""
    kind = entry["kind"]
    x, y = entry.get("x"), entry.get("y")
    if kind == "effect":
        text = f"{entry['measure']} {_interval(entry)} against {_num(entry['null'])}"
        return text + (f", the paper's {_num(entry['paper'])}" if "paper" in entry else "")
    if kind == "intervals":
        return f"{x['label']} {_interval(x)} vs {y['label']} {_interval(y)}"
    if kind == "range":
        a, b = entry["paper_range"]
        return f"{entry['measure']} {_interval(entry)}, the paper's {_num(a)}-{_num(b)}"
    if kind == "counts":
        p, _ = fisher_p(x["k"], x["n"], y["k"], y["n"])
        return (
            f"{x['label']} {x['k']}/{x['n']} vs {y['label']} {y['k']}/{y['n']}, "
            f"one-sided Fisher exact p = {p:.3f}"
        )
    return f"{x['label']} {_num(x['estimate'])} vs {y['label']} {_num(y['estimate'])}, no interval"


def check_entry(entry: dict[str, Any]) -> None:
    """Refuse an entry the rule cannot read: a missing key, an unknown kind, a part name the
    summary cell could not show unambiguously."""
    for key in ("claim", "part", "says", "kind", "source"):
        if key not in entry:
            raise ValueError(f"record entry {entry}: missing '{key}'")
    if entry["kind"] not in KINDS:
        raise ValueError(f"{entry['claim']} {entry['part']}: unknown kind '{entry['kind']}'")
    if not PART_NAME.fullmatch(entry["part"]):
        raise ValueError(f"{entry['claim']}: part name '{entry['part']}' has , ; : ( ) [ ] or |")


def load_record(path: Path) -> list[dict[str, Any]]:
    """The record's entries, each checked (check_entry), (claim, part) unique."""
    entries = json.loads(Path(path).read_text())["entries"]
    seen = set()
    for entry in entries:
        check_entry(entry)
        key = (entry["claim"], entry["part"])
        if key in seen:
            raise ValueError(f"{path}: {key[0]} '{key[1]}' is recorded twice")
        seen.add(key)
    return entries


def claims(entries: Sequence[dict[str, Any]]) -> dict[str, list[tuple[str, str]]]:
    """{claim: [(part, verdict)]} in the record's order."""
    out: dict[str, list[tuple[str, str]]] = {}
    for entry in entries:
        out.setdefault(entry["claim"], []).append((entry["part"], part_verdict(entry)))
    return out


def report(entries: Sequence[dict[str, Any]]) -> list[str]:
    """Markdown: every part with its numbers and verdict, then each claim's summary cell."""
    lines = ["| claim | part | measured | verdict | notes |", "|---|---|---|---|---|"]
    for entry in entries:
        notes = list(entry.get("caveats", []))
        if entry.get("differences"):
            notes.insert(0, "the compared runs differ in " + "; ".join(entry["differences"]))
        cells = [entry["claim"], entry["part"], measured(entry), part_verdict(entry)]
        cells.append("; ".join(notes))
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines += ["", "| claim | verdict |", "|---|---|"]
    lines += [f"| {claim} | {cell(parts)} |" for claim, parts in claims(entries).items()]
    return lines
