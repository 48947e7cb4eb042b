"""rliable's aggregates for each group of seeds: IQM of the final and mean returns with
stratified-bootstrap intervals, and the probability of improvement over a reference group.

Each group is one config on one environment, so its scores are a [seeds, 1] matrix (one task);
a probability of improvement compares two groups on the same `env.id` only (returns of different
environments are not on one scale). The reference, among the groups with two or more seeds, is
the one the user names (`wsdiag report --reference LABEL`), else the group labelled `plain`,
else the first with `mitigation.name = "none"`, else the first of them (plain fine-tuning is
what a mitigation has to beat). Definitions: `aggregates`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from wsdiag.analysis.aggregates import Estimate, improvement_estimate, iqm_estimate
from wsdiag.analysis.groups import Group
from wsdiag.analysis.stats import finite
from wsdiag.analysis.summary import RunSummary
from wsdiag.errors import WsdiagError

SCORES = (("final", "final_return"), ("mean", "mean_return"))  # (column, Degradation field)


@dataclass
class GroupStats:
    label: str
    seeds: int
    env: str
    iqm: dict[str, Estimate]  # by column of SCORES
    improvement: dict[str, Estimate] = field(default_factory=dict)  # P(this > reference)
    reference: bool = False


def _scores(group: Group, summaries: dict[str, RunSummary], name: str):
    degs = [summaries[r.name].diagnosis.degradation for r in group.runs]
    values = finite([getattr(d, name) if d else None for d in degs])
    return values[values == values]  # runs without a degradation (no evaluation) dropped


PLAIN = "plain"  # the label of plain fine-tuning, the default reference by name


def reference_index(groups: Sequence[Group], name: str | None = None) -> int:
    """The reference group (module docstring) among `groups`; `name`: the label the user
    chose, which must be one of theirs."""
    labels = [g.label for g in groups]
    if name is not None:
        if name not in labels:
            raise WsdiagError(
                f"--reference {name!r} is not a group of two or more seeds here "
                f"(groups: {', '.join(labels)})"
            )
        return labels.index(name)
    if PLAIN in labels:
        return labels.index(PLAIN)
    for i, g in enumerate(groups):
        if g.settings.get("mitigation.name", "none") == "none":
            return i
    return 0


def group_stats(
    groups: Sequence[Group],
    summaries: dict[str, RunSummary],
    seed: int = 0,
    reference: str | None = None,
) -> list[GroupStats]:
    """The aggregates of each group with two or more seeds (module docstring), against the
    `reference` group's label (default: `reference_index`'s choice)."""
    multi = [g for g in groups if len(g.runs) > 1]
    if not multi:
        return []
    scores = [{col: _scores(g, summaries, name) for col, name in SCORES} for g in multi]
    out = []
    for g, s in zip(multi, scores, strict=True):
        iqm = {col: iqm_estimate(x, seed=seed) for col, x in s.items() if len(x)}
        env = str(g.settings.get("env.id", ""))
        out.append(GroupStats(g.label, len(g.runs), env, iqm))
    ref = reference_index(multi, reference)
    out[ref].reference = True
    for i, stats in enumerate(out):
        if i == ref or stats.env != out[ref].env:
            continue
        for col, x in scores[i].items():
            y = scores[ref][col]
            if len(x) and len(y):
                stats.improvement[col] = improvement_estimate(x, y, seed=seed)
    return out
