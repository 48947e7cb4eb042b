"""Frozen-critic views (Wexler et al., Fig. 5; TD3BC++ Fig. 6): Q on chosen state/action sets.

`frozen_critic_eval`: a critic frozen when policy updates begin, evaluated on the four
combinations of behavioural states s_beta / states visited by the updated policy s_U and the
behavioural policy pi_beta / the updated policy pi_U. The updated policy's actions on its own
states are valued above what the critic ever saw: the sign of extrapolation error.
`frozen_critic_protocol`: the paper's own protocol: a copy of the agent whose critic is frozen
trains its actor against it for a number of steps (pi_beta -> pi_U), rolls pi_U out for s_U, and
the frozen critic values the same four combinations.
`q_by_label`: Q of dataset actions per label and of uniformly random actions, for histograms.
"""

from __future__ import annotations

import copy

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor

from wsdiag import probe_keys as keys
from wsdiag.agents import ActorCritic
from wsdiag.data.buffer import Batch
from wsdiag.data.probe_set import ProbeSet, collect_rollouts
from wsdiag.probes.common import PolicyFn, QFn, critic_fn


def frozen_critic_eval(
    q_fn: QFn,
    policy_beta: PolicyFn,
    policy_u: PolicyFn,
    states_beta: Tensor,
    states_u: Tensor,
) -> dict[str, np.ndarray]:
    """Q(s_beta, pi_beta), Q(s_beta, pi_U), Q(s_U, pi_beta), Q(s_U, pi_U) as arrays, by the
    names of the views in `wsdiag.probe_keys` (`sbeta_pibeta`, ...)."""
    with torch.no_grad():
        return {
            keys.SBETA_PIBETA.name: q_fn(states_beta, policy_beta(states_beta)).cpu().numpy(),
            keys.SBETA_PIU.name: q_fn(states_beta, policy_u(states_beta)).cpu().numpy(),
            keys.SU_PIBETA.name: q_fn(states_u, policy_beta(states_u)).cpu().numpy(),
            keys.SU_PIU.name: q_fn(states_u, policy_u(states_u)).cpu().numpy(),
        }


def frozen_critic_protocol(
    agent: ActorCritic,
    behaviour: ProbeSet,
    env: gym.Env,
    *,
    updates: int,
    batch_size: int = 256,
    rollout_steps: int = 1000,
    reduce: str = "mean",
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Wexler et al.'s frozen-critic protocol (their Fig. 5): pi_U = the agent's actor after
    `updates` actor steps against its frozen critic on batches of the behavioural set; s_U =
    `rollout_steps` states of pi_U's own deterministic rollouts; then frozen_critic_eval with
    pi_beta = the agent's policy before the steps. The agent is not changed (a copy trains)."""
    learner, before = copy.deepcopy(agent), copy.deepcopy(agent)
    data = behaviour.tensors(agent.device)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(updates):
        idx = torch.randint(0, len(behaviour), (min(batch_size, len(behaviour)),), generator=gen)
        learner.update_actor(_batch(data, idx.to(agent.device)))
    rollouts = collect_rollouts(env, learner, rollout_steps, seed, label="updated")
    states_u = torch.as_tensor(rollouts.states, dtype=torch.float32, device=agent.device)
    q_fn = critic_fn(before, reduce)
    return frozen_critic_eval(q_fn, before.policy, learner.policy, data["states"], states_u)


def _batch(data: dict[str, Tensor], idx: Tensor) -> Batch:
    """Behavioural transitions as a Batch (an actor update reads its states and actions)."""
    zeros = torch.zeros(len(idx), device=idx.device)
    return Batch(
        obs=data["states"][idx],
        actions=data["actions"][idx],
        rewards=data["rewards"][idx],
        next_obs=data["next_states"][idx],
        terminated=data["terminated"][idx],
        truncated=zeros,
        origin=zeros.to(torch.int8),
        mc_return=torch.full_like(zeros, float("nan")),
    )


def q_by_label(
    q_fn: QFn,
    states: Tensor,
    actions: Tensor,
    labels: np.ndarray,
    *,
    low: float = -1.0,
    high: float = 1.0,
    generator: torch.Generator | None = None,
) -> dict[str, np.ndarray]:
    """{label: Q(s, a) of the dataset actions with that label, "random": Q(s, a ~ U(low, high))}."""
    labels = np.asarray(labels)
    random_actions = low + (high - low) * torch.rand(actions.shape, generator=generator)
    with torch.no_grad():
        q_data = q_fn(states, actions).cpu().numpy()
        q_random = q_fn(states, random_actions.to(actions)).cpu().numpy()
    out = {str(lab): q_data[labels == lab] for lab in np.unique(labels)}
    out[keys.RANDOM] = q_random
    return out
