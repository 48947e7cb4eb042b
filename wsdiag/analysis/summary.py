"""One run's numbers: degradation, safety table and diagnosis, from its directory.

R_random (the denominator R0 - R_random of the dip fraction) is the user's value when given;
otherwise the run's `eval/random_return` (uniform random actions evaluated at the warm start, or
the dataset's ref_min_score); otherwise (older runs) unknown, and the dip fraction is relative
to |R0|.

When the run recorded success rates (`eval/success`, S_i), their curve gets the same degradation
metrics against S0 = `eval/baseline_success` (the pretrained policy's success rate at step 0),
with R_random = 0 (so dip_fraction = dip / S0) and no recovery tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from wsdiag.analysis.degradation import Degradation, degradation
from wsdiag.analysis.diagnose import Diagnosis, diagnose
from wsdiag.analysis.run import Run
from wsdiag.analysis.safety import safety_table
from wsdiag.analysis.thresholds import Thresholds


@dataclass
class RunSummary:
    run: Run
    diagnosis: Diagnosis
    r_random: float | None
    r_random_source: str  # "given", "recorded at the warm start" or "unknown"
    window: np.ndarray  # evaluation returns of the fine-tuning window (from the policy start)
    success: Degradation | None = None  # of the success-rate curve (module docstring)

    @property
    def safety(self) -> pd.DataFrame | None:
        """The safety table of `window`; None for a run with no evaluation in it."""
        return safety_table(self.window) if len(self.window) else None


def random_return(run: Run, given: float | None) -> tuple[float | None, str]:
    """R_random and where it came from (see module docstring)."""
    if given is not None:
        return given, "given"
    _, recorded = run.series("eval/random_return")
    if len(recorded):
        return float(recorded[0]), "recorded at the warm start"
    return None, "unknown"


def success_degradation(run: Run) -> Degradation | None:
    """Degradation of the success-rate curve against S0 (module docstring); None for a run
    without success rates, or without an evaluation after the warm-up."""
    steps, rates = run.series("eval/success")
    _, baseline = run.series("eval/baseline_success")
    if not len(baseline) or not (steps >= run.policy_start).any():
        return None
    return degradation(steps, rates, float(baseline[0]), start=run.policy_start, r_random=0.0)


def summarise(run: Run, thresholds: Thresholds, r_random: float | None = None) -> RunSummary:
    """Diagnose a run and tabulate its safety statistics over the fine-tuning window."""
    r_rand, source = random_return(run, r_random)
    diagnosis = diagnose(
        run.metrics,
        policy_start=run.policy_start,
        update_start=run.update_start,
        thresholds=thresholds,
        r_random=r_rand,
        warm=run.warm_start,
    )
    steps, returns = run.series("eval/return")
    window = returns[steps >= run.policy_start]
    return RunSummary(run, diagnosis, r_rand, source, window, success_degradation(run))
