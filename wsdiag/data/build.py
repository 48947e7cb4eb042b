"""Making datasets: collect from a policy, contaminate, concatenate; describe what is on disk."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from wsdiag.data.collect import agent_policy, mean_return, random_policy, rollout
from wsdiag.data.minari_io import Episode
from wsdiag.data.minari_read import env_id_of, read_episodes, read_metadata
from wsdiag.data.minari_write import NewDataset
from wsdiag.data.mix import concatenate, contaminate
from wsdiag.envs import make_env, space_dims
from wsdiag.errors import WsdiagError
from wsdiag.limits import check_allocation

RANDOM = "random"
REF_SEED_OFFSET = 50_000  # reference-score episodes start from reset(seed + 50_000 + k)


@dataclass(frozen=True)
class EnvChoice:
    """An environment to collect in: its id, `gym.make` kwargs and modules to import first."""

    env_id: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    imports: tuple[str, ...] = ()


def collect_dataset(
    dataset_id: str,
    *,
    policy: object = RANDOM,
    policy_name: str | None = None,
    env_id: str | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
    env_imports: Sequence[str] = (),
    steps: int = 100_000,
    noise: float = 0.0,
    seed: int = 0,
    label: str | None = None,
    ref_agent: object | None = None,
    ref_max: float | None = None,
    ref_episodes: int = 10,
) -> list[Episode]:
    """Roll out `policy` ("random", or an agent with `act(obs, explore)`) for `steps`
    transitions into a Minari dataset; `policy_name` is recorded as its provenance. The env is
    `env_id` made with `env_kwargs` after importing `env_imports` (wsdiag.envs.make_env): a Dict
    observation is stored flattened, as the agents see it.

    ref_min_score is the mean return of uniform random actions, ref_max_score the deterministic
    return of `ref_agent` (default: the collecting agent; none for a random policy), both over
    `ref_episodes` episodes; a given `ref_max` takes precedence.
    """
    rng = np.random.default_rng(seed)
    agent = None if isinstance(policy, str) and policy == RANDOM else policy
    if env_id is None:
        raise WsdiagError("--env is needed with a random policy")
    with NewDataset(dataset_id) as out:  # the id and the root checked before any step
        env = make_env(env_id, None, env_kwargs, env_imports)
        obs_dim, act_dim = space_dims(env)
        floats = 2 * obs_dim + act_dim + 3  # per transition, as episodes then as a buffer
        check_allocation(f"--steps {steps} in {env_id}", 2 * steps * floats * 8)
        act = random_policy(act_dim, rng) if agent is None else agent_policy(agent, noise, rng)
        label = label or _default_label(dataset_id)
        name = RANDOM if agent is None else (policy_name or type(agent).__name__)
        episodes = rollout(env, act, steps, seed, {"policy": name, "label": label, "noise": noise})
        ref_seed = seed + REF_SEED_OFFSET
        ref_min = mean_return(env, random_policy(act_dim, np.random.default_rng(ref_seed)),
                              ref_episodes, ref_seed)  # fmt: skip
        ref_agent = ref_agent if ref_agent is not None else agent
        if ref_max is None and ref_agent is not None:
            ref_max = mean_return(env, agent_policy(ref_agent, 0.0, rng), ref_episodes, ref_seed)
        spec = gym.spec(env_id)  # the user's own choice (--env), with its kwargs
        spec = dataclasses.replace(spec, kwargs={**spec.kwargs, **(env_kwargs or {})})
        out.write(
            episodes,
            spec,
            observation_space=env.observation_space,
            algorithm_name=f"wsdiag:{name}",
            ref_min_score=ref_min,
            ref_max_score=ref_max,
            description=f"{steps} steps of {name} (noise {noise}) on {env_id}, label {label}",
        )
    return episodes


def _default_label(dataset_id: str) -> str:
    """'wsdiag/pendulum/expert-v0' -> 'expert'."""
    return dataset_id.rsplit("/", 1)[-1].rsplit("-v", 1)[0] or "dataset"


def _env_id(dataset_id: str) -> str:
    return env_id_of(read_metadata(dataset_id))


def _refs(dataset_id: str) -> dict[str, float | None]:
    meta = read_metadata(dataset_id)
    return {k: meta.get(k) for k in ("ref_min_score", "ref_max_score")}


def mix_dataset(base_id: str, other_id: str, percent: float, out_id: str) -> list[Episode]:
    """`base_id` with its final `percent`% of transitions replaced by `other_id`'s episodes."""
    env_id = _env_id(base_id)
    if _env_id(other_id) != env_id:
        raise WsdiagError(f"'{base_id}' is for {env_id}, '{other_id}' for {_env_id(other_id)}")
    with NewDataset(out_id) as out:
        episodes = contaminate(
            read_episodes(base_id), read_episodes(other_id), percent, base_id, other_id
        )
        out.write(
            episodes,
            read_metadata(base_id),
            algorithm_name="wsdiag:mix",
            **_refs(base_id),
            description=f"{base_id} with its last {percent:g}% of transitions from {other_id}",
        )
    return episodes


def concat_dataset(dataset_ids: list[str], out_id: str) -> list[Episode]:
    """All episodes of several datasets of one environment."""
    envs = {i: _env_id(i) for i in dataset_ids}
    if len(set(envs.values())) != 1:
        raise WsdiagError(f"datasets of different environments: {envs}")
    with NewDataset(out_id) as out:
        episodes = concatenate({i: read_episodes(i) for i in dataset_ids})
        out.write(
            episodes,
            read_metadata(dataset_ids[0]),
            algorithm_name="wsdiag:concat",
            **_refs(dataset_ids[-1]),
            description=f"concatenation of {', '.join(dataset_ids)}",
        )
    return episodes


@dataclass(frozen=True)
class DatasetInfo:
    """What `wsdiag data list/info` shows."""

    dataset_id: str
    env_id: str
    episodes: int
    steps: int
    mean_return: float
    ref_min_score: float | None
    ref_max_score: float | None
    labels: dict[str, int]  # label -> transitions

    def normalised(self, score: float) -> float | None:
        """100 (R - ref_min) / (ref_max - ref_min), or None without references."""
        if self.ref_min_score is None or self.ref_max_score is None:
            return None
        return normalised_score(score, self.ref_min_score, self.ref_max_score)


def normalised_score(score: float, ref_min: float, ref_max: float) -> float:
    return 100.0 * (score - ref_min) / (ref_max - ref_min)


def describe(dataset_id: str) -> DatasetInfo:
    episodes = read_episodes(dataset_id)
    meta = read_metadata(dataset_id)
    labels: dict[str, int] = {}
    for ep in episodes:
        key = str(ep.metadata.get("label", "dataset"))
        labels[key] = labels.get(key, 0) + len(ep)
    returns = [float(np.sum(ep.rewards)) for ep in episodes]
    return DatasetInfo(
        dataset_id,
        meta["env_spec"]["id"],
        len(episodes),
        sum(len(ep) for ep in episodes),
        float(np.mean(returns)),
        meta.get("ref_min_score"),
        meta.get("ref_max_score"),
        labels,
    )
