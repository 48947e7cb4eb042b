"""What wsdiag offers against each cause of warm-start degradation (named in every verdict).

Each entry names the config knob or hook that applies it. New mitigations register here under
the cause they address, so that verdicts name them without changes to the rules.
"""

from __future__ import annotations

MITIGATIONS: dict[str, tuple[str, ...]] = {
    "extrapolation": (
        "train the critic longer before policy updates (warmstart.warmup_steps, "
        "warmstart.freeze_policy_steps)",
        'warm-start the critic too (warmstart.load = ["actor", "critic"])',
    ),
    "gradient": (
        "smaller actor steps (finetune.actor_lr) or rarer ones (finetune.policy_delay)",
        "LayerNorm critics, whose action gradients stay bounded (finetune.layer_norm)",
        "rewrite the action gradient with an actor-direction hook (docs/agents.md)",
    ),
    "spiral": (
        "keep offline transitions out of the online buffer (warmstart.load without 'buffer'; "
        "warmstart.offline_data after offline pretraining)",
        "a larger critic ensemble with a min over a subset (finetune.ensemble, "
        "finetune.target_subset) and LayerNorm (finetune.layer_norm), as in WSRL",
    ),
    "forgetting": (
        "keep the pretraining data in the buffer (warmstart.load with 'buffer')",
        "a behaviour-cloning or KL term towards the pretrained policy (actor-direction hook, "
        "docs/agents.md)",
        "a smaller actor learning rate (finetune.actor_lr)",
    ),
    "closeness": (
        "stay close to expert actions only and regularise the action gradient, as in TD3BC++ "
        "(actor-direction hook, docs/agents.md)",
        "LayerNorm critics (finetune.layer_norm)",
    ),
}


def mitigations_for(cause: str) -> tuple[str, ...]:
    return MITIGATIONS.get(cause, ())
