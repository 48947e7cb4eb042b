"""The diagnosis benchmark's metrics: pure functions of verdicts, truths, warnings and learning
curves (numpy; scipy for the exact binomial interval), and `verdict_metrics` /
`warning_metrics` over suite records.

Labels. `LABELS` are the causes of `wsdiag.analysis.rules.TITLES` in `PRIORITY` order, then
"none" (no significant degradation, or every intervention refuted), then "inconclusive" (no
intervention confirmed and some undecided). A verdict is a cause or "none", never
"inconclusive", so a run whose truth is inconclusive is a disagreement whatever its verdict: it
counts against the verdict, as a "none" truth does when the verdict names a cause.

Verdict against truth, over n runs with a ground truth (truth "?", not confirmed yet, is left
out and counted apart):

    C[v, t]       runs with verdict LABELS[v] and truth LABELS[t] (the confusion matrix)
    accuracy      p_o = trace C / n
    Cohen's kappa (p_o - p_e) / (1 - p_e),  p_e = sum_k (row_k / n) (col_k / n): the agreement
                  beyond what verdicts and truths drawn apart with their own frequencies reach;
                  undefined (nan) where p_e = 1 (verdict and truth one label throughout)
    recall(c)     C[c, c] / sum_v C[v, c]   (k / n: the runs of truth c the verdict named)
    precision(c)  C[c, c] / sum_t C[c, t]   (k / n: the runs the verdict called c that were c)

The majority-class baseline is the verdict that always names the commonest truth. Its kappa is
0 by construction: with m runs of that truth, p_o = m / n and p_e = 1 * (m / n) = p_o (nan where
every truth is that one label). Kappa is therefore already the skill beyond the majority answer;
a verdict that always says "extrapolation" scores an accuracy of the majority's share and a
kappa of 0.

Kappa's interval is a 95% percentile bootstrap with a fixed seed (`N_RESAMPLES` resamples, seed
0): the runs resampled with replacement, or with `groups` the groups resampled whole (a cluster
bootstrap; the benchmark's table resamples scenarios, whose runs share a pretrained checkpoint
and are not independent). Resamples whose kappa is undefined are dropped.

The early warning, inside each critic stratum (`stratum`: "loaded" where the warm start loaded
the pretrained critic, "fresh" where it did not, "not recorded" for records made before the
record had the field):

    AUROC         U / (n_pos n_neg), U counting the pairs (positive, negative) with
                  score_pos > score_neg, ties 1/2 (Mann-Whitney); positives are the runs with a
                  significant dip, negatives the others. The warning's score is 1 when it was
                  raised and 0 when not (a yes/no warning has no other), so its AUROC is the
                  balanced accuracy (TPR + TNR) / 2; 0.5 is chance
    false alarms  negatives warned / negatives
    start of the drop  over the evaluations (t_i, R_i) with t_i >= t_0 (the policy start, the
                  window of the dip), R0 the baseline and R_min = min R_i: the first t_i with
                  R_i < R0 - DROP_SHARE (R0 - R_min); none where R_min >= R0
    no-op control the runs whose control (`diagnose --confirm --control`) was confirmed, of
                  those where it was decided or inconclusive: false confirmations, with the
                  exact (Clopper-Pearson) 95% interval of their rate
    lead          start of the drop - the warning's step (negative: warned after the drop
                  began), for each degrading run warned whose record holds its evaluations; the
                  median over them

The recommendation, over the runs confirmed on their own seeds (a significant dip, its own
confirmation: one a scenario in the records `suite run` makes; the shares s_c = 1 - mean D'_c /
mean D of every cause c whose intervention ran on its seeds). A verdict recommends its cause's
intervention; following a recommendation r gains

    gain(r)       s_r, and 0 for "none" or a cause whose intervention did not run (nothing done)
    regret(r)     max(0, max_c s_c) - gain(r): what the best of the tested interventions, or
                  doing nothing, would have removed beyond it

The verdict's mean gain is set beside each fixed recommendation's (the same cause for every
run, as a user without a diagnosis would pick), with percentile-bootstrap intervals resampling
the runs (seed 0) and the paired difference verdict - fixed: the verdict has skill as a
recommendation where that difference's interval lies above 0 for the best fixed one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import beta

from wsdiag.analysis.confirm import CONFIRMED, INCONCLUSIVE, NONE, PRIORITY
from wsdiag.analysis.rules import TITLES
from wsdiag.analysis.stats import bootstrap_ci
from wsdiag.suite.record import UNCONFIRMED, SuiteRecord

LABELS = (*(c for c in PRIORITY if c in TITLES), NONE, INCONCLUSIVE)
DROP_SHARE = 0.10  # the drop starts below R0 - 10% of (R0 - R_min)
N_RESAMPLES = 2_000
LOADED, FRESH, NOT_RECORDED = "loaded", "fresh", "not recorded"
STRATA = (LOADED, FRESH, NOT_RECORDED)


@dataclass(frozen=True)
class Ratio:
    """k of n, printed 'k/n (p%)'."""

    k: int
    n: int

    @property
    def value(self) -> float:
        return self.k / self.n if self.n else float("nan")

    def __str__(self) -> str:
        return f"{self.k}/{self.n} ({100 * self.value:.0f}%)" if self.n else f"{self.k}/0"


@dataclass(frozen=True)
class Estimate:
    """A value and its interval, printed '0.41 [0.12, 0.66]'."""

    value: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.value:.2f} [{self.low:.2f}, {self.high:.2f}]"


# ----------------------------------------------------------------------- verdict against truth


def confusion(
    verdicts: Sequence[str], truths: Sequence[str], labels: Sequence[str] = LABELS
) -> np.ndarray:
    """C[v, t]: the count of runs with verdict labels[v] and truth labels[t]."""
    if len(verdicts) != len(truths):
        raise ValueError(f"{len(verdicts)} verdicts for {len(truths)} truths")
    index = {label: i for i, label in enumerate(labels)}
    unknown = next((x for x in [*verdicts, *truths] if x not in index), None)
    if unknown is not None:
        raise ValueError(f"unknown label '{unknown}' (known: {', '.join(labels)})")
    matrix = np.zeros((len(labels), len(labels)), np.int64)
    for v, t in zip(verdicts, truths, strict=True):
        matrix[index[v], index[t]] += 1
    return matrix


def accuracy(matrix: np.ndarray) -> float:
    """p_o = trace C / n (nan for no run)."""
    n = matrix.sum()
    return float(np.trace(matrix) / n) if n else float("nan")


def kappa(matrix: np.ndarray) -> float:
    """Cohen's kappa of a confusion matrix (module docstring); nan where p_e = 1 or n = 0."""
    n = matrix.sum()
    if not n:
        return float("nan")
    p_o = np.trace(matrix) / n
    p_e = float((matrix.sum(axis=1) / n) @ (matrix.sum(axis=0) / n))
    return float("nan") if np.isclose(p_e, 1.0) else float((p_o - p_e) / (1.0 - p_e))


def majority(truths: Sequence[str], labels: Sequence[str] = LABELS) -> str:
    """The commonest truth (the first in `labels` order among equals)."""
    counts = Counter(truths)
    return max(labels, key=lambda label: (counts[label], -labels.index(label)))


def majority_kappa(truths: Sequence[str], labels: Sequence[str] = LABELS) -> float:
    """The kappa of the verdict that always names the commonest truth: 0 by construction (module
    docstring), nan where every truth is one label."""
    return kappa(confusion([majority(truths, labels)] * len(truths), truths, labels))


def kappa_interval(
    verdicts: Sequence[str],
    truths: Sequence[str],
    groups: Sequence[Hashable] | None = None,
    labels: Sequence[str] = LABELS,
    level: float = 0.95,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> Estimate:
    """Kappa and its percentile-bootstrap interval: runs resampled, or `groups` resampled whole
    (module docstring). The bounds are nan where fewer than two runs or groups exist."""
    matrix = confusion(verdicts, truths, labels)
    value = kappa(matrix)
    keys = list(range(len(truths))) if groups is None else list(groups)
    units = [np.flatnonzero([k == u for k in keys]) for u in dict.fromkeys(keys)]
    if len(units) < 2:
        return Estimate(value, float("nan"), float("nan"))
    index = {label: i for i, label in enumerate(labels)}
    size = len(labels)
    cells = np.array([index[v] * size + index[t] for v, t in zip(verdicts, truths, strict=True)])
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(units), size=(n_resamples, len(units)))
    values = np.array([
        kappa(np.bincount(cells[np.concatenate([units[u] for u in draw])],
                          minlength=size * size).reshape(size, size))
        for draw in draws
    ])  # fmt: skip
    values = values[np.isfinite(values)]
    if not len(values):
        return Estimate(value, float("nan"), float("nan"))
    alpha = (1.0 - level) / 2
    return Estimate(value, float(np.quantile(values, alpha)), float(np.quantile(values, 1 - alpha)))


def recall_precision(
    matrix: np.ndarray, labels: Sequence[str] = LABELS
) -> dict[str, tuple[Ratio, Ratio]]:
    """Per label, (recall, precision) as k / n (module docstring)."""
    return {label: (Ratio(int(matrix[i, i]), int(matrix[:, i].sum())),
                    Ratio(int(matrix[i, i]), int(matrix[i, :].sum())))
            for i, label in enumerate(labels)}  # fmt: skip


# ----------------------------------------------------------------------------- early warning


def auroc(scores: Sequence[float], positive: Sequence[bool]) -> float:
    """U / (n_pos n_neg) with ties counted half (module docstring); nan without a positive or a
    negative."""
    s, y = np.asarray(scores, float), np.asarray(positive, bool)
    pos, neg = s[y], s[~y]
    if not len(pos) or not len(neg):
        return float("nan")
    diff = pos[:, None] - neg[None, :]
    return float(((diff > 0).sum() + 0.5 * (diff == 0).sum()) / (len(pos) * len(neg)))


def drop_start(
    steps: Sequence[int],
    returns: Sequence[float],
    baseline: float,
    start: int = 0,
    share: float = DROP_SHARE,
) -> int | None:
    """The step the drop starts at (module docstring); None without a drop below R0."""
    t, r = np.asarray(steps, np.int64), np.asarray(returns, float)
    t, r = t[t >= start], r[t >= start]
    if not len(r) or r.min() >= baseline:
        return None
    below = np.flatnonzero(r < baseline - share * (baseline - r.min()))
    return int(t[below[0]])


def lead(warning: int | None, drop: int | None) -> int | None:
    """Steps from the warning to the start of the drop (negative: after it); None without
    either."""
    return None if warning is None or drop is None else drop - warning


# ------------------------------------------------------------------------------ over records


def stratum(record: SuiteRecord) -> str:
    """The record's critic stratum: "loaded", "fresh" or "not recorded"."""
    if record.critic_loaded is None:
        return NOT_RECORDED
    return LOADED if record.critic_loaded else FRESH


def record_drop(record: SuiteRecord) -> int | None:
    """The start of the record's drop; None where it has none or its record holds no curve."""
    if not record.eval_steps or record.baseline is None:
        return None
    return drop_start(record.eval_steps, record.eval_returns, record.baseline,
                      record.policy_start or 0)  # fmt: skip


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """The exact two-sided interval of a binomial proportion k / n (nan, nan for n = 0)."""
    if n == 0:
        return float("nan"), float("nan")
    a = (1 - level) / 2
    low = 0.0 if k == 0 else float(beta.ppf(a, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - a, k + 1, n - k))
    return low, high


def control_rate(records: Sequence[SuiteRecord]) -> tuple[Ratio, Estimate]:
    """The no-op control's false confirmations over the records where it ran, and the exact
    interval of their rate."""
    ran = [r.control for r in records if r.control is not None]
    found = Ratio(sum(c == CONFIRMED for c in ran), len(ran))
    return found, Estimate(found.value, *clopper_pearson(found.k, found.n))


@dataclass(frozen=True)
class VerdictMetrics:
    """The verdict against the truth over the runs with one (module docstring)."""

    n: int  # runs with a ground truth
    unconfirmed: int  # runs left out: not confirmed yet
    matrix: np.ndarray  # C[verdict, truth] over LABELS
    accuracy: Ratio
    kappa: Estimate
    majority: str  # the majority-class baseline's verdict
    majority_kappa: float  # 0 by construction
    per_cause: dict[str, tuple[Ratio, Ratio]]  # recall, precision
    called: Ratio  # runs without a significant dip whose verdict names a cause


def verdict_metrics(
    records: list[SuiteRecord], groups: Sequence[Hashable] | None = None
) -> VerdictMetrics:
    """The verdict's metrics; `groups` (one per record, e.g. its scenario) for kappa's cluster
    bootstrap, the runs resampled alone without it."""
    groups = list(groups) if groups is not None else list(range(len(records)))
    judged = [(r, g) for r, g in zip(records, groups, strict=True) if r.truth != UNCONFIRMED]
    verdicts, truths = [r.verdict for r, _ in judged], [r.truth for r, _ in judged]
    matrix = confusion(verdicts, truths)
    others = [r for r in records if not r.significant]
    return VerdictMetrics(
        n=len(judged),
        unconfirmed=len(records) - len(judged),
        matrix=matrix,
        accuracy=Ratio(int(np.trace(matrix)), len(judged)),
        kappa=kappa_interval(verdicts, truths, [g for _, g in judged]),
        majority=majority(truths),
        majority_kappa=majority_kappa(truths),
        per_cause=recall_precision(matrix),
        called=Ratio(sum(r.verdict != NONE for r in others), len(others)),
    )


@dataclass(frozen=True)
class WarningMetrics:
    """The early warning in one critic stratum (module docstring)."""

    stratum: str
    degrading: int
    others: int
    auroc: float
    false_alarms: Ratio
    before_drop: Ratio  # degrading runs with a curve warned before their drop started
    leads: list[int]  # of the degrading runs warned that have a curve, by size

    @property
    def median_lead(self) -> float | None:
        return float(np.median(self.leads)) if self.leads else None


def warning_metrics(records: list[SuiteRecord], name: str = "all") -> WarningMetrics:
    """The warning's AUROC, false alarms and lead over `records` (one stratum, or all)."""
    positive = [r.significant for r in records]
    warned = [float(r.warning is not None) for r in records]
    others = [r for r in records if not r.significant]
    curved = [(r, d) for r in records if r.significant and (d := record_drop(r)) is not None]
    leads = sorted(x for r, d in curved if (x := lead(r.warning, d)) is not None)
    return WarningMetrics(
        stratum=name,
        degrading=len(records) - len(others),
        others=len(others),
        auroc=auroc(warned, positive),
        false_alarms=Ratio(sum(r.warning is not None for r in others), len(others)),
        before_drop=Ratio(sum(x > 0 for x in leads), len(curved)),
        leads=leads,
    )


def warning_strata(records: list[SuiteRecord]) -> list[WarningMetrics]:
    """`warning_metrics` in each critic stratum that has runs, then over all of them."""
    strata = [warning_metrics([r for r in records if stratum(r) == s], s) for s in STRATA]
    return [m for m in strata if m.degrading + m.others] + [warning_metrics(records)]


# ---------------------------------------------------------------------------- recommendation


def gain(shares: dict[str, float | None], recommended: str) -> float:
    """The share removed by following `recommended` (module docstring): 0 for "none" or a
    cause whose intervention did not run."""
    share = shares.get(recommended)
    return 0.0 if share is None or share != share else float(share)


def regret(shares: dict[str, float | None], recommended: str) -> float:
    """max(0, max_c s_c) - gain(recommended) (module docstring)."""
    best = max((gain(shares, c) for c in shares), default=0.0)
    return max(0.0, best) - gain(shares, recommended)


def mean_interval(values: Sequence[float]) -> Estimate:
    """The mean and its percentile bootstrap (`wsdiag.analysis.stats.bootstrap_ci`, N_RESAMPLES
    resamples, seed 0) as an Estimate; nan bounds for fewer than two values."""
    ci = bootstrap_ci(np.asarray(values, float), n_resamples=N_RESAMPLES)
    return Estimate(ci.mean, ci.low, ci.high)


@dataclass(frozen=True)
class Recommendation:
    """One recommendation's mean gain and regret over the confirmed runs, and the verdict's
    paired difference in gain against it (module docstring)."""

    name: str  # "verdict", or the fixed cause
    gain: Estimate
    regret: Estimate
    verdict_minus: Estimate | None  # None for the verdict itself


def confirmed_runs(records: Sequence[SuiteRecord]) -> list[SuiteRecord]:
    """The runs whose own confirmation measured shares: one a scenario."""
    measured = [r for r in records if any(v is not None for v in r.shares.values())]
    return [r for r in measured if r.significant and r.truth_from is None]


def recommendations(records: Sequence[SuiteRecord]) -> list[Recommendation]:
    """The verdict, then every cause tested on some confirmed run as a fixed recommendation."""
    runs = confirmed_runs(records)
    if not runs:
        return []
    causes = [c for c in LABELS if any(r.shares.get(c) is not None for r in runs)]
    verdict_gains = [gain(r.shares, r.verdict) for r in runs]

    def of(name: str, picks: list[str]) -> Recommendation:
        gains = [gain(r.shares, p) for r, p in zip(runs, picks, strict=True)]
        regrets = [regret(r.shares, p) for r, p in zip(runs, picks, strict=True)]
        paired = (
            None
            if name == "verdict"
            else mean_interval([v - g for v, g in zip(verdict_gains, gains, strict=True)])
        )
        return Recommendation(name, mean_interval(gains), mean_interval(regrets), paired)

    return [of("verdict", [r.verdict for r in runs])] + [of(c, [c] * len(runs)) for c in causes]
