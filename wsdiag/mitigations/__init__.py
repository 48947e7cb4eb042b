"""Mitigations of warm-start degradation: one module each, listed in `registry.MITIGATIONS`;
each reads its table as the typed `Params` of wsdiag.config.mitigations. Definitions and
references: docs/mitigations.md.
"""

from wsdiag.mitigations.registry import (
    MITIGATIONS,
    apply_mitigation,
    apply_to_pretraining,
    check_inputs,
)

__all__ = ["MITIGATIONS", "apply_mitigation", "apply_to_pretraining", "check_inputs"]
