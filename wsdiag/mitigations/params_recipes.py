"""Parameters of the adaptive, critic-side and rollout mitigations (AdaptiveBC, TD3BC++, JSRL)."""

from __future__ import annotations

from dataclasses import dataclass, field

RECIPE_NAMES: tuple[str, ...] = (
    "gradient_penalty",
    "critic_weighted",
    "td3bc_pp",
    "adaptive_bc",
    "jsrl",
    "jsrl_random",
)


@dataclass(frozen=True)
class GradientPenaltyParams:
    """[mitigation.gradient_penalty] TD3BC++ gradient penalty (also used by td3bc_pp)."""

    weight: float = 1.0  # lambda_GP (TD3BC++ Table 7: 1, or 0.1 on relocate)
    k: float = 1.0  # norm threshold: penalise ReLU(||dQ_e/da|| - k)^2
    every: int = 5  # apply on every N-th critic update, 0 on the others (paper: N = 5)
    n_actions: int = 16  # sampled actions per state (uniform, policy); dataset: its own action
    actions: str = "uniform"  # where the actions come from: uniform | policy | dataset


@dataclass(frozen=True)
class CriticWeightedParams:
    """[mitigation.critic_weighted] TD3BC++ critic-weighted constraint relaxation."""

    normalise: str = "minmax"  # weight W: minmax (paper eq. 10) | none (raw Q, Listing 1)
    reduce: str = "mean"  # Q of the dataset action over the ensemble: mean (Listing 1) | min


@dataclass(frozen=True)
class AdaptiveBCParams:
    """[mitigation.adaptive_bc] REDQ+AdaptiveBC: a PD controller on the BC weight."""

    alpha_offline: float = 0.4  # starting alpha_online and its upper clip (paper Table 1)
    kp: float = 3e-5  # K_P, proportional gain on R_current - R_target (Table 1)
    kd: float = 8e-5  # K_D, derivative gain on max(0, R_last - R_current) (Table 1)
    target: float = 1.0  # R_target, normalised return (1 = the max reference)
    ref_min: float | None = None  # return normalised to 0; None: dataset ref_min, else random
    ref_max: float | None = None  # return normalised to 1; None: dataset ref_max, else baseline
    ref_episodes: int = 5  # episodes per evaluation when a reference is measured
    variant: str = "paper"  # PD rule: paper (eq. 2, per episode) | code (per step, moving avg)


@dataclass(frozen=True)
class JSRLParams:
    """[mitigation.jsrl] Jump-Start RL curriculum: a guide acts for the first h steps."""

    guide_path: str | None = None  # a run or checkpoint directory; None: the pretrained agent
    guide_explore: bool = False  # the guide acts with its exploration noise (else pi(s))
    max_horizon: int | None = None  # h at the start; None: the env's episode step limit
    stages: int = 10  # curriculum stages: h goes max_horizon -> 0 in steps of max_horizon/stages
    tolerance: float = 0.0  # advance when the moving mean >= best - tolerance |best|
    window: int = 1  # evaluations in the moving mean
    eval_every: int = 1_000  # env steps between evaluations of the guide + learner policy
    eval_episodes: int = 20  # episodes per evaluation


@dataclass(frozen=True)
class JSRLRandomParams:
    """[mitigation.jsrl_random] JSRL with a random switch (the WSRL paper's JSRL baseline)."""

    guide_path: str | None = None  # a run or checkpoint directory; None: the pretrained agent
    guide_explore: bool = False  # the guide acts with its exploration noise (else pi(s))
    p_start: float = 0.5  # probability that an episode starts with a guide roll-in
    decay_steps: int = 100_000  # the probability falls linearly to 0 over these env steps
    gamma: float = 0.99  # roll-in length ~ Geometric(1 - gamma) (mean 1 / (1 - gamma))


@dataclass(frozen=True)
class RecipeParams:
    """Nested [mitigation.<name>] sections of these mitigations (a mixin)."""

    gradient_penalty: GradientPenaltyParams = field(default_factory=GradientPenaltyParams)
    critic_weighted: CriticWeightedParams = field(default_factory=CriticWeightedParams)
    adaptive_bc: AdaptiveBCParams = field(default_factory=AdaptiveBCParams)
    jsrl: JSRLParams = field(default_factory=JSRLParams)
    jsrl_random: JSRLRandomParams = field(default_factory=JSRLRandomParams)
