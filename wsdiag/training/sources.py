"""Where a run's pretrained agent and data come from: a checkpoint or an SB3 zip named by
`pretrain.path`, and the Minari dataset of an offline pretraining; checked before any step."""

from __future__ import annotations

from functools import cached_property

import gymnasium as gym

from wsdiag.agents.checkpoint import Checkpoint, load_checkpoint
from wsdiag.agents.sb3 import check_warm_start, import_sb3
from wsdiag.config import Config
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
