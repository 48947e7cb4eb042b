"""[mitigation.adaptive_bc]: REDQ+AdaptiveBC's PD controller on the BC weight, its gains, target
and reference returns (the maths: wsdiag.mitigations.adaptive_bc)."""

from __future__ import annotations

from dataclasses import dataclass

from wsdiag.config.mitigations.base import Table
from wsdiag.config.rules import need, one_of
from wsdiag.config.schema import Config, OwnParams

PD_VARIANTS = ("paper", "code")


@dataclass(frozen=True)
class Params(OwnParams):
    """[mitigation.adaptive_bc] REDQ+AdaptiveBC: a PD controller on the BC weight."""

    alpha_offline: float = 0.4  # starting alpha_online and its upper clip (paper Table 1)
    kp: float = 3e-5  # K_P, proportional gain on R_current - R_target (Table 1)
    kd: float = 1e-4  # K_D, derivative gain on max(0, R_last - R_current) (code; Table 1: 8e-5)
    target: float = 1.05  # R_target, normalised return (code; Table 1: 1 = the max reference)
    ref_min: float | None = None  # return normalised to 0; None: dataset ref_min, else random
    ref_max: float | None = None  # return normalised to 1; None: dataset ref_max, else baseline
    ref_episodes: int = 5  # episodes per evaluation when a reference is measured
    variant: str = "code"  # PD rule: code (T-scaled, moving average) | paper (eq. 2, per episode)


def check(p: Params, where: str) -> None:
    one_of(p.variant, PD_VARIANTS, f"{where}.variant")
    need(p.alpha_offline >= 0, f"{where}.alpha_offline must be >= 0, got {p.alpha_offline}")
    need(p.ref_episodes >= 1, f"{where}.ref_episodes must be >= 1, got {p.ref_episodes}")
    if p.ref_min is not None and p.ref_max is not None:
        need(p.ref_max > p.ref_min, f"{where}: need ref_max > ref_min")


def requires(config: Config) -> None:
    need(
        config.finetune.algo in ("td3", "td3bc"),
        f"{config.mitigation.name} needs finetune.algo = 'td3' or 'td3bc' (got "
        f"'{config.finetune.algo}')",
    )


TABLE = Table("adaptive_bc", Params, check, requires)
