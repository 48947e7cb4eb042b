"""Where a run's pretrained agent and data come from: a checkpoint or an SB3 zip named by
`pretrain.path`, and the Minari dataset of an offline pretraining; checked before any step."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import gymnasium as gym

from wsdiag.agents.checkpoint import Checkpoint, load_checkpoint
from wsdiag.agents.sb3 import check_warm_start, import_sb3, read_sb3
from wsdiag.config import Config, FinetuneConfig, replace, resolve_agent
from wsdiag.data.offline import OfflineData, check_dataset, load_offline_data
from wsdiag.envs import space_dims


class Sources:
    """The pretrained agent given by path and the offline dataset of one run, read once."""

    def __init__(self, config: Config, env: gym.Env) -> None:
        self.config, self.env = config, env

    def check(self) -> None:
        """Fail now, not after the run has started: the given agent builds for the env's
        spaces (an SB3 model also fits the fine-tuning agent), the dataset fits the env."""
        cfg = self.config.pretrain
        if cfg.path:
            self.given.make_agent(*space_dims(self.env))
            if cfg.source == "sb3":
                check_warm_start(self.given, self.config.finetune, self.config.warmstart.load)
        if cfg.source == "offline":
            check_dataset(cfg.dataset, self.env)

    @cached_property
    def given(self) -> Checkpoint:
        """The pretrained agent named by `pretrain.path`: a wsdiag checkpoint, or an SB3 zip
        imported as one (checked against the environment's spaces)."""
        cfg = self.config.pretrain
        if cfg.source == "sb3":
            return import_sb3(cfg.path, cfg, self.env)
        return load_checkpoint(cfg.path)

    @cached_property
    def offline_data(self) -> OfflineData | None:
        """The pretraining dataset (source = offline), in the agents' units."""
        cfg = self.config.pretrain
        if cfg.source != "offline":
            return None
        return load_offline_data(cfg.dataset, self.env, cfg.gamma)


def with_model_architecture(config: Config) -> tuple[Config, dict[str, Any]]:
    """With pretrain.source = sb3: the config whose [finetune] takes the zip's algorithm, layer
    widths and (when the critic is loaded) number of critics wherever it keeps wsdiag's
    defaults for them, and what it took. A value set otherwise stays, and is checked against the
    zip before the run starts (`check_warm_start`). When the algorithm is taken, the fields
    that follow from it (ensemble, policy_delay, target_subset, actor_q) are derived for it
    again unless they differ from TD3's."""
    pre, fine = config.pretrain, config.finetune
    if pre.source != "sb3" or not pre.path:
        return config, {}
    model, default = read_sb3(pre.path), resolve_agent(FinetuneConfig())
    taken: dict[str, Any] = {}
    if fine.algo == default.algo and model.algo != fine.algo:
        taken["algo"] = model.algo
        derived = {"ensemble": None, "policy_delay": None, "target_subset": None,
                   "actor_q": "auto"}  # fmt: skip
        taken |= {k: v for k, v in derived.items() if getattr(fine, k) == getattr(default, k)}
    if fine.hidden == default.hidden and model.pi != fine.hidden:
        taken["hidden"] = model.pi
    critics, loads = len(model.critics), "critic" in config.warmstart.load
    if loads and "critic" in model.parts() and fine.ensemble == default.ensemble != critics:
        taken["ensemble"] = critics
    if not taken:
        return config, {}
    shown = {k: (list(v) if isinstance(v, tuple) else v) for k, v in taken.items() if v is not None}
    return replace(config, finetune=taken), {k: v for k, v in shown.items() if k != "actor_q"}
