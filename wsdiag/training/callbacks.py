"""The trainer's callbacks: phase events, training logs, evaluation and checkpoints.

The lifecycle (`Callback`, `due`) is wsdiag.core's. Scheduling lives in `every`: a callback's
periodic work happens when `loop.step % every == 0`, and at the last step of the stage.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym

from wsdiag.core import Callback, LoopView, due
from wsdiag.envs import evaluate, evaluate_episodes, uniform_random
from wsdiag.rundir import BRANCH, RETURN_BELOW
from wsdiag.training.checkpoint import prune_checkpoints, save_checkpoint

if TYPE_CHECKING:
    from wsdiag.training.loop import Loop


class PhaseEvents(Callback):
    """Records each phase boundary as an event."""

    def on_phase(self, loop: LoopView, name: str) -> None:
        loop.recorder.event("phase", stage=loop.stage, phase=name, step=loop.step)


class TrainLogger(Callback):
    """Averages the agent's update metrics over `every` env steps, each key over the updates
    that reported it (actor metrics come every `policy_delay` updates), as `train/<key>` rows
    (keys that carry their own namespace, such as `mitigation/bc_distance`, keep it); logs each
    episode as `rollout/return` and `rollout/length`, and the throughput as `time/steps_per_s`.
    The partial sums live in the loop's controller state, so that a run resumed between two
    logs averages over the same updates as one that was not."""

    wants_updates = True
    STATE = "train_logger"  # its key in loop.state.controllers

    def __init__(self, every: int) -> None:
        self.every = every
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self.clock = (time.perf_counter(), 0)

    def on_start(self, loop: LoopView) -> None:
        self.clock = (time.perf_counter(), loop.step)
        saved = loop.state.controllers.get(self.STATE, {})
        self.sums, self.counts = dict(saved.get("sums", {})), dict(saved.get("counts", {}))
        loop.state.controllers[self.STATE] = {"sums": self.sums, "counts": self.counts}

    def on_update(self, loop: LoopView, batch: Any, metrics: dict[str, float]) -> None:
        for key, value in metrics.items():
            self.sums[key] = self.sums.get(key, 0.0) + value
            self.counts[key] = self.counts.get(key, 0) + 1

    def on_episode_end(self, loop: LoopView, episode_return: float, length: int) -> None:
        loop.recorder.log(
            loop.step, loop.phase.name, {"rollout/return": episode_return, "rollout/length": length}
        )

    def on_env_step(self, loop: LoopView) -> None:
        if not due(loop, self.every):
            return
        rows = {(k if "/" in k else f"train/{k}"): v / self.counts[k] for k, v in self.sums.items()}
        now = time.perf_counter()
        rows["time/steps_per_s"] = (loop.step - self.clock[1]) / max(now - self.clock[0], 1e-9)
        rows["train/updates"] = loop.state.updates
        loop.recorder.log(loop.step, loop.phase.name, rows)
        self.sums.clear()
        self.counts.clear()
        self.clock = (now, loop.step)


class Evaluator(Callback):
    """Evaluates the acting policy every `every` steps as `eval/return` (mean), `eval/return_std`,
    and, when the env reports success (`info["is_success"]` or `info["success"]`), as
    `eval/success`: the fraction of episodes whose final step reported success.

    `baseline=True` also evaluates at step 0 and records it as `eval/baseline_return` (and
    `eval/baseline_success`) and a `baseline` event: the pretrained policy's return that
    degradation is measured against; and
    `eval/random_return`, the return of uniform random actions on the same start states (or the
    dataset's ref_min_score when there is one), the floor that dip fractions are relative to.
    `target_return` stops the loop once the mean return reaches it (pretraining to a level);
    `stop_below` once an evaluation at or after step `stop_from` falls below it (a
    counterfactual whose outcome is decided: wsdiag.sweep.confirm).
    With dataset reference scores it also records
    `eval/normalized_return` = 100 (R - ref_min) / (ref_max - ref_min).
    """

    def __init__(
        self,
        env: gym.Env,
        every: int,
        episodes: int,
        seed: int,
        baseline: bool = False,
        target_return: float | None = None,
        ref_scores: tuple[float, float] | None = None,
        stop_below: float | None = None,
        stop_from: int = 0,
    ) -> None:
        self.env, self.every, self.episodes, self.seed = env, every, episodes, seed
        self.baseline, self.target_return, self.ref_scores = baseline, target_return, ref_scores
        self.stop_below, self.stop_from = stop_below, stop_from

    def _evaluate(self, loop: LoopView) -> tuple[float, float | None]:
        """(mean return, success rate or None) of one evaluation, recorded."""
        agent = loop.acting_agent()
        result = evaluate_episodes(
            lambda obs: agent.act(obs, explore=False), self.env, self.episodes, self.seed
        )
        mean, success = float(result.returns.mean()), result.success_rate
        rows = {"eval/return": mean, "eval/return_std": float(result.returns.std())}
        if success is not None:
            rows["eval/success"] = success
        if self.ref_scores is not None:
            low, high = self.ref_scores
            rows["eval/normalized_return"] = 100.0 * (mean - low) / (high - low)
        loop.recorder.log(loop.step, loop.phase.name, rows)
        loop.state.last_eval = mean
        return mean, success

    def on_start(self, loop: LoopView) -> None:
        if self.baseline and loop.step == 0:
            mean, success = self._evaluate(loop)
            if self.ref_scores is not None:
                floor = self.ref_scores[0]
            else:
                act = uniform_random(loop.buffer.act_dim, self.seed)
                floor = float(evaluate(act, self.env, self.episodes, self.seed).mean())
            rows = {"eval/baseline_return": mean, "eval/random_return": floor}
            extra = {}
            if success is not None:
                rows["eval/baseline_success"] = extra["success"] = success
            loop.recorder.log(0, loop.phase.name, rows)
            loop.recorder.event(
                "baseline", stage=loop.stage, step=0, eval_return=mean, random_return=floor, **extra
            )

    def on_env_step(self, loop: LoopView) -> None:
        if not due(loop, self.every):
            return
        mean, _ = self._evaluate(loop)
        if self.stop_below is not None and loop.step >= self.stop_from and mean < self.stop_below:
            loop.state.stop_reason = RETURN_BELOW
            loop.recorder.event(RETURN_BELOW, stage=loop.stage, step=loop.step, eval_return=mean,
                                stop_below=self.stop_below)  # fmt: skip
        if self.target_return is not None and mean >= self.target_return:
            loop.state.stop_reason = "target_return"
            loop.recorder.event(
                "target_reached",
                stage=loop.stage,
                step=loop.step,
                eval_return=mean,
                target_return=self.target_return,
            )


class Checkpointer(Callback):
    """Saves `<folder>/<prefix><step>` every `every` steps (the newest `keep` are kept) and, at the
    end, `<folder>/<final_name>` (or `<prefix><step>` when no final name is given).

    With `branch_at` (the step policy updates begin), it also keeps `<folder>/branch`: the state
    at the last episode end at or before that step, buffer included, from which counterfactual
    runs that change nothing before it start (`wsdiag.training.branch`). An episode end is where
    a resumed run repeats the uninterrupted one step for step (the next episode's reset seed is
    the same); only the ends within `episode_cap` steps of `branch_at` are saved (every one
    when the cap is unknown), the newest replacing the one before.

    The recorder is flushed first, so the metrics on disk always cover the newest checkpoint.
    Register it last: it must see the rows the other callbacks logged at the same step.
    """

    def __init__(
        self,
        folder: Path,
        prefix: str,
        every: int,
        keep: int,
        save_buffer: bool,
        meta: Callable[[Any], dict[str, Any]],
        final_name: str | None = None,
        branch_at: int | None = None,
        episode_cap: int | None = None,
    ) -> None:
        self.folder, self.prefix, self.every, self.keep = Path(folder), prefix, every, keep
        self.save_buffer, self.meta, self.final_name = save_buffer, meta, final_name
        self.branch_at, self.episode_cap, self.ended = branch_at, episode_cap, -1

    def save(self, loop: Loop, name: str | None = None, with_buffer: bool | None = None) -> Path:
        loop.recorder.flush()
        keep_buffer = self.save_buffer if with_buffer is None else with_buffer
        path = save_checkpoint(
            self.folder / (name or f"{self.prefix}{loop.step}"),
            loop.agent,
            self.meta(loop),
            loop.snapshot(),
            loop.buffer if keep_buffer else None,
        )
        prune_checkpoints(self.folder, self.prefix, self.keep)
        loop.recorder.event("checkpoint", stage=loop.stage, step=loop.step, path=path.name)
        return path

    def on_episode_end(self, loop: Loop, episode_return: float, length: int) -> None:
        self.ended = loop.step

    def on_env_step(self, loop: Loop) -> None:
        if self._branch_due(loop):
            self.save(loop, BRANCH, with_buffer=True)
        if self.every > 0 and loop.step % self.every == 0 and not loop.done:
            self.save(loop)

    def _branch_due(self, loop: Loop) -> bool:
        if self.branch_at is None or self.ended != loop.step or loop.step > self.branch_at:
            return False
        return self.episode_cap is None or self.branch_at - loop.step < self.episode_cap

    def on_end(self, loop: Loop) -> None:
        self.save(loop, self.final_name)
