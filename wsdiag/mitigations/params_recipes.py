"""Parameters of the adaptive, critic-side and rollout mitigations (AdaptiveBC, TD3BC++, JSRL)."""

from __future__ import annotations

from dataclasses import dataclass

RECIPE_NAMES: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecipeParams:
    """Nested [mitigation.<name>] sections of these mitigations (a mixin)."""
