"""The diagnosis suite's targets (docs/diagnosis.md), counted on rows of `examples.diagnosis_suite`
and tabulated per part (the sweep a run belongs to: 'part/name-seed0') beside all of them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from wsdiag.analysis.confirm import CONFIRMED, INCONCLUSIVE, NONE, REFUTED

UNCONFIRMED = "?"  # the confirmed cause and truth of a row not confirmed yet


@dataclass(frozen=True)
class Counts:
    """What the targets count over a set of rows (each row: significant, verdict, truth, the
    verdict's own outcome, warning, min_step)."""

    degrading: int  # runs with a significant dip
    known: int  # ... with a ground truth (confirmed already)
    agree: int  # verdict = truth, over the known ones
    caused: int  # degrading runs whose truth is a confirmed cause
    agree_caused: int
    decided: int  # ... whose truth is a cause or "none"
    agree_decided: int
    own: Counter  # the verdict's own intervention: confirmed / refuted / inconclusive / not tested
    truths: Counter
    others: int  # runs with no significant dip
    called: int  # ... that the verdict calls degrading
    in_time: int  # degrading runs warned before their lowest return
    alarms: int  # non-degrading runs warned
    leads: list[int]  # steps from the warning to the lowest return, in-time warnings

    @property
    def median_lead(self) -> int | None:
        return self.leads[len(self.leads) // 2] if self.leads else None


def count(rows: list[dict]) -> Counts:
    """The targets' counts; rows not confirmed yet (truth '?') are left out of the agreement."""
    degrading = [r for r in rows if r["significant"]]
    known = [r for r in degrading if r["truth"] != UNCONFIRMED]
    decided = [r for r in known if r["truth"] != INCONCLUSIVE]
    caused = [r for r in decided if r["truth"] != NONE]
    others = [r for r in rows if not r["significant"]]
    timely = [r for r in degrading if r["warning"] is not None and r["warning"] < r["min_step"]]
    return Counts(
        degrading=len(degrading),
        known=len(known),
        agree=sum(r["verdict"] == r["truth"] for r in known),
        caused=len(caused),
        agree_caused=sum(r["verdict"] == r["truth"] for r in caused),
        decided=len(decided),
        agree_decided=sum(r["verdict"] == r["truth"] for r in decided),
        own=Counter(r["own"] for r in known),
        truths=Counter(r["truth"] for r in known),
        others=len(others),
        called=sum(r["verdict"] != NONE for r in others),
        in_time=len(timely),
        alarms=sum(r["warning"] is not None for r in others),
        leads=sorted(r["min_step"] - r["warning"] for r in timely),
    )


def _ratio(k: int, n: int, bold: bool = False) -> str:
    text = f"{k} / {n}" + (f" ({100 * k / n:.0f}%)" if bold and n else "")
    return f"**{text}**" if bold else text


def targets_table(rows: list[dict]) -> str:
    """One column per part and one for all: agreement (over runs with a confirmed cause, the
    decided ones, all degrading ones), the verdict's own intervention, the false calls, the
    warning's timeliness, false alarms and lead; the targets in the last column."""
    parts = sorted({r["run"].split("/", 1)[0] for r in rows})
    groups = [[r for r in rows if r["run"].split("/", 1)[0] == p] for p in parts]
    counts = [count(g) for g in groups] + [count(rows)]
    last = len(counts) - 1

    def line(title: str, cell, target: str = "") -> str:
        cells = [cell(c, i == last) for i, c in enumerate(counts)]
        return f"| {title} | " + " | ".join(cells) + f" | {target} |"

    def ratio(k: str, n: str, target: str = "", bold: bool = True) -> tuple:
        """A line of k / n (bold, with its percentage, in the column of all)."""
        return (lambda c, b: _ratio(getattr(c, k), getattr(c, n), b and bold)), target

    own = (CONFIRMED, REFUTED, INCONCLUSIVE, "not tested")
    lines = {
        "runs (degrading)": (lambda c, _: f"{c.degrading + c.others} ({c.degrading})", ""),
        "verdict = the run's confirmed cause, where one is": ratio(
            "agree_caused", "caused", ">= 80%"
        ),
        "verdict = the run's truth, where it is decided (a cause or none)": ratio(
            "agree_decided", "decided"
        ),
        "verdict = the run's truth, every degrading run": ratio("agree", "known"),
        "truth: confirmed / none / inconclusive": (
            lambda c, _: f"{c.caused} / {c.truths[NONE]} / {c.truths[INCONCLUSIVE]}",
            "",
        ),
        "the verdict's own intervention: " + " / ".join(own): (
            lambda c, _: " / ".join(str(c.own[k]) for k in own),
            "",
        ),
        "no significant degradation called one": ratio("called", "others", "<= 1", bold=False),
        "warning before the lowest return": ratio("in_time", "degrading", ">= 80%"),
        "false alarms": ratio("alarms", "others", "<= 20%"),
        "median lead of the warning (steps)": (
            lambda c, _: "n/a" if c.median_lead is None else f"{c.median_lead:,}",
            "",
        ),
    }
    head = ["| | " + " | ".join(parts) + " | all | target |", "|---" * (len(parts) + 3) + "|"]
    return "\n".join(head + [line(title, *spec) for title, spec in lines.items()])
