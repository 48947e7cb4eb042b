"""The advice against each cause of warm-start degradation, named in every verdict (the
mitigations themselves are `wsdiag.mitigations.MITIGATIONS`).

Each entry names the config knob or hook that applies it. New mitigations register here under
the cause they address, so that verdicts name them without changes to the rules.
"""

from __future__ import annotations

ADVICE: dict[str, tuple[str, ...]] = {
    "extrapolation": (
        "train the critic longer before policy updates (warmstart.warmup_steps, "
        "warmstart.freeze_policy_steps)",
        'warm-start the critic too (warmstart.load = ["actor", "critic"])',
        "let a loaded critic that only saw the data's actions learn from random ones first "
        '(warmstart.warmup_policy = "random")',
        'relax a BC constraint as the critic gains confidence (mitigation.name = "ccl_pqd")',
        'bound the policy to a perturbation of the behavioural action (finetune.algo = "bcq")',
    ),
    "gradient": (
        'penalise ||dQ/da|| above 1, as TD3BC++ (mitigation.name = "gradient_penalty")',
        'clip the actor\'s gradient or lower its learning rate (mitigation.name = "grad_clip", '
        '"lr_scale")',
        "LayerNorm critics, whose action gradients stay bounded (finetune.layer_norm)",
    ),
    "spiral": (
        'retain part of the offline data (warmstart.offline_data = "fraction" or "all", '
        "warmstart.offline_ratio)",
        "a frozen-policy warm-up, a critic ensemble with LayerNorm and a high update ratio, "
        "as WSRL (examples/recipes/wsrl.toml)",
    ),
    "update": (
        'clip the actor\'s gradient or lower its learning rate (mitigation.name = "grad_clip", '
        '"lr_scale")',
        "freeze the policy longer (warmstart.freeze_policy_steps)",
    ),
    "drift": (
        'a BC penalty towards the pretrained policy (mitigation.name = "bc_penalty"), or one '
        'relaxed by confidence (mitigation.name = "ccl_pqd")',
        'a BC weight adapted to the returns, as REDQ+AdaptiveBC (mitigation.name = "adaptive_bc")',
        'let the pretrained policy roll in first, as JSRL (mitigation.name = "jsrl")',
        "keep the pretraining data in the buffer (warmstart.load with 'buffer')",
    ),
    "closeness": (
        "stay close to the actions the critic values and penalise ||dQ/da||, as TD3BC++ "
        '(mitigation.name = "td3bc_pp")',
        "LayerNorm critics (finetune.layer_norm)",
    ),
}


def mitigations_for(cause: str) -> tuple[str, ...]:
    return ADVICE.get(cause, ())
