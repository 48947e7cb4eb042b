"""The diagnosis suite's targets (docs/diagnosis.md), counted on records and tabulated per part
(the sweep a run belongs to: 'part/name-seed0') beside all of them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from wsdiag.analysis.confirm import CONFIRMED, INCONCLUSIVE, NONE, REFUTED
from wsdiag.suite.record import NOT_TESTED, UNCONFIRMED, SuiteRecord


@dataclass(frozen=True)
class Counts:
    """What the targets count over a set of records."""

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


def lead(record: SuiteRecord) -> int | None:
    """Steps from the early warning to the lowest return; None without a warning before it."""
    if record.warning is None or record.min_step is None or record.warning >= record.min_step:
        return None
    return record.min_step - record.warning


def count(records: list[SuiteRecord]) -> Counts:
    """The targets' counts; records not confirmed yet (truth '?') are left out of the
    agreement."""
    degrading = [r for r in records if r.significant]
    known = [r for r in degrading if r.truth != UNCONFIRMED]
    decided = [r for r in known if r.truth != INCONCLUSIVE]
    caused = [r for r in decided if r.truth != NONE]
    others = [r for r in records if not r.significant]
    leads = sorted(x for r in degrading if (x := lead(r)) is not None)
    return Counts(
        degrading=len(degrading),
        known=len(known),
        agree=sum(r.verdict == r.truth for r in known),
        caused=len(caused),
        agree_caused=sum(r.verdict == r.truth for r in caused),
        decided=len(decided),
        agree_decided=sum(r.verdict == r.truth for r in decided),
        own=Counter(r.own for r in known),
        truths=Counter(r.truth for r in known),
        others=len(others),
        called=sum(r.verdict != NONE for r in others),
        in_time=len(leads),
        alarms=sum(r.warning is not None for r in others),
        leads=leads,
    )


def _ratio(k: int, n: int, bold: bool = False) -> str:
    text = f"{k} / {n}" + (f" ({100 * k / n:.0f}%)" if bold and n else "")
    return f"**{text}**" if bold else text


def targets_table(records: list[SuiteRecord]) -> str:
    """One column per part and one for all: agreement (over runs with a confirmed cause, the
    decided ones, all degrading ones), the verdict's own intervention, the false calls, the
    warning's timeliness, false alarms and lead; the targets in the last column."""
    parts = sorted({r.part for r in records})
    counts = [count([r for r in records if r.part == p]) for p in parts] + [count(records)]
    last = len(counts) - 1

    def line(title: str, cell: Callable[[Counts, bool], str], target: str = "") -> str:
        cells = [cell(c, i == last) for i, c in enumerate(counts)]
        return f"| {title} | " + " | ".join(cells) + f" | {target} |"

    def ratio(
        k: str, n: str, target: str = "", bold: bool = True
    ) -> tuple[Callable[[Counts, bool], str], str]:
        """A line of k / n (bold, with its percentage, in the column of all)."""
        return (lambda c, b: _ratio(getattr(c, k), getattr(c, n), b and bold)), target

    own = (CONFIRMED, REFUTED, INCONCLUSIVE, NOT_TESTED)
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
