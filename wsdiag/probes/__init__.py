"""Probes: pure functions that turn the warm-start literature's explanations into numbers.

A critic is passed as `q_fn(states [N, ds], actions [N, da]) -> [N]` (see `critic_fn`), a policy
as `states -> actions`. Definitions and references: docs/probes.md.
"""

from wsdiag.data.probe_set import ProbeSet, collect_rollouts
from wsdiag.probes.common import critic_fn, q_many
from wsdiag.probes.divergence import action_divergence
from wsdiag.probes.drift import gaussian_kl, policy_drift, q_softmax_kl
from wsdiag.probes.frozen import frozen_critic_eval, q_by_label
from wsdiag.probes.gradients import action_grad_norm, policy_grad_norm
from wsdiag.probes.q_percentile import perturb_actions, perturbed_q, q_percentile
from wsdiag.probes.suite import run_probes
from wsdiag.probes.td import td_errors

__all__ = [
    "ProbeSet",
    "action_divergence",
    "action_grad_norm",
    "collect_rollouts",
    "critic_fn",
    "frozen_critic_eval",
    "gaussian_kl",
    "perturb_actions",
    "perturbed_q",
    "policy_drift",
    "policy_grad_norm",
    "q_by_label",
    "q_many",
    "q_percentile",
    "q_softmax_kl",
    "run_probes",
    "td_errors",
]
