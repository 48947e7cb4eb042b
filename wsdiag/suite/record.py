"""A suite record: one run's row (its verdict, ground truth, every intervention's share, the
early warning), kept as JSON lines so that the tables can be made again without the runs.

`read_records` is the one reader of record files, old ones included: a row written before a
field existed gets its default, and one written before `truth` gets it from its recorded shares
and intervals (`recorded_truth`), judged as it was then (`wsdiag.analysis.confirm.outcome`).
Records written before the critic's stratum, the evaluation curve and the split were recorded
read with None / empty there; the metrics that need them (`wsdiag.suite.metrics`) say so.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from wsdiag.analysis.confirm import NONE, Share, outcome, truth_of
from wsdiag.analysis.thresholds import Thresholds
from wsdiag.atomic import atomic_write_text
from wsdiag.errors import WsdiagError

UNCONFIRMED = "?"  # the confirmed cause and truth of a row not confirmed yet
NOT_TESTED = "not tested"  # the outcome of a cause whose intervention did not run
REQUIRED = ("run", "significant", "verdict", "confirmed", "dip", "min_step", "warning")


@dataclass(frozen=True)
class SuiteRecord:
    """One run of the suite; `truth` left empty is derived from the shares (`recorded_truth`)
    and `named` left out is the verdict alone."""

    run: str  # 'part/name-seed0' in a record, the run directory's name before
    significant: bool  # a significant dip (wsdiag.analysis.diagnose)
    verdict: str  # the chain's root cause, or "none"
    confirmed: str  # the confirmed cause; "none" (none confirmed); "?" (not confirmed yet)
    dip: float  # R0 - min R from the policy start (wsdiag.analysis.degradation)
    min_step: int | None  # the step of the lowest return
    warning: int | None  # the step of the early warning
    named: tuple[str, ...] | None = None  # the chain's cause, then its branches
    shares: dict[str, float | None] = field(default_factory=dict)  # removed per cause
    dips: dict[str, float] = field(default_factory=dict)  # with each intervention, own seed
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)  # 2 seeds or more
    seeds: int = 1  # seeds per intervention (records without it: one)
    experiment: str | None = None  # equal keys: the same experiment (`collect.experiment_key`)
    versions: dict[str, str] | None = None  # the libraries it ran with (meta.json)
    cpu: dict[str, str] | None = None  # the processor it ran on (meta.json)
    truth: str = ""  # the confirmed cause, "none" (every one refuted), "inconclusive", "?"
    critic_loaded: bool | None = None  # the online critic started as the pretrained one
    policy_start: int | None = None  # the first step the new agent acts (the dip's window)
    baseline: float | None = None  # R0, the pretrained policy's return at step 0
    eval_steps: tuple[int, ...] = ()  # the online evaluations: steps ...
    eval_returns: tuple[float, ...] = ()  # ... and returns
    split: str | None = None  # the split it was run for ("dev", "test"; None: no split)
    control: str | None = None  # the no-op control's outcome where it ran ("confirmed": a
    # false confirmation; wsdiag.analysis.confirm.CONTROL)
    truth_from: str | None = None  # the run of its scenario whose confirmation gave the truth
    # (`wsdiag suite run`, one confirmation a scenario); None: its own
    outcomes: dict[str, str] = field(default_factory=dict)  # per tested cause, its sign test's
    # (combined over strengths); empty in records made before it, read from shares instead

    def __post_init__(self) -> None:
        if self.named is None:
            object.__setattr__(self, "named", (self.verdict,))
        if not self.truth:
            object.__setattr__(self, "truth", recorded_truth(self))

    @property
    def part(self) -> str:
        """The sweep the run belongs to ('part/name-seed0' -> 'part')."""
        return self.run.split("/", 1)[0]

    @property
    def own(self) -> str:
        """The outcome of the verdict's own intervention (`NOT_TESTED` when it did not run)."""
        return recorded_outcomes(self).get(self.verdict, NOT_TESTED)

    def intervened_dip(self, cause: str) -> float | None:
        """The dip with `cause`'s intervention (records without `dips`: D (1 - share))."""
        if cause in self.dips:
            return self.dips[cause]
        share = self.shares.get(cause)
        return None if share is None else self.dip * (1.0 - share)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> SuiteRecord:
        """A record from one JSON row of any version (unknown fields ignored)."""
        missing = [k for k in REQUIRED if k not in row]
        if missing:
            raise ValueError(f"no '{missing[0]}'")
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in row.items() if k in known}
        if values.get("named") is not None:
            values["named"] = tuple(values["named"])
        values["intervals"] = {k: (lo, hi) for k, (lo, hi) in row.get("intervals", {}).items()}
        for key in ("eval_steps", "eval_returns"):
            values[key] = tuple(row.get(key, ()))
        return cls(**values)


def recorded_outcomes(record: SuiteRecord, min_share: float | None = None) -> dict[str, str]:
    """Per tested cause, its intervention's outcome: the sign test's where the record holds it,
    else (records made before) from the recorded share and interval (the interval is recorded
    with two seeds or more, so a one-seed share never refutes)."""
    if record.outcomes:
        return dict(record.outcomes)
    min_share = Thresholds().confirm_share if min_share is None else min_share
    outcomes = {}
    for cause, share in record.shares.items():
        if share is None:
            continue
        low, high = record.intervals.get(cause, (float("nan"), float("nan")))
        n = record.seeds if cause in record.intervals else 1
        outcomes[cause] = outcome(Share(share, low, high, n), min_share)
    return outcomes


def recorded_truth(record: SuiteRecord, min_share: float | None = None) -> str:
    """A record's ground truth: "none" without a significant dip, its confirmed cause (or "?"),
    else `truth_of` its recorded outcomes."""
    if not record.significant:
        return NONE
    if record.confirmed != NONE:
        return record.confirmed
    return truth_of(recorded_outcomes(record, min_share))


def write_records(records: list[SuiteRecord], path: Path) -> None:
    """The records as JSON lines, one run each (written whole, atomically)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = (json.dumps(r.to_json(), sort_keys=True) + "\n" for r in records)
    atomic_write_text(path, "".join(lines))


def read_records(path: Path) -> list[SuiteRecord]:
    """The records of a file `write_records` wrote, or an older one (module docstring)."""
    try:
        lines = path.read_text().splitlines()
        return [SuiteRecord.from_json(json.loads(line)) for line in lines if line.strip()]
    except (OSError, ValueError, TypeError, AttributeError) as e:
        raise WsdiagError(f"{path}: not a suite record ({e})") from None


def distinct(records: list[SuiteRecord]) -> tuple[list[SuiteRecord], list[tuple[str, str]]]:
    """The records with each experiment once, and (run, the run it repeats) for the others.

    Of the records of one `experiment` key (one scenario that is another's experiment, or one
    run recorded twice, e.g. on two machines of one processor kind) the first with a ground
    truth (`confirmed` is not "?") is kept, or the first; it takes the place of the key's first
    record. Records without a key are all kept."""
    groups: dict[str, list[SuiteRecord]] = {}
    for r in records:
        if r.experiment:
            groups.setdefault(r.experiment, []).append(r)
    chosen = {key: next((r for r in rows if r.confirmed != UNCONFIRMED), rows[0])
              for key, rows in groups.items()}  # fmt: skip
    kept: list[SuiteRecord] = []
    repeats: list[tuple[str, str]] = []
    placed: set[str] = set()
    for r in records:
        if not r.experiment:
            kept.append(r)
            continue
        first = chosen[r.experiment]
        if r.experiment not in placed:
            placed.add(r.experiment)
            kept.append(first)
        if r is not first:
            repeats.append((r.run, first.run))
    return kept, repeats
