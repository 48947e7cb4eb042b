"""Thresholds of the diagnosis rules, named `diagnose.<field>` (`wsdiag report --set ...`).

Every rule is documented in docs/diagnosis.md with the thresholds it reads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wsdiag.config import apply_overrides
from wsdiag.errors import WsdiagError

SECTION = "diagnose"


@dataclass(frozen=True)
class Thresholds:
    """[diagnose] Thresholds of the degradation diagnosis (docs/diagnosis.md)."""

    min_dip_fraction: float = 0.10  # a dip below this fraction of the reference is not significant
    recover_tolerance: float = 0.0  # recovered once R >= R0 - tolerance (return units)
    percentile_band: float = 0.15  # extrapolation: P <= 0.5 + band (no preference for a_beta) ...
    band_with_reference: bool = False  # ... also when a trained pretrained critic is the reference
    confidence_gap: float = 0.15  # ... or P <= P_pre - gap (less confident than the pretrained) ...
    grad_cos_min: float = 0.5  # ... or the pooled cos(dQ/da, dQ_pre/da) <= this (points elsewhere)
    update_rms: float = 0.2  # update: action change per dimension by the first probe >= this
    grad_ratio: float = 3.0  # gradient: ||dQ/da|| / the (trained) pretrained critic's >= ratio
    drift_rms: float = 0.25  # drift: action change per dimension (half-ranges) peaks >= this ...
    drift_corr: float = 0.6  # ... and corr(action change, return shortfall) >= this
    drift_over_update: bool = True  # a fired drift is named before a fired update
    spiral_td_growth: float = 3.0  # spiral: behavioural-set TD error grows by >= this factor ...
    spiral_flat_growth: float = 1.5  # ... while the online TD error grows by <= this factor
    spiral_q_shift: float = 0.5  # spiral: offline Q level moves by >= this fraction of |Q| ...
    spiral_flat_q_shift: float = 0.2  # ... while the online Q level moves by <= this fraction
    spiral_structural: bool = True  # spiral: also a trained critic loaded without its data
    closeness_shift: float = 0.5  # closeness: non-expert divergence rises by >= this ...
    closeness_grad_growth: float = 3.0  # ... while ||dQ/da|| at non-expert actions grows >= this
    confirm_share: float = 0.5  # --confirm: an intervention removing >= this share confirms
    non_expert_label: str = "non-expert"  # probe-set label of the non-expert transitions


def thresholds_from(overrides: Sequence[str] = ()) -> Thresholds:
    """Thresholds with `diagnose.key=value` (or `key=value`) overrides (TOML values) applied;
    unknown keys fail."""
    overrides = [o if "." in o.split("=")[0] else f"{SECTION}.{o.strip()}" for o in overrides]
    bad = [o for o in overrides if not o.strip().startswith(f"{SECTION}.")]
    if bad:
        raise WsdiagError(f"--set accepts only {SECTION}.* settings here, got '{bad[0]}'")
    table = apply_overrides({}, overrides).get(SECTION, {})
    fields = {f.name: f for f in dataclasses.fields(Thresholds)}
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in fields:
            raise WsdiagError(f"unknown setting '{SECTION}.{key}' (known: {', '.join(fields)})")
        values[key] = _coerce(key, value, fields[key].type)
    return Thresholds(**values)


def _coerce(key: str, value: Any, hint: Any) -> Any:
    if hint in ("bool", bool):
        if not isinstance(value, bool):
            raise WsdiagError(f"{SECTION}.{key}: expected true or false, got {value!r}")
        return value
    if hint in ("float", float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise WsdiagError(f"{SECTION}.{key}: expected a number, got {value!r}")
        return float(value)
    return str(value)
