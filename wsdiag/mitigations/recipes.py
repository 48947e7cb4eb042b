"""Adaptive, critic-side and rollout mitigations; importing this module registers them.

gradient_penalty, critic_weighted and td3bc_pp (TD3BC++), adaptive_bc (REDQ+AdaptiveBC), jsrl and
jsrl_random (Jump-Start RL). WSRL needs no code: it is a config (examples/recipes/wsrl.toml).
Definitions and references: docs/mitigations-recipes.md.
"""

from wsdiag.mitigations import adaptive_bc, critic_weighted, gradient_penalty, jsrl

__all__ = ["adaptive_bc", "critic_weighted", "gradient_penalty", "jsrl"]
