"""Mitigations of warm-start degradation: one module each, listed in `registry.MITIGATIONS`.

Importing this package installs the registry's checks into wsdiag.config (see registry.py).
Definitions and references: docs/mitigations.md.
"""

from wsdiag.mitigations.registry import MITIGATIONS, apply_mitigation, apply_to_pretraining

__all__ = ["MITIGATIONS", "apply_mitigation", "apply_to_pretraining"]
