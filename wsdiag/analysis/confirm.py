"""Confirmation by counterfactual runs: the share of the dip an intervention removes.

For seeds k = 1..n, D_k is the dip of the original run and D'_k that of the run with one
intervention, from the same pretrained checkpoint and seed (`degradation`: max(0, R0 - min R)
after the policy start). The share removed is

    s = 1 - mean_k D'_k / mean_k D_k,

shown with a paired percentile bootstrap interval over seeds (the pairs (D_k, D'_k) resampled
together; a resample whose original dips are all 0 is dropped).

The decision is an exact sign test on the per-seed shares s_k = 1 - D'_k / D_k (the seeds whose
original dipped, D_k > 0) against c = `confirm_share` (`wsdiag.analysis.sign_test`): an
intervention is *confirmed* when the count of seeds with s_k >= c says, at the look level, that
the median share is at least c; *refuted* when the count below c says it is less; and
*inconclusive* otherwise: more seeds would decide. Seeds are added one at a time from `first`
(default 5) to `last` (default 10), the test looked at after each, the per-look level chosen so
that the whole sequence decides wrongly with probability <= 5% when the median share is exactly
c. Three seeds never decide (the smallest p-value is 1/8). The confirmed cause is the earliest
confirmed one in `PRIORITY` (root causes before the drift they cause); a run's ground truth is
its confirmed cause, "none" when every tested intervention is refuted, and "inconclusive" when
none confirms and some is inconclusive.

A cause may be tested at m strengths (`wsdiag diagnose --confirm --strengths all`), each its own
intervention, variant ("<cause>", "<cause>-2", ...) and sign test on the same seeds, each test at
the level alpha / m for its whole sequence of looks (Bonferroni: a cause is then falsely
confirmed with probability <= alpha). The cause's outcome combines them (`combined`): confirmed
if any strength is confirmed, refuted if every strength is refuted, inconclusive otherwise; the
truth, the verdict and the judgement of a verdict read the causes' combined outcomes.

Records judged before the sign test (three seeds, confirmed when s >= c and the bootstrap
interval's lower end > 0) keep that rule: `outcome(share, c)`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from wsdiag.analysis.fmt import num as _g
from wsdiag.analysis.fmt import percent_interval
from wsdiag.analysis.rules import TITLES
from wsdiag.analysis.sign_test import ALPHA, SignTest, decidable, sign_test
from wsdiag.analysis.stats import N_RESAMPLES
from wsdiag.atomic import atomic_write_text
from wsdiag.config import WSDIAG_TRAINER, load_config
from wsdiag.errors import WsdiagError
from wsdiag.rundir import CONFIG_FILE

PRIORITY = ("extrapolation", "gradient", "spiral", "closeness", "update", "drift")
CONFIRMATION_FILE = "confirmation.json"
FOLDER, ORIGINAL = "counterfactual", "original"  # RUN_DIR/counterfactual; the run's own variant
CONFIRMED, REFUTED, INCONCLUSIVE = "confirmed", "refuted", "inconclusive"
NONE = "none"  # a run's truth when every tested intervention is refuted
# The no-op control (`diagnose --confirm --control`): the original again on other seeds, an
# intervention whose effect is nil by construction; its confirmations are false ones.
CONTROL, CONTROL_TITLE = "noop", "no-op control"
CONTROL_LABEL = "the original itself, on seeds 100,000 further"


def title(cause: str) -> str:
    """The printed name of a cause, or of the no-op control."""
    return CONTROL_TITLE if cause == CONTROL else TITLES[cause]


def counterfactual_name(variant: str, seed: int) -> str:
    """The job (and run folder) name of one variant and seed: '<variant>-seed<k>'."""
    return f"{variant}-seed{seed}"


def strength_variant(cause: str, k: int) -> str:
    """The counterfactual variant of a cause at its k-th strength (from 1): the cause itself at
    the first (the folders of confirmations made before strengths), '<cause>-<k>' after."""
    return cause if k == 1 else f"{cause}-{k}"


def variant_and_seed(name: str) -> tuple[str, int]:
    """The variant and seed a `counterfactual_name` was made of."""
    variant, seed = name.rsplit("-seed", 1)
    return variant, int(seed)


def recorded_seed(run_dir: Path) -> int | None:
    """The seed on which the recorded run is itself the original; None for a run another
    trainer recorded (wsdiag.api), whose original wsdiag reruns on every seed."""
    config = load_config(Path(run_dir) / CONFIG_FILE, check_mitigation=False)
    return config.seed if config.trainer == WSDIAG_TRAINER else None


def counterfactual_dir(run_dir: Path, variant: str, seed: int, own_seed: int | None) -> Path:
    """The run directory of one variant and seed under RUN_DIR/counterfactual/runs (the
    original on `own_seed`, the `recorded_seed`, is the recorded run itself)."""
    if variant == ORIGINAL and seed == own_seed:
        return Path(run_dir)
    return Path(run_dir) / FOLDER / "runs" / counterfactual_name(variant, seed)


@dataclass(frozen=True)
class Share:
    """The share of the dip removed, its bootstrap interval and the number of seed pairs."""

    share: float
    low: float
    high: float
    n: int

    def __str__(self) -> str:
        """'63% [38, 94]' (no interval with one seed)."""
        return percent_interval(self.share, self.low, self.high)

    @property
    def seeds(self) -> str:
        return f"{self.n} seed{'s' * (self.n != 1)}"


def share_removed(
    original: np.ndarray, intervened: np.ndarray, level: float = 0.95, seed: int = 0
) -> Share:
    """s = 1 - mean(D') / mean(D) with its paired bootstrap interval (module docstring)."""
    d, d2 = np.asarray(original, float), np.asarray(intervened, float)
    if d.shape != d2.shape or len(d) == 0:
        raise ValueError("share_removed needs one intervened dip per original dip")
    if d.mean() <= 0:
        return Share(float("nan"), float("nan"), float("nan"), len(d))
    point = 1.0 - d2.mean() / d.mean()
    if len(d) == 1:
        return Share(float(point), float("nan"), float("nan"), 1)
    idx = np.random.default_rng(seed).integers(0, len(d), size=(N_RESAMPLES, len(d)))
    base, after = d[idx].mean(1), d2[idx].mean(1)
    keep = base > 0
    shares = 1.0 - after[keep] / base[keep]
    alpha = (1.0 - level) / 2
    low, high = np.quantile(shares, alpha), np.quantile(shares, 1.0 - alpha)
    return Share(float(point), float(low), float(high), len(d))


FIRST_SEEDS, MAX_SEEDS = 5, 10  # the sign test's first and last look (module docstring)


def per_seed_shares(original: list[float], intervened: list[float]) -> list[float]:
    """s_k = 1 - D'_k / D_k over the seeds whose original dipped (D_k > 0)."""
    return [1.0 - b / a for a, b in zip(original, intervened, strict=True) if a > 0]


def decide(
    original: list[float],
    intervened: list[float],
    min_share: float,
    first: int = FIRST_SEEDS,
    last: int = MAX_SEEDS,
    alpha: float = ALPHA,
) -> tuple[str, SignTest]:
    """'confirmed', 'refuted' or 'inconclusive' by the sign test at the sequence error `alpha`
    (module docstring)."""
    test = sign_test(per_seed_shares(original, intervened), min_share, first, last, alpha)
    if test.decided_above:
        return CONFIRMED, test
    return (REFUTED if test.decided_below else INCONCLUSIVE), test


def confirms(share: Share | None, min_share: float) -> bool:
    """The earlier rule: share >= min_share and, with two seeds or more, the interval's lower
    end > 0."""
    if share is None or share.n == 0 or not share.share >= min_share:
        return False
    return share.n == 1 or share.low > 0


def refutes(share: Share | None, min_share: float) -> bool:
    """With two seeds or more, the interval's upper end < min_share (one seed never refutes)."""
    return share is not None and share.n >= 2 and share.high < min_share


def outcome(share: Share | None, min_share: float) -> str:
    """'confirmed', 'refuted' or 'inconclusive' by the earlier bootstrap rule (module
    docstring): how records made before the sign test were judged."""
    if confirms(share, min_share):
        return CONFIRMED
    return REFUTED if refutes(share, min_share) else INCONCLUSIVE


def combined(outcomes: list[str]) -> str:
    """A cause's outcome from its strengths' (module docstring): confirmed if any is, refuted if
    every one is, else inconclusive."""
    if CONFIRMED in outcomes:
        return CONFIRMED
    return REFUTED if outcomes and all(o == REFUTED for o in outcomes) else INCONCLUSIVE


def truth_of(outcomes: dict[str, str]) -> str:
    """The earliest confirmed cause in `PRIORITY`; else "inconclusive" if some outcome is,
    else "none" (every tested cause refuted, or none tested)."""
    confirmed = [c for c in PRIORITY if outcomes.get(c) == CONFIRMED]
    if confirmed:
        return confirmed[0]
    return INCONCLUSIVE if INCONCLUSIVE in outcomes.values() else NONE


@dataclass(frozen=True)
class Intervention:
    """One candidate cause's counterfactual at one strength: what was changed, the dips, the
    share removed."""

    cause: str
    label: str
    overrides: dict[str, Any]
    seeds: list[int]
    original_dips: list[float]
    dips: list[float]
    share: Share | None = None
    skipped: str | None = None  # why it was not run (not applicable, failed)
    looks: tuple[int, int] = (FIRST_SEEDS, MAX_SEEDS)  # the sign test's first and last look
    stopped: list[int] = field(default_factory=list)  # seeds whose run stopped once decided
    variant: str = ""  # its runs' variant (`strength_variant`); "" (earlier records): the cause
    alpha: float = ALPHA  # its sign test's sequence error: ALPHA / m, m strengths of its cause

    def __post_init__(self) -> None:
        if not self.variant:
            object.__setattr__(self, "variant", self.cause)

    def confirmed(self, min_share: float) -> bool:
        return self.outcome(min_share) == CONFIRMED

    def test(self, min_share: float) -> SignTest:
        return decide(self.original_dips, self.dips, min_share, *self.looks, self.alpha)[1]

    def decidable(self, min_share: float, more: int) -> bool:
        """Whether up to `more` further seeds could still decide its sign test (`decidable`)."""
        test = self.test(min_share)
        return decidable(test.above, test.below, more, *self.looks, self.alpha)

    def outcome(self, min_share: float) -> str | None:
        """'confirmed', 'refuted' or 'inconclusive' by the sign test; None when it was not
        tested."""
        if self.skipped:
            return None
        return decide(self.original_dips, self.dips, min_share, *self.looks, self.alpha)[0]

    def sentence(self, min_share: float | None = None) -> str:
        """What was changed, the share removed and, given `min_share`, the outcome and its
        sign test."""
        if self.skipped:
            return f"{title(self.cause)}: not tested ({self.skipped})"
        dips, before = (", ".join(_g(x) for x in d) for d in (self.dips, self.original_dips))
        end = "" if min_share is None else f": {self.outcome(min_share)}, {self.test(min_share)}"
        early = (f"; {len(self.stopped)} stopped once decided, their dips lower bounds"
                 if self.stopped else "")  # fmt: skip
        return (
            f"{title(self.cause)}: {self.label} removed {self.share} of the dip "
            f"({self.share.seeds if self.share else ''}; dips {dips} vs {before}{early}){end}"
        )

    @property
    def name(self) -> str:
        """The cause's printed name, with the variant where it is a later strength."""
        own = TITLES[self.cause]
        return own if self.variant == self.cause else f"{own} ({self.variant})"


@dataclass(frozen=True)
class Confirmation:
    """Every intervention of a `wsdiag diagnose --confirm` and the verdict they support; a
    cause's outcome combines its strengths' (module docstring)."""

    interventions: list[Intervention]
    min_share: float
    horizon: int | None = None  # steps after the policy start each counterfactual ran (None: all)

    @property
    def confirmed(self) -> Intervention | None:
        """The earliest confirmed cause's strength that confirmed it."""
        outcomes = self.outcomes
        first = next((c for c in PRIORITY if outcomes.get(c) == CONFIRMED), None)
        return None if first is None else self.deciding(first)

    @property
    def outcomes(self) -> dict[str, str]:
        """Each tested cause's combined outcome (`combined`), in the interventions' order."""
        tested: dict[str, list[str]] = {}
        for i in self.causes:
            if not i.skipped:
                tested.setdefault(i.cause, []).append(str(i.outcome(self.min_share)))
        return {cause: combined(said) for cause, said in tested.items()}

    @property
    def truth(self) -> str:
        """The confirmed cause, or "none" (every tested cause refuted; also when none was
        tested), or "inconclusive"."""
        return truth_of(self.outcomes)

    @property
    def causes(self) -> list[Intervention]:
        """The interventions that test a cause (the no-op control aside), every strength."""
        return [i for i in self.interventions if i.cause != CONTROL]

    @property
    def per_cause(self) -> list[Intervention]:
        """One intervention per cause, tested or not: the strength that decided it
        (`deciding`)."""
        causes = dict.fromkeys(i.cause for i in self.causes)
        return [self.deciding(c) or self.strengths(c)[0] for c in causes]

    def strengths(self, cause: str) -> list[Intervention]:
        """The cause's interventions, one per strength, the first first."""
        return [i for i in self.interventions if i.cause == cause]

    def deciding(self, cause: str) -> Intervention | None:
        """The strength that decided the cause's outcome: its first confirmed one, else its
        first tested one (every strength refuted, or some undecided); None when none was
        tested."""
        tested = [i for i in self.strengths(cause) if not i.skipped]
        confirmed = [i for i in tested if i.confirmed(self.min_share)]
        return next(iter(confirmed + tested), None)

    @property
    def control(self) -> Intervention | None:
        """The no-op control, when it ran."""
        return next((i for i in self.interventions if i.cause == CONTROL), None)

    def judgement(self, cause: str | None) -> str | None:
        """What the interventions say of a verdict naming `cause`: its combined outcome (its
        own intervention's, with one strength); None when it was not tested."""
        said = None if cause is None else self.outcomes.get(cause)
        if cause is None or said is None:
            return None
        m = sum(not i.skipped for i in self.strengths(cause))
        by = "its own intervention" if m == 1 else f"its own intervention at {m} strengths"
        return f"the verdict, {TITLES[cause]}, by {by}: {said}"

    def verdict(self) -> str:
        best = self.confirmed
        if best is None and self.truth == INCONCLUSIVE:
            unsure = [i for cause, said in self.outcomes.items() if said == INCONCLUSIVE
                      for i in self.strengths(cause)
                      if i.outcome(self.min_share) == INCONCLUSIVE]  # fmt: skip
            which = "; ".join(f"{i.name} {i.test(self.min_share)}" for i in unsure)
            return (
                f"inconclusive: no intervention confirmed; more seeds would decide whether "
                f"these remove {100 * self.min_share:.0f}% of the dip: {which}"
            )
        if best is None and all(i.skipped for i in self.causes):
            return "not confirmed: no intervention could be tested"
        if best is None:
            return (
                f"not confirmed: every intervention tested removed less than "
                f"{100 * self.min_share:.0f}% of the dip (each by its sign test)"
            )
        return (
            f"confirmed: {TITLES[best.cause]} (its intervention, {best.label}, removed "
            f"{best.share} of the dip; {best.test(self.min_share)})"
        )

    def to_json(self) -> dict[str, Any]:
        best = self.confirmed
        return {
            "verdict": self.verdict(),
            "confirmed": best.cause if best else None,
            "truth": self.truth,
            "outcomes": self.outcomes,
            "control": self.control.outcome(self.min_share) if self.control else None,
            "min_share": self.min_share,
            "horizon": self.horizon,
            "interventions": [asdict(i) for i in self.interventions],
        }

    def save(self, folder: Path) -> Path:
        path = Path(folder) / CONFIRMATION_FILE
        atomic_write_text(path, json.dumps(self.to_json(), indent=1))
        return path


def load_confirmation(folder: Path) -> Confirmation | None:
    """The confirmation saved in `folder`, or None when there is none."""
    path = Path(folder) / CONFIRMATION_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        items = []
        for entry in data["interventions"]:
            share = entry.pop("share")
            looks = tuple(entry.pop("looks", (FIRST_SEEDS, MAX_SEEDS)))
            items.append(Intervention(**entry, share=Share(**share) if share else None,
                                      looks=looks))  # fmt: skip
        return Confirmation(items, float(data["min_share"]), data.get("horizon"))
    except (ValueError, KeyError, TypeError) as exc:
        raise WsdiagError(f"damaged {path}: {exc}") from None
