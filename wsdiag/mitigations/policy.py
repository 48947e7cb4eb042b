"""Policy-side mitigations; importing this module registers them (docs/mitigations-policy.md)."""

from wsdiag.mitigations import bc_penalty, bcq, ccl, clipping, critic_bc, pqd

__all__ = ["bc_penalty", "bcq", "ccl", "clipping", "critic_bc", "pqd"]
