"""Parameters of the policy-side mitigations (BC penalties, PQD, CCL-PQD, BCQ, clipping, lr)."""

from __future__ import annotations

from dataclasses import dataclass

POLICY_NAMES: tuple[str, ...] = ()


@dataclass(frozen=True)
class PolicyParams:
    """Nested [mitigation.<name>] sections of the policy-side mitigations (a mixin)."""
