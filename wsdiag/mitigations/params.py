"""[mitigation]: which cure for warm-start degradation a run applies, and its parameters.

Torch-free on purpose: wsdiag.config imports it. Each mitigation's parameters are a nested
section, e.g. [mitigation] name = "ccl_pqd" with [mitigation.ccl_pqd] alpha_start = 1e-2; the
sections live in two mixins, one per family. Definitions and references: docs/mitigations.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from wsdiag.mitigations.params_policy import POLICY_NAMES, PolicyParams
from wsdiag.mitigations.params_recipes import RECIPE_NAMES, RecipeParams

MITIGATION_NAMES: tuple[str, ...] = ("none", *POLICY_NAMES, *RECIPE_NAMES)


@dataclass(frozen=True)
class MitigationConfig(PolicyParams, RecipeParams):
    """[mitigation] At most one mitigation per run; `none` is plain fine-tuning."""

    name: str = "none"  # one of MITIGATION_NAMES (see docs/mitigations.md)
