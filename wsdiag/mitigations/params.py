"""[mitigation]: which cure for warm-start degradation a run applies, and its parameters.

Torch-free on purpose: wsdiag.config imports it. Each mitigation's parameters are a nested
section, e.g. [mitigation] name = "ccl_pqd" with [mitigation.ccl_pqd] alpha_start = 1e-2.
Definitions and references: docs/mitigations.md.
"""

from __future__ import annotations

from dataclasses import dataclass

MITIGATION_NAMES: tuple[str, ...] = ("none",)


@dataclass(frozen=True)
class MitigationConfig:
    """[mitigation] At most one mitigation per run; `none` is plain fine-tuning."""

    name: str = "none"  # one of MITIGATION_NAMES (see docs/mitigations.md)
