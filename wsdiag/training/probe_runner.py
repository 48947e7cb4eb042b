"""ProbeRunner: the probe suite during the online stage, on a probe set fixed for the run.

It runs at online step 0 (the fresh critic, before any update), every `probes.every` steps, at
every phase boundary (notably right before policy updates begin) and at the end of the stage.
Scalars go to the metrics table as `probe/<name>` (plus `time/probe_s`, the wall time of the
call); arrays to `probes/step_<n>.npz` and the scalars also to `probes/step_<n>.json`. When the
actor first starts learning, a frozen copy of the agent is kept for the frozen-critic view; its
networks are saved to `probes/frozen_agent.pt` (plain state dicts, `weights_only` loadable) so
that a run resumed after that point keeps the view.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from wsdiag import probe_keys as keys
from wsdiag.agents.base import load_module
from wsdiag.agents.checkpoint import UNREADABLE
from wsdiag.atomic import atomic_write
from wsdiag.config import ProbesConfig
from wsdiag.core import ONLINE, Callback, due
from wsdiag.data.probe_set import ProbeSet
from wsdiag.errors import WsdiagError
from wsdiag.probes import run_probes
from wsdiag.probes.suite import protocol_probes
from wsdiag.rundir import FROZEN_FILE, PROBES_DIR
from wsdiag.safe_files import check_torch_file, first_line

if TYPE_CHECKING:
    from wsdiag.agents import ActorCritic
    from wsdiag.training.loop import Loop


def save_frozen(agent: ActorCritic, step: int, path: Path) -> None:
    """The agent's networks (not its optimisers) and the step they were taken at, atomically."""
    state = {"networks": {k: m.state_dict() for k, m in agent.modules().items()}, "step": step}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_frozen(like: ActorCritic, path: Path, step: int) -> ActorCritic | None:
    """A copy of `like` with the networks saved at `path`; None if they were taken after
    `step` (a run resumed from a checkpoint older than the copy takes it again). The file may
    be at most twice the size of `like`'s networks (and 1 MiB); a file that is not such a copy
    is a WsdiagError."""
    where = f"cannot read the frozen copy {path}"
    networks = sum(
        t.numel() * t.element_size()
        for m in like.modules().values()
        for t in m.state_dict().values()
    )
    check_torch_file(path, where, 2 * networks + (1 << 20), "twice the agent's networks")
    try:
        state = torch.load(path, map_location=like.device, weights_only=True)
        if int(state["step"]) > step:
            return None
        frozen = copy.deepcopy(like)
        for key, module in frozen.modules().items():
            load_module(module, state["networks"][key], key)
    except (*UNREADABLE, TypeError, AttributeError, WsdiagError) as exc:
        raise WsdiagError(f"{where}: {first_line(exc)}") from exc
    return frozen


class ProbeRunner(Callback):
    """Runs `run_probes` on the online stage (see module docstring)."""

    def __init__(
        self, cfg: ProbesConfig, probe_set: ProbeSet, seed: int, env: object | None = None
    ) -> None:
        """`probe_set`: the run's behavioural set (saved in probes/ by the experiment); `env`: a
        spare environment for the frozen-critic protocol's rollouts (never the training env)."""
        self.cfg, self.behaviour, self.seed, self.env = cfg, probe_set, seed, env
        self.frozen: ActorCritic | None = None
        self.protocol: tuple[dict, dict] | None = None  # recorded with the next probe call
        self.last_step = -1

    def run(self, loop: Loop) -> None:
        if loop.stage != ONLINE or loop.step == self.last_step:
            return
        self.last_step = loop.step
        start = time.perf_counter()
        online = ProbeSet.from_buffer(loop.buffer, self.cfg.states) if len(loop.buffer) else None
        scalars, arrays = run_probes(
            loop.agent,
            self.behaviour,
            self.cfg,
            online=online,
            pretrained=loop.pretrained,
            frozen=self.frozen,
            seed=self.seed,
        )
        if self.protocol is not None:
            scalars, arrays = scalars | self.protocol[0], arrays | self.protocol[1]
            self.protocol = None
        elapsed = time.perf_counter() - start
        metrics = {keys.metric(k): v for k, v in scalars.items()}
        loop.recorder.log(loop.step, loop.phase.name, metrics)
        loop.recorder.log(loop.step, loop.phase.name, {"time/probe_s": elapsed})
        loop.recorder.save_probe(loop.step, loop.phase.name, scalars, arrays)

    def on_start(self, loop: Loop) -> None:
        if loop.stage != ONLINE or self.cfg.every == 0:
            return
        if loop.step > 0:  # resumed: this step's probes are already recorded
            self.last_step = loop.step
            saved = self._frozen_path(loop)
            if self.frozen is None and saved.exists():
                self.frozen = load_frozen(loop.agent, saved, loop.step)
        self.run(loop)

    def on_phase(self, loop: Loop, name: str) -> None:
        if loop.phase.update_actor and self.frozen is None and loop.step == loop.phase.start:
            self.frozen = copy.deepcopy(loop.agent)
            save_frozen(self.frozen, loop.step, self._frozen_path(loop))
            if self.cfg.frozen_protocol_steps > 0 and self.env is not None:
                self.protocol = protocol_probes(
                    loop.agent, self.behaviour, self.env, self.cfg, self.seed
                )
        self.run(loop)

    @staticmethod
    def _frozen_path(loop: Loop) -> Path:
        return loop.recorder.run_dir / PROBES_DIR / FROZEN_FILE

    def on_env_step(self, loop: Loop) -> None:
        if due(loop, self.cfg.every):
            self.run(loop)
