"""A suite's scenarios: the runs of one sweep variant over seeds, and each cause's share of the
dip pooled over a scenario's degrading seeds.

For the degrading seeds k of a scenario with dips D_k and D'_k (with the cause's intervention,
each pair from its own seed's pretraining) the pooled share is s = 1 - mean D' / mean D with the
paired bootstrap interval (`wsdiag.analysis.confirm.share_removed`, as `wsdiag diagnose
--confirm --seeds 3` measures it); the scenario's confirmed cause is the earliest one it
confirms (`truth_of`). A scenario that `wsdiag suite run` confirmed once (its runs' records name
the confirmed one in `truth_from`), or whose one degrading run was confirmed on several seeds,
keeps that confirmation's shares and truth."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from wsdiag.analysis.confirm import PRIORITY, Share, outcome, share_removed, truth_of
from wsdiag.analysis.thresholds import Thresholds
from wsdiag.suite.record import UNCONFIRMED, SuiteRecord

SEED = re.compile(r"-seed\d+$")


def scenario(run: str) -> str:
    """The scenario of a run: its name without the seed ('part/name-seed2' -> 'part/name')."""
    return SEED.sub("", run)


@dataclass(frozen=True)
class Scenario:
    """One scenario's degrading runs (confirmed or not), its pooled shares and their truth."""

    name: str
    runs: list[SuiteRecord]
    shares: dict[str, Share]  # per cause tested on some run
    confirmed: str


def recorded_shares(record: SuiteRecord) -> dict[str, Share]:
    """The shares a record holds from its confirmation, with their intervals (`seeds` pairs)."""
    out = {}
    for cause, share in record.shares.items():
        if share is not None:
            low, high = record.intervals.get(cause, (share, share))
            out[cause] = Share(share, low, high, record.seeds)
    return out


def scenarios(records: list[SuiteRecord], min_share: float | None = None) -> list[Scenario]:
    """The scenarios of the significantly degrading, confirmed records, in their order."""
    min_share = Thresholds().confirm_share if min_share is None else min_share
    groups: dict[str, list[SuiteRecord]] = {}
    for r in records:
        if r.significant and r.confirmed != UNCONFIRMED:
            groups.setdefault(scenario(r.run), []).append(r)
    out = []
    for name, runs in groups.items():
        confirmed_run = next((r for r in runs if r.truth_from is None), runs[0])
        alone = len(runs) == 1 and runs[0].seeds > 1  # its own confirmation on several seeds
        if alone or any(r.truth_from for r in runs):  # one confirmation: its own numbers
            out.append(Scenario(name, runs, recorded_shares(confirmed_run), confirmed_run.truth))
            continue
        shares = {}
        for cause in PRIORITY:
            pairs = [(r.dip, d) for r in runs if (d := r.intervened_dip(cause)) is not None]
            if pairs:
                shares[cause] = share_removed(*map(np.array, zip(*pairs, strict=True)))
        confirmed = truth_of({c: outcome(share, min_share) for c, share in shares.items()})
        out.append(Scenario(name, runs, shares, confirmed))
    return out
