"""Every probe on one agent at one moment: scalars for the metrics table, arrays for figures.

`run_probes` is what both the training callback and `wsdiag probe --checkpoint` call, so a probe
gives the same number in either place. Random draws (perturbations, random actions) come from
generators seeded by `seed`, so successive calls in a run see the same perturbations.
"""

from __future__ import annotations

import hashlib
import threading

import numpy as np
import torch
from torch import Tensor

from wsdiag import probe_keys as keys
from wsdiag.agents import ActorCritic
from wsdiag.agents.networks import EnsembleCritic, GaussianActor
from wsdiag.config import ProbesConfig
from wsdiag.data.probe_set import ProbeSet
from wsdiag.probes.common import critic_fn, q_many, summary
from wsdiag.probes.divergence import action_divergence
from wsdiag.probes.drift import policy_drift, q_softmax_kl
from wsdiag.probes.frozen import frozen_critic_eval, frozen_critic_protocol, q_by_label
from wsdiag.probes.gradients import action_grad, action_grads, gradient_cosines, policy_grad_norm
from wsdiag.probes.q_percentile import perturbed_q, q_percentiles
from wsdiag.probes.td import td_errors


class ProbeResult:
    """Scalars (`name -> float`) and arrays (`name -> ndarray`) gathered under one name space."""

    def __init__(self) -> None:
        self.scalars: dict[str, float] = {}
        self.arrays: dict[str, np.ndarray] = {}

    def add(self, name: str, values: np.ndarray, stats: bool = False) -> None:
        """Store an array; its mean as a scalar, or its mean/median/p90/max with `stats`."""
        self.arrays[name] = values
        if stats:
            self.scalars |= {keys.stat(name, k): v for k, v in summary(values).items()}
        else:
            self.scalars[name] = float(np.mean(values))


def _critic_numbers(
    agent: ActorCritic,
    t: dict[str, Tensor],
    cfg: ProbesConfig,
    seed: int,
    grad: Tensor | None = None,
) -> tuple[list[np.ndarray], Tensor]:
    """Q-percentiles (local with `probes.bounds`, local unclipped as the authors draw it, and
    uniform over the box) and dQ/da at the behavioural actions [N, da] (the gradient cosines
    reuse it), unless the caller computed it with other gradients and passes it as `grad`.

    The three forms map one set of uniform draws each its own way (the generator seeded by
    `seed` for each, as `q_percentile` would), so one pass of the critic over their perturbed
    actions serves all three."""
    q_fn = critic_fn(agent, cfg.reduce)
    forms = [("local", cfg.bounds), ("local", "unclipped"), ("uniform", cfg.bounds)]
    percentiles = q_percentiles(
        q_fn,
        t["states"],
        t["actions"],
        forms,
        n_perturb=cfg.n_perturb,
        sigma=cfg.sigma,
        generator=torch.Generator().manual_seed(seed),
    )
    if grad is None:
        grad = action_grad(q_fn, t["states"], t["actions"])
    return percentiles, grad


def _add_critic_probes(
    out: ProbeResult, percentiles: list[np.ndarray], grad: Tensor, of_pretrained: bool = False
) -> None:
    """The numbers of `_critic_numbers` and ||dQ/da||, under the pretrained agent's keys with
    `of_pretrained`."""

    def named(key: keys.ProbeKey) -> str:
        return keys.pretrained(key) if of_pretrained else key.name

    forms = (keys.Q_PERCENTILE, keys.Q_PERCENTILE_UNCLIPPED, keys.Q_PERCENTILE_UNIFORM)
    for key, p in zip(forms, percentiles, strict=True):
        out.add(named(key), p)
        out.scalars[keys.stat(named(key), keys.MEDIAN)] = float(np.median(p))
    out.add(named(keys.GRAD_NORM_BEHAVIOUR), grad.norm(dim=-1).cpu().numpy(), True)


def _td(
    out: ProbeResult,
    agent: ActorCritic,
    t: dict[str, Tensor],
    cfg: ProbesConfig,
    named: tuple[keys.ProbeKey, keys.ProbeKey],
) -> None:
    """The TD error and Q level of one probe set, under `named` = (TD-error key, Q key)."""
    td = td_errors(
        critic_fn(agent, cfg.reduce),
        critic_fn(agent, cfg.reduce, target=True),
        agent.policy,
        t["states"],
        t["actions"],
        t["rewards"],
        t["next_states"],
        t["terminated"],
        agent.gamma,
    )
    td_key, q_key = named
    out.add(td_key.name, td["td_error"])
    out.add(q_key.name, td["q"])


def _drift(
    out: ProbeResult,
    agent: ActorCritic,
    pretrained: ActorCritic,
    states: Tensor,
    cfg: ProbesConfig,
    seed: int,
    named: tuple[keys.ProbeKey, keys.ProbeKey, keys.ProbeKey, keys.ProbeKey],
) -> None:
    """Drift from the pretrained agent on some states, under `named` = the keys of its KL,
    action MSE, action RMS and Q-softmax KL."""
    kl, mse, rms, q_kl = named
    with torch.no_grad():
        dist_pre, dist = pretrained.policy_dist(states), agent.policy_dist(states)
        drift = policy_drift(dist_pre, dist, pretrained.policy(states), agent.policy(states))
    out.add(kl.name, drift["kl"])
    out.add(mse.name, drift["action_mse"])
    out.add(rms.name, drift["action_rms"])
    if pretrained.critic is None:  # a reference with no critic (wsdiag.api): no Q-softmax KL
        return
    values = q_softmax_kl(
        critic_fn(pretrained, cfg.reduce),
        critic_fn(agent, cfg.reduce),
        states,
        dist_pre,
        dist,
        n_actions=cfg.drift_actions,
        squash=isinstance(agent.actor, GaussianActor),
        generator=torch.Generator().manual_seed(seed),
    )
    out.add(q_kl.name, values)


def _landscape_keys() -> dict[str, keys.ProbeKey]:
    """The key of each array `perturbed_q` returns."""
    return {
        "states": keys.LANDSCAPE_STATES,
        "actions": keys.LANDSCAPE_ACTIONS,
        "perturbed": keys.LANDSCAPE_PERTURBED,
        "q": keys.LANDSCAPE_Q,
        "q_ref": keys.LANDSCAPE_Q_REF,
        "percentile": keys.LANDSCAPE_PERCENTILE,
    }


PretrainedNumbers = tuple[np.ndarray, np.ndarray, list[np.ndarray], Tensor]
_FIXED: dict[bytes, PretrainedNumbers] = {}  # see `_of_pretrained`
_FIXED_KEEP = 4  # entries kept (the oldest goes first)
_FIXED_LOCK = threading.Lock()  # callers in several threads (a user's own loops) share it


def _fingerprint(agent: ActorCritic, t: dict[str, Tensor], cfg: ProbesConfig, seed: int) -> bytes:
    """A hash of everything the pretrained critic's numbers depend on: its weights and
    statistics, the probe set, the probe config and the seed."""
    h = hashlib.blake2b(digest_size=20)
    h.update(repr((cfg, seed, str(agent.device))).encode())
    for name, tensor in [*agent.critic.state_dict().items(), *sorted(t.items())]:
        array = tensor.detach().cpu().contiguous().numpy()
        h.update(repr((name, array.shape, array.dtype.str)).encode())
        h.update(array.tobytes())
    return h.digest()


def _copy(numbers: PretrainedNumbers) -> PretrainedNumbers:
    """A copy; dQ/da keeps its strides (a column of the critic's input gradient), so that sums
    over it (the pooled cosine) add in the same order as over the one just computed."""
    q_pre, q_ref, percentiles, grad = numbers
    same_layout = torch.empty_strided(grad.shape, grad.stride(), dtype=grad.dtype).to(grad.device)
    return q_pre.copy(), q_ref.copy(), [p.copy() for p in percentiles], same_layout.copy_(grad)


def _of_pretrained(
    pretrained: ActorCritic, t: dict[str, Tensor], cfg: ProbesConfig, seed: int, perturbed: Tensor
) -> PretrainedNumbers:
    """The pretrained critic's numbers: its Q on the landscape's perturbed actions [n, K] (which
    the probe set, config and seed decide) and on their reference actions [n], and its
    `_critic_numbers`. Nothing of them changes while its weights, the probe set, the config and
    the seed stay the same, as through a run, where they were a third of a call's time: for a
    critic of wsdiag's own (all its state in its state dict) they are computed once per
    fingerprint of the four and then copied."""
    cached = isinstance(pretrained.critic, EnsembleCritic)
    key = _fingerprint(pretrained, t, cfg, seed) if cached else b""
    with _FIXED_LOCK:
        hit = _FIXED.get(key) if cached else None
    if hit is not None:
        return _copy(hit)
    pre_fn = critic_fn(pretrained, cfg.reduce)
    n = cfg.landscape_states
    q_pre = q_many(pre_fn, t["states"][:n], perturbed)
    with torch.no_grad():
        q_ref = pre_fn(t["states"][:n], t["actions"][:n])
    percentiles, grad = _critic_numbers(pretrained, t, cfg, seed)
    numbers = (q_pre.cpu().numpy(), q_ref.cpu().numpy(), percentiles, grad)
    if cached:
        with _FIXED_LOCK:
            while len(_FIXED) >= _FIXED_KEEP:
                del _FIXED[next(iter(_FIXED))]
            _FIXED[key] = _copy(numbers)
    return numbers


def run_probes(
    agent: ActorCritic,
    behaviour: ProbeSet,
    cfg: ProbesConfig,
    *,
    online: ProbeSet | None = None,
    pretrained: ActorCritic | None = None,
    frozen: ActorCritic | None = None,
    seed: int = 0,
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Run every probe the inputs allow (definitions in docs/probes.md); (scalars, arrays).

    behaviour: the behavioural probe set; online: recent transitions of the agent's own policy;
    pretrained: the agent the warm start came from (drift, and its critic as a reference);
    frozen: a copy of the agent taken when policy updates began (frozen-critic view).
    """
    out = ProbeResult()
    t = behaviour.tensors(agent.device)
    q_fn = critic_fn(agent, cfg.reduce)
    gen = torch.Generator().manual_seed(seed + 1)
    n = cfg.landscape_states
    landscape = perturbed_q(
        q_fn,
        t["states"][:n],
        t["actions"][:n],
        n_perturb=cfg.landscape_perturb,
        sigma=cfg.sigma,
        bounds=cfg.bounds,
        generator=gen,
    )
    with torch.no_grad():
        pi = agent.policy(t["states"])
    random_actions = (2 * torch.rand(t["actions"].shape, generator=gen) - 1).to(pi)
    # dQ/da at the behavioural, policy and random actions: one forward and backward
    grad, grad_pi, grad_random = action_grads(q_fn, t["states"], [t["actions"], pi, random_actions])
    _add_critic_probes(out, *_critic_numbers(agent, t, cfg, seed, grad=grad))
    named = _landscape_keys()
    out.arrays |= {named[k].name: v for k, v in landscape.items()}
    reference = pretrained is not None and pretrained.critic is not None  # its critic's probes
    if reference:  # the pretrained critic on the same perturbed actions
        perturbed = torch.as_tensor(landscape["perturbed"], device=agent.device)
        q_pre, q_ref, pre_percentiles, pre_grad = _of_pretrained(
            pretrained, t, cfg, seed, perturbed
        )
        out.arrays[keys.pretrained(keys.LANDSCAPE_Q)] = q_pre
        out.arrays[keys.pretrained(keys.LANDSCAPE_Q_REF)] = q_ref
    out.add(keys.GRAD_NORM_POLICY.name, grad_pi.norm(dim=-1).cpu().numpy(), stats=True)
    out.add(keys.GRAD_NORM_RANDOM.name, grad_random.norm(dim=-1).cpu().numpy(), stats=True)
    if next(agent.actor.parameters(), None) is not None:  # an actor given as a plain function
        out.scalars[keys.POLICY_GRAD_NORM.name] = policy_grad_norm(  # (wsdiag.api) has none
            q_fn, agent.policy, agent.actor, t["states"]
        )
    _td(out, agent, t, cfg, (keys.TD_ERROR_BEHAVIOUR, keys.Q_BEHAVIOUR))
    labels = np.asarray(behaviour.labels)
    divergence = action_divergence(
        agent.policy, t["states"], t["actions"], labels, cfg.divergence_q
    )
    out.scalars |= {keys.DIVERGENCE.of(label): v for label, v in divergence.items()}
    grads = out.arrays[keys.GRAD_NORM_BEHAVIOUR.name]
    for label in np.unique(labels):
        out.scalars[keys.GRAD_NORM_LABEL.of(label)] = float(grads[labels == label].mean())
    by_label = q_by_label(q_fn, t["states"], t["actions"], labels, generator=gen)
    out.arrays |= {keys.Q_BY_LABEL.of(k): v for k, v in by_label.items()}
    out.arrays[keys.BEHAVIOUR_STATES.name] = behaviour.states
    if reference:
        _add_critic_probes(out, pre_percentiles, pre_grad, of_pretrained=True)
        pairs, pooled = gradient_cosines(grad, pre_grad)  # both from one pair of gradients
        out.add(keys.GRAD_COS_BEHAVIOUR.name, pairs)
        out.scalars[keys.GRAD_COS_POOLED_BEHAVIOUR.name] = pooled
    if pretrained is not None:
        drift = (keys.KL_BEHAVIOUR, keys.ACTION_MSE_BEHAVIOUR, keys.ACTION_RMS_BEHAVIOUR,
                 keys.Q_KL_BEHAVIOUR)  # fmt: skip
        _drift(out, agent, pretrained, t["states"], cfg, seed, drift)
    if online is not None and len(online) > 0:
        o = online.tensors(agent.device)
        out.arrays[keys.ONLINE_STATES.name] = online.states
        _td(out, agent, o, cfg, (keys.TD_ERROR_ONLINE, keys.Q_ONLINE))
        if pretrained is not None:
            drift = (keys.KL_ONLINE, keys.ACTION_MSE_ONLINE, keys.ACTION_RMS_ONLINE,
                     keys.Q_KL_ONLINE)  # fmt: skip
            _drift(out, agent, pretrained, o["states"], cfg, seed, drift)
        if frozen is not None and pretrained is not None:
            views = frozen_critic_eval(
                critic_fn(frozen, cfg.reduce),
                pretrained.policy,
                agent.policy,
                t["states"],
                o["states"],
            )
            for key, values in views.items():
                out.add(keys.frozen(key), values)
    return out.scalars, out.arrays


def protocol_probes(
    agent: ActorCritic, behaviour: ProbeSet, env: object, cfg: ProbesConfig, seed: int
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """The frozen-critic protocol (`probes.frozen_protocol_steps` actor steps) as
    `frozen_protocol/<combination>` scalars (means) and arrays."""
    out = ProbeResult()
    views = frozen_critic_protocol(
        agent,
        behaviour,
        env,  # type: ignore[arg-type]
        updates=cfg.frozen_protocol_steps,
        rollout_steps=len(behaviour),
        reduce=cfg.reduce,
        seed=seed,
    )
    for key, values in views.items():
        out.add(keys.frozen(key, protocol=True), values)
    return out.scalars, out.arrays
