"""`run_probes` computes each quantity once per call (one forward over the perturbed actions of
every Q-percentile form, one backward for every action-gradient norm) and still records what
the per-form implementation recorded: a copy of that implementation lives here as the reference,
and every scalar and array must agree within float tolerance, with the same keys in the same
order."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import Tensor

from wsdiag import probe_keys as keys
from wsdiag.agents import ActorCritic, make_agent
from wsdiag.agents.networks import GaussianActor
from wsdiag.config import AgentConfig, ProbesConfig
from wsdiag.data.probe_set import ProbeSet
from wsdiag.probes.common import QFn, critic_fn
from wsdiag.probes.divergence import action_divergence
from wsdiag.probes.drift import policy_drift, q_softmax_kl
from wsdiag.probes.frozen import frozen_critic_eval, q_by_label
from wsdiag.probes.gradients import action_grad, gradient_cosines, policy_grad_norm
from wsdiag.probes.q_percentile import fraction_below, perturb_actions
from wsdiag.probes.suite import ProbeResult, run_probes
from wsdiag.probes.td import td_errors

OBS, ACT = 3, 2

# ---- the reference: run_probes as it was before each quantity was computed once per call ----


def _old_q_many(q_fn: QFn, states: Tensor, actions: Tensor, chunk: int = 16_384) -> Tensor:
    n, k, da = actions.shape
    flat_states = states[:, None, :].expand(n, k, states.shape[-1]).reshape(n * k, -1)
    flat_actions = actions.reshape(n * k, da)
    out = torch.empty(n * k, dtype=states.dtype)
    with torch.inference_mode():
        for i in range(0, n * k, chunk):
            out[i : i + chunk] = q_fn(flat_states[i : i + chunk], flat_actions[i : i + chunk])
    return out.reshape(n, k)


def _old_perturbed_and_q(q_fn, states, actions, n_perturb, **kwargs):
    perturbed = perturb_actions(actions, n_perturb, **kwargs)
    q = _old_q_many(q_fn, states, perturbed)
    with torch.no_grad():
        q_ref = q_fn(states, actions)
    return perturbed, q, q_ref


def _old_critic_probes(out, agent, t, cfg, seed, of_pretrained=False):
    def named(key: keys.ProbeKey) -> str:
        return keys.pretrained(key) if of_pretrained else key.name

    q_fn = critic_fn(agent, cfg.reduce)
    forms = (
        ("local", cfg.bounds, keys.Q_PERCENTILE),
        ("local", "unclipped", keys.Q_PERCENTILE_UNCLIPPED),
        ("uniform", cfg.bounds, keys.Q_PERCENTILE_UNIFORM),
    )
    for mode, bounds, key in forms:
        _, q, q_ref = _old_perturbed_and_q(
            q_fn,
            t["states"],
            t["actions"],
            cfg.n_perturb,
            sigma=cfg.sigma,
            mode=mode,
            bounds=bounds,
            generator=torch.Generator().manual_seed(seed),
        )
        p = fraction_below(q, q_ref, bounds)
        out.add(named(key), p)
        out.scalars[keys.stat(named(key), keys.MEDIAN)] = float(np.median(p))
    grad = action_grad(q_fn, t["states"], t["actions"])
    out.add(named(keys.GRAD_NORM_BEHAVIOUR), grad.norm(dim=-1).cpu().numpy(), True)
    return grad


def _old_td(out, agent, t, cfg, named):
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
    out.add(named[0].name, td["td_error"])
    out.add(named[1].name, td["q"])


def _old_drift(out, agent, pretrained, states, cfg, seed, named):
    kl, mse, rms, q_kl = named
    with torch.no_grad():
        dist_pre, dist = pretrained.policy_dist(states), agent.policy_dist(states)
        drift = policy_drift(dist_pre, dist, pretrained.policy(states), agent.policy(states))
    out.add(kl.name, drift["kl"])
    out.add(mse.name, drift["action_mse"])
    out.add(rms.name, drift["action_rms"])
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


def _old_run_probes(agent, behaviour, cfg, *, online, pretrained, frozen, seed):
    out = ProbeResult()
    t = behaviour.tensors(agent.device)
    q_fn = critic_fn(agent, cfg.reduce)
    gen = torch.Generator().manual_seed(seed + 1)
    grad = _old_critic_probes(out, agent, t, cfg, seed)
    n = cfg.landscape_states
    perturbed, q, q_ref = _old_perturbed_and_q(
        q_fn,
        t["states"][:n],
        t["actions"][:n],
        cfg.landscape_perturb,
        sigma=cfg.sigma,
        bounds=cfg.bounds,
        generator=gen,
    )
    landscape = {
        "states": t["states"][:n].numpy(),
        "actions": t["actions"][:n].numpy(),
        "perturbed": perturbed.numpy(),
        "q": q.numpy(),
        "q_ref": q_ref.numpy(),
        "percentile": fraction_below(q, q_ref, cfg.bounds),
    }
    named = {
        "states": keys.LANDSCAPE_STATES,
        "actions": keys.LANDSCAPE_ACTIONS,
        "perturbed": keys.LANDSCAPE_PERTURBED,
        "q": keys.LANDSCAPE_Q,
        "q_ref": keys.LANDSCAPE_Q_REF,
        "percentile": keys.LANDSCAPE_PERCENTILE,
    }
    out.arrays |= {named[k].name: v for k, v in landscape.items()}
    if pretrained is not None:
        pre_fn = critic_fn(pretrained, cfg.reduce)
        q_pre = _old_q_many(pre_fn, t["states"][:n], perturbed)
        out.arrays[keys.pretrained(keys.LANDSCAPE_Q)] = q_pre.numpy()
        with torch.no_grad():
            q_ref = pre_fn(t["states"][:n], t["actions"][:n])
        out.arrays[keys.pretrained(keys.LANDSCAPE_Q_REF)] = q_ref.numpy()
    with torch.no_grad():
        pi = agent.policy(t["states"])
    random_actions = (2 * torch.rand(t["actions"].shape, generator=gen) - 1).to(pi)
    policy_norms = action_grad(q_fn, t["states"], pi).norm(dim=-1).numpy()
    out.add(keys.GRAD_NORM_POLICY.name, policy_norms, stats=True)
    random_norms = action_grad(q_fn, t["states"], random_actions).norm(dim=-1).numpy()
    out.add(keys.GRAD_NORM_RANDOM.name, random_norms, stats=True)
    out.scalars[keys.POLICY_GRAD_NORM.name] = policy_grad_norm(
        q_fn, agent.policy, agent.actor, t["states"]
    )
    _old_td(out, agent, t, cfg, (keys.TD_ERROR_BEHAVIOUR, keys.Q_BEHAVIOUR))
    labels = behaviour.labels
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
    if pretrained is not None:
        pre_grad = _old_critic_probes(out, pretrained, t, cfg, seed, of_pretrained=True)
        pairs, pooled = gradient_cosines(grad, pre_grad)
        out.add(keys.GRAD_COS_BEHAVIOUR.name, pairs)
        out.scalars[keys.GRAD_COS_POOLED_BEHAVIOUR.name] = pooled
        drift = (keys.KL_BEHAVIOUR, keys.ACTION_MSE_BEHAVIOUR, keys.ACTION_RMS_BEHAVIOUR,
                 keys.Q_KL_BEHAVIOUR)  # fmt: skip
        _old_drift(out, agent, pretrained, t["states"], cfg, seed, drift)
    if online is not None and len(online) > 0:
        o = online.tensors(agent.device)
        out.arrays[keys.ONLINE_STATES.name] = online.states
        _old_td(out, agent, o, cfg, (keys.TD_ERROR_ONLINE, keys.Q_ONLINE))
        if pretrained is not None:
            drift = (keys.KL_ONLINE, keys.ACTION_MSE_ONLINE, keys.ACTION_RMS_ONLINE,
                     keys.Q_KL_ONLINE)  # fmt: skip
            _old_drift(out, agent, pretrained, o["states"], cfg, seed, drift)
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


# ---- the comparison ----


def _probe_set(n: int, gen: torch.Generator) -> ProbeSet:
    states = torch.randn(n, OBS, generator=gen).numpy()
    actions = (torch.rand(n, ACT, generator=gen) * 2 - 1).numpy()
    actions[:5] = 1.0  # saturating actions: on the box, where the percentile forms differ most
    rewards = torch.randn(n, generator=gen).numpy()
    terminated = (torch.rand(n, generator=gen) < 0.1).float().numpy()
    labels = np.array(["expert", "random"])[np.arange(n) % 2]
    return ProbeSet(states, actions, rewards, states[::-1].copy(), terminated, labels)


def _agents(algo: str) -> tuple[ActorCritic, ActorCritic, ActorCritic]:
    torch.manual_seed(0)
    cfg = AgentConfig(algo=algo, hidden=(64, 64))
    return tuple(make_agent(cfg, OBS, ACT) for _ in range(3))  # type: ignore[return-value]


def _assert_same(new: tuple[dict, dict], old: tuple[dict, dict]) -> None:
    (scalars, arrays), (old_scalars, old_arrays) = new, old
    assert list(scalars) == list(old_scalars)
    assert list(arrays) == list(old_arrays)
    for k, v in old_scalars.items():
        assert scalars[k] == pytest.approx(v, rel=1e-5, abs=1e-6), k
    for k, v in old_arrays.items():
        assert arrays[k].shape == v.shape, k
        assert arrays[k].dtype == v.dtype, k
        if v.dtype.kind in "fc":
            np.testing.assert_allclose(arrays[k], v, rtol=1e-5, atol=1e-6, err_msg=k)
        else:
            np.testing.assert_array_equal(arrays[k], v, err_msg=k)


@pytest.mark.parametrize("algo", ["td3", "sac"])
@pytest.mark.parametrize("bounds", ["truncate", "unclipped", "clip"])
def test_run_probes_records_what_the_per_form_implementation_recorded(
    algo: str, bounds: str
) -> None:
    agent, pretrained, frozen = _agents(algo)
    gen = torch.Generator().manual_seed(3)
    behaviour, online = _probe_set(96, gen), _probe_set(80, gen)
    # 96 x 48 perturbed actions per form: more rows than one chunk of the forward pass (2,048)
    cfg = ProbesConfig(states=96, n_perturb=48, sigma=0.7, bounds=bounds, landscape_perturb=40)
    kwargs = {"online": online, "pretrained": pretrained, "frozen": frozen, "seed": 5}
    _assert_same(
        run_probes(agent, behaviour, cfg, **kwargs),
        _old_run_probes(agent, behaviour, cfg, **kwargs),
    )


def test_run_probes_without_the_optional_inputs_matches_too() -> None:
    agent, _, _ = _agents("td3")
    behaviour = _probe_set(64, torch.Generator().manual_seed(4))
    cfg = ProbesConfig(states=64, n_perturb=32, reduce="min")
    kwargs = {"online": None, "pretrained": None, "frozen": None, "seed": 1}
    _assert_same(
        run_probes(agent, behaviour, cfg, **kwargs),
        _old_run_probes(agent, behaviour, cfg, **kwargs),
    )


def test_the_comparison_can_fail() -> None:
    """A different seed draws other perturbations: the reference must tell them apart."""
    agent, pretrained, _ = _agents("td3")
    behaviour = _probe_set(64, torch.Generator().manual_seed(4))
    cfg = ProbesConfig(states=64, n_perturb=32)
    new = run_probes(agent, behaviour, cfg, pretrained=pretrained, seed=1)
    old = _old_run_probes(
        agent, behaviour, cfg, online=None, pretrained=pretrained, frozen=None, seed=2
    )
    with pytest.raises(AssertionError):
        _assert_same(new, old)


def test_the_pretrained_critics_numbers_are_computed_once_while_it_stays_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A second call with the same pretrained critic, probe set, config and seed reuses its
    numbers (only the agent's Q-percentiles are computed); a changed weight, even one written
    through `.data`, or another seed computes them again; every call still matches the
    reference, and changing a returned array changes no later call."""
    from wsdiag.probes import suite

    agent, pretrained, _ = _agents("td3")
    behaviour = _probe_set(64, torch.Generator().manual_seed(4))
    cfg = ProbesConfig(states=64, n_perturb=32, landscape_perturb=20)
    calls: list[int] = []
    counted = suite.q_percentiles

    def spy(*args: object, **kwargs: object) -> list[np.ndarray]:
        calls.append(1)
        return counted(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(suite, "q_percentiles", spy)

    def check(seed: int, computed: int) -> None:
        calls.clear()
        kwargs = {"online": None, "pretrained": pretrained, "frozen": None, "seed": seed}
        new = run_probes(agent, behaviour, cfg, **kwargs)
        assert len(calls) == computed
        _assert_same(new, _old_run_probes(agent, behaviour, cfg, **kwargs))
        new[1][keys.pretrained(keys.Q_PERCENTILE)][:] = -1.0  # the caller's copy only

    check(seed=1, computed=2)
    check(seed=1, computed=1)
    # a reused result gives every number to the last bit, the pooled cosine included
    reused = run_probes(agent, behaviour, cfg, pretrained=pretrained, seed=1)[0]
    suite._FIXED.clear()
    assert run_probes(agent, behaviour, cfg, pretrained=pretrained, seed=1)[0] == reused
    pretrained.critic.linears[1].weight.data.mul_(1.5)
    check(seed=1, computed=2)
    check(seed=1, computed=1)
    check(seed=2, computed=2)


def test_labels_given_as_a_list_are_grouped_like_an_array() -> None:
    agent, _, _ = _agents("td3")
    behaviour = _probe_set(64, torch.Generator().manual_seed(4))
    as_list = ProbeSet(*(getattr(behaviour, f) for f in ("states", "actions", "rewards",
                       "next_states", "terminated")), list(behaviour.labels))  # fmt: skip
    cfg = ProbesConfig(states=64, n_perturb=8)
    scalars, _ = run_probes(agent, as_list, cfg)
    expected, _ = run_probes(agent, behaviour, cfg)
    for label in ("expert", "random"):
        key = keys.GRAD_NORM_LABEL.of(label)
        assert np.isfinite(scalars[key]) and scalars[key] == pytest.approx(expected[key])
