"""How long runs will take on this machine, said before they run.

A job's time is its steps at a rate measured here, in order:

1. the rate a finished run recorded for that stage (`time/steps_per_s`, the median of its
   rows, evaluations and probes included): what `diagnose --confirm` knows of its original
   run, whose counterfactuals share its settings but for their intervention, whose cost the
   calibration below gives relative to the original's (`plan_seconds(anchor=...)`);
2. a calibration (`calibrate`): the stage's own pieces timed in this process with the run's
   torch threads, a second or two per distinct setting: environment steps, updates of its
   agent at its batch size (from random transitions), and one call of the probes at the
   run's settings on PROBE_STATES states, scaled to its `probes.states` (their cost grows
   with the states), the fine-tuning's updates with its mitigation installed, and the actor's
   action for one observation; a job is then its steps (an action each, but for uniformly
   random ones), its updates (utd per step once learning starts), its evaluations' episodes
   (an action a step) and its probe calls. Checkpoints and the controllers of
   mitigations are left out (docs/performance.md gives the estimate's error on the demo).

Many jobs, `jobs` at a time, take the makespan of the longest-first schedule, and at least the
longest pretraining followed by its longest run.
"""

from __future__ import annotations

import copy
import dataclasses
import heapq
import time
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from wsdiag.agents import ActorCritic, make_agent
from wsdiag.config import AgentConfig, Config
from wsdiag.data.buffer import ReplayBuffer
from wsdiag.data.probe_set import ProbeSet
from wsdiag.envs import make_env, space_dims
from wsdiag.errors import WsdiagError
from wsdiag.mitigations import apply_mitigation
from wsdiag.mitigations.base import MitigationContext
from wsdiag.probes import run_probes
from wsdiag.sweep.plan import PRETRAIN, Job

RATE_KEY = "time/steps_per_s"
CALIBRATION_UPDATES = 60  # timed updates at most (after WARM_UPDATES untimed), 1 s at most
WARM_UPDATES = 5
PROBE_STATES = 64  # a probe call is timed on this many states and scaled to the run's
ACT_TIMED, ACT_WARM = 200, 10  # actions timed for one observation each, after untimed ones


@dataclass(frozen=True)
class StepCost:
    """Seconds of one environment step, one update, one probe call and one action (the
    actor's forward pass for one observation), measured on this machine."""

    env_step: float
    update: float
    probe: float  # one call of the probes
    act: float = 0.0


def recorded_rate(metrics: pd.DataFrame, phases: Iterable[str]) -> float | None:
    """The median `time/steps_per_s` a run recorded in `phases` (None: none recorded)."""
    rows = metrics[(metrics.key == RATE_KEY) & metrics.phase.isin(list(phases))].value
    rows = rows[np.isfinite(rows) & (rows > 0)]
    return float(rows.median()) if len(rows) else None


def calibrate(
    config: Config, agent: AgentConfig, threads: int = 1, mitigation: bool = False
) -> StepCost:
    """Time `agent`'s updates and `config.env`'s steps here (module docstring, 2); with
    `mitigation`, the updates carry the config's mitigation (a gradient penalty's extra
    backward pass, say), installed as a fine-tuning run installs it (where it cannot be, as a
    guide whose checkpoint is not there yet, without it)."""
    env_cfg = config.env
    env = make_env(env_cfg.id, env_cfg.max_episode_steps, env_cfg.kwargs, env_cfg.imports)
    obs_dim, act_dim = space_dims(env)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        learner = make_agent(agent, obs_dim, act_dim)
        rng = np.random.default_rng(0)
        buffer = ReplayBuffer(max(2 * agent.batch_size, 512), obs_dim, act_dim, seed=0)
        obs, _ = env.reset(seed=0)
        start = time.perf_counter()
        for _ in range(buffer.capacity):
            action = rng.uniform(-1, 1, act_dim).astype(np.float32)
            nxt, reward, terminated, truncated, _ = env.step(action)
            buffer.add(obs, action, float(reward), nxt, terminated, truncated)
            obs = env.reset()[0] if terminated or truncated else nxt
        env_step = (time.perf_counter() - start) / buffer.capacity
        act = _act_seconds(learner, buffer)
        probes = dataclasses.replace(config.probes, states=min(config.probes.states, PROBE_STATES))
        probe_set = ProbeSet.from_buffer(buffer, probes.states)
        if mitigation:
            _install(learner, config, env, probe_set)
        for _ in range(WARM_UPDATES):
            learner.update(buffer.sample(agent.batch_size))
        start, done = time.perf_counter(), 0
        while done < CALIBRATION_UPDATES and (done < WARM_UPDATES or _since(start) < 1.0):
            learner.update(buffer.sample(agent.batch_size))
            done += 1
        update = _since(start) / done
        start = time.perf_counter()
        run_probes(learner, probe_set, probes, online=probe_set, pretrained=learner,
                   frozen=learner)  # fmt: skip
        probe = _since(start) * config.probes.states / probes.states
    finally:
        torch.set_num_threads(before)
    return StepCost(env_step, update, probe, act)


def _act_seconds(learner: ActorCritic, buffer: ReplayBuffer) -> float:
    """Seconds of one exploring action for one observation (the first ACT_WARM untimed)."""
    states = buffer.sample(ACT_TIMED + ACT_WARM).obs.cpu().numpy()
    for obs in states[:ACT_WARM]:
        learner.act(obs, explore=True)
    start = time.perf_counter()
    for obs in states[ACT_WARM:]:
        learner.act(obs, explore=True)
    return _since(start) / ACT_TIMED


def _install(learner: ActorCritic, config: Config, env: object, behaviour: ProbeSet) -> None:
    """The config's mitigation on `learner` (its own copy as the pretrained agent)."""
    if config.mitigation.name == "none":
        return
    context = MitigationContext(learner, copy.deepcopy(learner), config, env, behaviour, 0)
    try:
        apply_mitigation(context)  # type: ignore[arg-type]
    except WsdiagError:
        return


def _since(start: float) -> float:
    return time.perf_counter() - start


def job_seconds(job: Job, cost: StepCost) -> float:
    """A job's seconds at `cost`: its steps with their actions and updates, and its
    evaluations (an action and an environment step each)."""
    config = job.config
    if job.kind == PRETRAIN:
        cfg = config.pretrain
        if cfg.source == "offline":  # gradient steps only
            return cfg.steps * cost.update
        steps, learning = cfg.steps, max(cfg.steps - cfg.learning_starts, 0)
        acted = learning  # uniformly random actions until learning starts
    else:  # a run branched where policy updates begin runs only the steps after
        cfg = config.finetune
        skipped = config.warmstart.warmup_steps + config.warmstart.freeze_policy_steps
        steps = cfg.steps - (min(skipped, cfg.steps) if job.branch_from else 0)
        learning = acted = steps  # a random-action warm-up is counted as acting (an upper bound)
    episode = config.env.max_episode_steps or 1000
    evals = (steps // config.eval.every + 1) * config.eval.episodes * episode
    seconds = (steps + evals) * cost.env_step + (acted + evals) * cost.act
    seconds += learning * cfg.utd * cost.update
    every = config.probes.every
    probes = steps // every + 1 if job.kind != PRETRAIN and every > 0 else 0
    return seconds + probes * cost.probe


def makespan(seconds: list[float], jobs: int) -> float:
    """The wall time of `seconds`-long jobs run `jobs` at a time, longest first."""
    slots = [0.0] * max(1, min(jobs, len(seconds)))
    for s in sorted(seconds, reverse=True):
        heapq.heapreplace(slots, slots[0] + s)
    return max(slots, default=0.0)


def plan_seconds(
    planned: list[Job],
    jobs: int,
    threads: int,
    anchor: tuple[str, float] | None = None,
    costs: dict[tuple[str, str, str], StepCost] | None = None,
) -> float:
    """The wall time of a plan's jobs, `jobs` at a time, each distinct setting calibrated once
    (module docstring). `anchor` = (a job's name, its seconds at a rate a run recorded) scales
    every job by what that job measured against its calibration: the recorded rate for its
    setting, the calibrated ratios between settings (an intervention's mitigation) for the
    others. `costs` keeps the calibrations between calls (one per setting in all)."""
    costs = {} if costs is None else costs

    def cost(job: Job) -> StepCost:
        online = job.kind != PRETRAIN
        agent = job.config.finetune if online else job.config.pretrain
        key = (repr(job.config.env), repr(agent), repr(job.config.mitigation) if online else "")
        if key not in costs:
            costs[key] = calibrate(job.config, agent, threads, mitigation=online)
        return costs[key]

    seconds = {job.name: job_seconds(job, cost(job)) for job in planned}
    if anchor is not None and seconds.get(anchor[0], 0.0) > 0:
        scale = anchor[1] / seconds[anchor[0]]
        seconds = {name: scale * s for name, s in seconds.items()}
    chains = [seconds[j.name] + max(seconds.get(d, 0.0) for d in j.deps) for j in planned if j.deps]
    return max(makespan(list(seconds.values()), jobs), max(chains, default=0.0))


def rate_seconds(planned: list[Job], rate: float, jobs: int) -> float:
    """The wall time of jobs that run at a recorded `rate` (steps/s), `jobs` at a time."""
    return makespan([job.env_steps / rate for job in planned], jobs)
