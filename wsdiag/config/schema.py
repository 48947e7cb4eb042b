"""The experiment's configuration: one frozen dataclass per TOML section.

Every field is documented where it is declared; `docs/config.md` lists them all. An algorithm's
own keys (`iql_expectile`, `bcq_phi`, ...) and a mitigation's table are each their own dataclass
(`wsdiag.config.algorithms`, `wsdiag.config.mitigations`), held typed in `AgentConfig.params` and
`MitigationConfig.tables`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, TypeVar

from wsdiag.errors import WsdiagError

PRETRAIN_SOURCES = ("online", "offline", "checkpoint", "sb3")
OFFLINE_DATA_MODES = ("all", "fraction", "none", "dataset_warmup")
WARMSTART_PARTS = ("actor", "critic", "buffer")
ACTOR_Q_CHOICES = ("auto", "first", "mean", "min")
PERTURB_BOUNDS = ("truncate", "unclipped", "clip")  # perturbed actions at the action box
WARN_MODES = ("update", "critic", "either", "both", "off")  # probes.warn (docs/diagnosis.md)
DEVICE_PATTERN = re.compile(r"cpu|auto|mps|cuda(:\d+)?")
MODULE_PATTERN = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
WSDIAG_TRAINER = "wsdiag"  # `trainer` of the runs `wsdiag train` makes
TRAINER_PATTERN = re.compile(r"[a-z][a-z0-9_.-]{0,63}")  # sb3, cleanrl, d3rlpy, api, ...
RESERVED_ENV_KWARGS = {"id": "env.id", "max_episode_steps": "env.max_episode_steps"}
# Bounds of the fields that no type or range implies (docs/config.md, "Bounds").
MAX_SEED = 2**31 - 1  # the code adds fixed offsets (at most 20_001) and episode counters to the
# seed: every seed it derives stays below 2**32, which numpy, torch and Gymnasium all accept
MAX_INT = 2**63 - 1  # every integer field: steps and counts are stored as int64
MAX_THREADS = 1024
MAX_EVAL_EPISODES = 10_000
MAX_TOML_DEPTH = 32  # nested tables and arrays in a config file or a --set value
MAX_CONFIG_BYTES = 1 << 20  # a config, an interventions table or a sweep file: 1 MiB at most
BUFFER_ROW_BYTES = 21  # per transition beside obs, next_obs and action: 4 float32 scalars, 1 int8
NETWORK_COPIES = 4  # each parameter is held as weights, target weights and Adam's two moments

P = TypeVar("P", bound="OwnParams")


@dataclass(frozen=True)
class OwnParams:
    """The parameters one algorithm or one mitigation declares: each its own frozen subclass,
    every field documented where it is declared. This base declares none (td3, ddpg, sac; the
    mitigation `none`)."""

    def networks(self, obs_dim: int, act_dim: int, hidden: tuple[int, ...]) -> list[list[int]]:
        """Layer sizes of the networks an algorithm adds to its actor and critic ensemble."""
        return []

    def rows_per_sample(self) -> int:
        """Rows of one critic update per sampled transition (CQL: 1 + 3 sampled actions)."""
        return 1


@dataclass(frozen=True)
class EnvConfig:
    """[env] The Gymnasium environment."""

    id: str = "Pendulum-v1"  # any registered Gymnasium id with a Box action space
    max_episode_steps: int | None = None  # override the env's time limit (truncation)
    kwargs: dict[str, Any] = field(default_factory=dict)  # passed to gym.make: scalars, lists
    imports: tuple[str, ...] = ()  # modules imported before gym.make (they register envs; their
    # code runs: name only modules you trust), e.g. ["gymnasium_robotics"]


@dataclass(frozen=True)
class AgentConfig:
    """Hyper-parameters of one off-policy agent; [pretrain] and [finetune] each hold a full set.

    Defaults are those of the algorithms' papers (TD3: Fujimoto et al. 2018; SAC: Haarnoja et
    al. 2018b), in the action space rescaled to [-1, 1]. The algorithm's own keys are written
    flat beside these in TOML and held as its dataclass in `params`.
    """

    algo: str = "td3"  # td3 | ddpg | sac | bc | td3bc | iql | cql | calql | bcq
    utd: int = 1  # gradient updates per environment step (update-to-data ratio)
    ensemble: int | None = None  # critics E in the batched ensemble (unset: ddpg 1, others 2)
    target_subset: int | None = None  # M: TD target = min over a random M of E (unset: min(2, E))
    layer_norm: bool = False  # LayerNorm after every hidden layer, in critic and actor
    hidden: tuple[int, ...] = (256, 256)  # hidden layer widths of actor and critic
    batch_size: int = 256
    gamma: float = 0.99  # discount
    tau: float = 0.005  # Polyak rate of the target networks
    actor_lr: float = 3e-4
    critic_lr: float = 3e-4
    actor_q: str = "auto"  # critic(s) the actor maximises: first | mean | min | auto (see docs)
    actor_batch: str = "last"  # the actor's batch when utd > 1: last critic batch | union (WSRL)
    policy_delay: int | None = None  # critic updates per actor update (unset: td3/td3bc/bcq 2,
    # others 1)
    expl_noise: float = 0.1  # td3/ddpg: std of Gaussian exploration noise
    policy_noise: float = 0.2  # td3: std of target policy smoothing noise
    noise_clip: float = 0.5  # td3: clip of target policy smoothing noise
    init_alpha: float = 1.0  # sac: initial entropy temperature
    autotune_alpha: bool = True  # sac: learn the temperature towards target_entropy
    backup_entropy: bool = True  # sac: -alpha log pi(a'|s') in the TD target (WSRL's code: false)
    target_entropy: float | None = None  # sac: default -dim(A)
    alpha_lr: float = 3e-4  # sac: learning rate of log(alpha)
    buffer_size: int = 1_000_000  # replay buffer capacity (transitions)
    normalize_obs: bool | None = None  # [pretrain] on a dataset: standardise observations by its
    # mean and std (unset: td3bc true, as the authors' code, others false); fine-tuning agents
    # take the pretrained agent's statistics with the warm start
    params: OwnParams | None = None  # the algorithm's own keys, its dataclass (unset: defaults)

    def params_as(self, cls: type[P]) -> P:
        """`params` as `cls`, the dataclass the agent's algorithm declares (resolved first)."""
        if not isinstance(self.params, cls):
            raise WsdiagError(
                f"algo '{self.algo}' has parameters {type(self.params).__name__}, not "
                f"{cls.__module__}.{cls.__name__}"
            )
        return self.params


@dataclass(frozen=True)
class PretrainConfig(AgentConfig):
    """[pretrain] Where the behavioural policy comes from."""

    source: str = "online"  # online (an RL run) | offline (a dataset) | checkpoint (a saved agent)
    # | sb3 (a Stable-Baselines3 model.save() zip: docs/train.md)
    path: str | None = None  # source = checkpoint: a run directory or a checkpoint directory;
    # source = sb3: the model's .zip
    dataset: str | None = None  # source = offline: a local Minari dataset id
    steps: int = 20_000  # online: environment-step budget; offline: gradient steps
    target_return: float | None = None  # online: stop once the evaluation mean reaches it
    learning_starts: int = 10_000  # online: uniform-random steps before the first update


@dataclass(frozen=True)
class WarmstartConfig:
    """[warmstart] What the new agent takes from the pretrained one; how online learning begins."""

    load: tuple[str, ...] = ("actor",)  # any of actor, critic, buffer
    load_optimizers: bool = False  # also load the Adam states of the loaded networks
    warmup_steps: int = 5_000  # steps with the frozen pretrained policy before policy updates
    train_critic_during_warmup: bool = True  # update the critic during the warm-up
    warmup_policy: str = "pretrained"  # who acts in the warm-up: pretrained | random (ablation)
    freeze_policy_steps: int = 0  # after warm-up: steps of critic-only updates on own rollouts
    offline_data: str = "all"  # after offline pretraining: all | fraction | none | dataset_warmup
    offline_fraction: float = 0.05  # fraction: share of the dataset kept (REDQ+AdaptiveBC: 5%)
    offline_min_transitions: int = 0  # fraction: keep at least this many (their code: 50,000)
    offline_ratio: float | None = None  # share of each batch drawn from the kept offline data
    dataset_warmup_transitions: int = 5_000  # dataset_warmup: random offline transitions seeded


@dataclass(frozen=True)
class FinetuneConfig(AgentConfig):
    """[finetune] The online agent; `steps` counts all online steps, warm-up and freeze included."""

    steps: int = 30_000


@dataclass(frozen=True)
class EvalConfig:
    """[eval] Deterministic-policy evaluation on a separate environment."""

    every: int = 2_000  # environment steps between evaluations (per stage)
    episodes: int = 5  # episodes per evaluation; episode k always starts from reset(seed + k)
    stop_below: float | None = None  # online: stop the run at the first evaluation from the
    # policy start whose mean return is below this (`diagnose --confirm` sets it on a
    # counterfactual, whose outcome is then decided: docs/diagnosis.md)


@dataclass(frozen=True)
class ProbesConfig:
    """[probes] Diagnostic probes of the online stage (definitions in docs/probes.md)."""

    every: int = 2_000  # environment steps between probe runs (and every phase boundary); 0: off
    states: int = 256  # behavioural probe-set size, and online transitions sampled per call
    n_perturb: int = 64  # perturbed actions per state for the Q-percentile
    sigma: float = 1.0  # perturbation half-width, in units of the action half-range
    bounds: str = "truncate"  # perturbations at the box: truncate | unclipped | clip (see docs)
    landscape_states: int = 8  # states whose perturbed-action Q values are saved (figures)
    landscape_perturb: int = 500  # perturbed actions per landscape state
    drift_actions: int = 20  # actions per state (half pi_pre, half pi) for the Q-softmax KL
    divergence_q: float = 75.0  # percentile of ||pi(s) - a||^2 reported per label
    reduce: str = "mean"  # how a probe reduces the critic ensemble: mean | min
    frozen_protocol_steps: int = 0  # actor steps of the paper's frozen-critic protocol (0: off)
    warn: str = "both"  # early warning: both | update | critic | either | off (docs/diagnosis.md)
    warn_every: int = 100  # steps between action-change checks once policy updates begin
    warn_rms: float = 0.2  # "collapse likely" once actions moved this far (per dim, half-ranges)
    stop_on_warning: bool = False  # halt the run at the warning, its checkpoint saved


@dataclass(frozen=True)
class CheckpointConfig:
    """[checkpoint] Periodic checkpoints of the online stage (the pretrained one is always kept)."""

    every: int = 10_000  # environment steps between checkpoints; 0: only at the end
    keep: int = 2  # periodic checkpoints kept on disk (oldest removed first)
    save_buffer: bool = True  # store the replay buffer so that --resume continues exactly


@dataclass(frozen=True)
class LogConfig:
    """[log] How training scalars are aggregated and where they are written."""

    train_every: int = 1_000  # environment steps per row of averaged `train/*` metrics
    tensorboard: bool = False  # also write TensorBoard event files into <run>/tensorboard/


@dataclass(frozen=True)
class MitigationConfig:
    """[mitigation] At most one mitigation per run; `none` is plain fine-tuning.

    Each mitigation's parameters are its own table, e.g. [mitigation] name = "ccl_pqd" with
    [mitigation.ccl_pqd] alpha_start = 1e-2, read once into that mitigation's `Params`
    (`wsdiag.config.mitigations`). Definitions: docs/mitigations.md.
    """

    name: str = "none"  # which mitigation (see docs/mitigations.md)
    tables: dict[str, Any] = field(default_factory=dict)  # [mitigation.<name>]: its `Params`,
    # the selected one's always present (a run of another version, read leniently by a report:
    # a table this version cannot read stays the TOML table it was)

    @property
    def params(self) -> Any:
        """The selected mitigation's parameters (None for `none`)."""
        return self.tables.get(self.name)


@dataclass(frozen=True)
class Config:
    """A whole warm-start experiment."""

    name: str = "wsdiag-run"  # run name; the run directory is <out>/<name>-seed<seed>
    seed: int = 0
    device: str = "cpu"  # cpu | cuda | cuda:N | auto
    threads: int = 0  # torch intra-op threads; 0: torch's default (all cores)
    trainer: str = WSDIAG_TRAINER  # who ran the online stage: wsdiag, or the trainer a run
    # recorded through wsdiag.api names (sb3, cleanrl, d3rlpy, ...); `wsdiag train` runs only
    # wsdiag's (docs/api.md)
    env: EnvConfig = field(default_factory=EnvConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    warmstart: WarmstartConfig = field(default_factory=WarmstartConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    probes: ProbesConfig = field(default_factory=ProbesConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    log: LogConfig = field(default_factory=LogConfig)
    mitigation: MitigationConfig = field(default_factory=MitigationConfig)
