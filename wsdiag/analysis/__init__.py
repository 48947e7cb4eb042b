"""Analysis of run directories: degradation and safety metrics, statistics, Pareto fronts and a
rule-based diagnosis of warm-start degradation. Definitions: docs/metrics.md."""

from wsdiag.analysis.degradation import Degradation, degradation
from wsdiag.analysis.diagnose import Diagnosis, Finding, diagnose
from wsdiag.analysis.pareto import pareto_front
from wsdiag.analysis.run import Run, load_run
from wsdiag.analysis.safety import pooled_safety_table, safety_table, var_cvar
from wsdiag.analysis.stats import bootstrap_ci
from wsdiag.analysis.thresholds import Thresholds

__all__ = [
    "Degradation",
    "Diagnosis",
    "Finding",
    "Run",
    "Thresholds",
    "bootstrap_ci",
    "degradation",
    "diagnose",
    "load_run",
    "pareto_front",
    "pooled_safety_table",
    "safety_table",
    "var_cvar",
]
